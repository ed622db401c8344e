"""Chat backends: clear errors without secrets, and a real OpenAI-protocol round trip through `transformers serve`."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lacibot_lib import chat, models
from lacibot_lib.settings import get_settings

SECRET = "fake-test-key-that-must-never-be-printed-123456"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_without_key_falls_back_to_local_with_a_reason(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(chat.BackendError, match="needs OPENAI_API_KEY"):
        chat.get_backend("openai")
    backend, problem = chat.backend_or_local("openai")
    assert backend.name == "local" and "OPENAI_API_KEY" in problem


def test_unknown_backend():
    with pytest.raises(chat.BackendError, match="Unknown backend"):
        chat.get_backend("claude-on-a-toaster")


def test_dead_server_is_one_clear_message_without_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    monkeypatch.setenv("LACIBOT_MAX_RETRIES", "0")
    monkeypatch.setenv("LACIBOT_TIMEOUT_S", "5")
    backend = chat.get_backend("openai")
    with pytest.raises(chat.BackendError) as err:
        backend.invoke([("human", "hi")])
    assert "Cannot reach" in str(err.value) and SECRET not in str(err.value) and SECRET not in backend.label


def test_friendly_error_for_a_rejected_key():
    import httpx
    import openai

    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    err = openai.AuthenticationError("bad key " + SECRET, response=httpx.Response(401, request=request), body=None)
    message = chat.friendly_error(err)
    assert "rejected the API key" in message and SECRET not in message


def test_local_backend_streams(smol):
    chunks = list(chat.get_backend("local").stream([("human", "What is the capital of France? One word.")]))
    assert len(chunks) > 1 and "".join(chunks).strip()
    # The backend's decoding may not repeat a 3-gram of the prompt ("capital of France"); plain greedy answers it.
    plain = chat.Backend("local", "plain greedy", chat.local_chat_model(max_new_tokens=16))
    assert "Paris" in plain.invoke([("human", "What is the capital of France? One word.")])


@pytest.fixture(scope="module")
def served_model():
    """`transformers serve` with the converted local model on 127.0.0.1, stopped by its PID afterwards."""
    folder = str(models.prepare_packaged_model(verbose=False))
    port = free_port()
    exe = Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen([str(exe), "serve", folder, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("transformers serve did not open its port within 120 s")
        yield folder, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_openai_backend_against_a_real_local_server(served_model, monkeypatch):
    folder, port = served_model
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("LACIBOT_OPENAI_MODEL", folder)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = chat.get_backend("openai", get_settings())
    chunks = list(backend.stream([("human", "What is the capital of France? Answer in one word.")]))
    assert len(chunks) > 1, "expected a streamed answer in several chunks"
    assert "Paris" in "".join(chunks)


def test_raw_openai_client_streaming(served_model):
    import openai

    folder, port = served_model
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=120)
    stream = client.chat.completions.create(model=folder, stream=True, max_tokens=8,
                                            messages=[{"role": "user", "content": "Say hello."}])
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces).strip()


class DrippingModel:
    """A stand-in chat model that streams one chunk every ``every`` seconds, forever (a hung server)."""

    def __init__(self, every: float):
        self.every = every

    def stream(self, messages):
        from langchain_core.messages import AIMessageChunk

        while True:
            time.sleep(self.every)
            yield AIMessageChunk(content="tok ")


def test_stream_stops_at_the_budget_even_while_the_model_keeps_going():
    backend = chat.Backend("openai", "dripping fake", DrippingModel(0.1), budget_s=0.5)
    started, seen = time.monotonic(), []
    with pytest.raises(chat.BackendError, match=r"did not answer within 0\.5 s"):
        for chunk in backend.stream([("human", "hi")]):
            seen.append(chunk)
    assert seen and time.monotonic() - started < 1.0


def test_stream_stops_while_the_model_blocks():
    backend = chat.Backend("openai", "silent fake", DrippingModel(30.0), budget_s=0.3)
    started = time.monotonic()
    with pytest.raises(chat.BackendError, match="did not answer within"):
        backend.invoke([("human", "hi")])
    assert time.monotonic() - started < 1.0


def test_openai_timeout_and_retries_share_the_budget(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LACIBOT_TIMEOUT_S", "30")
    monkeypatch.setenv("LACIBOT_MAX_RETRIES", "2")
    backend = chat.get_backend("openai")
    assert backend.budget_s == 30.0 and backend.model.max_retries == 2
    assert backend.model.request_timeout == pytest.approx(10.0)  # 3 tries × 10 s = the 30 s budget
