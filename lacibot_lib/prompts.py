"""Prompt builders for dialogue summarisation: zero-, one- and few-shot, chat-template aware.

For chat models (SmolLM2-Instruct) each shot becomes a user/assistant turn, which is how instruction-tuned
models saw examples during training. For models without a chat template (T5-family) the shots are plain text
blocks, as in the original course lab.
"""
from __future__ import annotations

from typing import Iterable, Mapping

INSTRUCTION = "Summarize the following conversation in one or two sentences."
SYSTEM_PROMPT = ("You summarize dialogues. Answer with a short third-person summary that names the speakers "
                 "#Person1# and #Person2#.")


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def plain_block(dialogue: str, summary: str | None = None, instruction: str = INSTRUCTION) -> str:
    """One example as plain text; without a summary it ends where the model should continue."""
    block = f"{instruction}\n\n{dialogue.strip()}\n\nSummary:"
    return f"{block} {summary.strip()}" if summary is not None else block


def summary_messages(dialogue: str, examples: Iterable[Mapping] = (), system: str | None = SYSTEM_PROMPT,
                     instruction: str = INSTRUCTION) -> list[dict]:
    """Chat messages: optional system turn, one user/assistant pair per example, then the question."""
    messages = [{"role": "system", "content": system}] if system else []
    for example in examples:
        messages.append({"role": "user", "content": f"{instruction}\n\n{example['dialogue'].strip()}"})
        messages.append({"role": "assistant", "content": example["summary"].strip()})
    messages.append({"role": "user", "content": f"{instruction}\n\n{dialogue.strip()}"})
    return messages


def few_shot_prompt(tokenizer, dialogue: str, examples: Iterable[Mapping] = (),
                    use_chat_template: bool | None = None, system: str | None = SYSTEM_PROMPT,
                    instruction: str = INSTRUCTION) -> str:
    """A k-shot prompt (k = number of examples) as text ready to tokenise.

    ``system`` (``None`` = no system turn) and ``instruction`` let a lab compare wordings; a model without a chat
    template gets plain text blocks and no system turn.
    """
    examples = list(examples)
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    if use_chat_template:
        messages = summary_messages(dialogue, examples, system=system, instruction=instruction)
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    blocks = [plain_block(e["dialogue"], e["summary"], instruction) for e in examples]
    return "\n\n\n".join(blocks + [plain_block(dialogue, instruction=instruction)])


def zero_shot_prompt(tokenizer, dialogue: str, **kwargs) -> str:
    return few_shot_prompt(tokenizer, dialogue, (), **kwargs)


def one_shot_prompt(tokenizer, dialogue: str, example: Mapping, **kwargs) -> str:
    return few_shot_prompt(tokenizer, dialogue, [example], **kwargs)


def training_pair(tokenizer, dialogue: str, summary: str, use_chat_template: bool | None = None) -> tuple[str, str]:
    """(prompt, target) for fine-tuning: the zero-shot prompt and the summary the model should produce."""
    prompt = zero_shot_prompt(tokenizer, dialogue, use_chat_template=use_chat_template)
    end = tokenizer.eos_token or ""
    if use_chat_template is None:
        use_chat_template = has_chat_template(tokenizer)
    # Chat models end a turn with their end-of-turn token; that is what teaches them to stop.
    return prompt, f"{summary.strip()}{end if use_chat_template else ''}"


def pick_examples(rows, k: int, seed: int = 42, max_words: int | None = 120) -> list[dict]:
    """``k`` fixed in-context examples from a training split (seeded; short ones preferred to save context).

    The draw is nested: the first ``k`` examples of a draw for a larger k are the draw for k (same seed), so a
    k-sweep adds one example at a time.
    """
    import random

    rows = [dict(r) for r in rows]
    if max_words is not None:
        short = [r for r in rows if len(r["dialogue"].split()) <= max_words]
        rows = short if len(short) >= k else rows
    if k > len(rows):
        raise ValueError(f"pick_examples: asked for {k} examples but the split has only {len(rows)} rows")
    random.Random(seed).shuffle(rows)
    return rows[:k]
