"""Laci-bot answering: language detection, extractive answers with citations, follow-ups, the easter egg."""
import pytest

from lacibot_lib import laci


@pytest.fixture(scope="module")
def bot():
    return laci.build_laci_bot()


def test_detect_language():
    assert laci.detect_language("Mennyi ideig tart a gyakorlat?") == "hu"
    assert laci.detect_language("mennyi ideig tart a gyakorlat") == "hu"  # no accents, still Hungarian
    assert laci.detect_language("How long does the internship last?") == "en"


def test_easter_egg_decision_both_ways():
    threshold = laci.ON_TOPIC["threshold"]
    assert laci.is_on_topic({"margin": threshold + 0.01, "dense_cosine": 0.5})
    assert not laci.is_on_topic({"margin": threshold - 0.01, "dense_cosine": 0.99, "bm25_score": 50.0})
    assert not laci.is_on_topic({"dense_cosine": 0.99})  # no margin evidence (a BM25-only search): no answer
    assert laci.is_on_topic({"dense_cosine": 0.9}, {"evidence": "dense_cosine", "threshold": 0.85})


def test_search_evidence_has_the_margin_over_the_off_topic_anchors():
    search = laci.LaciSearch(laci.laci_retriever())
    evidence = search.search("Hány hétig tart a szakmai gyakorlat?").evidence
    assert evidence["margin"] == pytest.approx(evidence["dense_cosine"] - evidence["anchor_cosine"])
    thesis = search.search("Mikor kell leadni a szakdolgozatot?").evidence
    assert thesis["anchor_cosine"] > evidence["anchor_cosine"] and thesis["margin"] < evidence["margin"]


def test_hungarian_question_gets_the_faq_answer_with_citation(bot):
    answer = bot.ask("Hány hétig tart a BSc mérnökinformatikus szakmai gyakorlat?")
    assert "8" in answer.text and answer.sources and answer.sources[0].startswith("gyik.csv, gyik-")
    assert answer.supported


def test_english_question_gets_the_english_answer(bot):
    answer = bot.ask("How many weeks is the BSc computer engineering internship?")
    assert "weeks" in answer.text and laci.detect_language(answer.text) == "en"
    assert answer.sources[0].startswith("gyik.csv")


def test_follow_up_uses_the_history(bot):
    history = [{"role": "user", "content": "Mennyi ideig tart a BSc mérnökinformatikus szakmai gyakorlat?"},
               {"role": "assistant", "content": "..."}]
    answer = bot.ask("És MSc-n?", history)
    assert "6" in answer.text and answer.query.endswith("És MSc-n?")


def test_off_topic_gets_the_easter_egg_without_sources(bot):
    for question in ("Mi a legjobb recept a gulyásleveshez?", "Tell me a joke about cats."):
        answer = bot.ask(question)
        assert answer.text.startswith("🦉") and answer.sources == [] and not answer.supported


def test_empty_and_huge_messages(bot):
    assert bot.ask("  ").text == laci.EMPTY_HU
    answer = bot.ask("Mennyi ideig tart a gyakorlat? " + "x" * 100_000)
    assert answer.notice and "csak az első 4,000 karaktert" in answer.notice


def test_generated_answers_with_a_capable_backend():
    """With an OpenAI-style backend the answer is generated from the retrieved context under the Hungarian
    system prompt (a fake chat model stands in for the API)."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from lacibot_lib.chat import Backend

    model = FakeListChatModel(responses=["A BSc gyakorlat legalább 8 hét [1]."])
    generating = laci.build_laci_bot(Backend("openai", "fake gpt", model), retriever=laci.laci_retriever())
    answer, docs, messages = generating.prepare("Hány hétig tart a BSc szakmai gyakorlat?")
    assert messages[0].content == laci.SYSTEM_HU and "udvariasan" in messages[0].content
    assert "<context>" in messages[-1].content and docs and answer.sources
    assert generating.ask("Hány hétig tart a BSc szakmai gyakorlat?").text == "A BSc gyakorlat legalább 8 hét [1]."
    assert generating.ask("Tell me a joke about cats.").text.startswith("🦉")  # the easter egg needs no LLM


JUNK = ["http://x.y/szakmai_gyakorlat?a=1 [link](http://aut.bme.hu/SzakmaiGyakorlat) ### ## **",
        "https://www.aut.bme.hu/SzakmaiGyakorlat/", "aut.bme.hu/SzakmaiGyakorlat", "### ## ** ???",
        "```python\nprint('szakmai gyakorlat')\n```", "![gyakorlat](http://x.y/gyakorlat.png)"]


@pytest.mark.parametrize("junk", JUNK)
def test_pasted_url_or_markup_is_not_a_question(bot, junk):
    """The words inside a link ("szakmai_gyakorlat") used to pass the BM25 threshold and get a cited answer."""
    answer = bot.ask(junk)
    assert answer.text == laci.NOT_A_QUESTION and answer.sources == [] and not answer.supported


def test_is_question_keeps_short_and_formatted_questions():
    for question in ("VIAUAS00", "MSc?", "**VIAUAS00**", "Mi a VIAUAS00?", "Mikor kell leadni? https://x.y/a"):
        assert laci.is_question(question), question
    assert laci.strip_markup("Lásd [a szabályzatot](http://x.y/sz.pdf) **itt**") == ("Lásd a szabályzatot itt", True)


def test_question_with_a_link_is_answered_without_the_link(bot):
    answer = bot.ask("Hány hétig tart a BSc mérnökinformatikus szakmai gyakorlat? https://www.aut.bme.hu/SzakmaiGyakorlat/")
    assert "8" in answer.text and answer.supported and answer.sources[0].startswith("gyik.csv")
    off_topic = bot.ask("Mi ez? https://www.aut.bme.hu/SzakmaiGyakorlat/")  # the link's words are no evidence
    assert off_topic.text.startswith("🦉") and not off_topic.supported and "szakmaigyakorlat" not in off_topic.text


def test_foreign_language_detection_has_no_false_alarms_on_the_eval_set():
    import csv
    import json

    from lacibot_lib.settings import data_dir

    lines = (data_dir() / "eval" / "laci_eval.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    with open(data_dir() / "szakmai_gyakorlat" / "gyik.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            questions += [row["kerdes"], row.get("question_en") or ""]
    questions += ["mennyi ideig tart a gyakorlat", "hany het a gyakorlat bsc", "Es MSc-n?", "Is it paid?"]
    assert [q for q in questions if laci.foreign_language(q)] == []
    assert laci.foreign_language("Wie lange dauert das Pflichtpraktikum im BSc?") == "de"
    assert laci.foreign_language("¿Cuánto dura la práctica profesional?") == "es"


class StubRetriever:
    """The FAQ row about the BSc length, with whatever evidence a test needs."""

    def __init__(self, margin):
        from langchain_core.documents import Document

        self.margin = margin
        self.doc = Document("Hány hétig tart? 8 hét.", metadata={
            "source": "gyik.csv", "ref": "gyik-06", "kind": "faq", "valasz": "Legalább 8 hét.",
            "answer_en": "At least 8 weeks."})

    def search(self, query, k=5, mode="hybrid"):
        from lacibot_lib.retrieval.base import Hits

        return Hits([(self.doc, 0.03)], {"margin": self.margin, "bm25_score": 0.0})


def test_foreign_question_on_topic_is_answered_in_english_else_told_the_languages():
    on_topic = laci.build_laci_bot(retriever=StubRetriever(0.1)).ask("Wie lange dauert das Pflichtpraktikum im BSc?")
    assert on_topic.text == "At least 8 weeks." and on_topic.sources == ["gyik.csv, gyik-06"]
    off_topic = laci.build_laci_bot(retriever=StubRetriever(-0.1)).ask("Wie backe ich einen Apfelkuchen?")
    assert off_topic.text == laci.OTHER_LANGUAGE_EN and not off_topic.sources
    assert "Hungarian or English" in off_topic.text and "apfelkuchen" not in off_topic.text.lower()


def test_foreign_questions_with_the_real_retriever(bot):
    german = bot.ask("Wie lange dauert das Pflichtpraktikum im BSc?")  # the retriever scores it on-topic
    assert german.supported and german.sources and "8 weeks" in german.text
    for question in ("Wie backe ich einen Apfelkuchen?", "Comment faire une tarte aux pommes?"):
        answer = bot.ask(question)  # not covered: English reply naming the languages, not "Huhú … apfelkuchen"
        assert answer.text == laci.OTHER_LANGUAGE_EN and not answer.sources and not answer.supported
    spanish = bot.ask("¿Cuánto dura la práctica profesional?")  # about the internship: answered, in English
    assert spanish.supported and spanish.sources and laci.detect_language(spanish.text) == "en"


def test_degraded_knowledge_base_is_shown_in_the_app(tmp_path):
    import json
    import shutil

    from lacibot_lib import app
    from lacibot_lib.retrieval.kb import knowledge_base_dir

    shutil.copy(knowledge_base_dir() / "gyik.csv", tmp_path / "gyik.csv")
    (tmp_path / "hibas.pdf").write_bytes(b"this is not a PDF")
    retriever = laci.laci_retriever(str(tmp_path))
    assert retriever.problems and retriever.problems[0].startswith("hibas.pdf")
    warning = laci.knowledge_base_warning(retriever)
    assert "hibas.pdf" in warning
    demo = app.build_chat_app(laci.build_laci_bot(retriever=retriever), app.LACI_TEXT, warning=warning)
    config = json.dumps(demo.config, default=str, ensure_ascii=False)
    assert "kb-warning" in config and warning in config
    assert laci.knowledge_base_warning(laci.laci_retriever()) is None  # the bundled one is complete


def test_system_prompt_is_grammatical_hungarian():
    assert "[n] számára" not in laci.SYSTEM_HU and "sorszámukkal hivatkozz" in laci.SYSTEM_HU


def test_easter_egg_is_a_fixed_reply_for_every_off_topic_eval_question():
    """Pasting a word of the question into the template made ungrammatical Hungarian ("a gulyásleveshez nem a
    szakterületem"); the reply is fixed, in the asker's language."""
    from lacibot_lib.data import load_laci_eval

    off_topic = [q for q in load_laci_eval() if not q["expected"]]
    assert len(off_topic) >= 20
    for q in off_topic + [{"question": "Mi a legjobb recept a gulyásleveshez?", "lang": "hu"},
                          {"question": "Budapesten hol lehet jól enni?", "lang": "hu"}]:
        reply = laci.easter_egg(q["question"])
        assert reply == laci.EASTER_EGG[laci.detect_language(q["question"])], q["question"]
    assert "gulyás" not in laci.easter_egg("Mi a legjobb recept a gulyásleveshez?")


@pytest.mark.parametrize("text,programmes,levels", [
    ("Hány hét a mérnökinformatikus BSc-n?", {"mi"}, {"bsc"}),
    ("mernokinformatikus msc", {"mi"}, {"msc"}),
    ("villamosmérnök mesterszakon", {"vill"}, {"msc"}),
    ("How long is it for electrical engineering bachelor students?", {"vill"}, {"bsc"}),
    ("Meddig tart a gyakorlat?", set(), set()),
])
def test_scope_reads_programme_and_level(text, programmes, levels):
    assert laci.scope(text) == (frozenset(programmes), frozenset(levels))


def test_follow_up_keeps_the_programme_and_replaces_the_level():
    asked = laci.asked_scope("És MSc-n?", "Mennyi ideig tart a mérnökinformatikus BSc-s gyakorlat? És MSc-n?")
    assert asked == (frozenset({"mi"}), frozenset({"msc"}))


def _row(ref, kerdes, valasz, tema="idotartam"):
    from langchain_core.documents import Document

    return Document(f"Kérdés: {kerdes}\nVálasz: {valasz}", metadata={
        "source": "gyik.csv", "ref": ref, "kind": "faq", "kerdes": kerdes, "valasz": valasz, "tema": tema,
        "answer_en": valasz})


ROWS = [_row("gyik-06", "Meddig tart mérnökinformatikus BSc-n?", "8 hét."),
        _row("gyik-07", "Meddig tart mérnökinformatikus MSc-n?", "6 hét."),
        _row("gyik-08", "Meddig tart villamosmérnök szakon?", "BSc 6 hét, MSc 4 hét."),
        _row("gyik-20", "Milyen dokumentumok kellenek?", "Feladatlap.", tema="dokumentumok")]


def test_extractive_answer_for_a_named_programme_skips_the_other_programmes_rows():
    text, used = laci.extractive_answer("Meddig tart a gyakorlat villamosmérnök BSc-n?", [(d, 1.0) for d in ROWS])
    assert text == "BSc 6 hét, MSc 4 hét." and [d.metadata["ref"] for d in used] == ["gyik-08"]
    text, used = laci.extractive_answer("Meddig tart mérnökinformatikus MSc-n?", [(d, 1.0) for d in ROWS])
    assert [d.metadata["ref"] for d in used] == ["gyik-07"] and text == "6 hét."


def test_extractive_answer_gives_each_programme_when_the_question_names_none():
    text, used = laci.extractive_answer("Meddig tart a szakmai gyakorlat?", [(d, 1.0) for d in ROWS])
    assert [d.metadata["ref"] for d in used] == ["gyik-06", "gyik-07", "gyik-08"]  # not the other topic's row
    lines = text.splitlines()
    assert lines[0] == "**Mérnökinformatikus BSc:** 8 hét. [1]" and lines[2].endswith("[3]")
    text, used = laci.extractive_answer("Meddig tart a BSc gyakorlat?", [(d, 1.0) for d in ROWS])
    assert [d.metadata["ref"] for d in used] == ["gyik-06", "gyik-08"]  # the MSc-only row does not fit


def test_programme_aware_answers_with_the_real_knowledge_base(bot):
    from lacibot_lib.bot import render_answer

    named = bot.ask("Milyen hosszú a szakmai gyakorlat villamosmérnök BSc-n?")
    assert named.sources == ["gyik.csv, gyik-08"]
    unnamed = bot.ask("How long is the BSc internship?")
    assert {"gyik.csv, gyik-06", "gyik.csv, gyik-08"} <= set(unnamed.sources)
    assert "[1]" in unnamed.text and "[2]" in unnamed.text and "**Források:** [1]" in render_answer(unnamed, "Források")
    history = [{"role": "user", "content": "Mennyi ideig tart a mérnökinformatikus BSc-s szakmai gyakorlat?"},
               {"role": "assistant", "content": "8 hét."}]
    assert bot.ask("És MSc-n?", history).sources == ["gyik.csv, gyik-07"]
