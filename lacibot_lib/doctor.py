"""``lacibot doctor``: is this machine's PyTorch really using the GPU, and if not, why?

The seed's Week 3 trap: the installed PyTorch was built for a newer CUDA than the NVIDIA driver supports, so
``torch.cuda.is_available()`` was False until the driver and the PyTorch build were matched. :func:`collect`
gathers the facts; :func:`diagnose` (pure, tested with simulated outputs) turns them into findings with fixes.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

# Minimum Linux driver for each CUDA major version under "minor version compatibility"
# (CUDA toolkit release notes, table "CUDA Toolkit and Minimum Required Driver Version").
MIN_DRIVER_FOR_MAJOR = {"11": "450.80.02", "12": "525.60.13", "13": "580.65.06"}
# Driver that ships with each toolkit release: below it, some features (e.g. PTX JIT of newer kernels) may fail.
DRIVER_FOR_TOOLKIT = {"11.8": "520.61.05", "12.1": "530.30.02", "12.4": "550.54.14", "12.6": "560.28.03",
                      "12.8": "570.26", "12.9": "575.51.03", "13.0": "580.65.06"}
# PyTorch wheel indexes for older CUDA builds (the usual way out when the driver cannot be upgraded).
OLDER_WHEELS = {"12": "cu118", "13": "cu126"}


@dataclass
class Finding:
    level: str  # "ok" | "info" | "warning" | "error"
    message: str
    fix: str | None = None


def _version_tuple(text: str | None) -> tuple[int, ...]:
    parts = []
    for piece in (text or "").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def parse_nvidia_smi(csv_text: str) -> list[dict]:
    """Parse ``nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader``."""
    gpus = []
    for line in csv_text.strip().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4 or not fields[0]:
            continue
        gpus.append({"name": fields[0], "driver_version": fields[1], "compute_capability": fields[2],
                     "memory_total": fields[3]})
    return gpus


def _run_nvidia_smi() -> str | None:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        done = subprocess.run([exe, "--query-gpu=name,driver_version,compute_cap,memory.total",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def collect() -> dict:
    """Facts about this machine: torch build, driver, GPUs, whether a CUDA op really runs, CPU threads, bf16."""
    import torch

    info = {"torch_version": torch.__version__, "torch_cuda_build": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(), "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "mps_available": bool(getattr(torch.backends, "mps", None)
                                                               and torch.backends.mps.is_available())}
    smi = _run_nvidia_smi()
    info["nvidia_smi_found"] = smi is not None
    info["gpus"] = parse_nvidia_smi(smi) if smi else []
    info["driver_version"] = info["gpus"][0]["driver_version"] if info["gpus"] else None
    info["cuda_op_ok"] = None
    info["cuda_op_error"] = None
    if info["cuda_available"]:
        try:
            x = torch.ones(64, 64, device="cuda")
            info["cuda_op_ok"] = bool(((x @ x).sum() == 64 * 64 * 64).item())
            info["bf16_supported"] = torch.cuda.is_bf16_supported()
            if not info["gpus"]:
                cap = torch.cuda.get_device_capability(0)
                info["gpus"] = [{"name": torch.cuda.get_device_name(0), "driver_version": None,
                                 "compute_capability": f"{cap[0]}.{cap[1]}", "memory_total": None}]
        except Exception as err:  # a broken install fails here, which is exactly what we want to report
            info["cuda_op_ok"] = False
            info["cuda_op_error"] = f"{err.__class__.__name__}: {err}"
    else:
        try:
            a = torch.ones(8, 8, dtype=torch.bfloat16)
            info["bf16_supported"] = bool((a @ a)[0, 0].item() == 8)
        except RuntimeError:
            info["bf16_supported"] = False
    return info


def diagnose(info: dict) -> list[Finding]:
    """Turn collected facts into findings; the driver/build mismatch gets a plain explanation and the fix."""
    findings: list[Finding] = []
    build = info.get("torch_cuda_build")
    driver = info.get("driver_version")
    gpus = info.get("gpus") or []
    if not build:
        if gpus or info.get("nvidia_smi_found"):
            findings.append(Finding("warning", f"An NVIDIA GPU is present ({gpus[0]['name'] if gpus else 'see nvidia-smi'}) "
                                    f"but PyTorch {info.get('torch_version')} is a CPU-only build.",
                                    "Install a CUDA build: pip install torch --index-url https://download.pytorch.org/whl/cu126"))
        elif info.get("mps_available"):
            findings.append(Finding("ok", "Apple GPU (MPS) available; LACIBOT_DEVICE=auto will use it."))
        else:
            findings.append(Finding("info", "No GPU found: the labs run on the CPU (slower, fully supported). "
                                    "Week 3 shows GPU reference results where the repo has measured them."))
        return findings
    major = build.split(".")[0]
    if not info.get("nvidia_smi_found") and not info.get("cuda_available"):
        findings.append(Finding("info", f"PyTorch is built for CUDA {build} but no NVIDIA driver was found "
                                "(nvidia-smi missing): the CPU will be used.",
                                "On a machine with an NVIDIA GPU, install its driver (then rerun `lacibot doctor`)."))
        return findings
    if driver:
        need = MIN_DRIVER_FOR_MAJOR.get(major)
        if need and _version_tuple(driver) < _version_tuple(need):
            older = OLDER_WHEELS.get(major)
            findings.append(Finding(
                "error", f"Driver/build mismatch: PyTorch {info.get('torch_version')} is built for CUDA {build}, which "
                f"needs NVIDIA driver ≥ {need}; this machine has driver {driver}. That is why CUDA is unavailable.",
                f"Upgrade the NVIDIA driver to ≥ {need}, or install a PyTorch built for an older CUDA"
                + (f": pip install torch --index-url https://download.pytorch.org/whl/{older}" if older else ".")))
        else:
            exact = DRIVER_FOR_TOOLKIT.get(".".join(build.split(".")[:2]))
            if exact and _version_tuple(driver) < _version_tuple(exact):
                findings.append(Finding("warning", f"Driver {driver} is older than the one shipped with CUDA {build} "
                                        f"({exact}); it works through minor-version compatibility, but some kernels "
                                        "compiled for newer GPUs may fail.", f"Upgrade the driver to ≥ {exact} when you can."))
    if info.get("cuda_available") and info.get("cuda_op_ok"):
        name = gpus[0]["name"] if gpus else "GPU"
        findings.append(Finding("ok", f"CUDA works: a matmul ran on {name} (compute capability "
                                f"{gpus[0].get('compute_capability') if gpus else '?'}), bf16 "
                                f"{'supported' if info.get('bf16_supported') else 'not supported'}."))
    elif info.get("cuda_available") and info.get("cuda_op_ok") is False:
        findings.append(Finding("error", f"CUDA is reported available but a tiny op failed: {info.get('cuda_op_error')}",
                                "Check that the driver and the PyTorch CUDA build match (see above) and that no other "
                                "process holds the GPU."))
    elif not info.get("cuda_available") and not any(f.level == "error" for f in findings):
        findings.append(Finding("error", f"PyTorch is built for CUDA {build} and a driver is present ({driver}), but "
                                "torch.cuda.is_available() is False.",
                                "Check CUDA_VISIBLE_DEVICES, that the GPU is not in an exclusive mode, and `nvidia-smi` errors."))
    return findings


def format_report(info: dict, findings: list[Finding]) -> str:
    gpus = info.get("gpus") or []
    lines = [
        f"torch            {info.get('torch_version')} (CUDA build: {info.get('torch_cuda_build') or 'none, CPU-only'})",
        f"NVIDIA driver    {info.get('driver_version') or 'not found'}",
        f"GPU              " + (", ".join(f"{g['name']} (cc {g.get('compute_capability')}, {g.get('memory_total')})"
                                         for g in gpus) or "none"),
        f"CUDA op          {'ran' if info.get('cuda_op_ok') else 'not run' if info.get('cuda_op_ok') is None else 'FAILED'}",
        f"CPU threads      {info.get('cpu_threads')} (of {info.get('cpu_count')} logical CPUs)",
        f"bf16             {'supported' if info.get('bf16_supported') else 'not supported'}",
        "",
    ]
    for f in findings:
        lines.append(f"[{f.level.upper()}] {f.message}")
        if f.fix:
            lines.append(f"        fix: {f.fix}")
    return "\n".join(lines)
