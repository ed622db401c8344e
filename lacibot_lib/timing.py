"""Timing and memory measurement done right: warm-up, device synchronisation, repeats, median and spread.

GPU work is asynchronous — a Python timer around a CUDA call measures only the launch. :func:`benchmark`
synchronises the device before reading the clock, runs warm-up iterations first (kernel selection, caches) and
reports the median and spread of several repeats.
"""
from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass


def synchronize(device: str) -> None:
    """Wait until all queued work on ``device`` has finished (no-op on CPU)."""
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)
    elif str(device) == "mps":
        torch.mps.synchronize()


@dataclass
class Timing:
    median_s: float
    mean_s: float
    stdev_s: float
    min_s: float
    max_s: float
    repeats: int
    warmup: int
    device: str

    def as_dict(self) -> dict:
        return asdict(self)


def benchmark(fn, device: str = "cpu", repeats: int = 5, warmup: int = 2) -> Timing:
    """Time ``fn()`` on ``device``: ``warmup`` untimed calls, then ``repeats`` synchronised timed calls."""
    if repeats < 1:
        raise ValueError("benchmark: repeats must be at least 1")
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return Timing(median_s=statistics.median(times), mean_s=statistics.fmean(times),
                  stdev_s=statistics.stdev(times) if len(times) > 1 else 0.0, min_s=min(times), max_s=max(times),
                  repeats=repeats, warmup=warmup, device=str(device))


class PeakMemory:
    """Peak memory of a block of code: process RSS sampled by a thread (CPU), or the CUDA allocator's peak.

    ``with PeakMemory("cpu") as mem: ...`` then ``mem.peak_mb`` (peak RSS) and ``mem.delta_mb`` (peak minus the
    RSS at entry: what the block itself added).
    """

    def __init__(self, device: str = "cpu", interval_s: float = 0.02):
        self.device = str(device)
        self.interval_s = interval_s
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def release_free_memory() -> None:
        """Return freed heap memory to the OS first (glibc ``malloc_trim``); otherwise a block that reuses memory
        an earlier step freed adds nothing to RSS and its peak would be under-reported."""
        import ctypes
        import gc

        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (macOS, musl): the measurement is a lower bound there
            pass

    def _rss_mb(self) -> float:
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    def _sample(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss_mb())
            self._stop.wait(self.interval_s)

    def __enter__(self):
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start_mb = torch.cuda.memory_allocated() / 2**20
        else:
            self.release_free_memory()
            self.start_mb = self.peak_mb = self._rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self.peak_mb, self._rss_mb())
        return False

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.start_mb


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

    from . import models
    from .finetune import time_training_steps

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


def speedups(report: dict, reference: dict | None = None) -> list[dict]:
    """Rows of "same measurement, other device": speed-up of each non-CPU device (or of a reference report's
    devices) over this report's CPU numbers."""
    rows = []
    cpu = {("forward", r["dtype"]): r["median_s"] for r in report["forward"] if r["device"] == "cpu"}
    cpu |= {("generation", r["dtype"]): r["median_s"] for r in report["generation"] if r["device"] == "cpu"}
    cpu |= {("training-" + r["method"], r["dtype"]): r["s_per_step"] for r in report["training"] if r["device"] == "cpu"}
    for source_name, source in (("this machine", report), ("reference", reference)):
        if not source:
            continue
        measured = [("forward", r["dtype"], r["device"], r["median_s"]) for r in source["forward"]]
        measured += [("generation", r["dtype"], r["device"], r["median_s"]) for r in source["generation"]]
        measured += [("training-" + r["method"], r["dtype"], r["device"], r["s_per_step"]) for r in source["training"]]
        for what, dtype, device, seconds in measured:
            if device == "cpu" or (what, dtype) not in cpu:
                continue
            rows.append({"measurement": what, "dtype": dtype, "device": source["device_names"].get(device, device),
                         "source": source_name, "seconds": seconds, "cpu_seconds": cpu[(what, dtype)],
                         "speedup_vs_this_cpu": cpu[(what, dtype)] / seconds})
    return rows
