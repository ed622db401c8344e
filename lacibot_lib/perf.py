"""The Week 3 timing suite: matmul throughput, prefill, decode and training steps per device and dtype, and
the comparison with the committed GPU reference (``labs/reference/gpu_reference.json``).

Built on the primitives in :mod:`lacibot_lib.timing` (synchronise, repeat-and-median, peak memory, step timer).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from . import models
from .finetune import FinetuneConfig, FinetuneInputError, StepTimerCallback, add_lora, make_collator, tokenize_causal
from .settings import repo_root
from .timing import PeakMemory, benchmark

GPU_REFERENCE = repo_root() / "labs" / "reference" / "gpu_reference.json"


def load_gpu_reference(path: str | Path = GPU_REFERENCE) -> dict | None:
    """The committed GPU reference run, or ``None`` when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def devices_present() -> list[str]:
    """The devices this machine can time: always ``cpu``, plus ``cuda`` / ``mps`` when they really work."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def matmul_gflops(size: int, device: str = "cpu", dtype: str = "float32", repeats: int = 5, warmup: int = 2) -> dict:
    """Throughput of one ``size × size`` matrix multiplication (2·n³ floating-point operations)."""
    import torch

    torch_dtype = getattr(torch, dtype)
    a = torch.randn(size, size, device=device, dtype=torch_dtype)
    b = torch.randn(size, size, device=device, dtype=torch_dtype)
    result = benchmark(lambda: a @ b, device=device, repeats=repeats, warmup=warmup)
    return {"size": size, "device": device, "dtype": dtype, "median_s": result.median_s,
            "stdev_s": result.stdev_s, "gflops": 2 * size**3 / result.median_s / 1e9}


def forward_timing(model, tokenizer, device: str, seq_len: int = 256, batch_size: int = 1, repeats: int = 3) -> dict:
    """Median time of one forward pass over ``batch_size × seq_len`` tokens (the prompt-processing cost)."""
    import torch

    ids = torch.randint(100, min(tokenizer.vocab_size, 30000), (batch_size, seq_len), device=device)
    with torch.no_grad():
        result = benchmark(lambda: model(input_ids=ids), device=device, repeats=repeats, warmup=1)
    return {"seq_len": seq_len, "batch_size": batch_size, "median_s": result.median_s,
            "tokens_per_s": batch_size * seq_len / result.median_s}


def generation_speed(model, tokenizer, prompt: str, new_tokens: int = 32, repeats: int = 2) -> dict:
    """Greedy generation speed in new tokens per second (end-of-text suppressed so every run makes ``new_tokens``)."""
    import torch

    enc = tokenizer(prompt, return_tensors="pt").to(model.device)
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                  pad_token_id=tokenizer.pad_token_id)
    with torch.no_grad():
        result = benchmark(lambda: model.generate(**enc, **kwargs), device=str(model.device), repeats=repeats, warmup=1)
    return {"new_tokens": new_tokens, "median_s": result.median_s, "tokens_per_s": new_tokens / result.median_s}


def run_timing_suite(model_name: str | None = None, devices: list[str] | None = None,
                     dtypes: tuple[str, ...] = ("float32", "bfloat16"), sizes: tuple[int, ...] = (256, 512, 1024, 2048),
                     seq_len: int = 256, new_tokens: int = 32, train_steps: int = 2, train_rows=None,
                     progress: bool = True) -> dict:
    """The Week 3 timing experiment as one JSON-able dict: matmul GFLOP/s, model forward, generation tokens/s and
    a training step (full vs LoRA) for each device and dtype. ``benchmarks/gpu_reference.py`` runs the same suite
    on a GPU machine so its results can be committed and compared with a CPU-only run."""
    import datetime
    import platform

    import torch

    devices = devices or devices_present()
    report = {"date": datetime.date.today().isoformat(), "torch": torch.__version__,
              "cuda_build": torch.version.cuda, "platform": platform.platform(), "cpu_threads": torch.get_num_threads(),
              "device_names": {}, "matmul": [], "forward": [], "generation": [], "training": []}
    for device in devices:
        report["device_names"][device] = (torch.cuda.get_device_name(0) if device == "cuda"
                                          else platform.processor() or platform.machine())
        for dtype in dtypes:
            for size in sizes:
                if progress:
                    print(f"matmul {device} {dtype} {size}", flush=True)
                report["matmul"].append(matmul_gflops(size, device, dtype))
            model, tokenizer = models.load_model(model_name, device=device, dtype=getattr(torch, dtype))
            if progress:
                print(f"forward/generate {device} {dtype}", flush=True)
            report["forward"].append({"device": device, "dtype": dtype,
                                      **forward_timing(model, tokenizer, device, seq_len=seq_len)})
            report["generation"].append({"device": device, "dtype": dtype, **generation_speed(
                model, tokenizer, "Summarize: #Person1#: The train is late again.", new_tokens=new_tokens)})
            del model
        if train_rows is not None:
            for method in ("full", "lora"):
                if progress:
                    print(f"training step {device} {method}", flush=True)
                model, tokenizer = models.load_model(model_name, device=device)
                report["training"].append({"device": device, "dtype": "float32", **time_training_steps(
                    model, tokenizer, train_rows, method, steps=train_steps, warmup=1, batch_size=4, max_length=256)})
                del model
    return report


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
