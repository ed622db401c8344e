import math

import pytest
import torch

from lacibot_lib import internals


def test_sinusoidal_encoding_values():
    table = internals.sinusoidal_encoding(4, 6)
    assert table[0].tolist() == pytest.approx([0, 1, 0, 1, 0, 1])
    assert table[1, 0].item() == pytest.approx(math.sin(1.0))
    assert table[1, 3].item() == pytest.approx(math.cos(1 / 10000 ** (2 / 6)))


def test_rope_depends_on_relative_position_only():
    q, k = torch.randn(16), torch.randn(16)
    assert internals.rope_score(q, k, 5, 2) == pytest.approx(internals.rope_score(q, k, 33, 30), rel=1e-4)
    assert internals.rope_score(q, k, 5, 5) == pytest.approx(float(q @ k), rel=1e-4)  # no rotation difference


def test_attention_from_scratch_matches_model_layer0(smol):
    model, tokenizer = smol
    ids = tokenizer("The student summarised the dialogue.", return_tensors="pt").input_ids
    result = internals.compare_with_model(model, ids, layer=0)
    assert result["max_abs_error"] <= 1e-4
    weights = result["weights"]
    assert weights.shape == (model.config.num_attention_heads, ids.shape[1], ids.shape[1])
    assert torch.allclose(weights.sum(-1), torch.ones_like(weights.sum(-1)), atol=1e-5)
    assert torch.all(weights.triu(diagonal=1) == 0)  # causal: nothing attends to the future


def test_feed_forward_from_scratch(smol):
    model, _ = smol
    mlp = model.model.layers[0].mlp
    x = torch.randn(1, 3, model.config.hidden_size)
    with torch.no_grad():
        assert (internals.feed_forward_from_scratch(x, mlp) - mlp(x)).abs().max() < 1e-5


def test_temperature_sharpens_and_flattens(smol):
    model, tokenizer = smol
    tokens, probs = internals.temperature_table(model, tokenizer, "The capital of France is", [0.5, 1.0, 2.0], top=3)
    assert "Paris" in tokens[0]
    assert probs[0, 0] > probs[1, 0] > probs[2, 0]  # lower T puts more mass on the top token
    top = internals.next_token_distribution(model, tokenizer, "The capital of France is", top=3)
    assert top[0][1] == pytest.approx(float(probs[1, 0]), rel=1e-4)


def test_record_layer_keeps_the_models_own_tensors(smol):
    model, tokenizer = smol
    ids = torch.tensor([tokenizer("a short sentence here", add_special_tokens=False).input_ids])
    before = model.config._attn_implementation
    seen = internals.record_layer(model, ids, layer=0)
    assert model.config._attn_implementation == before  # the eager pass does not leak into later runs
    assert {"input_layernorm", "self_attn.q_proj", "attn_weights", "self_attn.o_proj.input", "mlp",
            "rotary_emb", "hidden_states", "logits"} <= set(seen)
    weights = seen["attn_weights"]
    assert weights.shape[-2:] == (ids.shape[1], ids.shape[1])
    assert torch.allclose(weights.sum(-1), torch.ones_like(weights.sum(-1)))  # a softmax over positions
    layer_out = model.model.layers[0](seen["hidden_states"][0], position_embeddings=seen["rotary_emb"])
    assert (layer_out - seen["hidden_states"][1]).abs().max() <= 1e-5
