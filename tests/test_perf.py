import pytest

from lacibot_lib import data, models, perf


def test_time_training_steps_full_vs_lora(smol):
    rows = data.shortest_dialogues(data.load_dialogues()["train"], 2)
    _, tokenizer = smol
    full = perf.time_training_steps(models.load_model(device="cpu")[0], tokenizer, rows, "full", steps=1,
                                        warmup=1, batch_size=2, max_length=256)
    lora = perf.time_training_steps(models.load_model(device="cpu")[0], tokenizer, rows, "lora", steps=1,
                                        warmup=1, batch_size=2, max_length=256)
    assert full["trainable_pct"] == pytest.approx(100.0) and lora["trainable_pct"] < 1.0
    assert full["s_per_step"] > 0 and lora["s_per_step"] > 0 and len(full["step_times_s"]) == 2


def test_speedups_read_the_committed_gpu_reference():
    reference = perf.load_gpu_reference()
    assert reference is not None and reference["environment"]["gpu"]
    cpu_report = {"device_names": {"cpu": "this cpu"},
                  "forward": [{"device": "cpu", "dtype": "bfloat16", "median_s": 1.0}],
                  "generation": [], "training": [{"device": "cpu", "dtype": "float32", "method": "lora",
                                                  "s_per_step": 5.0}]}
    rows = perf.speedups(cpu_report, reference)
    assert {r["measurement"] for r in rows} == {"forward", "training-lora"}
    forward = next(r for r in rows if r["measurement"] == "forward")
    gpu_forward = next(r for r in reference["forward"] if r["device"] == "cuda" and r["dtype"] == "bfloat16"
                       and r["batch_size"] == 1)
    assert forward["speedup_vs_this_cpu"] == 1.0 / gpu_forward["median_s"]
    assert forward["device"] == reference["environment"]["gpu"]
