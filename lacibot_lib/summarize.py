"""Summarise dialogues with a model and score the summaries — the experiment loop of Weeks 1–3."""
from __future__ import annotations

import time

from .generation import count_tokens, generate, generation_config
from .metrics import compute_rouge
from .prompts import few_shot_prompt


def summarize(model, tokenizer, dialogues: list[str], examples=(), config=None, batch_size: int = 8,
              seed: int | None = None, progress: bool = False) -> list[str]:
    """One summary per dialogue from a k-shot prompt (k = len(examples))."""
    prompts = [few_shot_prompt(tokenizer, d, examples) for d in dialogues]
    return generate(model, tokenizer, prompts, config, batch_size=batch_size, seed=seed, progress=progress)


def score_setting(model, tokenizer, rows, examples=(), config=None, batch_size: int = 8,
                  seed: int | None = None) -> dict:
    """Summaries, ROUGE and prompt lengths for one prompting setting on ``rows`` (dicts with dialogue/summary)."""
    rows = list(rows)
    dialogues = [r["dialogue"] for r in rows]
    references = [r["summary"] for r in rows]
    config = config or generation_config("greedy", tokenizer=tokenizer)
    prompts = [few_shot_prompt(tokenizer, d, examples) for d in dialogues]
    started = time.perf_counter()
    predictions = generate(model, tokenizer, prompts, config, batch_size=batch_size, seed=seed)
    seconds = time.perf_counter() - started
    prompt_tokens = [count_tokens(tokenizer, prompt) for prompt in prompts]
    return {"predictions": predictions, "rouge": compute_rouge(predictions, references),
            "prompt_tokens_mean": sum(prompt_tokens) / len(prompt_tokens), "prompt_tokens_max": max(prompt_tokens),
            "seconds": seconds}


def shot_sweep(model, tokenizer, rows, example_pool, shots, config=None, seed: int = 42, batch_size: int = 8,
               progress: bool = False) -> dict[int, dict]:
    """``score_setting`` for each k in ``shots``; the k examples are the first k of one fixed seeded draw."""
    from tqdm.auto import tqdm

    from .prompts import pick_examples

    pool = pick_examples(example_pool, max(shots), seed=seed) if max(shots) else []
    results = {}
    for k in tqdm(list(shots), desc="k-shot sweep", disable=not progress):
        results[k] = score_setting(model, tokenizer, rows, pool[:k], config, batch_size=batch_size, seed=seed)
    return results
