"""The doctor's diagnosis logic, fed with recorded machine facts (mismatch, no driver, broken driver, old GPU …)."""
import subprocess

import pytest

from lacibot_lib import doctor

SMI_H100 = "NVIDIA H100 80GB HBM3, 550.54.15, 9.0, 81559 MiB\n"
SMI_OLD_DRIVER = "NVIDIA GeForce GTX 1080, 470.182.03, 6.1, 8192 MiB\n"
SMI_GTX1080 = "NVIDIA GeForce GTX 1080, 580.65.06, 6.1, 8192 MiB\n"  # Pascal, sm_61, on a current driver
SMI_RTX5090 = "NVIDIA GeForce RTX 5090, 580.65.06, 12.0, 32607 MiB\n"  # Blackwell, sm_120
SMI_FAILED = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
              "Make sure that the latest NVIDIA driver is installed and running.\n")


def _info(**overrides):
    """What ``collect()`` records on a healthy-ish H100 box, with ``overrides`` applied."""
    base = {"torch_version": "2.13.0+cu128", "torch_cuda_build": "12.8", "cuda_available": True, "cpu_threads": 8,
            "cpu_count": 16, "nvidia_smi_found": True, "nvidia_smi_error": None,
            "gpus": doctor.parse_nvidia_smi(SMI_H100), "driver_version": "550.54.15", "cuda_op_ok": True,
            "cuda_op_error": None, "bf16_supported": True, "mps_available": False}
    base.update(overrides)
    return base


def _levels(findings):
    return [f.level for f in findings]


def test_parse_nvidia_smi():
    gpus = doctor.parse_nvidia_smi(SMI_H100 + "\n" + SMI_OLD_DRIVER)
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA GeForce GTX 1080"]
    assert gpus[0]["driver_version"] == "550.54.15" and gpus[1]["compute_capability"] == "6.1"
    assert doctor.parse_nvidia_smi("") == []
    (old,) = doctor.parse_nvidia_smi("Tesla K80, 470.182.03, 11441 MiB\n", with_compute_cap=False)
    assert old["compute_capability"] is None and old["memory_total"] == "11441 MiB"
    assert doctor.parse_nvidia_smi("GPU, 550.1, [N/A], 1 MiB")[0]["compute_capability"] is None


def test_healthy_machine():
    findings = doctor.diagnose(_info(driver_version="580.65.06",
                                     gpus=doctor.parse_nvidia_smi(SMI_H100.replace("550.54.15", "580.65.06"))))
    assert _levels(findings) == ["ok"]
    assert "H100" in findings[0].message and "9.0" in findings[0].message and "bf16 supported" in findings[0].message


def test_driver_between_minor_compat_and_toolkit_is_a_warning():
    findings = doctor.diagnose(_info())  # 550 < 570.26 shipped with 12.8, but ≥ 525.60 for 12.x
    assert _levels(findings) == ["warning", "ok"]
    assert "minor-version compatibility" in findings[0].message


def test_cuda12_wheel_on_an_older_driver_is_explained_with_the_fix():
    gpus = doctor.parse_nvidia_smi(SMI_H100.replace("550.54.15", "470.182.03"))
    findings = doctor.diagnose(_info(cuda_available=False, cuda_op_ok=None, gpus=gpus, driver_version="470.182.03"))
    (error,) = findings
    assert error.level == "error"
    assert "CUDA 12.8" in error.message and "525.60.13" in error.message and "470.182.03" in error.message
    assert error.fix.startswith("Upgrade the NVIDIA driver to ≥ 525.60.13")
    assert "whl/cu118" in error.fix and "cu128 and cu126 need driver ≥ 525.60.13" in error.fix


def test_old_driver_and_old_gpu_puts_the_wheel_that_runs_first():
    # GTX 1080 (sm_61) on driver 470: the cu128 build needs a newer driver *and* has no sm_61 kernels.
    gpus = doctor.parse_nvidia_smi(SMI_OLD_DRIVER)
    findings = doctor.diagnose(_info(cuda_available=False, cuda_op_ok=None, gpus=gpus, driver_version="470.182.03"))
    errors = [f for f in findings if f.level == "error"]
    assert len(errors) == 1
    assert "525.60.13" in errors[0].message and "compute capability 6.1" in errors[0].message
    assert "either" in errors[0].message and errors[0].fix.startswith("Install a PyTorch this driver and GPU can run")
    assert "whl/cu118" in errors[0].fix


def test_cpu_only_wheel_on_a_gpu_machine_suggests_the_newest_fitting_wheel():
    findings = doctor.diagnose(_info(torch_version="2.13.0+cpu", torch_cuda_build=None, cuda_available=False,
                                     cuda_op_ok=None))
    (warning,) = findings
    assert warning.level == "warning" and "CPU-only build" in warning.message and "H100" in warning.message
    # driver 550 is too old for CUDA 13, so the newest wheel it runs is cu128
    assert "whl/cu128" in warning.fix and "cu130 needs driver ≥ 580.65.06" in warning.fix


def test_old_gpu_sm61_the_newest_wheels_are_refused_by_compute_capability():
    findings = doctor.diagnose(_info(torch_version="2.13.0+cpu", torch_cuda_build=None, cuda_available=False,
                                     cuda_op_ok=None, driver_version="580.65.06",
                                     gpus=doctor.parse_nvidia_smi(SMI_GTX1080)))
    (warning,) = findings
    assert "whl/cu126" in warning.fix and "whl/cu130" not in warning.fix and "whl/cu128" not in warning.fix
    assert "cu130 and cu128 need compute capability ≥ 7.5, the NVIDIA GeForce GTX 1080 has 6.1" in warning.fix


def test_old_gpu_sm61_with_a_cu128_wheel_installed():
    # Recorded from a Pascal box: torch imports, is_available() is True, the first kernel fails.
    info = _info(driver_version="580.65.06", gpus=doctor.parse_nvidia_smi(SMI_GTX1080), cuda_op_ok=False,
                 cuda_op_error="RuntimeError: CUDA error: no kernel image is available for execution on the device",
                 bf16_supported=False)
    findings = doctor.diagnose(info)
    (error,) = findings
    assert error.level == "error" and "GTX 1080 (compute capability 6.1)" in error.message
    assert "CUDA 12.8 builds of torch ≥ 2.8 need compute capability ≥ 7.5" in error.message
    assert "whl/cu126" in error.fix


def test_a_gpu_that_measurably_works_overrides_the_table():
    # Volta (7.0) with a 2.9 cu128 build: the table says no (safe side), the matmul says yes, so no error.
    gpus = doctor.parse_nvidia_smi("Tesla V100-SXM2-32GB, 580.65.06, 7.0, 32768 MiB")
    findings = doctor.diagnose(_info(torch_version="2.9.0+cu128", driver_version="580.65.06", gpus=gpus))
    assert _levels(findings) == ["ok"]


def test_new_gpu_with_an_old_wheel():
    info = _info(torch_version="2.6.0+cu126", torch_cuda_build="12.6", driver_version="580.65.06",
                 gpus=doctor.parse_nvidia_smi(SMI_RTX5090), cuda_op_ok=False, cuda_op_error="RuntimeError: no kernel")
    (error,) = doctor.diagnose(info)
    assert "CUDA 12.6 builds need compute capability ≤ 9.x" in error.message and "whl/cu130" in error.fix


def test_no_wheel_fits_a_kepler_gpu():
    gpus = doctor.parse_nvidia_smi("Tesla K80, 470.182.03, 3.5, 11441 MiB")
    (warning,) = doctor.diagnose(_info(torch_version="2.13.0+cpu", torch_cuda_build=None, cuda_available=False,
                                       cuda_op_ok=None, driver_version="470.182.03", gpus=gpus))
    assert "No current PyTorch CUDA wheel runs here" in warning.fix and "older PyTorch" in warning.fix
    assert "cu118 needs compute capability ≥ 3.7, the Tesla K80 has 3.5" in warning.fix


@pytest.mark.parametrize("build, torch_version, cap, refused", [
    ("12.8", "2.13.0+cu128", "6.1", True),
    ("12.8", "2.7.1+cu128", "6.1", False),    # 2.7's cu128 still had Pascal
    ("12.6", "2.13.0+cu126", "6.1", False),
    ("13.0", "2.10.0+cu130", "7.5", False),
    ("13.0", "2.10.0+cu130", "7.0", True),
    ("12.6", "2.8.0+cu126", "12.0", True),
    ("12.8", "2.8.0+cu128", None, False),     # unknown capability: not refused
    ("10.2", "1.12.0+cu102", "3.0", False),   # not in the table: not judged
])
def test_wheel_gpu_table(build, torch_version, cap, refused):
    assert (doctor.wheel_gpu_problem(build, torch_version, cap) is not None) == refused


def test_no_driver_with_cuda_build_falls_back_to_cpu():
    findings = doctor.diagnose(_info(cuda_available=False, nvidia_smi_found=False, gpus=[], driver_version=None,
                                     cuda_op_ok=None))
    assert _levels(findings) == ["info"] and "no NVIDIA driver" in findings[0].message


def test_cpu_only_machine():
    findings = doctor.diagnose(_info(torch_cuda_build=None, cuda_available=False, nvidia_smi_found=False, gpus=[],
                                     driver_version=None, cuda_op_ok=None))
    assert _levels(findings) == ["info"] and "No GPU found" in findings[0].message


@pytest.mark.parametrize("build", ["12.8", None], ids=["cuda-wheel", "cpu-wheel"])
def test_nvidia_smi_present_but_failing_is_a_broken_driver_not_no_gpu(build):
    info = _info(torch_cuda_build=build, cuda_available=False, cuda_op_ok=None, gpus=[], driver_version=None,
                 nvidia_smi_error=f"exit code 9: {SMI_FAILED.strip().rstrip('.')}")
    findings = doctor.diagnose(info)
    assert findings[0].level == "error" and "installed but not working" in findings[0].message
    assert "couldn't communicate with the NVIDIA driver" in findings[0].message
    assert all(word in findings[0].fix for word in ("Reboot", "reinstall", "dmesg"))
    assert not any("No GPU found" in f.message or "no NVIDIA driver" in f.message for f in findings)
    assert _levels(findings) == (["error"] if build else ["error", "warning"])
    report = doctor.format_report(info, findings)
    assert "nvidia-smi failed" in report.splitlines()[1]


def test_nvidia_smi_failing_while_cuda_works_is_only_a_warning():
    findings = doctor.diagnose(_info(driver_version=None, nvidia_smi_error="no answer within 20 s (a hung driver?)"))
    assert _levels(findings) == ["warning", "ok"]


def test_cuda_op_failure_is_reported():
    findings = doctor.diagnose(_info(driver_version="580.65.06", cuda_op_ok=False,
                                     cuda_op_error="RuntimeError: no kernel image"))
    assert any(f.level == "error" and "no kernel image" in f.message for f in findings)


def _fake_smi(monkeypatch, *answers):
    """Make ``collect`` see an nvidia-smi that gives ``answers`` (returncode, output) in turn."""
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        code, out = answers[len(calls) - 1]
        return subprocess.CompletedProcess(cmd, code, stdout=out, stderr="")

    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(doctor.subprocess, "run", run)
    return calls


def test_collect_records_a_failing_nvidia_smi(monkeypatch):
    _fake_smi(monkeypatch, (9, SMI_FAILED))
    info = doctor.collect()
    assert info["nvidia_smi_found"] is True and info["gpus"] == [] and info["driver_version"] is None
    assert info["nvidia_smi_error"].startswith("exit code 9: NVIDIA-SMI has failed")


def test_collect_asks_an_old_nvidia_smi_without_compute_cap(monkeypatch):
    calls = _fake_smi(monkeypatch, (2, 'Field "compute_cap" is not a valid field to query.\n'),
                      (0, "Tesla K80, 470.182.03, 11441 MiB\n"))
    info = doctor.collect()
    assert info["nvidia_smi_error"] is None and info["driver_version"] == "470.182.03"
    assert "compute_cap" not in calls[1][1] and info["gpus"][0]["name"] == "Tesla K80"


def test_collect_and_report_on_this_machine():
    info = doctor.collect()
    report = doctor.format_report(info, doctor.diagnose(info))
    for field in ("torch", "NVIDIA driver", "GPU", "CUDA op", "CPU threads", "bf16"):
        assert field in report
    assert info["cpu_threads"] >= 1 and "nvidia_smi_error" in info


def test_example_environments_each_get_their_diagnosis_and_fix():
    examples = doctor.example_environments()
    levels = {label: _levels(doctor.diagnose(info)) for label, info in examples.items()}
    mismatch, cpu_wheel, no_driver, healthy = (doctor.diagnose(info) for info in examples.values())
    assert levels == {"CUDA 12.8 wheel, driver 470 (CUDA 11 era)": ["error"], "CPU-only wheel on a GPU machine":
                      ["warning"], "no NVIDIA driver": ["info"], "healthy": ["ok"]}
    assert "Driver/build mismatch" in mismatch[0].message and "whl/cu118" in mismatch[0].fix
    assert "CPU-only build" in cpu_wheel[0].message and "whl/cu130" in cpu_wheel[0].fix
    assert "no NVIDIA driver" in no_driver[0].message and "RTX 4070" in healthy[0].message


def test_report_says_when_cpu_bf16_is_emulated():
    info = _info(torch_cuda_build=None, cuda_available=False, nvidia_smi_found=False, gpus=[], driver_version=None,
                 cuda_op_ok=None, bf16_native_cpu=False)
    assert "emulated on this CPU" in doctor.format_report(info, doctor.diagnose(info))
    assert "native on this CPU" in doctor.format_report({**info, "bf16_native_cpu": True}, [])
    assert "bf16             supported" in doctor.format_report({**info, "bf16_native_cpu": None}, [])
