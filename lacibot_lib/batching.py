"""Serve many chats with one small local model: gather requests that arrive together into one batched ``generate``.

On a CPU a forward pass over 20 prompts costs about the same per token as over one, and a decode step for 20 rows
costs only about three times one row's, because the step is dominated by reading the weights. Serving chats one at
a time therefore wastes most of the machine: 20 concurrent chats queue behind each other. :class:`BatchedGenerator`
runs one worker thread that takes the first waiting request, keeps gathering requests for a short window
(``gather_s``, longer while more keep arriving, at most ``max_wait_s``), and runs them as one left-padded
``model.generate`` with a streamer that hands each row's new text to its own caller as it is produced.

:class:`BatchedChatModel` puts it behind LangChain's chat-model interface, so an LCEL chain (``prompt | llm |
parser``), ``chain.batch`` and the Gradio app all use it unchanged::

    >>> llm = BatchedChatModel(generator=BatchedGenerator(model, tokenizer), max_new_tokens=64)  # doctest: +SKIP
    >>> llm.batch([[("human", "Hi")], [("human", "What is LoRA?")]])  # one generate() call  # doctest: +SKIP

Requests are grouped only with others that use the same generation settings. This is "static" batching: a request
arriving while a batch runs waits for the next one (continuous batching, which transformers also offers, slots it
in at the next step; its processors cannot yet block repeated n-grams, which the Week 4 lab needs).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field
from transformers import LogitsProcessor, LogitsProcessorList, NoRepeatNGramLogitsProcessor

ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
_DONE = object()


@dataclass
class _Request:
    messages: list[dict]
    settings: tuple  # sorted (name, value) pairs of generation settings: the batching key
    out: queue.Queue = field(default_factory=queue.Queue)  # text pieces, then _DONE or an exception
    cancelled: threading.Event = field(default_factory=threading.Event)


class _RowStreamer:
    """A ``generate`` streamer for a batch: decodes each row's new tokens and puts the new text in its queue."""

    def __init__(self, tokenizer, requests: list[_Request], eos_ids: set[int]):
        self.tokenizer, self.requests, self.eos_ids = tokenizer, requests, eos_ids
        self.tokens: list[list[int]] = [[] for _ in requests]
        self.sent = [0] * len(requests)  # characters of each row already handed out
        self.finished = [False] * len(requests)
        self.prompt_seen = False

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt ids; only new tokens are answers
            self.prompt_seen = True
            return
        for row, token in enumerate(value.reshape(len(self.requests), -1)[:, -1].tolist()):
            if self.finished[row]:
                continue
            if token in self.eos_ids:
                self.finished[row] = True
                continue
            self.tokens[row].append(token)
            text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
            if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
                continue
            if len(text) > self.sent[row]:
                self.requests[row].out.put(text[self.sent[row]:])
                self.sent[row] = len(text)

    def end(self) -> None:
        for row, request in enumerate(self.requests):
            text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
            if len(text) > self.sent[row]:
                request.out.put(text[self.sent[row]:])


class BatchedGenerator:
    """One worker thread that runs concurrent chat requests as batched ``generate`` calls (see the module doc).

    ``max_batch`` caps the rows of one call; ``gather_s`` is how long the worker waits for one more request
    before starting, ``max_wait_s`` the most it waits in all. ``stats`` counts calls and rows (for the lab and
    the tests: 20 concurrent chats should take far fewer than 20 calls).
    """

    def __init__(self, model, tokenizer, max_batch: int = 64, gather_s: float = 0.75, max_wait_s: float = 3.0,
                 share_prefix: bool = True):
        self.model, self.tokenizer = model, tokenizer
        self.min_shared_prefix = 8 if share_prefix else 10**9
        self.max_batch, self.gather_s, self.max_wait_s = max_batch, gather_s, max_wait_s
        self.tokenizer.padding_side = "left"  # new tokens follow every prompt directly
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.waiting: queue.Queue[_Request] = queue.Queue()
        self.stats = {"generate_calls": 0, "rows": 0, "largest_batch": 0}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, messages: list[dict], **settings) -> Iterator[str]:
        """Stream the answer to one chat (OpenAI-style ``messages``) as text pieces; blocks while it waits."""
        request = _Request(messages, tuple(sorted(settings.items())))
        self._ensure_worker()
        self.waiting.put(request)
        try:
            while True:
                piece = request.out.get()
                if piece is _DONE:
                    return
                if isinstance(piece, BaseException):
                    raise piece
                yield piece
        finally:
            request.cancelled.set()  # a caller that stops reading no longer needs its row

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="batched-generate", daemon=True)
                self._worker.start()

    def _gather(self) -> list[_Request]:
        first = self.waiting.get()
        batch, later = [first], []
        started = time.monotonic()
        while len(batch) < self.max_batch:
            left = self.max_wait_s - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                request = self.waiting.get(timeout=min(self.gather_s, left))
            except queue.Empty:
                break
            (batch if request.settings == first.settings else later).append(request)
        for request in later:  # other generation settings: next round
            self.waiting.put(request)
        return [r for r in batch if not r.cancelled.is_set()]

    def _serve(self) -> None:
        while True:
            batch = self._gather()
            if not batch:
                continue
            try:
                self._generate(batch)
            except Exception as err:  # every caller of this batch gets the error; the worker keeps serving
                for request in batch:
                    request.out.put(err)
            else:
                for request in batch:
                    request.out.put(_DONE)

    def _generate(self, batch: list[_Request]) -> None:
        import torch

        texts = [self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False)
                 for r in batch]
        rows = [self.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        streamer = _RowStreamer(self.tokenizer, batch, eos_ids)
        settings = dict(batch[0].settings)
        inputs = self._inputs(rows)
        if settings.pop("repeat_scope", "answer") == "answer" and settings.get("no_repeat_ngram_size"):
            # transformers' no_repeat_ngram_size also counts the prompt, which forbids quoting the context
            settings["logits_processor"] = LogitsProcessorList([AnswerNoRepeatNGram(
                settings.pop("no_repeat_ngram_size"), start=inputs["input_ids"].shape[1])])
        with torch.no_grad():
            self.model.generate(**inputs, streamer=streamer, do_sample=False,
                                pad_token_id=self.tokenizer.pad_token_id, **settings)
        self.stats["generate_calls"] += 1
        self.stats["rows"] += len(batch)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(batch))

    def _inputs(self, rows: list[list[int]]) -> dict:
        """``generate`` inputs for token rows. The prompt start every row shares (chat template + system prompt) is
        run through the model once and its key/value cache copied to every row; each row's own part follows it,
        left-padded. Positions come from the attention mask, so a row's tokens sit where they would unpadded."""
        import torch

        shared = len(rows[0])
        for row in rows[1:]:
            shared = next((i for i, (a, b) in enumerate(zip(row, rows[0])) if a != b), min(shared, len(row)))
        shared = min(shared, min(len(row) for row in rows) - 1)  # every row keeps a token of its own
        pad = self.tokenizer.pad_token_id
        device = self.model.device
        if len(rows) < 2 or shared < self.min_shared_prefix:
            width = max(len(row) for row in rows)
            ids = [[pad] * (width - len(row)) + row for row in rows]
            mask = [[0] * (width - len(row)) + [1] * len(row) for row in rows]
            return {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device)}
        cache = self.model(torch.tensor([rows[0][:shared]], device=device), use_cache=True).cache
        cache.batch_repeat_interleave(len(rows))
        width = max(len(row) for row in rows) - shared
        ids = [rows[0][:shared] + [pad] * (width - len(row) + shared) + row[shared:] for row in rows]
        mask = [[1] * shared + [0] * (width - len(row) + shared) + [1] * (len(row) - shared) for row in rows]
        self.stats["shared_prefix_tokens"] = shared
        return {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device),
                "cache": cache}


class AnswerNoRepeatNGram(LogitsProcessor):
    """Forbid any ``n``-gram from occurring twice *in the answer*: the tokens from column ``start`` on.

    ``generate(no_repeat_ngram_size=n)`` looks at the whole sequence, prompt included, so a RAG answer may not
    repeat three tokens of its own context — it cannot quote. Every row of a left-padded batch starts its answer
    at the same column, so one ``start`` serves the batch."""

    def __init__(self, n: int, start: int):
        self.inner, self.start = NoRepeatNGramLogitsProcessor(n), start

    def __call__(self, input_ids, scores):
        return self.inner(input_ids[:, self.start:], scores)


def as_openai_messages(messages: list[BaseMessage]) -> list[dict]:
    """LangChain messages as the ``{"role", "content"}`` dicts a chat template expects."""
    return [{"role": ROLES.get(m.type, "user"), "content": m.content if isinstance(m.content, str) else
             " ".join(part.get("text", "") for part in m.content if isinstance(part, dict))} for m in messages]


class BatchedChatModel(BaseChatModel):
    """A LangChain chat model whose calls from many threads are answered in shared batches (greedy decoding).

    ``max_new_tokens`` and ``repetition_penalty`` are passed to ``generate``; ``no_repeat_ngram_size`` blocks
    repeated n-grams in the answer only (``repeat_scope="sequence"``: transformers' own, prompt included). Calls
    with the same values can share a batch. ``stop`` words are not supported (the chat template's end token stops)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    generator: Any = Field(exclude=True)
    model_name: str = "local"
    max_new_tokens: int = 160
    no_repeat_ngram_size: int = 0
    repeat_scope: str = "answer"  # where no_repeat_ngram_size looks: "answer", or "sequence" (transformers' own)
    repetition_penalty: float = 1.0

    @property
    def _llm_type(self) -> str:
        return "lacibot-batched-local"

    @property
    def _identifying_params(self) -> dict:
        return {"model_name": self.model_name, **self.generation_settings()}

    def generation_settings(self) -> dict:
        settings = {"max_new_tokens": self.max_new_tokens}
        if self.no_repeat_ngram_size:
            settings["no_repeat_ngram_size"] = self.no_repeat_ngram_size
            settings["repeat_scope"] = self.repeat_scope
        if self.repetition_penalty != 1.0:
            settings["repetition_penalty"] = self.repetition_penalty
        return settings

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        for piece in self.generator.submit(as_openai_messages(messages), **self.generation_settings()):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
