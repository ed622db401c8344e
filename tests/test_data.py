import json
import random
import re
from pathlib import Path

import pytest

from lacibot_lib import data
from lacibot_lib.settings import data_dir


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


# --- course-notes retrieval questions (data/eval/course_notes_qa.jsonl) ---

QA_FILE = data_dir() / "eval" / "course_notes_qa.jsonl"
NOTES_MD = data_dir() / "course_notes" / "course_notes.md"


def _qa_row(i, split):
    return {"id": f"q{i}", "question": f"question {i}?", "section": "1. Transformers", "subsection": None,
            "answer_quote": "attention", "lang": "en", "split": split}


def test_course_notes_qa_dev_and_test_partition_all_questions():
    everything = data.load_course_notes_qa()
    dev, test = data.load_course_notes_qa(split="dev"), data.load_course_notes_qa(split="test")
    ids = [q["id"] for q in everything]
    dev_ids, test_ids = {q["id"] for q in dev}, {q["id"] for q in test}
    assert len(everything) >= 64 and len(ids) == len(set(ids))
    assert dev_ids.isdisjoint(test_ids) and dev_ids | test_ids == set(ids)
    assert len(dev) + len(test) == len(everything)
    assert len(dev) == len(everything) // 2  # first half dev; test gets the extra one when the count is odd
    assert all(q["split"] == "dev" for q in dev) and all(q["split"] == "test" for q in test)
    assert sum(q["lang"] == "hu" for q in everything) >= 8


def test_course_notes_qa_split_filter_on_a_small_file(tmp_path):
    _write_jsonl(tmp_path / "qa.jsonl", [_qa_row(1, "dev"), _qa_row(2, "test"), _qa_row(3, "test")])
    assert [q["id"] for q in data.load_course_notes_qa(tmp_path / "qa.jsonl", split="dev")] == ["q1"]
    assert [q["id"] for q in data.load_course_notes_qa(tmp_path / "qa.jsonl", split="test")] == ["q2", "q3"]
    assert [q["id"] for q in data.load_course_notes_qa(tmp_path / "qa.jsonl")] == ["q1", "q2", "q3"]


def test_course_notes_qa_unknown_split_argument():
    with pytest.raises(ValueError, match=r"unknown split 'validation'; use one of dev, test"):
        data.load_course_notes_qa(split="validation")


def test_course_notes_qa_bad_split_value_names_file_line_and_field(tmp_path):
    _write_jsonl(tmp_path / "qa.jsonl", [_qa_row(1, "dev"), _qa_row(2, "train")])
    with pytest.raises(data.DataFormatError,
                       match=r"qa\.jsonl, line 2: field 'split' is 'train'; use one of dev, test"):
        data.load_course_notes_qa(tmp_path / "qa.jsonl")
    row = _qa_row(1, "dev")
    del row["split"]
    _write_jsonl(tmp_path / "nosplit.jsonl", [row])
    with pytest.raises(data.DataFormatError, match=r"nosplit\.jsonl, line 1: missing or empty field 'split'"):
        data.load_course_notes_qa(tmp_path / "nosplit.jsonl")


def _notes_blocks():
    """{(section, subsection or None): text from that heading line up to the next heading} of the course notes."""
    blocks, key, section = {}, None, None
    for line in NOTES_MD.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(#{1,3}) +(.*?)\s*$", line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            if level == 1:
                key = None
            elif level == 2:
                section, key = title, (title, None)
            else:
                key = (section, title)
            if key is not None:
                blocks[key] = ""
        if key is not None:
            blocks[key] += line + "\n"
    return blocks


def _qa_lines():
    return [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_course_notes_qa_quotes_are_verbatim_in_their_subsection():
    blocks = _notes_blocks()
    for q in _qa_lines():
        key = (q["section"], q["subsection"])
        assert (q["section"], None) in blocks, f"{q['id']}: section {q['section']!r} is not a heading of the notes"
        assert key in blocks, f"{q['id']}: subsection {q['subsection']!r} is not a heading under {q['section']!r}"
        assert q["answer_quote"] in blocks[key], f"{q['id']}: {q['answer_quote']!r} not found under {key}"
        assert 4 <= len(q["answer_quote"].split()) <= 15, f"{q['id']}: the quote should be 4 to 15 words"


def test_course_notes_qa_stored_split_is_the_seeded_one():
    # The rule of scripts/split_course_notes_qa.py: ids sorted (numerically), shuffled with Random(2026), first
    # half dev, the rest test; the file ordered by id. A mismatch means the script was not re-run after an edit.
    rows = _qa_lines()
    order = sorted((q["id"] for q in rows), key=lambda i: (i.rstrip("0123456789"), int(re.search(r"\d+$", i)[0])))
    assert [q["id"] for q in rows] == order, "the file must be ordered by id"
    random.Random(2026).shuffle(order)
    expected = {qid: "dev" if n < len(order) // 2 else "test" for n, qid in enumerate(order)}
    assert {q["id"]: q["split"] for q in rows} == expected


# --- questions the course notes do not answer (data/eval/course_notes_uncovered.jsonl) ---

UNCOVERED_FILE = data_dir() / "eval" / "course_notes_uncovered.jsonl"


def _uncovered_row(i, split, kind="near"):
    return {"id": f"u{i}", "question": f"uncovered question {i}?", "kind": kind,
            "why_uncovered": "the notes do not say", "lang": "en", "split": split}


def _uncovered_lines():
    return [json.loads(line) for line in UNCOVERED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_course_notes_uncovered_counts_kinds_and_languages():
    everything = data.load_course_notes_uncovered()
    near, far = data.load_course_notes_uncovered(kind="near"), data.load_course_notes_uncovered(kind="far")
    ids = [q["id"] for q in everything]
    assert len(everything) >= 40 and len(ids) == len(set(ids))
    assert len(near) >= 22 and len(far) >= 12 and len(near) + len(far) == len(everything)
    assert all(q["kind"] == "near" for q in near) and all(q["kind"] == "far" for q in far)
    assert {q["lang"] for q in everything} == {"en", "hu"}
    assert sum(q["lang"] == "hu" for q in everything) >= 8
    assert any(q["lang"] == "hu" for q in near) and any(q["lang"] == "hu" for q in far)
    assert all(q["why_uncovered"].strip() for q in everything)


def test_course_notes_uncovered_dev_and_test_partition_all_questions():
    everything = data.load_course_notes_uncovered()
    dev, test = data.load_course_notes_uncovered(split="dev"), data.load_course_notes_uncovered(split="test")
    ids = {q["id"] for q in everything}
    dev_ids, test_ids = {q["id"] for q in dev}, {q["id"] for q in test}
    assert dev_ids.isdisjoint(test_ids) and dev_ids | test_ids == ids
    assert len(dev) + len(test) == len(everything)
    assert all(q["split"] == "dev" for q in dev) and all(q["split"] == "test" for q in test)


def test_course_notes_uncovered_each_kind_is_split_in_halves():
    for kind in data.COURSE_NOTES_UNCOVERED_KINDS:
        of_kind = data.load_course_notes_uncovered(kind=kind)
        dev = data.load_course_notes_uncovered(split="dev", kind=kind)
        test = data.load_course_notes_uncovered(split="test", kind=kind)
        assert len(dev) + len(test) == len(of_kind) and abs(len(dev) - len(test)) <= 1, kind
        assert len(dev) == len(of_kind) // 2, kind  # first half dev; test gets the extra one when odd
        assert all(q["kind"] == kind for q in dev + test)


def test_course_notes_uncovered_split_and_kind_filters_on_a_small_file(tmp_path):
    rows = [_uncovered_row(1, "dev"), _uncovered_row(2, "test"), _uncovered_row(3, "dev", kind="far"),
            _uncovered_row(4, "test", kind="far")]
    _write_jsonl(tmp_path / "un.jsonl", rows)
    load = data.load_course_notes_uncovered
    assert [q["id"] for q in load(tmp_path / "un.jsonl")] == ["u1", "u2", "u3", "u4"]
    assert [q["id"] for q in load(tmp_path / "un.jsonl", split="dev")] == ["u1", "u3"]
    assert [q["id"] for q in load(tmp_path / "un.jsonl", kind="far")] == ["u3", "u4"]
    assert [q["id"] for q in load(tmp_path / "un.jsonl", split="test", kind="near")] == ["u2"]


def test_course_notes_uncovered_unknown_split_or_kind_argument():
    with pytest.raises(ValueError, match=r"unknown split 'validation'; use one of dev, test"):
        data.load_course_notes_uncovered(split="validation")
    with pytest.raises(ValueError, match=r"unknown kind 'close'; use one of near, far"):
        data.load_course_notes_uncovered(kind="close")


def test_course_notes_uncovered_bad_kind_value_names_file_line_and_field(tmp_path):
    _write_jsonl(tmp_path / "un.jsonl", [_uncovered_row(1, "dev"), _uncovered_row(2, "test", kind="close")])
    with pytest.raises(data.DataFormatError,
                       match=r"un\.jsonl, line 2: field 'kind' is 'close'; use one of near, far"):
        data.load_course_notes_uncovered(tmp_path / "un.jsonl")
    _write_jsonl(tmp_path / "badsplit.jsonl", [_uncovered_row(1, "train")])
    with pytest.raises(data.DataFormatError,
                       match=r"badsplit\.jsonl, line 1: field 'split' is 'train'; use one of dev, test"):
        data.load_course_notes_uncovered(tmp_path / "badsplit.jsonl")
    row = _uncovered_row(1, "dev")
    del row["why_uncovered"]
    _write_jsonl(tmp_path / "nowhy.jsonl", [row])
    with pytest.raises(data.DataFormatError, match=r"nowhy\.jsonl, line 1: missing or empty field 'why_uncovered'"):
        data.load_course_notes_uncovered(tmp_path / "nowhy.jsonl")


def test_no_uncovered_question_is_a_covered_question():
    covered = {q["question"].strip().casefold() for q in data.load_course_notes_qa()}
    uncovered = [q["question"].strip().casefold() for q in data.load_course_notes_uncovered()]
    assert covered.isdisjoint(uncovered)
    assert len(uncovered) == len(set(uncovered)), "an uncovered question is listed twice"


def test_course_notes_uncovered_stored_split_is_the_seeded_one():
    # The rule of scripts/split_course_notes_uncovered.py: for each kind separately, its ids sorted (numerically),
    # shuffled with a fresh Random(2026), first half dev, the rest test; the file ordered by id. A mismatch means
    # the script was not re-run after an edit.
    rows = _uncovered_lines()

    def id_key(qid):
        return qid.rstrip("0123456789"), int(re.search(r"\d+$", qid)[0])

    assert [q["id"] for q in rows] == sorted((q["id"] for q in rows), key=id_key), "the file must be ordered by id"
    expected = {}
    for kind in data.COURSE_NOTES_UNCOVERED_KINDS:
        order = sorted((q["id"] for q in rows if q["kind"] == kind), key=id_key)
        random.Random(2026).shuffle(order)
        expected.update({qid: "dev" if n < len(order) // 2 else "test" for n, qid in enumerate(order)})
    assert {q["id"]: q["split"] for q in rows} == expected


# --- the Laci-bot eval set (data/eval/laci_eval.jsonl) ---

def test_laci_eval_size_kinds_and_split():
    questions = data.load_laci_eval()
    on = [q for q in questions if q["kind"] in data.LACI_EVAL_ON_TOPIC]
    off = [q for q in questions if q["kind"] in data.LACI_EVAL_OFF_TOPIC]
    near = [q for q in off if q["kind"] == "off_topic_near"]
    assert len(on) >= 150 and len(off) >= 40 and len(near) >= len(off) / 2
    assert {q["kind"] for q in on} == set(data.LACI_EVAL_ON_TOPIC)  # every kind the lab reports is there
    assert all(q["expected"] and q["key_facts"] for q in on) and not any(q["expected"] or q["key_facts"] for q in off)
    for kind in data.LACI_EVAL_ON_TOPIC + data.LACI_EVAL_OFF_TOPIC:  # both halves of every kind are used
        assert {q["split"] for q in questions if q["kind"] == kind} == {"dev", "test"}, kind
    by_id = {q["id"]: q for q in questions}
    for q in questions:
        if q["kind"] == "en":  # a pair is never divided between choosing and reporting
            assert by_id[q["counterpart"]]["split"] == q["split"] and by_id[q["counterpart"]]["lang"] == "hu"
    assert len(data.load_laci_eval(split="dev")) + len(data.load_laci_eval(split="test")) == len(questions)


def test_laci_eval_follow_ups_have_a_conversation():
    follow_ups = data.load_laci_eval(kind="follow_up")
    assert len(follow_ups) >= 10
    for q in follow_ups:
        assert q["history"] and q["history"][0]["role"] == "user" and all(t["content"] for t in q["history"])


def test_laci_eval_english_questions_do_not_copy_the_faq_wording():
    """The translation experiment needs English questions written independently of the FAQ's English columns:
    no English question shares five words in a row with a FAQ question or answer."""
    import csv

    def grams(text, n=5):
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

    with open(data_dir() / "szakmai_gyakorlat" / "gyik.csv", encoding="utf-8") as f:
        faq = set().union(*(grams(row["question_en"]) | grams(row["answer_en"]) for row in csv.DictReader(f)))
    english = data.load_laci_eval(kind="en")
    assert len(english) >= 30
    assert [q["id"] for q in english if grams(q["question"]) & faq] == []


def test_laci_eval_split_is_the_scripts_and_the_script_refuses_bad_rows(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "split_laci_eval.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    bad = tmp_path / "bad.jsonl"
    _write_jsonl(bad, [{"id": "q1", "question": "Mikor?", "lang": "hu", "kind": "off_topic_far", "history": [],
                        "expected": [{"source": "gyik.csv", "ref": "gyik-06"}], "key_facts": []},
                       {"id": "q2", "question": "How long?", "lang": "en", "kind": "en", "history": [],
                        "expected": [{"source": "gyik.csv", "ref": "gyik-99"}], "key_facts": ["8"],
                        "counterpart": "q9"}])
    done = subprocess.run([sys.executable, str(script), "--questions", str(bad)], capture_output=True, text=True)
    assert done.returncode == 1 and "nothing written" in done.stderr
    assert "q1: an off-topic question has no expected rows" in done.stderr
    assert "gyik-99" in done.stderr and "q2: counterpart 'q9'" in done.stderr


def test_laci_eval_bad_split_or_kind_is_refused_with_file_line_and_field(tmp_path):
    row = {"id": "q1", "question": "Mikor?", "lang": "hu", "kind": "hu", "split": "validation"}
    _write_jsonl(tmp_path / "split.jsonl", [row])
    with pytest.raises(data.DataFormatError, match=r"split\.jsonl, line 1: field 'split' is 'validation'"):
        data.load_laci_eval(tmp_path / "split.jsonl")
    _write_jsonl(tmp_path / "kind.jsonl", [{**row, "split": "dev", "kind": "offtopic"}])
    with pytest.raises(data.DataFormatError, match=r"kind\.jsonl, line 1: field 'kind' is 'offtopic'"):
        data.load_laci_eval(tmp_path / "kind.jsonl")
    with pytest.raises(ValueError, match="unknown split"):
        data.load_laci_eval(split="train")
