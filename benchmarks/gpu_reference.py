"""The Week 3 GPU reference: measure on a machine with a GPU, commit the JSON, and the lab shows it beside the
student's own CPU numbers.

    python benchmarks/gpu_reference.py --config MODEL_FOLDER_OR_CONFIG_JSON --out labs/reference/gpu_reference.json

Needs only torch, transformers and peft (a GPU image rarely has more), so it does not load the lab's data.
What it measures, each as a synchronised, warmed-up median of real runs on this machine (nothing estimated):

* the timer lesson: a CUDA matmul timed naively (no synchronisation) and correctly, cold (first call in the
  process, context and cuBLAS set-up included) and warm;
* matmul throughput (GFLOP/s) by size and dtype: fp32 with TF32 off and on, bf16, fp16 — and the same sizes on
  this host's CPU;
* the SmolLM2-135M architecture: prefill (one forward pass over 256 tokens, batch 1 and 8), decode (greedy
  generation of 32 new tokens), and one training step (forward + backward + AdamW), full vs LoRA, with the
  GPU allocator's peak memory.

The model is built from SmolLM2-135M's ``config.json`` with *random* weights when the weights cannot travel to
the GPU machine (517 MB, while a device call carries 64 MiB): the arithmetic, and so the time, of a forward pass
or a training step does not depend on the weights' values; generation is forced to make every new token
(``min_new_tokens``). The JSON says which it was (``weights``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lacibot_lib.timing import PeakMemory, benchmark, synchronize  # noqa: E402


def environment() -> dict:
    """What the numbers were measured on: GPU, driver, torch build, CPU."""
    import torch

    info = {"date": datetime.date.today().isoformat(), "torch": torch.__version__, "cuda_build": torch.version.cuda,
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_threads": torch.get_num_threads()}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu_model"] = platform.processor() or platform.machine()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {"gpu": props.name, "gpu_memory_gib": round(props.total_memory / 2**30, 1),
                 "compute_capability": f"{props.major}.{props.minor}", "multiprocessors": props.multi_processor_count}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout
        found = re.search(r"CUDA Version:\s*([\d.]+)", header)  # the newest CUDA the driver supports
        info["driver_cuda"] = found.group(1) if found else None
    except (OSError, subprocess.TimeoutExpired) as err:
        info["nvidia_smi"] = f"not available ({err.__class__.__name__})"
    return info


def timer_lesson(size: int = 4096) -> dict:
    """Cold vs warm and naive vs synchronised timing of one bf16 matmul on the GPU (call this before any other
    CUDA work, so "cold" really includes the set-up)."""
    import torch

    started = time.perf_counter()
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    synchronize("cuda")
    context_s = time.perf_counter() - started
    start = time.perf_counter()
    a @ b
    synchronize("cuda")
    first_call_s = time.perf_counter() - start
    naive = []
    for _ in range(10):  # the naive timer: the clock stops when the kernel is *queued*, not when it is done
        start = time.perf_counter()
        a @ b
        naive.append(time.perf_counter() - start)
    synchronize("cuda")
    warm = benchmark(lambda: a @ b, device="cuda", repeats=10, warmup=3)
    flops = 2 * size**3
    return {"size": size, "dtype": "bfloat16", "context_and_alloc_s": context_s, "first_call_s": first_call_s,
            "naive_median_s": sorted(naive)[len(naive) // 2], "synced_median_s": warm.median_s,
            "naive_tflops_claimed": flops / sorted(naive)[len(naive) // 2] / 1e12,
            "synced_tflops": flops / warm.median_s / 1e12}


def matmul_rows(device: str, sizes, dtypes) -> list[dict]:
    import torch

    rows = []
    for dtype in dtypes:
        tf32 = dtype == "float32-tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch_dtype = torch.float32 if dtype.startswith("float32") else getattr(torch, dtype)
        for size in sizes:
            a = torch.randn(size, size, device=device, dtype=torch_dtype)
            b = torch.randn(size, size, device=device, dtype=torch_dtype)
            repeats = 10 if device == "cuda" else 3
            result = benchmark(lambda a=a, b=b: a @ b, device=device, repeats=repeats, warmup=2)
            rows.append({"device": device, "dtype": dtype, "size": size, "median_s": result.median_s,
                         "gflops": 2 * size**3 / result.median_s / 1e9})
            print(f"matmul {device} {dtype} {size}: {rows[-1]['gflops']:.0f} GFLOP/s", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    return rows


def build_model(config_path: str, device: str, dtype):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(config_path)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.to(device).eval()


def model_rows(config_path: str, device: str, dtypes=("float32", "bfloat16"), seq_len: int = 256,
               new_tokens: int = 32) -> tuple[list, list]:
    import torch

    forward, generation = [], []
    for dtype in dtypes:
        model = build_model(config_path, device, getattr(torch, dtype))
        vocab = model.config.vocab_size
        for batch in (1, 8):
            ids = torch.randint(100, vocab, (batch, seq_len), device=device)
            with torch.no_grad():
                result = benchmark(lambda ids=ids, model=model: model(input_ids=ids), device=device, repeats=5,
                                   warmup=2)
            forward.append({"device": device, "dtype": dtype, "batch_size": batch, "seq_len": seq_len,
                            "median_s": result.median_s, "tokens_per_s": batch * seq_len / result.median_s})
        prompt = torch.randint(100, vocab, (1, 16), device=device)
        kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                      pad_token_id=model.config.eos_token_id)
        with torch.no_grad():
            result = benchmark(lambda: model.generate(prompt, attention_mask=torch.ones_like(prompt), **kwargs),  # noqa: B023
                               device=device, repeats=3, warmup=1)
        generation.append({"device": device, "dtype": dtype, "new_tokens": new_tokens, "median_s": result.median_s,
                           "tokens_per_s": new_tokens / result.median_s})
        print(f"model {device} {dtype}: forward {forward[-1]['tokens_per_s']:.0f} tok/s (batch 8), "
              f"decode {generation[-1]['tokens_per_s']:.1f} tok/s", flush=True)
        model = None  # free it before the next dtype is built
    return forward, generation


def training_rows(config_path: str, device: str, steps: int = 5, warmup: int = 2, batch: int = 4,
                  seq_len: int = 256) -> list[dict]:
    """One optimisation step (forward, backward, AdamW), full vs LoRA (r=8 on q/k/v/o, as in Week 2)."""
    import torch
    from peft import LoraConfig, get_peft_model

    rows = []
    for method in ("full", "lora"):
        for amp in (False, True):
            model = build_model(config_path, device, torch.float32).train()
            if method == "lora":
                model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, task_type="CAUSAL_LM",
                                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
            params = [p for p in model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(params, lr=1e-4)
            ids = torch.randint(100, model.config.vocab_size, (batch, seq_len), device=device)

            def step(model=model, optimizer=optimizer, ids=ids, amp=amp):
                with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
                    loss = model(input_ids=ids, labels=ids).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            with PeakMemory(device) as memory:
                result = benchmark(step, device=device, repeats=steps, warmup=warmup)
            rows.append({"device": device, "method": method, "precision": "bf16-autocast" if amp else "float32",
                         "batch_size": batch, "seq_len": seq_len, "s_per_step": result.median_s,
                         "trainable": sum(p.numel() for p in params),
                         "total": sum(p.numel() for p in model.parameters()),
                         "peak_memory_mb": memory.peak_mb})
            print(f"train {device} {method} {rows[-1]['precision']}: {result.median_s * 1000:.1f} ms/step, "
                  f"peak {memory.peak_mb:.0f} MB", flush=True)
            model = optimizer = None  # free GPU memory before the next configuration
            torch.cuda.empty_cache()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="SmolLM2 model folder or its config.json")
    parser.add_argument("--out", default="labs/reference/gpu_reference.json")
    parser.add_argument("--sizes", default="256,512,1024,2048,4096,8192")
    parser.add_argument("--cpu-sizes", default="256,512,1024,2048")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("No CUDA device: this script is for a GPU machine (the lab measures the CPU itself).")
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"weights": "random (SmolLM2-135M architecture from its config.json)"}

    def save():
        out.write_text(json.dumps(report, indent=2))

    report["timer_lesson"] = timer_lesson()  # first: "cold" must include the CUDA set-up
    report["environment"] = environment()
    save()
    sizes = [int(s) for s in args.sizes.split(",")]
    report["matmul"] = matmul_rows("cuda", sizes, ("float32", "float32-tf32", "bfloat16", "float16"))
    save()
    report["matmul"] += matmul_rows("cpu", [int(s) for s in args.cpu_sizes.split(",")], ("float32", "bfloat16"))
    save()
    report["forward"], report["generation"] = [], []
    for device in ("cuda", "cpu"):
        forward, generation = model_rows(args.config, device)
        report["forward"] += forward
        report["generation"] += generation
        save()
    report["training"] = training_rows(args.config, "cuda")
    save()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
