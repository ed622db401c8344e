"""The Gradio notes app end to end over HTTP (gradio_client), with real retrieval and a fake chat model."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from lacibot_lib import app, cli, notes_bot
from lacibot_lib.bot import DONT_KNOW_EN, EMPTY_EN
from lacibot_lib.chat import Backend


@pytest.fixture(scope="module")
def notes_url():
    from gradio_client import Client

    backend = Backend("local", "fake model", FakeListChatModel(responses=["LoRA trains two small matrices [1]."]))
    demo = app.build_chat_app(notes_bot.build_notes_bot(backend), app.NOTES_TEXT)
    url = app.launch(demo, block=False)
    yield url, Client(url, verbose=False)
    demo.close()


def test_answer_with_sources(notes_url):
    _, client = notes_url
    reply = client.predict("How many parameters does LoRA add per adapted matrix?", api_name="/respond")
    assert reply.startswith("LoRA trains two small matrices") and "**Sources:** [1] course_notes.pdf, p. " in reply


def test_empty_message(notes_url):
    assert notes_url[1].predict("   ", api_name="/respond") == EMPTY_EN


def test_huge_message_is_truncated_with_a_notice(notes_url):
    reply = notes_url[1].predict("What is LoRA? " + "x" * 100_000, api_name="/respond")
    assert "100,014 characters" in reply and "only the first 4,000 were used" in reply


def test_unrelated_question_gets_no_made_up_source(notes_url):
    reply = notes_url[1].predict("What is the best pizza topping in Naples?", api_name="/respond")
    assert reply == DONT_KNOW_EN and "Sources" not in reply


def test_small_concurrent_load(notes_url):
    from gradio_client import Client

    url, _ = notes_url

    def one_chat(i):
        return Client(url, verbose=False).predict(f"Question {i}: what is ROUGE?", api_name="/respond")

    with ThreadPoolExecutor(max_workers=5) as pool:
        replies = list(pool.map(one_chat, range(5)))
    assert len(replies) == 5 and all("Sources:" in r for r in replies)


def test_cli_refuses_remote_host_without_flag(capsys):
    assert cli.main(["chat", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_warning_line_is_shown_only_when_given():
    import json

    from langchain_core.documents import Document

    from lacibot_lib.bot import DocumentBot

    tiny = DocumentBot(lambda q, k: [(Document("x", metadata={"source": "a.txt"}), 0.9)], None)
    warned = app.build_chat_app(tiny, app.NOTES_TEXT, warning="Knowledge base incomplete: broken.pdf was skipped")
    config = json.dumps(warned.config, default=str)
    assert "kb-warning" in config and "Knowledge base incomplete: broken.pdf was skipped" in config
    assert "kb-warning" not in json.dumps(app.build_chat_app(tiny, app.NOTES_TEXT).config, default=str)


def test_an_unexpected_failure_is_a_readable_reply_and_the_app_stays_up():
    from gradio_client import Client
    from langchain_core.documents import Document

    from lacibot_lib.bot import DocumentBot

    def retrieve(query, k):
        if "crash" in query:
            raise OSError("index file vanished")
        return [(Document("Fine.", metadata={"source": "a.txt"}), 0.9)]

    demo = app.build_chat_app(DocumentBot(retrieve, None, extract=lambda q, hits, query: ("Fine.", [hits[0][0]])),
                              app.NOTES_TEXT)
    try:
        url = app.launch(demo, block=False)
        reply = Client(url, verbose=False).predict("please crash", api_name="/respond")
        assert reply == app.FAILED_EN.format(error="OSError") and "index file" not in reply
        assert Client(url, verbose=False).predict("still there?", api_name="/respond") == "Fine.\n\n**Sources:** a.txt"
    finally:
        demo.close()
