"""Execute every lab with papermill in smoke parameters and assert the metrics it recorded.

Each lab runs once per test session (module-scoped fixture); the assertions read the metrics back from the
executed notebook, as recommenders' notebook tests do.
"""
from __future__ import annotations

import pytest

from lacibot_lib import runner

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    cache: dict[str, runner.LabRun] = {}

    def run(name: str) -> runner.LabRun:
        if name not in cache:
            if name not in runner.available_labs():
                pytest.skip(f"lab {name} is not in this checkout")
            out = tmp_path_factory.mktemp(name)
            cache[name] = runner.run_lab(name, out, smoke=True, timeout_s=900, progress=False)
        result = cache[name]
        assert result.error is None, f"{name} failed: {result.error} (executed notebook: {result.output})"
        return result

    return run


def _assert_rouge(scores: dict):
    for key in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert 0.0 <= scores[key] <= 1.0, (key, scores)


def test_week1_prompting(executed):
    m = executed("week1_prompting").metrics
    assert m["parameters_total"] == 134_515_008
    assert m["attention_max_abs_error"] <= 1e-4
    assert 0.0 < m["top1_probability_T1"] <= 1.0
    shots = sorted(m["rouge_by_shots"], key=int)
    assert shots[0] == "0" and len(shots) >= 2
    for k in shots:
        _assert_rouge(m["rouge_by_shots"][k])
    tokens = [m["prompt_tokens_by_shots"][k] for k in shots]
    assert all(a < b for a, b in zip(tokens, tokens[1:])), f"few-shot prompts must be longer than zero-shot: {tokens}"
    assert m["rouge1_zero_shot"] > 0.05, "the zero-shot summaries share almost no words with the references"
    assert m["overflow_detected"] is True
    assert all(0.0 <= v <= 1.0 for v in m["rouge1_by_generation_setting"].values())


def test_week2_finetune(executed):
    m = executed("week2_finetune").metrics
    for key in ("rouge_zero_shot", "rouge_few_shot", "rouge_full", "rouge_lora"):
        _assert_rouge(m[key])
    full, lora = m["full_summary"], m["lora_summary"]
    assert full["trainable_pct"] == pytest.approx(100.0) and lora["trainable_pct"] < 1.0
    assert lora["trainable"] < full["trainable"] and lora["disk_mb"] < full["disk_mb"] / 50
    for name in ("full", "lora"):
        losses = m[f"train_loss_{name}"]
        assert len(losses) >= 2 and losses[-1] < losses[0], f"{name}: loss did not decrease over {losses}"
        assert len(m[f"eval_history_{name}"]) >= 1
    assert m["adapter_reload_identical"] is True and m["adapter_merge_identical"] is True
    assert set(m["forgetting_scores"]) == {"base", "full", "lora"}
    assert all(0.0 <= v <= 1.0 for v in m["forgetting_scores"].values())


def test_week3_cuda_rag(executed):
    m = executed("week3_cuda_rag").metrics
    assert {"torch", "cuda_build", "driver", "gpus", "bf16", "findings"} <= set(m["doctor"])
    for key in ("timing_matmul_gflops", "timing_forward_s", "timing_generation_tok_s", "timing_training_s_per_step"):
        assert m[key] and all(v > 0 for v in m[key].values()), key
    assert {"cpu/full", "cpu/lora"} <= set(m["timing_training_s_per_step"])
    assert isinstance(m["gpu_reference_available"], bool)
    assert 0.0 <= m["few_shot_val_rouge1"] <= 1.0 and m["lora_val_rouge1_by_epoch"]
    assert m["cosine_hu_en_translation_pair"] > m["cosine_unrelated_pair"]
    for row in m["chunking"]:
        assert 0.0 <= row["mrr"] <= 1.0 and row["chunks"] > 0
    assert m["vector_store_reused_on_second_build"] is True
    assert set(m["retrieval_by_strategy"]) == {"similarity", "mmr"}


def test_week4_gradio(executed):
    m = executed("week4_gradio").metrics
    assert m["backend"] == "local" and m["pdf_pages"] >= 8 and m["chunks"] > m["pdf_pages"]
    assert m["store_reused"] is True
    assert 0.0 <= m["threshold_answered_on_topic"] <= 1.0 and m["threshold_refused_off_topic"] >= 0.75
    assert m["dont_know_has_no_sources"] is True
    assert m["app_reply_has_sources"] is True
    latency = m["latency"]["local"]
    assert 0 < latency["first_token_s"] <= latency["total_s"]


def test_week6_rag_translation(executed):
    m = executed("week6_rag_translation").metrics
    assert m["kb_documents"]["gyik.csv"] >= 30 and m["kb_documents"]["szabalyzat.pdf"] >= 4
    hybrid = m["retrieval_hybrid_lenient"]
    assert hybrid["hit@3"] >= 0.95 and hybrid["mrr"] >= 0.90, hybrid  # the targets on the project's eval set
    for mode in ("bm25", "dense", "hybrid"):
        for scoring in ("lenient", "strict"):
            scores = m[f"retrieval_{mode}_{scoring}"]
            assert all(0.0 <= scores[k] <= 1.0 for k in ("hit@1", "hit@3", "hit@5", "mrr"))
            assert scores["p50_ms"] > 0 and scores["n"] >= 60
    assert 0.0 <= m["key_facts_present"] <= 1.0
    assert m["easter_egg_off_topic_caught"] >= 0.75 and m["easter_egg_on_topic_answered"] >= 0.9
    assert "skipped" in m["translation_arm_ii"]  # offline: arm (ii) is skipped with its reason, never faked
    assert m["app_reply_has_sources"] is True
