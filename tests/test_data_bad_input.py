"""Bad dialogue files: each one fails with a DataFormatError naming the file, the line and the fix — or, for an
unambiguous legacy encoding, loads correctly with a DataEncodingWarning. Every bad file is built in tmp_path.
The decoding cases themselves are in tests/test_textfiles.py."""
import codecs
import csv
import json
import warnings

import pytest

from lacibot_lib import data

HU_DIALOGUE = "#Person1#: Árvíztűrő tükörfúrógép? Ő is jön.\n#Person2#: Igen, ű és ő."
HU_SUMMARY = "#Person1# kérdez, #Person2# válaszol."
CP1250_SUMMARY = "„Idézet” – három pont…"  # characters that exist in Windows-1250 only (bytes 0x80-0x9F)


def _jsonl_text(rows):
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def _csv_text(rows):
    lines = ["dialogue,summary,topic"]
    for r in rows:
        lines.append(",".join('"' + r[k].replace('"', '""') + '"' for k in ("dialogue", "summary", "topic")))
    return "\r\n".join(lines) + "\r\n"


def _text(fmt, rows):
    return _jsonl_text(rows) if fmt == "jsonl" else _csv_text(rows)


def _rows(summary=HU_SUMMARY, n=3):
    return [{"dialogue": f"{HU_DIALOGUE} {i}", "summary": summary, "topic": "téma"} for i in range(n)]


# --- 1. encodings ---------------------------------------------------------------------------------------------

# Every decoding case is tested in tests/test_textfiles.py; these show both file formats go through it, with
# DataFormatError and DataEncodingWarning.

@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_utf16_without_bom_decodes_exactly_without_warning(tmp_path, fmt):
    path = tmp_path / f"d.{fmt}"
    path.write_bytes(_text(fmt, _rows()).encode("utf-16-le"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", data.DataEncodingWarning)
        records = data.read_dialogue_file(path)
    assert [r["dialogue"] for r in records] == [f"{HU_DIALOGUE} {i}" for i in range(3)]
    assert records[0]["summary"] == HU_SUMMARY and records[0]["topic"] == "téma"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_legacy_encoding_decodes_with_a_warning_naming_file_and_encoding(tmp_path, fmt):
    path = tmp_path / f"legacy.{fmt}"
    path.write_bytes(_text(fmt, _rows(CP1250_SUMMARY)).encode("cp1250"))
    with pytest.warns(data.DataEncodingWarning, match=rf"legacy\.{fmt}: not UTF-8; read it as Windows-1250"):
        records = data.read_dialogue_file(path)
    assert records[0]["dialogue"] == f"{HU_DIALOGUE} 0" and records[0]["summary"] == CP1250_SUMMARY


def test_utf8_file_with_one_latin2_line_is_refused_with_the_line(tmp_path):
    lines = _csv_text(_rows()).encode("utf-8").split(b"\n")
    lines[2] = lines[2].decode("utf-8").encode("iso-8859-2")
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(data.DataFormatError, match=r"mixed\.csv, line 3: mixed encodings — this line is not valid "
                                                   r"UTF-8 .*although line 2 has UTF-8 letters"):
        data.read_dialogue_file(path)


# --- 2. CSV structure -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    # an unquoted comma: one field too many
    ('dialogue,summary\n"a",b\nhi, there,greeting\n', r"line 3: 3 fields but the header has 2 .*double quotes"),
    # the row before it spans lines 2-3, so the bad row starts on line 4
    ('dialogue,summary\n"a\nb",c\nx,y,z\n', r"line 4: 3 fields but the header has 2"),
    # unterminated quote that swallows the rest of the file
    ('dialogue,summary\n"a",b\n"hi, there,greeting\nbye,farewell\n', r"line 3: a quoted value opened here is never"),
    # unterminated quote that swallows the next row up to its opening quote
    ('dialogue,summary\n"hi, there,greeting\n"bye",farewell\n', r"line 2: broken quoting .*noticed on line 3"),
    # a row that lost its separator
    ('dialogue,summary,topic\nhello there\n', r"line 2: only 1 field\(s\) but the header has 3 .*'summary'"),
    ("text,label\nhi,greeting\n", r"header lacks column\(s\) \['dialogue', 'summary'\]; found \['text', 'label'\]"),
    ("dialogue;summary\nhi;greeting\n", r"header lacks column\(s\).*separated by ';'"),
    ("dialogue,summary,summary\nhi,a,b\n", r"header repeats column\(s\) \['summary'\]"),
    ('dialogue,summary\n"a",""\n', r"line 2: field 'summary' must be non-empty text"),
])
def test_malformed_csv_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=rf"bad\.csv(, |: ).*{message}"):
        data.read_dialogue_file(path)


@pytest.mark.parametrize("size_kib, limit, loads", [
    (200, None, True),           # over Python's 128 KiB default, under our 16 MiB: a long transcript is fine
    (100, 64 * 1024, False),     # over the (here lowered) limit: refused with the line, not a raw _csv.Error
])
def test_csv_field_size(tmp_path, monkeypatch, size_kib, limit, loads):
    if limit:
        monkeypatch.setattr(data, "_CSV_FIELD_LIMIT", limit)
    big = "#Person1#: " + "x" * (size_kib * 1024)
    path = tmp_path / "big.csv"
    path.write_text(f'dialogue,summary\n"short",s\n"{big}",s\n', encoding="utf-8")
    before = csv.field_size_limit()
    if loads:
        assert data.read_dialogue_file(path)[1]["dialogue"] == big
    else:
        with pytest.raises(data.DataFormatError, match=r"big\.csv, line 3: a field is longer than 64 KiB"):
            data.read_dialogue_file(path)
    assert csv.field_size_limit() == before, "the process-wide CSV limit must be restored"


def test_csv_blank_and_empty_cell_rows_are_skipped_and_ids_unchanged(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text('dialogue,summary\n\n"a\nb",c\n,\nd,e\n', encoding="utf-8")
    records = data.read_dialogue_file(path)
    assert [(r["id"], r["dialogue"]) for r in records] == [("ok-2", "a\nb"), ("ok-3", "d")]


# --- 3. split column ------------------------------------------------------------------------------------------

def _split_rows(splits):
    return [{"dialogue": f"d{i}", "summary": f"s{i}", "topic": "t", "split": s} for i, s in enumerate(splits)]


@pytest.mark.parametrize("fmt, first_line", [("jsonl", 1), ("csv", 2)])  # CSV line 1 is the header
@pytest.mark.parametrize("splits, where, message", [
    (["train", "test", "", "validation", ""], 2, r"only 3 of 5 rows have a 'split' value; .* is line {line}"),
    (["train", "validation", "test", "tset"], 3, r"line {line}: unknown split 'tset'; use one of train"),
])
def test_split_column_problems_are_refused(tmp_path, fmt, first_line, splits, where, message):
    rows = _split_rows(splits)
    if fmt == "jsonl":
        for r in rows:
            if not r["split"]:
                del r["split"]
        text = _jsonl_text(rows)
    else:
        text = "dialogue,summary,topic,split\n" + "".join(f"{r['dialogue']},{r['summary']},t,{r['split']}\n"
                                                           for r in rows)
    path = tmp_path / f"s.{fmt}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=rf"s\.{fmt}(, |: ).*" + message.format(line=first_line + where)):
        data.load_dialogues(path)


def test_full_split_column_is_used_as_given(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(_jsonl_text(_split_rows(["train", "train", "validation", "test"])), encoding="utf-8")
    dd = data.load_dialogues(path)
    assert list(dd["train"]["dialogue"]) == ["d0", "d1"] and list(dd["test"]["dialogue"]) == ["d3"]


def test_too_few_rows_for_a_random_split(tmp_path):
    path = tmp_path / "two.jsonl"
    path.write_text(_jsonl_text(_rows(n=2)), encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=r"two\.jsonl: only 2 dialogue\(s\)"):
        data.load_dialogues(path)


# --- 4. local paths are never sent to the Hub -----------------------------------------------------------------

@pytest.fixture
def hub_calls(monkeypatch):
    """Record Hub calls instead of making them (offline, and without waiting for network timeouts)."""
    import datasets

    calls = []

    def offline(hub_id, *args, **kwargs):
        calls.append(hub_id)
        raise ConnectionError(f"Couldn't reach {hub_id!r} on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    return calls


@pytest.mark.parametrize("source", [
    "mydata/dialogs",             # mydata/ exists here: a typo in a local path
    "mydata/dialogs.jsonl",
    "elsewhere/dialogs.csv",      # a dialogue file suffix, even though elsewhere/ does not exist
    "./dialogs", "../nowhere/dialogs", "~/no_such_folder_xyz/dialogs",
    "a/b/c",                      # Hub ids have one slash
    "mydata\\dialogs",            # Windows separator
])
def test_missing_local_path_fails_fast_without_the_hub(tmp_path, monkeypatch, hub_calls, source):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mydata").mkdir()
    with pytest.raises(data.DataFormatError, match=r"local path does not exist: "):
        data.load_dialogues(source)
    assert hub_calls == []


@pytest.mark.parametrize("as_path", [False, True])
def test_missing_absolute_path_fails_fast_without_the_hub(tmp_path, hub_calls, as_path):
    missing = tmp_path / "does_not_exist"
    with pytest.raises(data.DataFormatError, match=r"local path does not exist: .*does_not_exist"):
        data.load_dialogues(missing if as_path else str(missing))
    assert hub_calls == []


@pytest.mark.parametrize("source, hub_id", [("owner/name", "owner/name"), ("hub:mydata/dialogs", "mydata/dialogs")])
def test_owner_name_goes_to_the_hub(tmp_path, monkeypatch, hub_calls, source, hub_id):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mydata").mkdir()
    with pytest.raises(data.DataFormatError, match="needs internet"):
        data.load_dialogues(source)
    assert hub_calls == [hub_id]


def test_hub_dataset_that_does_not_exist(monkeypatch):
    import datasets

    class DatasetNotFoundError(Exception):  # stands in for datasets' own, matched by class name
        pass

    def not_found(*args, **kwargs):
        raise DatasetNotFoundError("nope")

    monkeypatch.setattr(datasets, "load_dataset", not_found)
    with pytest.raises(data.DataFormatError, match=r"has no dataset 'owner/typo'.*Check the id"):
        data.load_dialogues("owner/typo")


@pytest.mark.parametrize("bad_summary, message", [
    (None, None),
    ("", r"split 'validation', row 1: field 'summary' is empty"),
])
def test_hub_rows_are_checked_and_shaped(monkeypatch, bad_summary, message):
    import datasets

    def split(n, blank=False):
        summaries = [f"s{i}" for i in range(n)]
        if blank:
            summaries[1] = bad_summary
        return datasets.Dataset.from_dict({"fname": [f"f{i}" for i in range(n)], "topic": ["t"] * n,
                                           "dialogue": [f"d{i}" for i in range(n)], "summary": summaries})

    fake = datasets.DatasetDict({"train": split(3), "validation": split(2, bad_summary is not None),
                                 "test": split(2)})
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: fake)
    if message:
        with pytest.raises(data.DataFormatError, match=message):
            data.load_dialogues("owner/name")
    else:
        dd = data.load_dialogues("owner/name")
        assert dd["train"][0] == {"dialogue": "d0", "summary": "s0", "id": "f0", "topic": "t"}


def test_folder_with_two_files_for_one_split_is_refused(tmp_path):
    for name in data.SPLITS:
        (tmp_path / f"{name}.jsonl").write_text(_jsonl_text(_rows(n=1)), encoding="utf-8")
    (tmp_path / "test.csv").write_text(_csv_text(_rows(n=1)), encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=r"both test\.jsonl and test\.csv; remove one"):
        data.load_dialogues(tmp_path)


# --- 5. empty files -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, message", [
    ("e.jsonl", b"", r"e\.jsonl: the file is empty \(no JSON lines\)"),
    ("e.jsonl", b"\n  \n\n", r"e\.jsonl: the file is empty \(no JSON lines\)"),
    ("e.jsonl", codecs.BOM_UTF16_LE, r"e\.jsonl: the file is empty"),
    ("e.csv", b"", r"e\.csv: the file is empty; a dialogue CSV needs a header line"),
    ("e.csv", b"\r\n\r\n", r"e\.csv: the file is empty"),
    ("e.csv", b"dialogue,summary,topic\n", r"e\.csv: only the header line \(dialogue,summary,topic\), no dialogue"),
    ("e.csv", b"dialogue,summary\n\n,\n", r"e\.csv: only the header line"),
])
def test_empty_or_header_only_file(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(data.DataFormatError, match=message):
        data.load_dialogues(tmp_path / name)


@pytest.mark.parametrize("content, message", [
    ('[\n  {"dialogue": "a", "summary": "b"}\n]\n', r"line 1: not valid JSON .*one whole JSON object per line"),
    ('{\n  "dialogue": "a",\n  "summary": "b"\n}\n', r"line 1: not valid JSON .*pretty-printed"),
    ('["a", "b"]\n', r"line 1: expected an object with fields .* got list"),
])
def test_jsonl_that_is_not_one_object_per_line(tmp_path, content, message):
    (tmp_path / "p.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=rf"p\.jsonl, {message}"):
        data.read_dialogue_file(tmp_path / "p.jsonl")
