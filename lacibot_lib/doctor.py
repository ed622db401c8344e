"""``lacibot doctor``: is this machine's PyTorch really using the GPU, and if not, why?

The seed's Week 3 trap: the installed PyTorch was built for a newer CUDA than the NVIDIA driver supports, so
``torch.cuda.is_available()`` was False until the driver and the PyTorch build were matched. :func:`collect`
gathers the facts; :func:`diagnose` (pure, tested with simulated outputs) turns them into findings with fixes.
Besides the driver, a wheel must also have kernels for the GPU's compute capability (recent wheels dropped old
GPUs, older ones lack the newest), and a driver can be installed yet not loaded (``nvidia-smi`` fails).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from .timing import cpu_has_native_bf16

# Minimum Linux driver for each CUDA major version under "minor version compatibility"
# (CUDA toolkit release notes, table "CUDA Toolkit and Minimum Required Driver Version").
MIN_DRIVER_FOR_MAJOR = {"11": "450.80.02", "12": "525.60.13", "13": "580.65.06"}
# Driver that ships with each toolkit release: below it, some features (e.g. PTX JIT of newer kernels) may fail.
DRIVER_FOR_TOOLKIT = {"11.8": "520.61.05", "12.1": "530.30.02", "12.4": "550.54.14", "12.6": "560.28.03",
                      "12.8": "570.26", "12.9": "575.51.03", "13.0": "580.65.06"}
# The PyTorch wheel indexes doctor suggests, newest first, and the CUDA build each installs. pip takes the newest
# torch on an index, so a suggestion is checked against WHEEL_GPU_SUPPORT for a current torch (cu118 stops at
# torch 2.7, which its "11." row covers).
WHEEL_INDEXES = (("cu130", "13.0"), ("cu128", "12.8"), ("cu126", "12.6"), ("cu118", "11.8"))
# Which GPUs a PyTorch CUDA wheel has kernels for: (CUDA build prefix, first torch release the row applies to,
# lowest compute capability, highest compute-capability major or None); the first matching row wins.
# Source: PyTorch release notes and RELEASE.md "CUDA support matrix": 2.8 removed Maxwell/Pascal/Volta
# (sm_50-sm_70) from its CUDA 12.8/12.9 builds; CUDA 13.0 builds start at Turing (7.5), as the CUDA 13 toolkit
# does; CUDA 12.6 builds keep Maxwell (5.0) ... Hopper (9.0); Blackwell (10.x, 12.x) needs a CUDA >= 12.8 build.
# Assumption, on the safe side: Volta (7.0) came back to some 12.8 builds later, but counts as unsupported there
# (advising cu126 to a Volta owner always works). Kernels for X.Y also run on X.Z (Z >= Y), so the upper bound
# is a major version. A build not listed here is not checked.
WHEEL_GPU_SUPPORT = (
    ("13.", (2, 9), (7, 5), None),
    ("12.8", (2, 8), (7, 5), None),
    ("12.9", (2, 8), (7, 5), None),
    ("12.8", (0,), (5, 0), None),  # torch 2.7, the first cu128 release, still ran Maxwell ... Blackwell
    ("12.", (0,), (5, 0), 9),
    ("11.", (0,), (3, 7), 9),
)
_LATEST = (999,)  # "the newest torch on the index", for rows keyed by the first release they apply to
_SMI_FIELDS = "name,driver_version,compute_cap,memory.total"
_SMI_FIELDS_OLD = "name,driver_version,memory.total"  # drivers before R510 cannot query compute_cap


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


def parse_nvidia_smi(csv_text: str, with_compute_cap: bool = True) -> list[dict]:
    """Parse ``nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader``
    (or, ``with_compute_cap=False``, the same without ``compute_cap``, whose ``compute_capability`` is None)."""
    gpus = []
    for line in csv_text.strip().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if not with_compute_cap and len(fields) >= 3:
            fields.insert(2, "")
        if len(fields) < 4 or not fields[0]:
            continue
        gpus.append({"name": fields[0], "driver_version": fields[1],
                     "compute_capability": fields[2] if _version_tuple(fields[2]) else None,
                     "memory_total": fields[3]})
    return gpus


def _smi(exe: str, fields: str) -> tuple[str | None, str | None]:
    """``(stdout, None)`` when ``nvidia-smi --query-gpu=fields`` succeeds, else ``(None, what went wrong)``."""
    try:
        done = subprocess.run([exe, f"--query-gpu={fields}", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None, "no answer within 20 s (a hung driver?)"
    except OSError as err:
        return None, f"could not be started ({err})"
    if done.returncode == 0:
        return done.stdout, None
    said = " ".join(((done.stderr or "") + " " + (done.stdout or "")).split()).rstrip(" .")
    return None, f"exit code {done.returncode}: {said[:300] or 'no message'}"


def _run_nvidia_smi() -> tuple[bool, list[dict], str | None]:
    """``(nvidia-smi found, GPUs, error)``: an installed nvidia-smi that fails means a broken or unloaded driver,
    which is a different problem from "no NVIDIA driver", so the error is kept."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False, [], None
    out, error = _smi(exe, _SMI_FIELDS)
    if out is not None:
        return True, parse_nvidia_smi(out), None
    if "compute_cap" in error or "valid field" in error:  # an old driver's nvidia-smi, not a broken one
        out, error = _smi(exe, _SMI_FIELDS_OLD)
        if out is not None:
            return True, parse_nvidia_smi(out, with_compute_cap=False), None
    return True, [], error


def collect() -> dict:
    """Facts about this machine: torch build, driver, GPUs (with compute capability), whether nvidia-smi works,
    whether a CUDA op really runs, CPU threads, bf16."""
    import torch

    info = {"torch_version": torch.__version__, "torch_cuda_build": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(), "cpu_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "mps_available": bool(getattr(torch.backends, "mps", None)
                                                               and torch.backends.mps.is_available())}
    info["nvidia_smi_found"], info["gpus"], info["nvidia_smi_error"] = _run_nvidia_smi()
    info["driver_version"] = info["gpus"][0]["driver_version"] if info["gpus"] else None
    info["cuda_op_ok"] = None
    info["cuda_op_error"] = None
    if info["cuda_available"]:
        try:
            x = torch.ones(64, 64, device="cuda")
            info["cuda_op_ok"] = bool(((x @ x).sum() == 64 * 64 * 64).item())
            info["bf16_supported"] = torch.cuda.is_bf16_supported()
        except Exception as err:  # a broken install fails here, which is exactly what we want to report
            info["cuda_op_ok"] = False
            info["cuda_op_error"] = f"{err.__class__.__name__}: {err}"
        try:  # the capability is what the wheel check needs, so fill it in even when the op failed
            count = torch.cuda.device_count()
            caps = ["{}.{}".format(*torch.cuda.get_device_capability(i)) for i in range(count)]
            if not info["gpus"]:
                info["gpus"] = [{"name": torch.cuda.get_device_name(i), "driver_version": None,
                                 "compute_capability": cap, "memory_total": None} for i, cap in enumerate(caps)]
            elif len(info["gpus"]) == count:  # same GPUs; the order can differ only if their kinds differ
                for gpu, cap in zip(info["gpus"], caps):
                    gpu["compute_capability"] = gpu["compute_capability"] or cap
        except Exception:  # the op error above already says what is wrong
            pass
    else:
        try:
            a = torch.ones(8, 8, dtype=torch.bfloat16)
            info["bf16_supported"] = bool((a @ a)[0, 0].item() == 8)
        except RuntimeError:
            info["bf16_supported"] = False
        info["bf16_native_cpu"] = cpu_has_native_bf16()  # bf16 always *runs* on a CPU; is it fast?
    return info


def _gpu_limit(build: str | None, torch_version: str | tuple | None, capability: str | None) -> tuple[str, int] | None:
    """``("compute capability ≥ 7.5", row of WHEEL_GPU_SUPPORT)`` when the build has no kernels for a GPU of
    ``capability``, else None (also when the table has no row for the build or the capability is unknown)."""
    cap = _version_tuple(capability)[:2]
    if not build or len(cap) < 2:
        return None
    release = _version_tuple(torch_version)[:2] if isinstance(torch_version, str) else torch_version or _LATEST
    for row, (prefix, since, lowest, highest_major) in enumerate(WHEEL_GPU_SUPPORT):
        if build.startswith(prefix) and release >= since:
            if cap < lowest:
                return f"compute capability ≥ {'.'.join(map(str, lowest))}", row
            if highest_major is not None and cap[0] > highest_major:
                return f"compute capability ≤ {highest_major}.x", row
            return None
    return None


def wheel_gpu_problem(build: str, torch_version: str | tuple | None, capability: str | None) -> str | None:
    """Why a PyTorch built for CUDA ``build`` (torch ``torch_version``; a tuple, or None for the newest) has no
    kernels for a GPU of compute capability ``capability``, or None when it has them or the table cannot tell."""
    limit = _gpu_limit(build, torch_version, capability)
    if not limit:
        return None
    since = WHEEL_GPU_SUPPORT[limit[1]][1]
    of_torch = f" of torch ≥ {'.'.join(map(str, since))}" if since != (0,) else ""
    return f"CUDA {build} builds{of_torch} need {limit[0]}"


def _gpu_label(gpu: dict) -> str:
    return f"{gpu.get('name') or 'GPU'} (compute capability {gpu.get('compute_capability') or '?'})"


def suggest_wheel(driver: str | None, gpus: list[dict]) -> tuple[str | None, list[str]]:
    """The newest wheel index (``"cu126"`` ...) that ``driver`` supports and every GPU has kernels in, and why the
    newer ones were passed over. An unknown driver or capability does not rule a wheel out."""
    passed_over: list[tuple[list[str], str]] = []  # runs of indexes passed over for the same reason
    for index, build in WHEEL_INDEXES:
        need = MIN_DRIVER_FOR_MAJOR.get(build.split(".")[0])
        refused = [(gpu, limit) for gpu in gpus if (limit := _gpu_limit(build, None, gpu.get("compute_capability")))]
        if driver and need and _version_tuple(driver) < _version_tuple(need):
            reason = f"driver ≥ {need}"
        elif refused:
            gpu, (reason, _) = refused[0]
            reason += f", the {gpu.get('name') or 'GPU'} has {gpu.get('compute_capability')}"
        else:
            return index, _runs(passed_over)
        if passed_over and passed_over[-1][1] == reason:
            passed_over[-1][0].append(index)
        else:
            passed_over.append(([index], reason))
    return None, _runs(passed_over)


def _runs(passed_over: list[tuple[list[str], str]]) -> list[str]:
    """``["cu130 and cu128 need compute capability ≥ 7.5, …"]`` from runs of indexes passed over for one reason."""
    return [f"{' and '.join(indexes)} need{'' if len(indexes) > 1 else 's'} {reason}"
            for indexes, reason in passed_over]


def _install_advice(driver: str | None, gpus: list[dict]) -> str:
    """A pip command for the newest wheel this driver and these GPUs can run, saying why newer ones are unfit."""
    index, passed_over = suggest_wheel(driver, gpus)
    why = f" ({'; '.join(passed_over)})" if passed_over else ""
    if index:
        return f"pip install torch --index-url https://download.pytorch.org/whl/{index}" + why
    return (f"No current PyTorch CUDA wheel runs here{why}: upgrade the driver if the GPU supports a newer one, or "
            "install an older PyTorch release built for this GPU (see pytorch.org/get-started/previous-versions), "
            "or use the CPU.")


def diagnose(info: dict) -> list[Finding]:
    """Turn collected facts into findings; the driver/build mismatch gets a plain explanation and the fix."""
    findings: list[Finding] = []
    build = info.get("torch_cuda_build")
    driver = info.get("driver_version")
    gpus = info.get("gpus") or []
    version = info.get("torch_version")
    smi_error = info.get("nvidia_smi_error")
    cuda_works = info.get("cuda_available") and info.get("cuda_op_ok") is not False
    if smi_error and not cuda_works:
        findings.append(Finding(
            "error", f"The NVIDIA driver is installed but not working: nvidia-smi failed ({smi_error}). The GPU is "
            "probably fine; PyTorch cannot see it until the driver's kernel module is loaded.",
            "Reboot (needed after a driver or kernel update, so the module matches the running kernel); if it still "
            "fails, reinstall the NVIDIA driver, and read the reason in `sudo dmesg | grep -i nvidia` (e.g. Secure "
            "Boot refusing an unsigned module). Then rerun `lacibot doctor`."))
        if not build:
            findings.append(Finding("warning", f"PyTorch {version} is also a CPU-only build.",
                                    "After the driver works, rerun `lacibot doctor`: it names the CUDA build that "
                                    "this driver and GPU can run."))
        return findings
    if smi_error:
        findings.append(Finding("warning", f"nvidia-smi failed ({smi_error}), but PyTorch reaches the GPU; the "
                                "driver version could not be checked.", "Run `nvidia-smi` to see the error."))
    if not build:
        if gpus or info.get("nvidia_smi_found"):
            present = f"An {_gpu_label(gpus[0])}" if gpus else "An NVIDIA GPU (see nvidia-smi)"
            findings.append(Finding("warning", f"{present} is present but PyTorch {version} is a CPU-only build.",
                                    "Install a CUDA build: " + _install_advice(driver, gpus)))
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
    # GPUs the installed build has no kernels for; a GPU that measurably works overrides the table.
    unfit = [] if info.get("cuda_op_ok") else [
        f"the {_gpu_label(gpu)}: {why}" for gpu in gpus
        if (why := wheel_gpu_problem(build, version, gpu.get("compute_capability")))]
    need = MIN_DRIVER_FOR_MAJOR.get(major)
    if driver and need and _version_tuple(driver) < _version_tuple(need):
        message = (f"Driver/build mismatch: PyTorch {version} is built for CUDA {build}, which needs NVIDIA driver "
                   f"≥ {need}; this machine has driver {driver}. That is why CUDA is unavailable.")
        if unfit:  # then a driver upgrade alone would not help, so the wheel comes first
            message += f" It has no kernels for {'; '.join(unfit)} either."
            fix = (f"Install a PyTorch this driver and GPU can run: {_install_advice(driver, gpus)}; or upgrade the "
                   f"driver to ≥ {need} and rerun `lacibot doctor`.")
        else:
            fix = (f"Upgrade the NVIDIA driver to ≥ {need}, or install a PyTorch built for an older CUDA: "
                   + _install_advice(driver, gpus))
        findings.append(Finding("error", message, fix))
        return findings
    if driver:
        exact = DRIVER_FOR_TOOLKIT.get(".".join(build.split(".")[:2]))
        if exact and _version_tuple(driver) < _version_tuple(exact):
            findings.append(Finding("warning", f"Driver {driver} is older than the one shipped with CUDA {build} "
                                    f"({exact}); it works through minor-version compatibility, but some kernels "
                                    "compiled for newer GPUs may fail.",
                                    f"Upgrade the driver to ≥ {exact} when you can."))
    if unfit:
        findings.append(Finding("error", f"PyTorch {version} (CUDA {build}) has no kernels for {'; '.join(unfit)}. "
                                "CUDA calls fail with \"no kernel image is available\".",
                                "Install a build that runs it: " + _install_advice(driver, gpus)))
    elif info.get("cuda_available") and info.get("cuda_op_ok"):
        findings.append(Finding("ok", f"CUDA works: a matmul ran on {_gpu_label(gpus[0]) if gpus else 'the GPU'}, "
                                f"bf16 {'supported' if info.get('bf16_supported') else 'not supported'}."))
    elif info.get("cuda_available") and info.get("cuda_op_ok") is False:
        findings.append(Finding("error", f"CUDA is reported available but a tiny op failed: "
                                f"{info.get('cuda_op_error')}",
                                "Check that the driver and the PyTorch CUDA build match (see above) and that no other "
                                "process holds the GPU."))
    elif not info.get("cuda_available"):
        findings.append(Finding("error", f"PyTorch is built for CUDA {build} and a driver is present ({driver}), but "
                                "torch.cuda.is_available() is False.",
                                "Check CUDA_VISIBLE_DEVICES, that the GPU is not in an exclusive mode, and "
                                "`nvidia-smi` errors."))
    return findings


def _example(**overrides) -> dict:
    base = {"torch_version": "2.13.0+cu128", "torch_cuda_build": "12.8", "cuda_available": True, "cpu_threads": 8,
            "cpu_count": 16, "nvidia_smi_found": True, "nvidia_smi_error": None, "driver_version": "580.65.06",
            "gpus": parse_nvidia_smi("NVIDIA GeForce RTX 4070, 580.65.06, 8.9, 12282 MiB"), "cuda_op_ok": True,
            "cuda_op_error": None, "bf16_supported": True, "mps_available": False}
    base.update(overrides)
    return base


def example_environments() -> dict[str, dict]:
    """Recorded example machines (not this one) for teaching the diagnosis, label → the facts ``collect`` gives.

    - a CUDA 12.8 wheel on a driver from the CUDA 11 era (the course's Week 3 trap),
    - a CPU-only wheel (what a plain ``pip install torch`` gives on some indexes) on a GPU machine,
    - no NVIDIA driver at all (a laptop without an NVIDIA GPU, or the driver never installed),
    - a healthy machine.
    """
    old_driver = parse_nvidia_smi("NVIDIA GeForce RTX 3060, 470.182.03, 8.6, 12288 MiB")
    return {
        "CUDA 12.8 wheel, driver 470 (CUDA 11 era)": _example(cuda_available=False, cuda_op_ok=None,
                                                               driver_version="470.182.03", gpus=old_driver),
        "CPU-only wheel on a GPU machine": _example(torch_version="2.13.0+cpu", torch_cuda_build=None,
                                                    cuda_available=False, cuda_op_ok=None),
        "no NVIDIA driver": _example(cuda_available=False, nvidia_smi_found=False, gpus=[], driver_version=None,
                                     cuda_op_ok=None, bf16_supported=False),
        "healthy": _example(),
    }


def _bf16_text(info: dict) -> str:
    if not info.get("bf16_supported"):
        return "not supported"
    native = info.get("bf16_native_cpu")
    if info.get("cuda_op_ok") or native is None:
        return "supported"
    return ("supported, native on this CPU (AVX-512 BF16 / AMX)" if native else
            "runs, but emulated on this CPU (no AVX-512 BF16 / AMX): slower than fp32 for big matmuls")


def format_report(info: dict, findings: list[Finding]) -> str:
    gpus = info.get("gpus") or []
    smi_error = info.get("nvidia_smi_error")
    driver = info.get("driver_version") or (f"unknown, nvidia-smi failed: {smi_error}" if smi_error else "not found")
    op = info.get("cuda_op_ok")
    lines = [
        f"torch            {info.get('torch_version')} "
        f"(CUDA build: {info.get('torch_cuda_build') or 'none, CPU-only'})",
        f"NVIDIA driver    {driver}",
        "GPU              " + (", ".join(f"{g['name']} (cc {g.get('compute_capability')}, {g.get('memory_total')})"
                                         for g in gpus) or "none"),
        f"CUDA op          {'ran' if op else 'not run' if op is None else 'FAILED'}",
        f"CPU threads      {info.get('cpu_threads')} (of {info.get('cpu_count')} logical CPUs)",
        f"bf16             {_bf16_text(info)}",
        "",
    ]
    for f in findings:
        lines.append(f"[{f.level.upper()}] {f.message}")
        if f.fix:
            lines.append(f"        fix: {f.fix}")
    return "\n".join(lines)
