"""Dialogue-summarisation data: the bundled set, your own JSONL/CSV files, or DialogSum from the Hub.

Every source becomes a ``datasets.DatasetDict`` with the splits ``train``, ``validation`` and ``test`` and the
columns ``id``, ``topic``, ``dialogue``, ``summary``. A malformed file fails with a :class:`DataFormatError`
naming the file, the line and the field and saying what to fix, so a student can fix it instead of reading a
traceback; nothing is silently dropped or guessed.

Encodings: files are decoded by :func:`lacibot_lib.textfiles.decode_text_file`: UTF-8 (with or without BOM) or
UTF-16 (with a BOM, or without one when the NUL-byte pattern shows it). Other non-UTF-8 bytes are taken as
Windows-1250 / Latin-2 (what Hungarian Windows and Excel write) with a :class:`DataEncodingWarning` naming the file
and the encoding used — but only when that is unambiguous; a file that mixes UTF-8 and another encoding, or whose
bytes mean different letters in Windows-1250 and Latin-2, is refused with the line number.
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path

from .settings import data_dir
from .textfiles import EncodingGuessWarning, decode_text_file

SPLITS = ("train", "validation", "test")
REQUIRED_FIELDS = ("dialogue", "summary")
HUB_DIALOGSUM = "knkarthick/dialogsum"
DIALOGUE_SUFFIXES = (".jsonl", ".json", ".csv")

# Python's default CSV field limit is 128 KiB, less than a long transcript; 16 MiB is generous for one dialogue
# while still stopping an unterminated quote from swallowing a whole large file into one field.
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


class DataFormatError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the line/field."""


# A file was not UTF-8 and was decoded with a legacy encoding; the message names the file and the encoding.
# The same class as textfiles' own, so that ``pytest.warns``/``warnings.filterwarnings`` with either name work.
DataEncodingWarning = EncodingGuessWarning


def bundled_dialogues_dir() -> Path:
    return data_dir() / "dialogues"


def iter_jsonl(path: str | Path):
    """``(line number, object)`` for each non-empty line; invalid JSON names the file and the line."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    # StringIO with newline=None splits lines like a text-mode file did: on \n, \r\n and \r, nothing else.
    for line_no, line in enumerate(io.StringIO(decode_text_file(path, DataFormatError), newline=None), start=1):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as err:
            hint = ""
            if line.strip() in ("{", "["):
                hint = ("; JSONL needs one whole JSON object per line — is the file pretty-printed "
                        "or a JSON array? Write one object per line")
            raise DataFormatError(
                f"{path}, line {line_no}: not valid JSON ({err.msg}, column {err.colno}){hint}") from None


def _clean_record(raw: dict, where: str, line_no: int, row_no: int | None = None) -> dict:
    """The record's fields, checked; ``row_no`` (default ``line_no``) numbers the fallback id."""
    if not isinstance(raw, dict):
        raise DataFormatError(f"{where}, line {line_no}: expected an object with fields {REQUIRED_FIELDS}, "
                              f"got {type(raw).__name__}")
    record = {}
    for field in REQUIRED_FIELDS:
        value = raw.get(field)
        if value is None:
            raise DataFormatError(f"{where}, line {line_no}: missing field {field!r}")
        if not isinstance(value, str) or not value.strip():
            raise DataFormatError(f"{where}, line {line_no}: field {field!r} must be non-empty text")
        record[field] = value.strip()
    record["id"] = str(raw.get("id") or raw.get("fname") or f"{Path(where).stem}-{row_no or line_no}")
    record["topic"] = str(raw.get("topic") or "")
    if raw.get("split") is not None and str(raw["split"]).strip():
        record["split"] = str(raw["split"]).strip()
    return record


def _csv_records(path: Path) -> list[tuple[int, dict]]:
    """``(first line of the row, record)`` per CSV row; bad quoting, extra fields and missing columns name the line."""
    text = decode_text_file(path, DataFormatError)
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; a dialogue CSV needs a header line such as "
                              f"'dialogue,summary,topic' and one row per dialogue")
    # strict=True turns a stray or missing quote into an error instead of silently merging rows.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    old_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    records, header, end = [], None, 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(value.strip() for value in row):
                continue  # blank line, or an Excel row of empty cells
            if header is None:
                header = _csv_header(path, row)
                continue
            if len(row) > len(header):
                raise DataFormatError(
                    f"{path}, line {start}: {len(row)} fields but the header has {len(header)} ({', '.join(header)}) "
                    f"— a comma inside a value that is not quoted? Put that value in double quotes.")
            raw = dict(zip(header, row))
            missing = [f for f in REQUIRED_FIELDS if f not in raw]
            if missing:
                raise DataFormatError(
                    f"{path}, line {start}: only {len(row)} field(s) but the header has {len(header)} "
                    f"({', '.join(header)}); missing field {missing[0]!r} — a lost comma or quote?")
            records.append((start, _clean_record(raw, str(path), start, row_no=len(records) + 2)))
    except csv.Error as err:
        raise DataFormatError(_csv_error_message(path, err, end + 1, reader.line_num)) from None
    finally:
        csv.field_size_limit(old_limit)
    if header is None:
        raise DataFormatError(f"{path}: the file is empty; a dialogue CSV needs a header line such as "
                              f"'dialogue,summary,topic' and one row per dialogue")
    if not records:
        raise DataFormatError(f"{path}: only the header line ({','.join(header)}), no dialogue rows below it; "
                              f"add one row per dialogue")
    return records


def _csv_header(path: Path, row: list[str]) -> list[str]:
    header = [name.strip() for name in row]
    missing = [f for f in REQUIRED_FIELDS if f not in header]
    if missing:
        hint = ""
        if len(header) == 1 and ";" in header[0]:
            hint = " The file is separated by ';' (Excel with Hungarian settings?); save it with commas."
        raise DataFormatError(f"{path}: header lacks column(s) {missing}; found {header}. The first line must "
                              f"name the columns, e.g. dialogue,summary,topic.{hint}")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        # DictReader would keep only the last of the repeated columns and silently drop the others.
        raise DataFormatError(f"{path}: header repeats column(s) {repeated}; found {header}. Rename or remove them.")
    return header


def _csv_error_message(path: Path, err: csv.Error, start: int, noticed: int) -> str:
    """A :class:`csv.Error` as a sentence a student can act on; ``start`` is the first line of the bad row."""
    text = str(err)
    if "field larger than field limit" in text:
        mib, kib = divmod(_CSV_FIELD_LIMIT, 2 ** 20)
        limit = f"{mib} MiB" if mib else f"{kib // 1024} KiB"
        return (f"{path}, line {start}: a field is longer than {limit} — usually an "
                f"opening quote without its closing quote, which swallows the rest of the file. Check the quotes "
                f"from line {start} on; split a truly huge dialogue into several.")
    if "unexpected end of data" in text:
        return (f"{path}, line {start}: a quoted value opened here is never closed, so it swallows every row up "
                f"to the end of the file. Add the closing double quote.")
    if "expected after" in text:
        return (f"{path}, line {start}: broken quoting in the row starting here (noticed on line {noticed}: "
                f"{text}) — a value whose closing quote is missing swallowed the next row(s), or a quote inside a "
                f"quoted value is not doubled (write \"\" for \").")
    return f"{path}, line {start}: malformed CSV ({text}); check the quotes and commas on that line."


def _read_records(path: Path) -> list[tuple[int, dict]]:
    """``(line, record)`` for each dialogue of a JSONL or CSV file."""
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not a .jsonl or .csv file")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json"}:
        records = [(line_no, _clean_record(raw, str(path), line_no)) for line_no, raw in iter_jsonl(path)]
        if not records:
            raise DataFormatError(f"{path}: the file is empty (no JSON lines); write one JSON object per line "
                                  f"with the fields {', '.join(REQUIRED_FIELDS)}")
        return records
    if suffix == ".csv":
        return _csv_records(path)
    raise DataFormatError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl or .csv")


def read_dialogue_file(path: str | Path) -> list[dict]:
    """Read one JSONL or CSV file of dialogues: ``dialogue``, ``summary``; optional ``id``/``fname``, ``topic``."""
    return [record for _, record in _read_records(Path(path))]


def _split_records(records: list[dict], seed: int, where: str,
                   lines: list[int] | None = None) -> dict[str, list[dict]]:
    """Split by the records' ``split`` values when every record has one, else 80/10/10 at random with ``seed``."""
    def at(i: int) -> str:
        return f"line {lines[i]}" if lines else f"row {i + 1}"

    with_split = [i for i, r in enumerate(records) if r.get("split")]
    if with_split and len(with_split) < len(records):
        # A random split of the rest could put rows meant for 'test' into training, so refuse to guess.
        first = next(i for i, r in enumerate(records) if not r.get("split"))
        raise DataFormatError(
            f"{where}: only {len(with_split)} of {len(records)} rows have a 'split' value; the first without one "
            f"is {at(first)}. Give every row a split ({', '.join(SPLITS)}), or remove the split column to split "
            f"the file at random.")
    if with_split:
        for i, r in enumerate(records):
            if r["split"] not in SPLITS:
                raise DataFormatError(f"{where}, {at(i)}: unknown split {r['split']!r}; use one of "
                                      f"{', '.join(SPLITS)}")
        return {name: [r for r in records if r["split"] == name] for name in SPLITS}
    if len(records) < 3:
        raise DataFormatError(f"{where}: only {len(records)} dialogue(s); a random train/validation/test split "
                              f"needs at least 3 (better dozens), or give each row a 'split' value")
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
            raise DataFormatError(f"{where}: split {name!r} is empty; give some rows split={name}")
        parts[name] = Dataset.from_list([{k: r[k] for k in ("id", "topic", "dialogue", "summary")} for r in rows])
    return DatasetDict(parts)


def _looks_like_local_path(source: str | Path) -> bool:
    """True when ``source`` (which does not exist) was meant as a local path rather than a Hub ``owner/name``."""
    if isinstance(source, Path):
        return True
    text = str(source)
    if text.startswith(("./", "../", "/", "~", ".\\", "..\\")) or "\\" in text or re.match(r"[A-Za-z]:", text):
        return True
    if text.lower().endswith(DIALOGUE_SUFFIXES):
        return True
    if "/" in text:
        # Hub ids have exactly one slash; and `mydata/dialogs` where mydata/ exists is a typo, not a Hub id.
        return text.count("/") > 1 or Path(text.split("/", 1)[0]).is_dir()
    return False


def load_dialogues(source: str | Path | None = None, seed: int = 42):
    """Load dialogue-summarisation data as a ``DatasetDict`` (train / validation / test).

    ``source``:
      * ``None`` — the project's bundled dialogues in ``data/dialogues/``;
      * a folder with ``train``/``validation``/``test`` files (``.jsonl`` or ``.csv``);
      * one ``.jsonl``/``.csv`` file (split by its ``split`` column, else 80/10/10 with ``seed``);
      * ``"knkarthick/dialogsum"`` (or ``hub:<id>``) — DialogSum from the Hub, needs internet. A string that
        looks like a local path (``./x``, ``x.csv``, ``folder/x`` with an existing ``folder``) is never sent
        to the Hub: when it does not exist, the error says so at once.
    """
    if source is None:
        source = bundled_dialogues_dir()
    text = str(source)
    if isinstance(source, str) and text.startswith("hub:"):
        return _load_from_hub(text[4:].strip())
    path = Path(text).expanduser()
    if path.is_dir():
        splits = {}
        for name in SPLITS:
            found = [path / f"{name}{ext}" for ext in (".jsonl", ".csv") if (path / f"{name}{ext}").exists()]
            if not found:
                raise DataFormatError(f"{path}: no {name}.jsonl or {name}.csv in this folder")
            if len(found) > 1:
                raise DataFormatError(f"{path}: both {name}.jsonl and {name}.csv; remove one so it is clear "
                                      f"which holds the {name} split")
            splits[name] = read_dialogue_file(found[0])
        return _to_dataset_dict(splits, str(path))
    if path.is_file():
        numbered = _read_records(path)
        records = [record for _, record in numbered]
        lines = [line for line, _ in numbered]
        return _to_dataset_dict(_split_records(records, seed, str(path), lines), str(path))
    if _looks_like_local_path(source):
        raise DataFormatError(f"local path does not exist: {text} (looked for {path.absolute()}). Check the "
                              f"spelling and the current folder; for a Hub dataset write 'hub:owner/name'.")
    if text.count("/") == 1 and all(part.strip() for part in text.split("/")):
        return _load_from_hub(text)
    raise DataFormatError(f"local path does not exist: {text}; it is not a folder, a .jsonl/.csv file or a Hub "
                          f"dataset id like {HUB_DIALOGSUM!r}")


def _load_from_hub(hub_id: str):
    from datasets import DatasetDict, load_dataset

    try:
        raw = load_dataset(hub_id)
    except Exception as err:  # noqa: BLE001 — offline raises ConnectionError, OSError, HfHubHTTPError …
        if err.__class__.__name__ in {"DatasetNotFoundError", "RepositoryNotFoundError"}:
            raise DataFormatError(
                f"The Hugging Face Hub has no dataset {hub_id!r} (or it is private/gated). Check the id, e.g. "
                f"{HUB_DIALOGSUM!r}; for a local folder or file, check its path.") from None
        raise DataFormatError(
            f"Could not load {hub_id!r} from the Hugging Face Hub ({err.__class__.__name__}). It needs internet; "
            "offline, use the bundled data (source=None) or your own JSONL/CSV file."
        ) from None
    parts = {}
    for name in SPLITS:
        if name not in raw:
            raise DataFormatError(f"{hub_id}: the Hub dataset has no {name!r} split (it has {sorted(raw)}); "
                                  f"use a dataset with train/validation/test splits or download it as files")
        split = raw[name]
        missing = [f for f in REQUIRED_FIELDS if f not in split.column_names]
        if missing:
            raise DataFormatError(f"{hub_id}: split {name!r} lacks column(s) {missing}; found {split.column_names}")
        for field in REQUIRED_FIELDS:
            # An empty dialogue or summary would train and score on nothing without any sign of it.
            bad = next((i for i, v in enumerate(split[field]) if not isinstance(v, str) or not v.strip()), None)
            if bad is not None:
                raise DataFormatError(f"{hub_id}: split {name!r}, row {bad}: field {field!r} is empty")
        ids = split["id"] if "id" in split.column_names else split["fname"] if "fname" in split.column_names else None
        topics = split["topic"] if "topic" in split.column_names else [""] * len(split)
        parts[name] = split.select_columns(list(REQUIRED_FIELDS)).add_column(
            "id", [str(i) for i in (ids if ids is not None else range(len(split)))]).add_column(
            "topic", [str(t or "") for t in topics])
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


COURSE_NOTES_QA_SPLITS = ("dev", "test")
COURSE_NOTES_QA_FIELDS = ("question", "section", "answer_quote", "split")
COURSE_NOTES_UNCOVERED_KINDS = ("near", "far")
COURSE_NOTES_UNCOVERED_FIELDS = ("id", "question", "kind", "why_uncovered", "split")


def _check_choice(what: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(allowed)} (or None for all questions)")


def _read_labelled(path: Path, fields: tuple[str, ...], choices: dict[str, tuple[tuple[str, ...], str]],
                   keep) -> list[dict]:
    """The rows of a labelled JSONL file for which ``keep(row)`` is true. Every row must have each of ``fields``
    non-empty, and each field in ``choices`` one of its values (``{field: (values, hint)}``); otherwise a
    :class:`DataFormatError` names the file, the line and the field."""
    rows = []
    for line_no, row in iter_jsonl(path):
        for name in fields:
            if not isinstance(row, dict) or row.get(name) in (None, "", []):
                raise DataFormatError(f"{path}, line {line_no}: missing or empty field {name!r}")
        for name, (values, hint) in choices.items():
            if row[name] not in values:
                raise DataFormatError(f"{path}, line {line_no}: field {name!r} is {row[name]!r}; use one of "
                                      f"{', '.join(values)}{hint}")
        if keep(row):
            rows.append(row)
    return rows


def load_course_notes_qa(path: str | Path | None = None, split: str | None = None) -> list[dict]:
    """Labelled retrieval questions about the course notes (section/subsection that holds each answer, and a
    verbatim ``answer_quote`` of it), in file order.

    Each question carries a stored ``split``, ``"dev"`` or ``"test"`` (assigned, seeded, by
    ``scripts/split_course_notes_qa.py``): tune retrieval settings on ``split="dev"`` and report them once on
    ``split="test"``; ``split=None`` returns every question. A line without one of
    :data:`COURSE_NOTES_QA_FIELDS`, or with another split value, raises :class:`DataFormatError` naming the file,
    the line and the field."""
    _check_choice("split", split, COURSE_NOTES_QA_SPLITS)
    return _read_labelled(Path(path or data_dir() / "eval" / "course_notes_qa.jsonl"), COURSE_NOTES_QA_FIELDS,
                          {"split": (COURSE_NOTES_QA_SPLITS, " (scripts/split_course_notes_qa.py assigns them)")},
                          lambda row: split is None or row["split"] == split)


def load_course_notes_uncovered(path: str | Path | None = None, split: str | None = None,
                                kind: str | None = None) -> list[dict]:
    """Labelled questions the course notes do NOT answer, in file order: the other side of the "I don't know"
    threshold (the bot should refuse these and answer :func:`load_course_notes_qa`'s).

    ``kind`` is ``"near"`` (an LLM/ML/GPU/chatbot question a student could ask, often in the notes' own
    vocabulary, that the notes do not answer) or ``"far"`` (an everyday off-domain question); ``why_uncovered``
    says what the notes say nearby. Each question carries a stored ``split``, ``"dev"`` or ``"test"``, assigned
    seeded and per kind by ``scripts/split_course_notes_uncovered.py``: choose the threshold on ``split="dev"``
    and report it once on ``split="test"``. ``split=None`` / ``kind=None`` return every question. A line
    without one of :data:`COURSE_NOTES_UNCOVERED_FIELDS`, or with another split or kind value, raises
    :class:`DataFormatError` naming the file, the line and the field."""
    _check_choice("split", split, COURSE_NOTES_QA_SPLITS)
    _check_choice("kind", kind, COURSE_NOTES_UNCOVERED_KINDS)
    return _read_labelled(Path(path or data_dir() / "eval" / "course_notes_uncovered.jsonl"),
                          COURSE_NOTES_UNCOVERED_FIELDS,
                          {"kind": (COURSE_NOTES_UNCOVERED_KINDS, ""),
                           "split": (COURSE_NOTES_QA_SPLITS,
                                     " (scripts/split_course_notes_uncovered.py assigns them)")},
                          lambda row: ((split is None or row["split"] == split)
                                       and (kind is None or row["kind"] == kind)))


LACI_EVAL_ON_TOPIC = ("hu", "en", "typo", "no_accents", "follow_up", "programme", "level", "ambiguous")
LACI_EVAL_OFF_TOPIC = ("off_topic_near", "off_topic_far")
LACI_EVAL_FIELDS = ("id", "question", "lang", "kind", "split")


def load_laci_eval(path: str | Path | None = None, split: str | None = None, kind: str | None = None) -> list[dict]:
    """The labelled Laci-bot (Week 6) questions, in file order: on-topic ones with the knowledge-base rows that
    answer them (``expected``) and the ``key_facts`` an answer must contain, and off-topic ones (near: other
    university matters; far: everyday) with neither. Each carries a stored ``split`` ("dev" to choose settings
    on, "test" to report once), assigned seeded per kind by ``scripts/split_laci_eval.py``; ``history`` holds a
    follow-up's earlier ``{"role", "content"}`` turns. A line without one of :data:`LACI_EVAL_FIELDS`, or with
    another split or kind value, raises :class:`DataFormatError` naming the file, the line and the field."""
    kinds = LACI_EVAL_ON_TOPIC + LACI_EVAL_OFF_TOPIC
    _check_choice("split", split, COURSE_NOTES_QA_SPLITS)
    _check_choice("kind", kind, kinds)
    rows = _read_labelled(Path(path or data_dir() / "eval" / "laci_eval.jsonl"), LACI_EVAL_FIELDS,
                          {"kind": (kinds, ""), "lang": (("hu", "en"), ""),
                           "split": (COURSE_NOTES_QA_SPLITS, " (scripts/split_laci_eval.py assigns them)")},
                          lambda row: split in (None, row["split"]) and kind in (None, row["kind"]))
    for row in rows:
        row.setdefault("history", [])
        row.setdefault("expected", [])
        row.setdefault("key_facts", [])
    return rows


def shortest_dialogues(split, n: int):
    """The ``n`` shortest dialogues of a split (smoke runs use them so a training step takes seconds)."""
    order = sorted(range(len(split)), key=lambda i: len(split[i]["dialogue"]))
    return split.select(order[:n])
