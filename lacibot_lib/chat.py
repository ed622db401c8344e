"""Chat backends — one way to get a LangChain chat model, whatever answers behind it.

* ``local``  — a Hugging Face model on this machine (default: the packaged SmolLM2-135M-Instruct) as a LangChain
  chat model whose concurrent calls share batched ``generate`` calls (``lacibot_lib.batching``), streaming each
  answer;
* ``openai`` — OpenAI (``gpt-3.5-turbo`` unless ``LACIBOT_OPENAI_MODEL`` says otherwise, needs
  ``OPENAI_API_KEY``) or any OpenAI-compatible server (vLLM, Ollama, ``transformers serve``) when
  ``OPENAI_BASE_URL`` is set, through ``langchain-openai``. ``LACIBOT_TIMEOUT_S`` is the time budget of one
  whole answer: the client's per-attempt timeout is the budget split over the tries (``LACIBOT_MAX_RETRIES``
  + 1), and :meth:`Backend.stream` stops waiting at the deadline whatever the client does (backoff, a server's
  ``Retry-After``, a server that drips tokens forever), so one hung server cannot hold an app worker for long.

Problems (no key, a wrong key, a dead server) become one :class:`BackendError` with a readable message — the
notebook and the app show it and carry on with the local model. Keys are never printed or logged.
"""
from __future__ import annotations

import contextvars
import queue
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from .settings import Settings, get_settings

BACKENDS = ("local", "openai")
# Decoding for the local model, chosen on the Week 4 dev questions: short answers (each token of 20 concurrent chats
# costs a decode step) and no 3-gram twice in the answer, which ended the loops of greedy decoding. Blocking repeats
# over the whole sequence (transformers' own no_repeat_ngram_size) ended them too, but it also forbids quoting 3
# tokens of the context, and its answers were less grounded in it (Week 4, section 4).
LOCAL_GENERATION = {"max_new_tokens": 48, "no_repeat_ngram_size": 3, "repeat_scope": "answer"}


class BackendError(RuntimeError):
    """A chat backend that cannot answer; the message says why in one sentence, without secrets."""


@dataclass
class Backend:
    name: str  # "local" or "openai"
    label: str  # what the UI shows: which model answers
    model: object  # a LangChain BaseChatModel
    budget_s: float | None = None  # most seconds one answer may take; None: unbounded (the local model)

    def deadline(self) -> float | None:
        """``time.monotonic()`` value by which an answer started now must be done (None: no budget)."""
        return None if self.budget_s is None else time.monotonic() + self.budget_s

    def timeout_message(self) -> str:
        within = f"within {self.budget_s:g} s" if self.budget_s is not None else "in time"
        return f"{self.label} did not answer {within}. Try again, or raise LACIBOT_TIMEOUT_S."

    def stream(self, messages, deadline: float | None = None) -> Iterator[str]:
        """Text chunks of the answer to ``messages``; failures, and passing ``deadline`` (default: now + the
        budget), become ``BackendError``."""
        deadline = deadline if deadline is not None else self.deadline()
        chunks = self.model.stream(messages) if deadline is None else self._until(messages, deadline)
        try:
            for chunk in chunks:
                text = chunk.content if isinstance(chunk.content, str) else "".join(
                    part.get("text", "") for part in chunk.content if isinstance(part, dict))
                if text:
                    yield text
        except BackendError:
            raise
        except Exception as err:  # network, auth, server errors from any provider
            raise BackendError(friendly_error(err, self)) from None
        finally:
            getattr(chunks, "close", lambda: None)()  # a reader that stops early releases the request at once

    def invoke(self, messages, deadline: float | None = None) -> str:
        return "".join(self.stream(messages, deadline))

    def _until(self, messages, deadline: float):
        """The model's chunks, read in a worker thread so that waiting stops at ``deadline`` even while the
        client blocks (a read, a retry backoff). An abandoned worker ends on its client timeout."""
        pipe: queue.Queue = queue.Queue()
        given_up = threading.Event()

        def produce():
            stream = None
            try:
                stream = iter(self.model.stream(messages))
                for chunk in stream:
                    if given_up.is_set():
                        return
                    pipe.put(("chunk", chunk))
                pipe.put(("end", None))
            except Exception as err:  # handed to the reader, which turns it into a BackendError
                pipe.put(("error", err))
            finally:
                getattr(stream, "close", lambda: None)()  # closes the HTTP response of an abandoned stream

        # The caller's context goes along: LangChain keeps callbacks and tracing configuration in context variables.
        context = contextvars.copy_context()
        threading.Thread(target=context.run, args=(produce,), name=f"backend-{self.name}", daemon=True).start()
        try:
            while True:
                try:
                    kind, item = pipe.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise BackendError(self.timeout_message()) from None
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                yield item
        finally:
            given_up.set()


def friendly_error(err: Exception, backend: Backend | None = None) -> str:
    """One readable sentence for a backend failure (the key never appears in it)."""
    import openai

    where = backend.label if backend else "the chat backend"
    if isinstance(err, openai.AuthenticationError):
        return f"{where} rejected the API key (401). Check OPENAI_API_KEY; the local model still works."
    if isinstance(err, openai.APITimeoutError):
        return backend.timeout_message() if backend is not None else \
            f"{where} did not answer in time. Try again, or raise LACIBOT_TIMEOUT_S."
    if isinstance(err, openai.APIConnectionError):
        return f"Cannot reach {where}: is the server running and OPENAI_BASE_URL right? The local model still works."
    if isinstance(err, openai.NotFoundError):
        return f"{where} does not know this model. Check LACIBOT_OPENAI_MODEL."
    if isinstance(err, openai.RateLimitError):
        return f"{where} is rate-limiting or out of quota (429). Wait, or check your plan."
    if isinstance(err, openai.APIStatusError):
        return f"{where} answered with HTTP {err.status_code}."
    if isinstance(err, (openai.APIResponseValidationError, ValueError)) and backend is not None \
            and backend.name == "openai":
        # A body that is not an OpenAI chat completion (HTML, broken JSON, no SSE events): LangChain reports
        # "No generations found in stream", which tells a user nothing.
        return (f"{where} sent a reply that is not an OpenAI-style chat completion. Is OPENAI_BASE_URL an "
                "OpenAI-compatible endpoint (usually ending in /v1)?")
    return f"{where} failed: {err.__class__.__name__}."


@lru_cache(maxsize=4)
def _local_generator(model_name: str, device: str):
    """One batching worker per model and device, shared by every chat model made from it."""
    from .batching import BatchedGenerator
    from .models import load_model

    model, tokenizer = load_model(model_name, device=device)
    return BatchedGenerator(model, tokenizer)


def local_chat_model(settings: Settings | None = None, max_new_tokens: int = 160, no_repeat_ngram_size: int = 0,
                     repetition_penalty: float = 1.0, repeat_scope: str = "answer"):
    """The local model as a LangChain chat model (loaded once per process, then shared). Concurrent calls with the
    same decoding settings are answered in one batched ``generate``."""
    from .batching import BatchedChatModel

    settings = settings or get_settings()
    return BatchedChatModel(generator=_local_generator(settings.model, settings.device), model_name=settings.model,
                            max_new_tokens=max_new_tokens, no_repeat_ngram_size=no_repeat_ngram_size,
                            repetition_penalty=repetition_penalty, repeat_scope=repeat_scope)


def openai_chat_model(settings: Settings | None = None, temperature: float = 0.0):
    """``ChatOpenAI`` for OpenAI or any OpenAI-compatible server (``OPENAI_BASE_URL``), made through LangChain's
    provider-neutral entry point ``init_chat_model`` (swap ``model_provider`` for another vendor)."""
    from langchain.chat_models import init_chat_model

    settings = settings or get_settings()
    if not settings.openai_api_key and not settings.openai_base_url:
        raise BackendError("The OpenAI backend needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                           "OpenAI-compatible server). Using the local model instead.")
    # A local OpenAI-compatible server usually ignores the key, but the client insists on one.
    api_key = settings.openai_api_key or "not-needed-for-local-server"
    # LACIBOT_TIMEOUT_S budgets a whole answer, so each of the (retries + 1) attempts gets its share: a hung
    # server then costs about one budget, not 3 × 60 s. Backend.stream enforces the deadline on top.
    per_try = settings.request_timeout_s / (settings.max_retries + 1)
    return init_chat_model(settings.openai_model, model_provider="openai", api_key=api_key,
                           base_url=settings.openai_base_url, timeout=per_try,
                           max_retries=settings.max_retries, temperature=temperature, streaming=True)


def get_backend(name: str | None = None, settings: Settings | None = None) -> Backend:
    """The chat backend ``name`` (default ``LACIBOT_BACKEND``, i.e. ``local``). Raises ``BackendError``."""
    settings = settings or get_settings()
    name = (name or settings.backend).lower()
    if name == "local":
        return Backend("local", f"local · {settings.model}", local_chat_model(settings, **LOCAL_GENERATION))
    if name == "openai":
        where = settings.openai_base_url or "api.openai.com"
        return Backend("openai", f"{settings.openai_model} @ {where}", openai_chat_model(settings),
                       budget_s=settings.request_timeout_s)
    raise BackendError(f"Unknown backend {name!r}; choose one of {BACKENDS}.")


def backend_or_local(name: str | None = None, settings: Settings | None = None) -> tuple[Backend, str | None]:
    """The asked-for backend, or the local one plus the reason when it cannot be used."""
    try:
        return get_backend(name, settings), None
    except BackendError as err:
        return get_backend("local", settings), str(err)
