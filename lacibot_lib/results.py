"""One place for recording results: a notebook records named metrics and course claims; the runner, the report
and the tests read them back.

``record("rouge1_zero_shot", 0.21)`` stores the value *quietly* in the cell's output under a custom MIME type (no
text a reader sees: the notebook shows its numbers once, in a table or a plot), so the executed notebook itself
carries its metrics — the idea of scrapbook's ``glue``, no side files.

``record_claim("few_shot_ceiling", "…", "supported", "…")`` records a verdict on a course claim (the claims
ledger); unlike a metric, a claim is shown where it is recorded, as one line a student reads.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

MIME_TYPE = "application/vnd.lacibot.metric+json"
CLAIM_MIME_TYPE = "application/vnd.lacibot.claim+json"
VERDICTS = ("supported", "not supported", "not testable here")


def _jsonable(value):
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        nested = any(isinstance(v, dict) for v in value.values())
        return ("; " if nested else ", ").join(
            f"{k}: {format_value(v)}" if nested else f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def _emit(bundle: dict, fallback: str | None) -> None:
    """Put a MIME bundle into the current notebook cell's output; outside IPython print ``fallback`` (if any)."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(bundle, raw=True)
            return
    except ImportError:
        pass
    if fallback:
        print(fallback)


def record(name: str, value, show: bool = False) -> None:
    """Record a named metric (a number, string, list or dict of them) in the notebook's output, quietly.

    ``show=True`` also prints ``name = value`` (for a quick look while developing, not for committed labs).
    Returns nothing, so a ``record(...)`` on a cell's last line prints nothing either.
    """
    value = _jsonable(value)
    json.dumps(value)  # fail here, clearly, if it cannot be stored
    bundle = {MIME_TYPE: {"name": name, "value": value}}
    if show:
        bundle["text/plain"] = f"{name} = {format_value(value)}"
    _emit(bundle, bundle.get("text/plain"))


def record_claim(claim_id: str, statement: str, verdict: str, evidence: str) -> dict:
    """Record the run's verdict on a course claim and show it as one line.

    ``verdict`` is one of :data:`VERDICTS`; ``evidence`` says which numbers decided it (or, for "not testable
    here", why this machine cannot test it). ``make labs`` gathers every claim into one table of ``report.md``.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"record_claim({claim_id!r}): verdict must be one of {VERDICTS}, got {verdict!r}")
    if not evidence.strip():
        raise ValueError(f"record_claim({claim_id!r}): say what decided the verdict (evidence is empty)")
    claim = {"id": claim_id, "statement": statement, "verdict": verdict, "evidence": evidence}
    line = f"**Claim** — {statement} → **{verdict}**. {evidence}"
    _emit({CLAIM_MIME_TYPE: claim, "text/markdown": line}, f"Claim — {statement} → {verdict}. {evidence}")
    return claim


def _outputs(notebook: str | Path, mime: str):
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            item = output.get("data", {}).get(mime)
            if item is not None:
                yield json.loads(item) if isinstance(item, str) else item


def read_claims(notebook: str | Path) -> list[dict]:
    """The claims recorded in an executed notebook, in order (a later record of an id replaces the earlier)."""
    claims = {item["id"]: item for item in _outputs(notebook, CLAIM_MIME_TYPE)}
    return list(claims.values())


def read_recorded(notebook: str | Path) -> dict:
    """All metrics recorded in an executed notebook, by name (a later record of a name wins)."""
    return {item["name"]: item["value"] for item in _outputs(notebook, MIME_TYPE)}
