"""Text generation: GenerationConfig presets, token counting, the context-window check, and batched generation
that computes a prompt prefix shared by every prompt (the few-shot examples) once and reuses its key/value cache.
"""
from __future__ import annotations

import copy

import torch
from transformers import GenerationConfig

PRESETS: dict[str, dict] = {
    "greedy": {"do_sample": False},
    "sample_t0.3": {"do_sample": True, "temperature": 0.3, "top_p": 0.95},
    "sample_t0.7": {"do_sample": True, "temperature": 0.7, "top_p": 0.95},
    "sample_t1.0": {"do_sample": True, "temperature": 1.0, "top_p": 1.0},
    "sample_t1.5": {"do_sample": True, "temperature": 1.5, "top_p": 1.0},
}


class ContextWindowError(ValueError):
    """The prompt plus the tokens to generate do not fit the model's context window."""


def generation_config(preset: str = "greedy", max_new_tokens: int = 60, tokenizer=None,
                      **overrides) -> GenerationConfig:
    """A ``GenerationConfig`` from a named preset (see ``PRESETS``) plus overrides."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown generation preset {preset!r}; choose one of {sorted(PRESETS)}")
    options = {**PRESETS[preset], "max_new_tokens": max_new_tokens, **overrides}
    if tokenizer is not None:
        options.setdefault("pad_token_id", tokenizer.pad_token_id)
        options.setdefault("eos_token_id", tokenizer.eos_token_id)
    return GenerationConfig(**options)


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def context_window(model, tokenizer=None) -> int:
    """The longest sequence the model was built for (``max_position_embeddings``, else the tokenizer's limit)."""
    window = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    if window:
        return int(window)
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit and limit < 1_000_000 else 512  # T5 was trained on 512 input tokens


def check_fits(tokenizer, prompt: str, max_new_tokens: int, window: int) -> int:
    """Number of prompt tokens; raises ``ContextWindowError`` (with the numbers) if the prompt cannot fit."""
    n_prompt = count_tokens(tokenizer, prompt)
    if n_prompt + max_new_tokens > window:
        raise ContextWindowError(
            f"Prompt has {n_prompt} tokens + {max_new_tokens} to generate = {n_prompt + max_new_tokens}, "
            f"more than the context window of {window}. Use fewer shots or shorter examples."
        )
    return n_prompt


def truncate_left(tokenizer, prompt: str, max_tokens: int) -> str:
    """Keep only the last ``max_tokens`` tokens — what a naive pipeline does, losing the instruction first."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return tokenizer.decode(ids[-max_tokens:]) if len(ids) > max_tokens else prompt


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], config: GenerationConfig | None = None, batch_size: int = 8,
             seed: int | None = None, check_window: bool = True, progress: bool = False,
             return_finished: bool = False):
    """Generate one completion per prompt, in left-padded batches; returns only the new text.

    With ``return_finished=True`` also returns, per prompt, whether the model ended its answer itself (emitted an
    end-of-sequence token) rather than running into ``max_new_tokens`` — a cut-off summary.
    """
    from tqdm.auto import tqdm

    config = config or generation_config("greedy", tokenizer=tokenizer)
    if seed is not None:
        torch.manual_seed(seed)
    is_encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
    window = context_window(model, tokenizer)
    if check_window and not is_encoder_decoder:
        for prompt in prompts:
            check_fits(tokenizer, prompt, config.max_new_tokens or 0, window)
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "right" if is_encoder_decoder else "left"  # decoder-only models continue at the right
    outputs: list[str] = []
    finished: list[bool] = []
    try:
        batches = range(0, len(prompts), batch_size)
        for start in tqdm(batches, desc="generate", disable=not progress):
            chunk = prompts[start:start + batch_size]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=is_encoder_decoder,
                            truncation=is_encoder_decoder, max_length=window if is_encoder_decoder else None)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            out = model.generate(**enc, generation_config=config, tokenizer=tokenizer)
            new_tokens = out if is_encoder_decoder else out[:, enc["input_ids"].shape[1]:]
            _decode_into(tokenizer, new_tokens, config, outputs, finished)
    finally:
        tokenizer.padding_side = previous_side
    return (outputs, finished) if return_finished else outputs


def _decode_into(tokenizer, new_tokens: torch.Tensor, config: GenerationConfig, outputs: list, finished: list) -> None:
    """Decoded new text per row, and whether the row stopped before ``max_new_tokens`` (end-of-sequence token,
    stop string, or padding after either) instead of being cut off by the budget."""
    eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    ends = set(eos if isinstance(eos, (list, tuple)) else [eos]) | {tokenizer.pad_token_id}
    budget_used = new_tokens.shape[1] >= (config.max_new_tokens or 0)
    outputs.extend(t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    finished.extend(not budget_used or bool(ends & set(row[-1:].tolist())) for row in new_tokens)


def shared_prefix_ids(tokenizer, prompts: list[str]) -> tuple[list[int], list[list[int]]]:
    """Token ids every prompt starts with, and each prompt's remaining ids (always at least one token)."""
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    shortest = min(len(x) for x in ids)
    n = 0
    while n < shortest - 1 and all(x[n] == ids[0][n] for x in ids):
        n += 1
    return ids[0][:n], [x[n:] for x in ids]


@torch.no_grad()
def generate_with_shared_prefix(model, tokenizer, prompts: list[str], config: GenerationConfig | None = None,
                                batch_size: int = 8, seed: int | None = None, min_prefix: int = 64,
                                return_finished: bool = False):
    """Same output as :func:`generate`, but the tokens all ``prompts`` share are run through the model once.

    In a k-shot sweep every prompt starts with the same system turn and k examples; that prefix's key/value cache
    is computed once, copied for each batch, and only the per-dialogue rest is prefilled. The batch is laid out as
    ``prefix | padding | rest`` with the padding masked out, so positions stay contiguous. Falls back to
    :func:`generate` for encoder-decoder models or when the shared prefix is shorter than ``min_prefix`` tokens.
    """
    config = config or generation_config("greedy", tokenizer=tokenizer)
    plain = dict(batch_size=batch_size, seed=seed, return_finished=return_finished)
    if getattr(model.config, "is_encoder_decoder", False) or len(prompts) < 2:
        return generate(model, tokenizer, prompts, config, **plain)
    prefix, rests = shared_prefix_ids(tokenizer, prompts)
    if len(prefix) < min_prefix:
        return generate(model, tokenizer, prompts, config, **plain)
    window = context_window(model, tokenizer)
    for prompt, rest in zip(prompts, rests):
        if len(prefix) + len(rest) + (config.max_new_tokens or 0) > window:
            check_fits(tokenizer, prompt, config.max_new_tokens or 0, window)  # raises with the numbers
    if seed is not None:
        torch.manual_seed(seed)
    device = model.device
    prefix_cache = model(input_ids=torch.tensor([prefix], device=device), use_cache=True).cache
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: list[str] = []
    finished: list[bool] = []
    for start in range(0, len(prompts), batch_size):
        chunk = rests[start:start + batch_size]
        longest = max(len(rest) for rest in chunk)
        input_ids = torch.tensor([prefix + [pad] * (longest - len(r)) + r for r in chunk], device=device)
        mask = torch.tensor([[1] * len(prefix) + [0] * (longest - len(r)) + [1] * len(r) for r in chunk],
                            device=device)
        cache = copy.deepcopy(prefix_cache)
        cache.batch_repeat_interleave(len(chunk))
        out = model.generate(input_ids=input_ids, attention_mask=mask, cache=cache,
                             generation_config=config, tokenizer=tokenizer)
        _decode_into(tokenizer, out[:, input_ids.shape[1]:], config, outputs, finished)
    return (outputs, finished) if return_finished else outputs
