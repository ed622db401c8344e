import codecs
import re

import pytest

from lacibot_lib.retrieval import kb
from lacibot_lib.retrieval.kb import knowledge_base_dir

HUNGARIAN = "Szakmai gyakorlat: őszi félév, tűzvédelmi oktatás, mérnökinformatikus BSc (VIAUAS00)."


# Decoding itself is tested in tests/test_textfiles.py; these show read_text_file uses it and raises its own class.

def test_read_text_file_decodes_utf16_and_latin2(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + HUNGARIAN.encode("utf-16-le"))
    assert kb.read_text_file(path) == HUNGARIAN
    path.write_bytes(HUNGARIAN.encode("iso-8859-2"))
    with pytest.warns(UserWarning, match="note.txt: not UTF-8; read it as Latin-2"):
        assert kb.read_text_file(path) == HUNGARIAN


def test_binary_is_a_knowledge_base_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(kb.KnowledgeBaseError) as err:
        kb.read_text_file(path)
    message = str(err.value)
    assert "broken.txt" in message and "UTF-8" in message and "\n" not in message


def test_missing_file_is_a_knowledge_base_error(tmp_path):
    with pytest.raises(kb.KnowledgeBaseError, match="nope.txt: file not found"):
        kb.read_text_file(tmp_path / "nope.txt")


FAQ = ("id,kerdes,valasz,question_en,answer_en,tema\n"
       'f-1,Hány hét a gyakorlat?,"Legalább 8 hét, azaz 320 óra.",'
       'How long is it?,"At least 8 weeks, 320 hours.",hossz\n'
       "\n"
       "f-2,Kell NDA?,Az egyetem nem ír alá NDA-t.,Is an NDA needed?,The university signs no NDA.,nda\n")


def test_faq_csv_rows_become_bilingual_documents(tmp_path):
    path = tmp_path / "gyik.csv"
    path.write_text(FAQ, encoding="utf-8-sig")  # Excel writes a BOM before the header
    docs = kb.load_faq_csv(path)
    assert [d.metadata["ref"] for d in docs] == ["f-1", "f-2"]
    first = docs[0]
    assert first.metadata.items() >= {"source": "gyik.csv", "kind": "faq", "row": 1,
                                      "kerdes": "Hány hét a gyakorlat?",
                                      "answer_en": "At least 8 weeks, 320 hours.", "tema": "hossz"}.items()
    for text in ("Hány hét a gyakorlat?", "320 óra", "How long is it?", "320 hours"):
        assert text in first.page_content


def test_faq_csv_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "gyik.csv"
    path.write_text("id,kerdes,question_en\nf-1,Mi ez?,What is it?\n", encoding="utf-8")
    with pytest.raises(kb.KnowledgeBaseError) as err:
        kb.load_faq_csv(path)
    assert "gyik.csv" in str(err.value) and "valasz" in str(err.value)


def test_faq_csv_bad_rows_raise_without_a_problems_list(tmp_path):
    # Called without ``problems`` a loader raises on a bad row rather than return a silently shortened table;
    # with a list it skips the row and reports it there (tests/test_kb_bad_input.py).
    path = tmp_path / "gyik.csv"
    path.write_text("id,kerdes,valasz\nf-1,Mi ez?,Egy válasz, vesszővel\n", encoding="utf-8")
    with pytest.raises(kb.KnowledgeBaseError, match=r"gyik.csv, line 2 \(id 'f-1'\): more fields"):
        kb.load_faq_csv(path)
    path.write_text("id,kerdes,valasz\nf-1,Mi ez?,Ez.\nf-1,Mi az?,Az.\n", encoding="utf-8")
    with pytest.raises(kb.KnowledgeBaseError, match=r"line 3: duplicate id 'f-1'"):
        kb.load_faq_csv(path)


def test_todo_csv_and_txt_sections(tmp_path):
    todo = tmp_path / "teendok.csv"
    todo.write_text("lepes,ki,mit,mikor,megjegyzes\n1,hallgató,Jelentkezik.,2 héttel előtte.,\n", encoding="utf-8")
    (step,) = kb.load_todo_csv(todo)
    assert step.metadata["ref"] == "lepes-1" and step.metadata["kind"] == "todo" and "Jelentkezik." in step.page_content

    txt = tmp_path / "info.txt"
    txt.write_text("Bevezető sor.\n\n== Milyen hosszú? ==\n\nLegalább 8 hét.\n\n== Díjazás ==\n\nKötelező.\n",
                   encoding="utf-8")
    chunks = kb.load_txt(txt)
    assert [c.metadata["ref"] for c in chunks] == ["txt-0", "txt-1", "txt-2"]
    assert chunks[1].page_content == "Milyen hosszú?\nLegalább 8 hét."
    assert chunks[1].metadata["section"] == "Milyen hosszú?"
    assert {c.metadata["source"] for c in chunks} == {"info.txt"} and [c.metadata["chunk"] for c in chunks] == [0, 1, 2]


def test_corrupt_pdf_is_reported_while_other_files_load(tmp_path):
    (tmp_path / "gyik.csv").write_text(FAQ, encoding="utf-8")
    latin2 = "== Díjazás ==\nA díjazás kötelező, fűtött iroda.\n".encode("iso-8859-2")
    (tmp_path / "info.txt").write_bytes(latin2)
    (tmp_path / "osszefoglalo.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "forras.md").write_text("# ignored\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="info.txt: not UTF-8; read it as Latin-2"):
        docs, problems = kb.load_knowledge_base(tmp_path)
    assert sorted(p.split(":")[0] for p in problems) == ["osszefoglalo.pdf", "other.csv"]
    assert all("\n" not in p for p in problems)
    assert {d.metadata["source"] for d in docs} == {"gyik.csv", "info.txt"}
    assert "fűtött" in next(d for d in docs if d.metadata["source"] == "info.txt").page_content


def test_missing_folder_raises(tmp_path):
    with pytest.raises(kb.KnowledgeBaseError, match="not found"):
        kb.load_knowledge_base(tmp_path / "missing")


def test_real_knowledge_base_loads_cleanly():
    docs, problems = kb.load_knowledge_base()
    assert problems == []
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc.metadata["kind"], []).append(doc)
    assert len(by_kind["faq"]) >= 30 and len(by_kind["todo"]) >= 10 and by_kind["txt"]
    pages = {d.metadata["page"] for d in by_kind["pdf"]}
    assert len(pages) >= 4 and min(pages) == 1
    assert {d.metadata["source"] for d in docs} == {"gyik.csv", "teendok.csv", "tajekoztato.txt", "osszefoglalo.pdf"}
    faq = {d.metadata["ref"]: d for d in by_kind["faq"]}
    assert "320" in faq["gyik-06"].page_content and faq["gyik-06"].metadata["question_en"]
    keys = [(d.metadata["source"], d.metadata["ref"], d.metadata.get("chunk")) for d in docs]
    assert len(keys) == len(set(keys)), "documents must be distinguishable for fusion and citation"


SOURCE_KEY = re.compile(r"\[(?:SZAB|VIK442|AUT|AUT-GYIK|AUT-TEENDOK|HIT|TMIT|IIT)(?: §\d+(?:\.\d+)*)?\]")


def _keys(text: str, separator: str) -> list[str]:
    return [key.strip() for key in text.split(separator) if key.strip()]


def test_every_statement_of_the_knowledge_base_names_a_public_source():
    """Issue 15: no invented rule. Every FAQ row and to-do step has a ``forras`` of known source keys (see
    ../shared/kb), and every paragraph of the TXT and every section of the summary ends with a ``Forrás:`` line."""
    import csv

    folder = knowledge_base_dir()
    for name in ("gyik.csv", "teendok.csv"):
        with open(folder / name, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert rows
        for row in rows:
            keys = _keys(row.get("forras") or "", ";")
            assert keys and all(SOURCE_KEY.fullmatch(k) for k in keys), (name, row.get("id") or row["lepes"], keys)
    blocks = [b.strip() for b in re.split(r"\n\s*\n", (folder / "tajekoztato.txt").read_text(encoding="utf-8"))]
    paragraphs = [b for b in blocks[1:] if b and not re.fullmatch(r"==.*==", b)]  # not the title or a heading
    assert len(paragraphs) >= 15
    for block in paragraphs:
        last = block.splitlines()[-1]
        assert last.startswith("Forrás: ") and all(SOURCE_KEY.fullmatch(k) for k in _keys(last[8:], ",")), block[:60]
    summary = (folder / "osszefoglalo_forras.md").read_text(encoding="utf-8")
    sections = re.split(r"^#{2,3} .*$", summary, flags=re.M)[1:]
    assert len(sections) >= 10
    for section in sections:
        lines = [ln for ln in section.strip().splitlines() if ln.strip() and ln.strip() != "<<<PAGEBREAK>>>"]
        assert lines[-1].startswith("Forrás: "), lines[-1]
    assert "köteles" not in summary and "szabályzat –" not in summary.split("\n", 1)[0]


def test_the_summary_pdf_says_it_is_not_official_on_every_page():
    from lacibot_lib.retrieval.documents import read_pdf_pages

    pages = read_pdf_pages(knowledge_base_dir() / "osszefoglalo.pdf")
    assert len(pages) >= 4
    assert all("Nem hivatalos hallgatói összefoglaló" in text for _, text in pages)
