"""Transformer internals from scratch: positional encodings, a Llama-style self-attention block, the feed-forward
block and the next-token softmax.

:func:`attention_from_scratch` recomputes one layer's self-attention with plain tensor operations
(projections → RoPE → grouped-query attention with a causal softmax → output projection) from the weights of a
loaded model, so the lab can check it against the model's own layer output.
"""
from __future__ import annotations

import math

import torch


def sinusoidal_encoding(n_positions: int, d_model: int) -> torch.Tensor:
    """The fixed sine/cosine position table of "Attention Is All You Need" (Vaswani et al., 2017)."""
    positions = torch.arange(n_positions, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(n_positions, d_model)
    table[:, 0::2] = torch.sin(positions * div)
    table[:, 1::2] = torch.cos(positions * div)
    return table


def rope_cos_sin(n_positions: int, head_dim: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotary position embedding angles: cos and sin tables of shape (n_positions, head_dim)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.arange(n_positions, dtype=torch.float32)[:, None] * inv_freq[None, :]
    doubled = torch.cat([angles, angles], dim=-1)  # Llama rotates the two halves of each head as pairs
    return doubled.cos(), doubled.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate query/key vectors (…, seq, head_dim) by their position's angle."""
    return x * cos + rotate_half(x) * sin


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Llama's RMSNorm: scale by the root mean square, no mean subtraction."""
    variance = x.float().pow(2).mean(-1, keepdim=True)
    return (x.float() * torch.rsqrt(variance + eps)).to(x.dtype) * weight


def attention_from_scratch(hidden: torch.Tensor, attn, num_heads: int, num_kv_heads: int, head_dim: int,
                           rope_theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-attention of one layer from its weights. ``hidden``: (batch, seq, d_model) after the input norm.

    Returns ``(output, weights)`` with output (batch, seq, d_model) and weights (batch, heads, seq, seq).
    """
    batch, seq, _ = hidden.shape
    q = attn.q_proj(hidden).view(batch, seq, num_heads, head_dim).transpose(1, 2)
    k = attn.k_proj(hidden).view(batch, seq, num_kv_heads, head_dim).transpose(1, 2)
    v = attn.v_proj(hidden).view(batch, seq, num_kv_heads, head_dim).transpose(1, 2)
    cos, sin = rope_cos_sin(seq, head_dim, rope_theta)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    group = num_heads // num_kv_heads  # grouped-query attention: several query heads share one key/value head
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
    causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(causal, float("-inf"))  # a token may not look at later tokens
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    context = (weights @ v).transpose(1, 2).reshape(batch, seq, num_heads * head_dim)
    return attn.o_proj(context), weights


@torch.no_grad()
def compare_with_model(model, input_ids: torch.Tensor, layer: int = 0) -> dict:
    """Our block vs the model's own layer: max absolute error, plus our attention weights for plotting."""
    config = model.config
    seen = record_layer(model, input_ids, layer)  # the layer's input to attention (after its norm) and its output
    captured = {"hidden": seen["input_layernorm"], "output": seen["self_attn"]}
    rope = getattr(config, "rope_parameters", None) or {}
    theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    ours, weights = attention_from_scratch(
        captured["hidden"], model.model.layers[layer].self_attn, config.num_attention_heads,
        config.num_key_value_heads, head_dim, theta)
    error = (ours.float() - captured["output"].float()).abs().max().item()
    return {"max_abs_error": error, "weights": weights[0].float().cpu(), "output": ours,
            "reference": captured["output"]}


@torch.no_grad()
def next_token_distribution(model, tokenizer, text: str, temperature: float = 1.0,
                            top: int = 10) -> list[tuple[str, float]]:
    """The top next tokens after ``text`` with their probabilities at a given temperature."""
    ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
    logits = model(input_ids=ids).logits[0, -1].float()
    probs = torch.softmax(logits / max(temperature, 1e-6), dim=-1)
    values, indices = probs.topk(top)
    return [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(values, indices)]


@torch.no_grad()
def feed_forward_from_scratch(x: torch.Tensor, mlp) -> torch.Tensor:
    """Llama's SwiGLU feed-forward block: down( silu(gate(x)) * up(x) )."""
    return mlp.down_proj(torch.nn.functional.silu(mlp.gate_proj(x)) * mlp.up_proj(x))


@torch.no_grad()
def temperature_table(model, tokenizer, text: str, temperatures, top: int = 8) -> tuple[list[str], torch.Tensor]:
    """Probabilities of the ``top`` most likely next tokens (at T=1) under each temperature: (tokens, probs[T, top])."""
    ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
    logits = model(input_ids=ids).logits[0, -1].float()
    top_ids = logits.topk(top).indices
    rows = [torch.softmax(logits / max(t, 1e-6), dim=-1)[top_ids] for t in temperatures]
    return [tokenizer.decode([int(i)]) for i in top_ids], torch.stack(rows).cpu()


def rope_score(q: torch.Tensor, k: torch.Tensor, m: int, n: int, theta: float = 10000.0) -> float:
    """Attention score between query ``q`` at position ``m`` and key ``k`` at position ``n`` after RoPE."""
    cos, sin = rope_cos_sin(max(m, n) + 1, q.shape[-1], theta)
    return float(apply_rope(q, cos[m], sin[m]) @ apply_rope(k, cos[n], sin[n]))


@torch.no_grad()
def record_layer(model, input_ids: torch.Tensor, layer: int = 0) -> dict:
    """One forward pass that keeps the model's own intermediate tensors, to check a hand-written block against.

    Keys: the output of every sub-module of decoder layer ``layer`` by name (``"input_layernorm"``,
    ``"self_attn.q_proj"``, ``"mlp"``, …), ``"self_attn"`` (the attention output) and ``"attn_weights"``,
    ``"self_attn.o_proj.input"`` (the heads' concatenated context), ``"rotary_emb"`` (cos, sin),
    ``"hidden_states"`` (embeddings, then each layer's output) and ``"logits"``. Attention runs in the plain
    ("eager") implementation for this pass so its weights exist; the previous one is restored afterwards.
    """
    block = model.model.layers[layer]
    seen: dict = {}

    def keep(name):
        def hook(module, args, output):
            if name == "self_attn":
                seen["attn_weights"] = output[1].detach().clone()
                output = output[0]
            seen[name] = (output[0] if isinstance(output, tuple) and name != "rotary_emb" else output)
            if name == "self_attn.o_proj":
                seen["self_attn.o_proj.input"] = args[0].detach().clone()
        return hook

    modules = [(name, module) for name, module in block.named_modules() if name]
    modules += [("rotary_emb", model.model.rotary_emb)]
    handles = [module.register_forward_hook(keep(name)) for name, module in modules]
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        out = model(input_ids=input_ids.to(model.device), output_hidden_states=True)
    finally:
        model.set_attn_implementation(previous)
        for handle in handles:
            handle.remove()
    seen["hidden_states"] = out.hidden_states
    seen["logits"] = out.logits
    return seen
