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
