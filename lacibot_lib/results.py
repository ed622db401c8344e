"""One place for recording results: a notebook records named metrics; the runner and the tests read them back.

``record("rouge1_zero_shot", 0.21)`` prints the value and stores it in the cell's output under a custom MIME
type, so the executed notebook itself carries its metrics (the idea of scrapbook's ``glue``) — no side files.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

MIME_TYPE = "application/vnd.lacibot.metric+json"


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


def record(name: str, value, display: bool = True) -> None:
    """Record a named metric (a number, string, list or dict of them) in the notebook's output.

    Returns nothing, so a ``record(...)`` on a cell's last line does not print the value a second time.
    """
    value = _jsonable(value)
    json.dumps(value)  # fail here, clearly, if it cannot be stored
    payload = {MIME_TYPE: {"name": name, "value": value}, "text/plain": f"{name} = {format_value(value)}"}
    try:
        from IPython import get_ipython
        from IPython.display import display as ipy_display

        if get_ipython() is not None:
            if display:
                ipy_display(payload, raw=True)
            return None
    except ImportError:
        pass
    if display:
        print(payload["text/plain"])
    return None


def read_recorded(notebook: str | Path) -> dict:
    """All metrics recorded in an executed notebook, by name (a later record of a name wins)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    metrics = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME_TYPE in data:
                item = data[MIME_TYPE]
                if isinstance(item, str):
                    item = json.loads(item)
                metrics[item["name"]] = item["value"]
    return metrics
