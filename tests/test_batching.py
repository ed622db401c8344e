"""Concurrent chats share batched generate() calls, and batching changes no answer."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lacibot_lib.batching import BatchedChatModel, BatchedGenerator, as_openai_messages

QUESTIONS = ["What is LoRA?", "Why divide attention scores by sqrt(d_k)?", "What does ROUGE-L measure?",
             "Name a colour."]


def conversations():
    system = "Answer briefly from the documents only and cite them like [1]."
    return [[("system", system), ("human", f"<context>\nDocument {i} about the topic.\n</context>\n\nQuestion: {q}")]
            for i, q in enumerate(QUESTIONS)]


@pytest.fixture(scope="module")
def one_by_one(smol):
    """Each conversation answered alone (a fresh generator per call: batches of one)."""
    model, tokenizer = smol
    return [BatchedChatModel(generator=BatchedGenerator(model, tokenizer), max_new_tokens=12,
                             no_repeat_ngram_size=3).invoke(c).content for c in conversations()]


@pytest.mark.parametrize("share_prefix", [True, False])
def test_concurrent_calls_share_one_generate_and_give_the_same_answers(smol, one_by_one, share_prefix):
    model, tokenizer = smol
    generator = BatchedGenerator(model, tokenizer, share_prefix=share_prefix)
    llm = BatchedChatModel(generator=generator, max_new_tokens=12, no_repeat_ngram_size=3)
    answers = [m.content for m in llm.batch(conversations(), config={"max_concurrency": len(QUESTIONS)})]
    assert generator.stats["generate_calls"] == 1 and generator.stats["largest_batch"] == len(QUESTIONS)
    assert answers == one_by_one
    assert ("shared_prefix_tokens" in generator.stats) == share_prefix


def test_streamed_pieces_add_up_to_the_answer(smol, one_by_one):
    model, tokenizer = smol
    llm = BatchedChatModel(generator=BatchedGenerator(model, tokenizer), max_new_tokens=12, no_repeat_ngram_size=3)
    pieces = [chunk.content for chunk in llm.stream(conversations()[0])]
    assert len([p for p in pieces if p]) > 1 and "".join(pieces) == one_by_one[0]


def test_different_settings_are_not_mixed_in_one_batch(smol):
    model, tokenizer = smol
    generator = BatchedGenerator(model, tokenizer)
    short = BatchedChatModel(generator=generator, max_new_tokens=2)
    longer = BatchedChatModel(generator=generator, max_new_tokens=6)
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit((short if i % 2 else longer).invoke, c) for i, c in enumerate(conversations())]
        results = [job.result(timeout=120) for job in jobs]
    assert generator.stats["generate_calls"] == 2 and generator.stats["rows"] == 4
    assert all(len(tokenizer(r.content)["input_ids"]) <= 2 for r in results[1::2])


class BrokenModel:
    """Enough of a model for the batcher to call generate(), which fails."""
    device = "cpu"

    class generation_config:  # noqa: N801 - mimics the attribute of a transformers model
        eos_token_id = 2

    def generate(self, **kwargs):
        raise RuntimeError("out of memory")


def test_a_failing_generate_reaches_every_caller_and_the_worker_keeps_serving(smol):
    _, tokenizer = smol
    generator = BatchedGenerator(BrokenModel(), tokenizer, share_prefix=False)
    llm = BatchedChatModel(generator=generator, max_new_tokens=4)
    def ask(conversation, errors):
        try:
            llm.invoke(conversation)
        except RuntimeError as err:
            errors.append(str(err))

    for _ in range(2):  # the second round proves the worker thread survived the first failure
        errors = []
        threads = [threading.Thread(target=ask, args=(c, errors)) for c in conversations()[:2]]
        [t.start() for t in threads]
        [t.join(timeout=60) for t in threads]
        assert errors == ["out of memory", "out of memory"]


def test_langchain_messages_become_chat_template_roles():
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    messages = [SystemMessage("s"), HumanMessage([{"type": "text", "text": "hi"}]), AIMessage("a")]
    assert as_openai_messages(messages) == [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"},
                                            {"role": "assistant", "content": "a"}]
