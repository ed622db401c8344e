"""Bad input to the knowledge base: a bad row costs that row only, a bad file that file only, both reported.

Every message must name the file and the line (and the column where there is one), say what to do, be one line,
and never be a traceback; no bad input may silently change or drop other data.
"""
import shutil

import pytest

from lacibot_lib.retrieval import kb

HEADER = "id,kerdes,valasz,question_en,answer_en,tema\n"


def _faq_rows(n: int) -> list[str]:
    return [f"f-{i},Kérdés {i}?,Válasz {i}.,Question {i}?,Answer {i}.,tema\n" for i in range(1, n + 1)]


def _load_faq(path, text):
    path.write_text(text, encoding="utf-8")
    problems = []
    docs = kb.load_faq_csv(path, problems=problems)
    return [d.metadata["ref"] for d in docs], problems


def _one_line_naming(problems, *parts):
    (problem,) = problems
    assert "\n" not in problem and "Traceback" not in problem
    for part in parts:
        assert part in problem, (part, problem)
    return problem


def test_duplicate_id_skips_the_later_row_only(tmp_path):
    rows = _faq_rows(5)
    rows[3] = rows[3].replace("f-4,", "f-2,")
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == ["f-1", "f-2", "f-3", "f-5"]
    _one_line_naming(problems, "gyik.csv, line 5: duplicate id 'f-2' (first on line 3)", "own one",
                     "the row was skipped")


def test_extra_field_skips_that_row_only(tmp_path):
    rows = _faq_rows(4)
    rows[1] = "f-2,Kérdés?,Egy válasz, vesszővel,Q?,A.,tema\n"
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == ["f-1", "f-3", "f-4"]
    _one_line_naming(problems, "line 3 (id 'f-2')", "more fields than the header", "double quotes", "skipped")


def test_trailing_empty_fields_lose_nothing_and_pass(tmp_path):
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "f-1,K?,V.,Q?,A.,t,,\n")
    assert refs == ["f-1"] and problems == []


@pytest.mark.parametrize("size", [240_000, 5_000_000], ids=["240kB-over-csv-default", "5MB-over-parse-limit"])
def test_huge_field_is_a_row_problem_not_a_crash(tmp_path, size):
    rows = _faq_rows(49)
    rows[20] = "f-21,Hosszú?," + "x" * size + ",Q?,A.,t\n"
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == [f"f-{i}" for i in range(1, 50) if i != 21]
    problem = _one_line_naming(problems, "gyik.csv, line 22", "skipped")
    assert len(problem) < 400  # the value itself is never echoed
    assert ".txt file" in problem
    if size < kb._CSV_PARSE_LIMIT:
        assert "column valasz" in problem and "240,000 characters" in problem
    else:
        assert "a value over 4 MiB" in problem


def test_huge_quoted_multiline_value_does_not_turn_into_rows(tmp_path):
    value = "sor, vesszővel, itt\n" * 3000  # 60 kB, every line would look like a CSV row
    rows = _faq_rows(3)
    rows[1] = f'f-2,Hosszú?,"{value}",Q?,A.,t\n'
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == ["f-1", "f-3"]
    _one_line_naming(problems, "lines 3-3003 (id 'f-2'), column valasz", "characters long")


def test_unclosed_quote_costs_its_own_line_and_the_rows_it_swallowed_come_back(tmp_path):
    rows = _faq_rows(5)
    rows[1] = 'f-2,"Kérdés unclosed,Válasz.,Q?,A.,t\n'
    rows[3] = 'f-4,"Idézett, kérdés?",Válasz.,Q?,A.,t\n'  # the next quote: strict parsing stops here
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == ["f-1", "f-3", "f-4", "f-5"]
    _one_line_naming(problems, "gyik.csv, line 3 (starting 'f-2,", "not valid CSV", "double quote")


def test_unclosed_quote_to_the_end_of_the_file(tmp_path):
    rows = _faq_rows(3)
    rows[0] = 'f-1,Kérdés?,"Válasz unclosed,Q?,A.,t\n'
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + "".join(rows))
    assert refs == ["f-2", "f-3"]
    _one_line_naming(problems, "line 2", "not valid CSV")


@pytest.mark.parametrize("row, parts", [
    ("f-9,Kérdés?,,Q?,A.,t\n", ("line 3 (id 'f-9')", "empty value in column(s) valasz", "fill it in")),
    (",Kérdés?,Válasz.,Q?,A.,t\n", ("line 3", "empty value in column(s) id")),
    ("f 9,Kérdés?,Válasz.,Q?,A.,t\n", ("line 3, column id", "contains spaces", "one word")),
], ids=["empty-answer", "empty-id", "id-with-space"])
def test_other_bad_rows(tmp_path, row, parts):
    rows = _faq_rows(2)
    refs, problems = _load_faq(tmp_path / "gyik.csv", HEADER + rows[0] + row + rows[1])
    assert refs == ["f-1", "f-2"]
    _one_line_naming(problems, "gyik.csv", *parts)


def test_row_numbers_do_not_shift_after_a_bad_row(tmp_path):
    rows = _faq_rows(3)
    rows[1] = "f-2,K?,,Q?,A.,t\n"
    path = tmp_path / "gyik.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    docs = kb.load_faq_csv(path, problems=[])
    assert [(d.metadata["ref"], d.metadata["row"]) for d in docs] == [("f-1", 1), ("f-3", 3)]


def test_without_a_problems_list_a_bad_row_still_raises(tmp_path):
    rows = _faq_rows(3)
    rows[1] = "f-2,Hosszú?," + "x" * 240_000 + "\n"
    path = tmp_path / "gyik.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    with pytest.raises(kb.KnowledgeBaseError, match=r"gyik.csv, line 3 \(id 'f-2'\), column valasz"):
        kb.load_faq_csv(path)


def test_all_rows_bad_is_a_file_problem(tmp_path):
    path = tmp_path / "gyik.csv"
    path.write_text(HEADER + "f-1,K?,,,,\nf-2,K?,,,,\n", encoding="utf-8")
    problems = []
    with pytest.raises(kb.KnowledgeBaseError, match="no usable data rows"):
        kb.load_faq_csv(path, problems=problems)
    assert len(problems) == 2


def test_todo_csv_bad_rows_are_skipped_too(tmp_path):
    path = tmp_path / "teendok.csv"
    path.write_text("lepes,ki,mit,mikor,megjegyzes\n1,hallgató,Jelentkezik.,Előtte.,\n1,tanszék,Dupla.,Után.,\n"
                    "2,cég,Aláír.,Közben.,\n3,cég,Értékel.,,\n", encoding="utf-8")
    problems = []
    docs = kb.load_todo_csv(path, problems=problems)
    assert [d.metadata["ref"] for d in docs] == ["lepes-1", "lepes-2"]
    assert len(problems) == 2
    assert "line 3: duplicate lepes '1' (first on line 2)" in problems[0]
    assert "line 5 (lepes '3'): empty value in column(s) mikor" in problems[1]


def test_load_knowledge_base_reports_row_problems_by_file_name_and_keeps_the_rest(tmp_path):
    rows = _faq_rows(49)
    rows[10] = rows[9]  # duplicate of f-10
    rows[30] = "f-31,Hosszú?," + "x" * 240_000 + "\n"
    (tmp_path / "gyik.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    (tmp_path / "teendok.csv").write_text("lepes,ki,mit,mikor\n1,h,Jelentkezik.,Most.\n1,h,Dupla.,Most.\n",
                                          encoding="utf-8")
    docs, problems = kb.load_knowledge_base(tmp_path)
    assert sum(d.metadata["kind"] == "faq" for d in docs) == 47 and sum(d.metadata["kind"] == "todo" for d in docs) == 1
    assert [p.split(":")[0] for p in problems] == ["gyik.csv", "gyik.csv", "teendok.csv"]
    assert problems[0].startswith("gyik.csv: line 12: duplicate id 'f-10'")
    assert problems[1].startswith("gyik.csv: line 32 (id 'f-31'), column valasz")
    assert str(tmp_path) not in " ".join(problems)


# --- encodings -----------------------------------------------------------------------------------------------

UTF8_LINE = "== Díjazás ==\nA hallgató fizetése: óránként 2000 Ft.\n"
LATIN2_LINE = "Fizetés: a cég dönt, fűtött irodában.\n"


# Every decoding case is tested in tests/test_textfiles.py; these show the knowledge base passes the message on.

def test_utf8_file_with_one_latin2_line_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "tajekoztato.txt"
    path.write_bytes(UTF8_LINE.encode("utf-8") + LATIN2_LINE.encode("iso-8859-2") + b"Vege.\n")
    with pytest.raises(kb.KnowledgeBaseError) as err:
        kb.read_text_file(path)
    message = str(err.value)
    assert "tajekoztato.txt, line 3: mixed encodings" in message and "line 1 has UTF-8 letters" in message
    assert "save the whole file as UTF-8" in message and "\n" not in message


def test_mixed_txt_costs_that_file_only(tmp_path):
    (tmp_path / "gyik.csv").write_text(HEADER + "".join(_faq_rows(2)), encoding="utf-8")
    (tmp_path / "info.txt").write_bytes(UTF8_LINE.encode("utf-8") + LATIN2_LINE.encode("iso-8859-2"))
    docs, problems = kb.load_knowledge_base(tmp_path)
    assert {d.metadata["source"] for d in docs} == {"gyik.csv"}
    assert len(problems) == 1 and problems[0].startswith("info.txt: line 3: mixed encodings")


# --- files the knowledge base does not read ------------------------------------------------------------------

def test_unread_files_and_subfolders_are_reported_md_and_hidden_are_not(tmp_path):
    (tmp_path / "gyik.csv").write_text(HEADER + "".join(_faq_rows(1)), encoding="utf-8")
    for name in ("jegyzet.docx", "regi.doc", "lista.xlsx", "tabla.xls", "leiras.odt", "adat.json", "README"):
        (tmp_path / name).write_bytes(b"PK\x03\x04")
    for name in ("osszefoglalo_forras.md", ".DS_Store", "~$jegyzet.docx", "._gyik.csv", ".piszkozat.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "regi").mkdir()
    (tmp_path / ".git").mkdir()
    docs, problems = kb.load_knowledge_base(tmp_path)
    assert [d.metadata["ref"] for d in docs] == ["f-1"]
    by_file = {p.split(":")[0]: p for p in problems}
    assert sorted(by_file) == ["README", "adat.json", "jegyzet.docx", "leiras.odt", "lista.xlsx", "regi.doc",
                               "regi/", "tabla.xls"]
    assert "Word files are not read; save it as PDF or TXT" in by_file["jegyzet.docx"]
    assert "Word files" in by_file["regi.doc"] and "Word files" in by_file["leiras.odt"]
    assert "CSV UTF-8" in by_file["lista.xlsx"] and "CSV UTF-8" in by_file["tabla.xls"]
    assert "TXT" in by_file["adat.json"] and "without an extension" in by_file["README"]
    assert "subfolders are not read; put its .csv, .txt and .pdf files in the top folder" in by_file["regi/"]


def test_empty_folder_is_a_problem(tmp_path):
    docs, problems = kb.load_knowledge_base(tmp_path)
    assert docs == [] and len(problems) == 1 and "no documents" in problems[0]


# --- health --------------------------------------------------------------------------------------------------

def test_health_of_the_bundled_knowledge_base():
    health = kb.knowledge_base_health()
    docs, _ = kb.load_knowledge_base()
    assert health["ok"] is True and health["problems"] == [] and health["documents"] == len(docs)
    assert set(health["by_source"]) == {"gyik.csv", "teendok.csv", "tajekoztato.txt", "osszefoglalo.pdf"}
    assert sum(health["by_source"].values()) == len(docs)


def test_health_of_a_damaged_copy(tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(kb.knowledge_base_dir(), folder)
    faq = (folder / "gyik.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    faq[5] = faq[4]  # a duplicate id
    (folder / "gyik.csv").write_text("".join(faq), encoding="utf-8")
    (folder / "uj.docx").write_bytes(b"PK")
    before = kb.knowledge_base_health()
    health = kb.knowledge_base_health(folder)
    assert health["ok"] is False and len(health["problems"]) == 2
    assert health["by_source"]["gyik.csv"] == before["by_source"]["gyik.csv"] - 1
    assert health["documents"] == before["documents"] - 1


def test_health_never_raises(tmp_path):
    health = kb.knowledge_base_health(tmp_path / "missing")
    assert health == {"folder": str(tmp_path / "missing"), "documents": 0, "by_source": {},
                      "problems": [f"{tmp_path / 'missing'}: knowledge-base folder not found"], "ok": False}
