"""Week 3's shared timing pieces: one training step (full or LoRA) timed through the ``Trainer``, and the
comparison of this machine's measurements with the committed GPU reference (``labs/reference/gpu_reference.json``,
written by ``benchmarks/gpu_reference.py``). The matmul, prefill and decode timings are written out in the notebook.

Built on the primitives in :mod:`lacibot_lib.timing` (synchronise, repeat-and-median, peak memory, step timer).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from . import models
from .finetune import FinetuneConfig, FinetuneInputError, StepTimerCallback, add_lora, make_collator, tokenize_causal
from .settings import repo_root
from .timing import PeakMemory

GPU_REFERENCE = repo_root() / "labs" / "reference" / "gpu_reference.json"


def load_gpu_reference(path: str | Path = GPU_REFERENCE) -> dict | None:
    """The committed GPU reference run, or ``None`` when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def measurements(report: dict) -> list[tuple[str, str, str, float]]:
    """``(measurement, dtype, device, seconds)`` of a suite report or a GPU reference: batch-1 forward passes,
    decode, and training steps (the reference's ``precision`` stands for the dtype)."""
    rows = [("forward", r["dtype"], r["device"], r["median_s"]) for r in report.get("forward", [])
            if r.get("batch_size", 1) == 1]
    rows += [("generation", r["dtype"], r["device"], r["median_s"]) for r in report.get("generation", [])]
    rows += [("training-" + r["method"], r.get("dtype", r.get("precision")), r["device"], r["s_per_step"])
             for r in report.get("training", [])]
    return rows


def device_name(report: dict, device: str) -> str:
    """A report's name for ``device`` (a suite report keeps ``device_names``; the reference its environment)."""
    if device in report.get("device_names", {}):
        return report["device_names"][device]
    return report.get("environment", {}).get("gpu" if device == "cuda" else "cpu_model", device)


def speedups(report: dict, reference: dict | None = None) -> list[dict]:
    """Rows of "same measurement, other device": speed-up of each non-CPU device (or of a reference report's
    devices) over this report's CPU numbers."""
    cpu = {(what, dtype): seconds for what, dtype, device, seconds in measurements(report) if device == "cpu"}
    rows = []
    for source_name, source in (("this machine", report), ("reference", reference)):
        if not source:
            continue
        for what, dtype, device, seconds in measurements(source):
            if device == "cpu" or (what, dtype) not in cpu:
                continue
            rows.append({"measurement": what, "dtype": dtype, "device": device_name(source, device),
                         "source": source_name, "seconds": seconds, "cpu_seconds": cpu[(what, dtype)],
                         "speedup_vs_this_cpu": cpu[(what, dtype)] / seconds})
    return rows


def time_training_steps(model, tokenizer, rows, method: str = "lora", steps: int = 3, warmup: int = 1,
                        batch_size: int = 4, max_length: int = 256, bf16: bool = False) -> dict:
    """Seconds per optimisation step (median after ``warmup`` steps) and peak memory, full or LoRA.

    Trains ``warmup + steps`` steps through the ``Trainer`` on the same ``batch_size`` rows, so full and LoRA
    see identical batches. Returns trainable counts, per-step times and peak memory in MB.
    """
    import tempfile

    from datasets import Dataset
    from transformers import PrinterCallback, Trainer, TrainingArguments

    rows = list(rows)[:batch_size]
    if len(rows) < batch_size:
        raise FinetuneInputError(f"time_training_steps needs {batch_size} rows, got {len(rows)}")
    if method == "lora":
        model = add_lora(model, FinetuneConfig(method="lora"))
    else:
        model.requires_grad_(True)
    model.train()
    tokenizer.padding_side = "right"
    features = tokenize_causal(tokenizer, rows, max_length) * (warmup + steps)
    device = str(model.device)
    callback = StepTimerCallback(device)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, max_steps=warmup + steps, per_device_train_batch_size=batch_size,
                                 learning_rate=FinetuneConfig(method=method).resolved_learning_rate(),
                                 save_strategy="no", eval_strategy="no", report_to=[], disable_tqdm=True,
                                 logging_strategy="no", bf16=bf16, dataloader_num_workers=0, seed=0,
                                 dataloader_pin_memory=str(model.device).startswith("cuda"))
        trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(features),
                          data_collator=make_collator(tokenizer),
                          callbacks=[callback])
        trainer.remove_callback(PrinterCallback)  # it would print the run's summary dict into the notebook
        with PeakMemory(device) as memory:
            trainer.train()
    counts = models.count_parameters(model)
    timed = callback.timer.times[warmup:] or callback.timer.times
    return {"method": method, "trainable": counts["trainable"], "total": counts["total"],
            "trainable_pct": counts["trainable_pct"], "s_per_step": statistics.median(timed),
            "step_times_s": callback.timer.times, "peak_memory_mb": memory.delta_mb, "device": device}
