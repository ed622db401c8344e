"""Text generation: GenerationConfig presets, token counting, and the context-window check."""
from __future__ import annotations

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
             seed: int | None = None, check_window: bool = True, progress: bool = False) -> list[str]:
    """Generate one completion per prompt, in left-padded batches; returns only the new text."""
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
    try:
        batches = range(0, len(prompts), batch_size)
        for start in tqdm(batches, desc="generate", disable=not progress):
            chunk = prompts[start:start + batch_size]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=is_encoder_decoder,
                            truncation=is_encoder_decoder, max_length=window if is_encoder_decoder else None)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            out = model.generate(**enc, generation_config=config)
            new_tokens = out if is_encoder_decoder else out[:, enc["input_ids"].shape[1]:]
            outputs.extend(t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = previous_side
    return outputs
