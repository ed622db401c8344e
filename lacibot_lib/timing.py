"""Timing and memory measurement done right: warm-up, device synchronisation, repeats, median and spread.

GPU work is asynchronous — a Python timer around a CUDA call measures only the launch. :func:`benchmark`
synchronises the device before reading the clock, runs warm-up iterations first (kernel selection, caches) and
reports the median and spread of several repeats.
"""
from __future__ import annotations

import contextlib
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


class StepTimer:
    """Wall time of repeated steps with the device synchronised at both ends of each: ``start()`` …
    ``stop()``; ``times`` holds the seconds of every step (a Trainer callback in ``finetune`` wraps this)."""

    def __init__(self, device: str = "cpu"):
        self.device, self.times, self._start = str(device), [], None

    def start(self) -> None:
        synchronize(self.device)
        self._start = time.perf_counter()

    def stop(self) -> float:
        synchronize(self.device)
        self.times.append(time.perf_counter() - self._start)
        return self.times[-1]


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU instructions that multiply bf16 natively


@contextlib.contextmanager
def native_stderr_silenced():
    """Inside the block, discard what native (C/C++) code writes to the process's stderr, file descriptor 2.

    torch 2.13's profiler writes a "USDT: … profiler_start" and a "… profiler_stop" line there on every
    ``torch.profiler.profile()``; in a notebook they land in the cell's output. Python's own writes to
    ``sys.stderr`` are flushed first; in a terminal they are silenced too, in Jupyter (where ``sys.stderr`` is not
    fd 2) they are not. The descriptor is restored on the way out, also after an exception.
    """
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags (``avx2``, ``avx512_bf16``, ``amx_bf16`` …) from ``/proc/cpuinfo``, or ``None`` where
    they cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            line = next((line for line in handle if line.startswith("flags")), None)
    except OSError:
        return None
    return set(line.split(":", 1)[1].split()) if line else None


def cpu_has_native_bf16() -> bool | None:
    """True when the CPU multiplies bf16 natively (AVX-512 BF16 or AMX-BF16), False when it must emulate it (bf16
    then runs slower than fp32 for compute-bound work), None when the flags cannot be read."""
    flags = cpu_flags()
    return None if flags is None else bool(flags & set(NATIVE_BF16_FLAGS))


def describe_machine() -> str:
    """One line on the hardware that produced a number: CPU model, cores, the CPU features that change LLM speed
    (``avx512_bf16``, AMX), and the GPU if torch sees one. The same lab runs 1.5–2× faster or slower on another
    2-core machine, and bf16 is a win on one CPU and a loss on another."""
    import os
    import platform

    import torch

    cpu, flags = platform.processor() or platform.machine(), cpu_flags() or set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line for line in handle if line.startswith("model name")), None)
        if model and cpu in ("", platform.machine(), platform.processor()):
            cpu = model.split(":", 1)[1].strip()
    except OSError:  # not Linux: the model name from platform is all we have
        pass
    features = [name for name in ("avx2", "avx512f", *NATIVE_BF16_FLAGS) if name in flags]
    text = f"{cpu}, {os.cpu_count()} cores" + (f" ({', '.join(features)})" if features else "")
    if torch.cuda.is_available():
        text += f"; GPU {torch.cuda.get_device_name(0)}"
    return text + f"; torch {torch.__version__}"
