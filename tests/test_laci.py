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
    assert laci.is_on_topic({"dense_cosine": 0.90, "bm25_score": 0.0})
    assert laci.is_on_topic({"dense_cosine": 0.70, "bm25_score": 20.0})
    assert not laci.is_on_topic({"dense_cosine": 0.70, "bm25_score": 1.0})


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

    def __init__(self, dense_cosine):
        from langchain_core.documents import Document

        self.dense_cosine = dense_cosine
        self.doc = Document("Hány hétig tart? 8 hét.", metadata={
            "source": "gyik.csv", "ref": "gyik-06", "kind": "faq", "valasz": "Legalább 8 hét.",
            "answer_en": "At least 8 weeks."})

    def search(self, query, k=5, mode="hybrid"):
        from lacibot_lib.retrieval.base import Hits

        return Hits([(self.doc, 0.03)], {"dense_cosine": self.dense_cosine, "bm25_score": 0.0})


def test_foreign_question_on_topic_is_answered_in_english_else_told_the_languages():
    on_topic = laci.build_laci_bot(retriever=StubRetriever(0.9)).ask("Wie lange dauert das Pflichtpraktikum im BSc?")
    assert on_topic.text == "At least 8 weeks." and on_topic.sources == ["gyik.csv, gyik-06"]
    off_topic = laci.build_laci_bot(retriever=StubRetriever(0.5)).ask("Wie backe ich einen Apfelkuchen?")
    assert off_topic.text == laci.OTHER_LANGUAGE_EN and not off_topic.sources
    assert "Hungarian or English" in off_topic.text and "apfelkuchen" not in off_topic.text.lower()


def test_foreign_questions_with_the_real_retriever(bot):
    german = bot.ask("Wie lange dauert das Pflichtpraktikum im BSc?")  # the retriever scores it on-topic
    assert german.supported and german.sources and "8 weeks" in german.text
    for question in ("Wie backe ich einen Apfelkuchen?", "¿Cuánto dura la práctica profesional?"):
        answer = bot.ask(question)  # not covered: English reply naming the languages, not "Huhú … apfelkuchen"
        assert answer.text == laci.OTHER_LANGUAGE_EN and not answer.sources and not answer.supported


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
