"""Dialogue-summarisation data: the bundled set, your own JSONL/CSV files, or DialogSum from the Hub.

Every source becomes a ``datasets.DatasetDict`` with the splits ``train``, ``validation`` and ``test`` and the
columns ``id``, ``topic``, ``dialogue``, ``summary``. A malformed file fails with a message naming the file and
the line and field, so a student can fix it instead of reading a traceback.
"""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from .settings import data_dir

SPLITS = ("train", "validation", "test")
REQUIRED_FIELDS = ("dialogue", "summary")
HUB_DIALOGSUM = "knkarthick/dialogsum"


class DataFormatError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the line/field."""


def bundled_dialogues_dir() -> Path:
    return data_dir() / "dialogues"


def iter_jsonl(path: str | Path):
    """``(line number, object)`` for each non-empty line; invalid JSON names the file and the line."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{path}, line {line_no}: not valid JSON ({err.msg})") from None


def _clean_record(raw: dict, where: str, line_no: int) -> dict:
    if not isinstance(raw, dict):
        raise DataFormatError(f"{where}, line {line_no}: expected an object with fields {REQUIRED_FIELDS}")
    record = {}
    for field in REQUIRED_FIELDS:
        value = raw.get(field)
        if value is None:
            raise DataFormatError(f"{where}, line {line_no}: missing field {field!r}")
        if not isinstance(value, str) or not value.strip():
            raise DataFormatError(f"{where}, line {line_no}: field {field!r} must be non-empty text")
        record[field] = value.strip()
    record["id"] = str(raw.get("id") or raw.get("fname") or f"{Path(where).stem}-{line_no}")
    record["topic"] = str(raw.get("topic") or "")
    if raw.get("split"):
        record["split"] = str(raw["split"]).strip()
    return record


def read_dialogue_file(path: str | Path) -> list[dict]:
    """Read one JSONL or CSV file of dialogues (fields ``dialogue``, ``summary``; optional ``id``/``fname``, ``topic``)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    records: list[dict] = []
    if path.suffix.lower() in {".jsonl", ".json"}:
        records = [_clean_record(raw, str(path), line_no) for line_no, raw in iter_jsonl(path)]
    elif path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [f for f in REQUIRED_FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise DataFormatError(f"{path}: header lacks column(s) {missing}; found {reader.fieldnames}")
            for line_no, raw in enumerate(reader, start=2):  # line 1 is the header
                records.append(_clean_record(raw, str(path), line_no))
    else:
        raise DataFormatError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl or .csv")
    if not records:
        raise DataFormatError(f"{path}: no dialogues in the file")
    return records


def _split_records(records: list[dict], seed: int, where: str) -> dict[str, list[dict]]:
    if all("split" in r for r in records):
        splits = {name: [r for r in records if r["split"] == name] for name in SPLITS}
        unknown = {r["split"] for r in records} - set(SPLITS)
        if unknown:
            raise DataFormatError(f"{where}: unknown split name(s) {sorted(unknown)}; use {SPLITS}")
        return splits
    shuffled = records[:]
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    n_test = max(1, n // 10)
    n_val = max(1, n // 10)
    return {"test": shuffled[:n_test], "validation": shuffled[n_test:n_test + n_val],
            "train": shuffled[n_test + n_val:]}


def _to_dataset_dict(splits: dict[str, list[dict]], where: str):
    from datasets import Dataset, DatasetDict

    parts = {}
    for name in SPLITS:
        rows = splits.get(name) or []
        if not rows:
            raise DataFormatError(f"{where}: split {name!r} is empty")
        parts[name] = Dataset.from_list([{k: r[k] for k in ("id", "topic", "dialogue", "summary")} for r in rows])
    return DatasetDict(parts)


def load_dialogues(source: str | Path | None = None, seed: int = 42):
    """Load dialogue-summarisation data as a ``DatasetDict`` (train / validation / test).

    ``source``:
      * ``None`` — the project's bundled dialogues in ``data/dialogues/``;
      * a folder with ``train``/``validation``/``test`` files (``.jsonl`` or ``.csv``);
      * one ``.jsonl``/``.csv`` file (split by its ``split`` column, else 80/10/10 with ``seed``);
      * ``"knkarthick/dialogsum"`` (or ``hub:<id>``) — DialogSum from the Hub, needs internet.
    """
    if source is None:
        source = bundled_dialogues_dir()
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        splits = {}
        for name in SPLITS:
            candidates = [path / f"{name}{ext}" for ext in (".jsonl", ".csv")]
            found = next((c for c in candidates if c.exists()), None)
            if found is None:
                raise DataFormatError(f"{path}: no {name}.jsonl or {name}.csv in this folder")
            splits[name] = read_dialogue_file(found)
        return _to_dataset_dict(splits, str(path))
    if path.suffix.lower() in {".jsonl", ".json", ".csv"}:
        records = read_dialogue_file(path)
        return _to_dataset_dict(_split_records(records, seed, str(path)), str(path))
    hub_id = text[4:] if text.startswith("hub:") else text
    if hub_id.count("/") == 1:
        return _load_from_hub(hub_id)
    raise DataFormatError(f"{text}: not a folder, a .jsonl/.csv file or a Hub dataset id like {HUB_DIALOGSUM!r}")


def _load_from_hub(hub_id: str):
    from datasets import DatasetDict, load_dataset

    try:
        raw = load_dataset(hub_id)
    except Exception as err:  # offline: ConnectionError, OSError, HfHubHTTPError …
        raise DataFormatError(
            f"Could not load {hub_id!r} from the Hugging Face Hub ({err.__class__.__name__}). It needs internet; "
            "offline, use the bundled data (source=None) or your own JSONL/CSV file."
        ) from None
    parts = {}
    for name in SPLITS:
        if name not in raw:
            raise DataFormatError(f"{hub_id}: the Hub dataset has no {name!r} split")
        split = raw[name]
        missing = [f for f in REQUIRED_FIELDS if f not in split.column_names]
        if missing:
            raise DataFormatError(f"{hub_id}: split {name!r} lacks column(s) {missing}")
        ids = split["id"] if "id" in split.column_names else split["fname"] if "fname" in split.column_names else None
        topics = split["topic"] if "topic" in split.column_names else [""] * len(split)
        parts[name] = split.select_columns(list(REQUIRED_FIELDS)).add_column(
            "id", [str(i) for i in (ids or range(len(split)))]).add_column("topic", topics)
    return DatasetDict(parts)


def read_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> list[dict]:
    """Objects of a JSONL file; a bad line or a missing required field names the file and the line."""
    rows = []
    for line_no, row in iter_jsonl(path):
        for name in required:
            if not isinstance(row, dict) or row.get(name) in (None, "", []):
                raise DataFormatError(f"{path}, line {line_no}: missing or empty field {name!r}")
        rows.append(row)
    return rows


def load_forgetting_probes(path: str | Path | None = None) -> list[dict]:
    """General instructions with expected keywords, used to measure catastrophic forgetting (Week 2)."""
    return read_jsonl(path or data_dir() / "forgetting_probes.jsonl", required=("instruction", "expected"))


def load_course_notes_qa(path: str | Path | None = None) -> list[dict]:
    """Labelled retrieval questions about the course notes (section/subsection that holds each answer)."""
    return read_jsonl(path or data_dir() / "eval" / "course_notes_qa.jsonl", required=("question", "section"))


def shortest_dialogues(split, n: int):
    """The ``n`` shortest dialogues of a split (smoke runs use them so a training step takes seconds)."""
    order = sorted(range(len(split)), key=lambda i: len(split[i]["dialogue"]))
    return split.select(order[:n])
