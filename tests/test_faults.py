"""Fault injection: the `openai` backend against small in-process HTTP servers that fail in one way each.

Every fault must end, for a first message and for a follow-up (whose LLM rewrite is a second model call), in a
readable "⚠️ …" answer within a bounded time — through `DocumentBot.ask` and through the Gradio app — and the
same app must still answer a healthy server afterwards. Retrieval is a lambda, so no model or embedder loads.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gradio_client  # imported up front, before any stream exists: see chat_session
import pytest
from langchain_core.documents import Document

from lacibot_lib import app, bot, chat
from lacibot_lib.retrieval.base import Hits
from lacibot_lib.settings import Settings

BUDGET_S = 1.5  # LACIBOT_TIMEOUT_S of these tests: the time budget of one whole answer
SLACK_S = 1.5  # what an answer may take beyond the budget (thread hand-over, Gradio, a loaded CI machine)
DOC = Document("The internship lasts 8 weeks.", metadata={"source": "rules.txt"})
HISTORY = [{"role": "user", "content": "How long is the internship?"},
           {"role": "assistant", "content": "8 weeks [1]."}]
HEALTHY_TEXT = "Eight weeks, see [1]."
SECRET = "fake-key-that-must-never-be-shown-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sse(content: str | None, finish: str | None = None) -> bytes:
    """One server-sent event of an OpenAI chat.completions stream."""
    delta = {"role": "assistant", "content": content} if content is not None else {}
    chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class FakeOpenAI(BaseHTTPRequestHandler):
    """`POST …/chat/completions` answered according to ``self.server.fault``."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def send(self, status: int, body: bytes, content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fault, release = self.server.fault, self.server.release
        try:
            if fault == "http500":
                self.send(500, b'{"error": {"message": "internal error", "type": "server_error"}}')
            elif fault == "http401":
                self.send(401, b'{"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}')
            elif fault == "invalid_json":
                self.send(200, b'{"choices": [ this is not json')
            elif fault == "invalid_sse":  # a stream whose event is not JSON
                self.send(200, b"data: {this is not json\n\ndata: [DONE]\n\n", "text/event-stream")
            elif fault == "slow":  # longer than any timeout of the tests, until teardown releases it
                release.wait(30)
                self.send(200, b"{}")
            elif fault == "drip":  # headers at once, then one token every 0.3 s, forever: only a deadline ends it
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                while not release.wait(0.3):
                    self.wfile.write(sse("slow "))
                    self.wfile.flush()
            else:  # healthy
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in ("Eight weeks, ", "see [1]."):
                    self.wfile.write(sse(piece))
                self.wfile.write(sse(None, "stop") + b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, deadline): exactly what these tests provoke


def start_server(fault: str | None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    server.daemon_threads = True
    server.fault, server.release = fault, threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# fault → what the answer must say
EXPECTED = {
    "dead_port": "Cannot reach",
    "http500": "HTTP 500",
    "http401": "rejected the API key",
    "invalid_json": "not an OpenAI-style chat completion",
    "invalid_sse": "not an OpenAI-style chat completion",
    "slow": f"did not answer within {BUDGET_S:g} s",
    "drip": f"did not answer within {BUDGET_S:g} s",
}


@pytest.fixture(scope="module")
def urls():
    """Base URL per fault (plus "healthy"); every server is shut down and released afterwards."""
    servers = {fault: start_server(fault) for fault in [*EXPECTED, "healthy"] if fault != "dead_port"}
    found = {fault: f"http://127.0.0.1:{server.server_address[1]}/v1" for fault, server in servers.items()}
    found["dead_port"] = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    yield found
    for server in servers.values():
        server.release.set()
        server.shutdown()
        server.server_close()


def backend_for(url: str) -> chat.Backend:
    settings = Settings(backend="openai", openai_base_url=url, openai_api_key=SECRET, openai_model="fake",
                        request_timeout_s=BUDGET_S, max_retries=1)
    return chat.get_backend("openai", settings)


def document_bot(backend) -> bot.DocumentBot:
    # rewrite_with_llm: a follow-up makes two model calls (condense, answer), the case that used to crash
    return bot.DocumentBot(lambda query, k: Hits([(DOC, 0.9)], {"best_score": 0.9}), backend, threshold=0.5,
                           rewrite_with_llm=True)


def test_client_timeouts_fit_the_budget():
    """(retries + 1) attempts of the client's timeout add up to the budget, not 3 × 60 s."""
    settings = Settings(openai_base_url="http://127.0.0.1:9/v1", request_timeout_s=60.0, max_retries=2)
    backend = chat.get_backend("openai", settings)
    assert backend.budget_s == 60.0
    assert backend.model.request_timeout * (backend.model.max_retries + 1) == pytest.approx(60.0)


@pytest.mark.parametrize("fault", list(EXPECTED))
@pytest.mark.parametrize("history", [None, HISTORY], ids=["first", "follow_up"])
def test_bot_answers_every_fault_readably_and_in_time(urls, fault, history):
    document_bot_ = document_bot(backend_for(urls[fault]))
    started = time.monotonic()
    answer = document_bot_.ask("How long is the internship?" if history is None else "And for MSc?", history)
    elapsed = time.monotonic() - started
    assert EXPECTED[fault] in answer.text and "⚠️" in answer.text, answer.text
    assert not answer.supported and SECRET not in answer.text
    assert "Traceback" not in answer.text and "Error:" not in answer.text
    assert elapsed < BUDGET_S + SLACK_S, f"{fault}: {elapsed:.1f} s"
    if fault == "drip":  # cut off mid-answer: what arrived is kept, with its sources, and marked incomplete
        assert answer.text.startswith("slow") and answer.sources == ["rules.txt"]
    else:
        assert answer.text.startswith("⚠️") and answer.sources == []


def test_failed_rewrite_falls_back_to_the_cheap_query(urls):
    b = document_bot(backend_for(urls["http500"]))
    assert b.retrieval_query("And for MSc?", HISTORY) == "How long is the internship? And for MSc?"


def test_healthy_server_answers_with_sources(urls):
    b = document_bot(backend_for(urls["healthy"]))
    answer = b.ask("And for MSc?", HISTORY)
    assert answer.text == HEALTHY_TEXT and answer.sources == ["rules.txt"] and answer.supported
    assert answer.query == HEALTHY_TEXT  # the healthy server also "rewrote" the follow-up


@pytest.fixture(scope="module")
def served(urls):
    """One Gradio app for all faults; the tests swap the bot's backend (the app reads it at every answer)."""
    shared_bot = document_bot(backend_for(urls["healthy"]))
    demo = app.build_chat_app(shared_bot, app.NOTES_TEXT)
    url = app.launch(demo, port=free_port(), block=False)
    yield shared_bot, url
    demo.close()


def chat_session(url):
    """One client = one session: its second message carries a history.

    gradio_client is imported at the top because an abandoned openai stream garbage-collected while another
    thread is still importing httpx (Gradio's first import) makes openai's ``except timeout_exceptions()`` read
    the half-imported module and print an "Exception ignored" warning; a running app imported it long before."""
    return gradio_client.Client(url, verbose=False)



@pytest.mark.parametrize("fault", list(EXPECTED))
def test_app_answers_every_fault_readably_and_in_time(served, urls, fault):
    shared_bot, url = served
    shared_bot.backend = backend_for(urls[fault])
    session = chat_session(url)
    for message in ("How long is the internship?", "And for MSc?"):  # the second is a follow-up
        started = time.monotonic()
        reply = session.predict(message, api_name="/respond")
        elapsed = time.monotonic() - started
        assert isinstance(reply, str) and EXPECTED[fault] in reply and "⚠️" in reply, reply
        assert elapsed < BUDGET_S + SLACK_S + 1.0, f"{fault}: {message!r} took {elapsed:.1f} s"


def test_app_serves_others_while_backends_hang(served, urls):
    """Four answers waiting on a hung server do not hold up a fifth user (the old queue ran 2 at a time)."""
    shared_bot, url = served
    shared_bot.backend = backend_for(urls["slow"])
    with ThreadPoolExecutor(max_workers=5) as pool:
        hung = [pool.submit(chat_session(url).predict, "How long is the internship?", api_name="/respond")
                for _ in range(4)]
        time.sleep(0.3)  # let the slow ones take their queue slots first
        started = time.monotonic()
        quick = chat_session(url).predict("   ", api_name="/respond")  # needs no backend
        quick_s = time.monotonic() - started
        replies = [job.result(timeout=30) for job in hung]
    assert quick == bot.EMPTY_EN and quick_s < BUDGET_S, f"waited {quick_s:.1f} s behind hung requests"
    assert all(EXPECTED["slow"] in reply for reply in replies)


def test_app_still_answers_a_healthy_server_after_the_faults(served, urls):
    shared_bot, url = served
    shared_bot.backend = backend_for(urls["healthy"])
    session = chat_session(url)
    assert session.predict("How long is the internship?", api_name="/respond") == \
        f"{HEALTHY_TEXT}\n\n**Sources:** [1] rules.txt"  # the answer cites [1]: source 1 is listed as [1]
    assert session.predict("And for MSc?", api_name="/respond").startswith(HEALTHY_TEXT)
