import json

import pytest

from lacibot_lib import data


def test_bundled_dialogues_have_the_promised_size_and_shape():
    dd = data.load_dialogues()
    assert len(dd["train"]) >= 180 and len(dd["validation"]) >= 20 and len(dd["test"]) >= 40
    row = dd["test"][0]
    assert set(row) == {"id", "topic", "dialogue", "summary"}
    assert row["dialogue"].startswith("#Person1#:") and "#Person" in row["summary"]
    all_ids = [i for split in dd.values() for i in split["id"]]
    assert len(all_ids) == len(set(all_ids)), "dialogue ids must be unique across splits"
    topics = {t for split in dd.values() for t in split["topic"]}
    assert len(topics) >= 50


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_single_jsonl_file_is_split(tmp_path):
    rows = [{"dialogue": f"#Person1#: hi {i}", "summary": f"s {i}", "fname": f"f{i}"} for i in range(30)]
    _write_jsonl(tmp_path / "mine.jsonl", rows)
    dd = data.load_dialogues(tmp_path / "mine.jsonl")
    assert sum(len(s) for s in dd.values()) == 30 and len(dd["test"]) == 3
    assert dd["train"][0]["id"].startswith("f")


def test_folder_of_csv_files(tmp_path):
    for name in data.SPLITS:
        (tmp_path / f"{name}.csv").write_text('dialogue,summary,topic\n"#Person1#: hi, there",greeting,chat\n',
                                              encoding="utf-8")
    dd = data.load_dialogues(tmp_path)
    assert dd["validation"][0]["dialogue"] == "#Person1#: hi, there" and dd["test"][0]["topic"] == "chat"


def test_missing_summary_names_file_and_line(tmp_path):
    _write_jsonl(tmp_path / "bad.jsonl", [{"dialogue": "a", "summary": "b"}, {"dialogue": "c"}])
    with pytest.raises(data.DataFormatError, match=r"bad.jsonl, line 2: missing field 'summary'"):
        data.load_dialogues(tmp_path / "bad.jsonl")


def test_invalid_json_names_the_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"dialogue": "a", "summary": "b"}\n{oops\n', encoding="utf-8")
    with pytest.raises(data.DataFormatError, match="line 2: not valid JSON"):
        data.read_dialogue_file(tmp_path / "bad.jsonl")


def test_csv_without_summary_column(tmp_path):
    (tmp_path / "x.csv").write_text("dialogue,text\na,b\n", encoding="utf-8")
    with pytest.raises(data.DataFormatError, match=r"x.csv: header lacks column\(s\) \['summary'\]"):
        data.read_dialogue_file(tmp_path / "x.csv")


def test_empty_split_is_reported(tmp_path):
    rows = [{"dialogue": "a", "summary": "b", "split": "train"}, {"dialogue": "c", "summary": "d", "split": "test"}]
    _write_jsonl(tmp_path / "s.jsonl", rows)
    with pytest.raises(data.DataFormatError, match="split 'validation' is empty"):
        data.load_dialogues(tmp_path / "s.jsonl")


def test_hub_offline_gives_a_clear_error(monkeypatch):
    import datasets

    def offline(*args, **kwargs):  # what load_dataset raises without internet, without waiting for timeouts
        raise ConnectionError("Couldn't reach 'knkarthick/dialogsum' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(data.DataFormatError, match="needs internet"):
        data.load_dialogues("knkarthick/dialogsum")


def test_unknown_source():
    with pytest.raises(data.DataFormatError, match="not a folder"):
        data.load_dialogues("nonsense")
