"""Summarise dialogues with a model and score the summaries — the experiment loop of Weeks 1–3."""
from __future__ import annotations

import time

from .generation import count_tokens, generate, generate_with_shared_prefix, generation_config
from .metrics import compute_rouge, rouge_per_example
from .prompts import INSTRUCTION, SYSTEM_PROMPT, few_shot_prompt, pick_examples


def summarize(model, tokenizer, dialogues: list[str], examples=(), config=None, batch_size: int = 8,
              seed: int | None = None, progress: bool = False) -> list[str]:
    """One summary per dialogue from a k-shot prompt (k = len(examples))."""
    prompts = [few_shot_prompt(tokenizer, d, examples) for d in dialogues]
    return generate(model, tokenizer, prompts, config, batch_size=batch_size, seed=seed, progress=progress)


def score_setting(model, tokenizer, rows, examples=(), config=None, batch_size: int = 8, seed: int | None = None,
                  system: str | None = SYSTEM_PROMPT, instruction: str = INSTRUCTION,
                  share_prefix: bool = True) -> dict:
    """Summaries and their scores for one prompting setting on ``rows`` (dicts with dialogue/summary).

    Returns ``predictions``, mean ``rouge``, per-dialogue ``rouge1_items`` (for intervals and paired tests),
    ``prompt_tokens`` (mean/max too), ``cut_off`` (share of summaries that ran into ``max_new_tokens``) and
    ``seconds``. With examples, the prompt prefix they share is computed once (``share_prefix``; same output).
    """
    rows, examples = list(rows), list(examples)
    references = [r["summary"] for r in rows]
    config = config or generation_config("greedy", tokenizer=tokenizer)
    prompts = [few_shot_prompt(tokenizer, r["dialogue"], examples, system=system, instruction=instruction)
               for r in rows]
    run = generate_with_shared_prefix if share_prefix and examples else generate
    started = time.perf_counter()
    predictions, finished = run(model, tokenizer, prompts, config, batch_size=batch_size, seed=seed,
                                return_finished=True)
    seconds = time.perf_counter() - started
    prompt_tokens = [count_tokens(tokenizer, prompt) for prompt in prompts]
    return {"predictions": predictions, "rouge": compute_rouge(predictions, references),
            "rouge1_items": rouge_per_example(predictions, references)["rouge1"],
            "prompt_tokens": prompt_tokens, "prompt_tokens_mean": sum(prompt_tokens) / len(prompt_tokens),
            "prompt_tokens_max": max(prompt_tokens), "cut_off": 1 - sum(finished) / len(finished),
            "seconds": seconds}


def shot_sweep(model, tokenizer, rows, example_pool, shots, config=None, draws=(42,), batch_size: int = 8,
               max_words: int | None = 120, crossed: bool = False, progress: bool = False) -> dict[int, list[dict]]:
    """``score_setting`` for each k in ``shots`` and each example draw (one seed per draw).

    Draw ``seed`` is one seeded ordering of the pool; k uses its first k examples, so within a draw each k adds
    one example to the previous prompt. k = 0 has no examples and runs once on all rows.

    ``crossed=True`` runs every draw on every row. The default blocked design gives row ``i`` the draw
    ``i % len(draws)``: each row is summarised once per k (a third of the cost of three crossed draws), the draws
    still vary across rows, and within a row k changes nothing but the number of examples — so paired tests
    across k stay valid. Returns ``{k: [result per draw]}``; each result has its ``examples``, ``draw`` and
    ``rows`` (indices into ``rows``).
    """
    from tqdm.auto import tqdm

    rows = list(rows)
    draws = list(draws)
    top = max(shots)
    orderings = {seed: pick_examples(example_pool, top, seed=seed, max_words=max_words) if top else []
                 for seed in draws}
    everything = list(range(len(rows)))
    jobs = []
    for k in shots:
        for d, seed in enumerate(draws[:1] if k == 0 else draws):
            subset = everything if k == 0 or crossed else everything[d::len(draws)]
            if subset:
                jobs.append((k, seed, subset))
    results: dict[int, list[dict]] = {k: [] for k in shots}
    for k, seed, subset in tqdm(jobs, desc="k-shot sweep", disable=not progress):
        examples = orderings[seed][:k] if k else []
        result = score_setting(model, tokenizer, [rows[i] for i in subset], examples, config, batch_size=batch_size,
                               seed=seed)
        results[k].append({**result, "examples": examples, "draw": seed, "rows": subset})
    return results
