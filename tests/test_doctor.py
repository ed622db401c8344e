"""The doctor's diagnosis logic, fed with simulated machine facts (mismatch, no driver, healthy …)."""
from lacibot_lib import doctor

SMI_H100 = "NVIDIA H100 80GB HBM3, 550.54.15, 9.0, 81559 MiB\n"
SMI_OLD_DRIVER = "NVIDIA GeForce GTX 1080, 470.182.03, 6.1, 8192 MiB\n"


def _info(**overrides):
    base = {"torch_version": "2.13.0+cu128", "torch_cuda_build": "12.8", "cuda_available": True, "cpu_threads": 8,
            "cpu_count": 16, "nvidia_smi_found": True, "gpus": doctor.parse_nvidia_smi(SMI_H100),
            "driver_version": "550.54.15", "cuda_op_ok": True, "bf16_supported": True, "mps_available": False}
    base.update(overrides)
    return base


def test_parse_nvidia_smi():
    gpus = doctor.parse_nvidia_smi(SMI_H100 + "\n" + SMI_OLD_DRIVER)
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA GeForce GTX 1080"]
    assert gpus[0]["driver_version"] == "550.54.15" and gpus[1]["compute_capability"] == "6.1"
    assert doctor.parse_nvidia_smi("") == []


def test_driver_too_old_for_the_torch_build_is_explained_with_the_fix():
    gpus = doctor.parse_nvidia_smi(SMI_OLD_DRIVER)
    findings = doctor.diagnose(_info(cuda_available=False, cuda_op_ok=None, gpus=gpus, driver_version="470.182.03"))
    errors = [f for f in findings if f.level == "error"]
    assert len(errors) == 1
    assert "CUDA 12.8" in errors[0].message and "525.60.13" in errors[0].message and "470.182.03" in errors[0].message
    assert "whl/cu118" in errors[0].fix


def test_driver_between_minor_compat_and_toolkit_is_a_warning():
    findings = doctor.diagnose(_info())  # 550 < 570.26 shipped with 12.8, but ≥ 525.60 for 12.x
    assert [f.level for f in findings] == ["warning", "ok"]
    assert "minor-version compatibility" in findings[0].message


def test_healthy_machine():
    findings = doctor.diagnose(_info(driver_version="580.65.06",
                                     gpus=doctor.parse_nvidia_smi(SMI_H100.replace("550.54.15", "580.65.06"))))
    assert [f.level for f in findings] == ["ok"] and "H100" in findings[0].message and "bf16 supported" in findings[0].message


def test_no_driver_with_cuda_build_falls_back_to_cpu():
    findings = doctor.diagnose(_info(cuda_available=False, nvidia_smi_found=False, gpus=[], driver_version=None,
                                     cuda_op_ok=None))
    assert [f.level for f in findings] == ["info"] and "no NVIDIA driver" in findings[0].message


def test_cpu_only_build_with_a_gpu_present():
    findings = doctor.diagnose(_info(torch_cuda_build=None, cuda_available=False))
    assert findings[0].level == "warning" and "CPU-only build" in findings[0].message


def test_cpu_only_machine():
    findings = doctor.diagnose(_info(torch_cuda_build=None, cuda_available=False, nvidia_smi_found=False, gpus=[]))
    assert [f.level for f in findings] == ["info"]


def test_cuda_op_failure_is_reported():
    findings = doctor.diagnose(_info(driver_version="580.65.06", cuda_op_ok=False, cuda_op_error="RuntimeError: no kernel image"))
    assert any(f.level == "error" and "no kernel image" in f.message for f in findings)


def test_collect_and_report_on_this_machine():
    info = doctor.collect()
    report = doctor.format_report(info, doctor.diagnose(info))
    for field in ("torch", "NVIDIA driver", "GPU", "CUDA op", "CPU threads", "bf16"):
        assert field in report
    assert info["cpu_threads"] >= 1
