import time

import pytest
import torch

from lacibot_lib import timing


def test_benchmark_counts_warmup_and_repeats():
    calls = []
    result = timing.benchmark(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and result.repeats == 4 and result.warmup == 2
    assert result.min_s <= result.median_s <= result.max_s


def test_benchmark_measures_sleep():
    result = timing.benchmark(lambda: time.sleep(0.02), repeats=3, warmup=0)
    assert 0.015 < result.median_s < 0.5


def test_benchmark_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        timing.benchmark(lambda: None, repeats=0)


def test_peak_memory_sees_a_big_allocation():
    with timing.PeakMemory("cpu") as mem:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB
        time.sleep(0.1)
        del block
    assert mem.delta_mb > 40


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_benchmark_synchronises():
    x = torch.randn(2048, 2048, device="cuda")
    result = timing.benchmark(lambda: x @ x, device="cuda", repeats=3)
    assert result.median_s > 0
    with timing.PeakMemory("cuda") as mem:
        y = torch.empty(256 * 2**20 // 4, device="cuda")
    assert mem.peak_mb >= 256
    del y


def test_cpu_flags_decide_native_bf16(monkeypatch):
    monkeypatch.setattr(timing, "cpu_flags", lambda: {"avx2", "fma"})
    assert timing.cpu_has_native_bf16() is False
    monkeypatch.setattr(timing, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert timing.cpu_has_native_bf16() is True
    monkeypatch.setattr(timing, "cpu_flags", lambda: None)  # not Linux: unknown, not guessed
    assert timing.cpu_has_native_bf16() is None


def test_native_stderr_silenced_drops_fd2_writes_and_restores_it(capfd):
    import os

    os.write(2, b"before\n")
    with timing.native_stderr_silenced():
        os.write(2, b"USDT: profiler_start\n")
    os.write(2, b"after\n")
    with pytest.raises(RuntimeError), timing.native_stderr_silenced():
        raise RuntimeError("the descriptor must come back after an exception too")
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "before\nafter\nstill here\n"
