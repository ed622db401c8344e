"""Chat backends — one way to get a LangChain chat model, whatever answers behind it.

* ``local``  — a Hugging Face model on this machine (default: the packaged SmolLM2-135M-Instruct) through
  ``langchain-huggingface`` (``HuggingFacePipeline`` + ``ChatHuggingFace``, streaming included);
* ``openai`` — OpenAI (``gpt-3.5-turbo`` unless ``LACIBOT_OPENAI_MODEL`` says otherwise, needs
  ``OPENAI_API_KEY``) or any OpenAI-compatible server (vLLM, Ollama, ``transformers serve``) when
  ``OPENAI_BASE_URL`` is set, through ``langchain-openai``. Timeouts and retries with exponential backoff are
  the ``openai`` client's own (``LACIBOT_TIMEOUT_S``, ``LACIBOT_MAX_RETRIES``).

Problems (no key, a wrong key, a dead server) become one :class:`BackendError` with a readable message — the
notebook and the app show it and carry on with the local model. Keys are never printed or logged.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from .settings import Settings, get_settings

BACKENDS = ("local", "openai")


class BackendError(RuntimeError):
    """A chat backend that cannot answer; the message says why in one sentence, without secrets."""


@dataclass
class Backend:
    name: str  # "local" or "openai"
    label: str  # what the UI shows: which model answers
    model: object  # a LangChain BaseChatModel

    def stream(self, messages) -> Iterator[str]:
        """Text chunks of the answer to ``messages``; failures become ``BackendError``."""
        try:
            for chunk in self.model.stream(messages):
                text = chunk.content if isinstance(chunk.content, str) else "".join(
                    part.get("text", "") for part in chunk.content if isinstance(part, dict))
                if text:
                    yield text
        except BackendError:
            raise
        except Exception as err:  # network, auth, server errors from any provider
            raise BackendError(friendly_error(err, self)) from None

    def invoke(self, messages) -> str:
        return "".join(self.stream(messages))


def friendly_error(err: Exception, backend: Backend | None = None) -> str:
    """One readable sentence for a backend failure (the key never appears in it)."""
    import openai

    where = backend.label if backend else "the chat backend"
    if isinstance(err, openai.AuthenticationError):
        return f"{where} rejected the API key (401). Check OPENAI_API_KEY; the local model still works."
    if isinstance(err, openai.APITimeoutError):
        return f"{where} did not answer in time. Try again, or raise LACIBOT_TIMEOUT_S."
    if isinstance(err, openai.APIConnectionError):
        return f"Cannot reach {where}: is the server running and OPENAI_BASE_URL right? The local model still works."
    if isinstance(err, openai.NotFoundError):
        return f"{where} does not know this model. Check LACIBOT_OPENAI_MODEL."
    if isinstance(err, openai.RateLimitError):
        return f"{where} is rate-limiting or out of quota (429). Wait, or check your plan."
    if isinstance(err, openai.APIStatusError):
        return f"{where} answered with HTTP {err.status_code}."
    return f"{where} failed: {err.__class__.__name__}."


@lru_cache(maxsize=4)
def _local_pipeline(model_name: str, device: str, max_new_tokens: int):
    from transformers import pipeline

    from .models import load_model

    model, tokenizer = load_model(model_name, device=device)
    generator = pipeline("text-generation", model=model, tokenizer=tokenizer, max_new_tokens=max_new_tokens,
                         do_sample=False, return_full_text=False)
    return generator, tokenizer


def local_chat_model(settings: Settings | None = None, max_new_tokens: int = 160):
    """The local model as a LangChain chat model (loaded once per process, then shared)."""
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline

    settings = settings or get_settings()
    generator, tokenizer = _local_pipeline(settings.model, settings.device, max_new_tokens)
    llm = HuggingFacePipeline(pipeline=generator, model_id=settings.model,
                              pipeline_kwargs={"max_new_tokens": max_new_tokens})
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=settings.model)


def openai_chat_model(settings: Settings | None = None, temperature: float = 0.0):
    """``ChatOpenAI`` for OpenAI or any OpenAI-compatible server (``OPENAI_BASE_URL``)."""
    from langchain_openai import ChatOpenAI

    settings = settings or get_settings()
    if not settings.openai_api_key and not settings.openai_base_url:
        raise BackendError("The OpenAI backend needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                           "OpenAI-compatible server). Using the local model instead.")
    # A local OpenAI-compatible server usually ignores the key, but the client insists on one.
    api_key = settings.openai_api_key or "not-needed-for-local-server"
    return ChatOpenAI(model=settings.openai_model, api_key=api_key, base_url=settings.openai_base_url,
                      timeout=settings.request_timeout_s, max_retries=settings.max_retries,
                      temperature=temperature, streaming=True)


def get_backend(name: str | None = None, settings: Settings | None = None) -> Backend:
    """The chat backend ``name`` (default ``LACIBOT_BACKEND``, i.e. ``local``). Raises ``BackendError``."""
    settings = settings or get_settings()
    name = (name or settings.backend).lower()
    if name == "local":
        return Backend("local", f"local · {settings.model}", local_chat_model(settings))
    if name == "openai":
        where = settings.openai_base_url or "api.openai.com"
        return Backend("openai", f"{settings.openai_model} @ {where}", openai_chat_model(settings))
    raise BackendError(f"Unknown backend {name!r}; choose one of {BACKENDS}.")


def backend_or_local(name: str | None = None, settings: Settings | None = None) -> tuple[Backend, str | None]:
    """The asked-for backend, or the local one plus the reason when it cannot be used."""
    try:
        return get_backend(name, settings), None
    except BackendError as err:
        return get_backend("local", settings), str(err)
