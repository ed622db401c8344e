import pytest
import torch

from lacibot_lib import models


def test_unknown_alias_lists_the_packaged_ones():
    with pytest.raises(models.ModelNotFoundError) as err:
        models.resolve_model_source("no-such-model")
    message = str(err.value)
    assert "smollm2-135m-instruct" in message and "Hugging Face id" in message and "folder" in message


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(models.ModelNotFoundError, match="config.json"):
        models.resolve_model_source(str(tmp_path))


def test_hub_id_is_passed_through():
    assert models.resolve_model_source("google/flan-t5-base") == "google/flan-t5-base"


def test_pick_device():
    assert models.pick_device("cpu") == "cpu"
    assert models.pick_device("auto") in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            models.pick_device("cuda")


def test_packaged_model_is_converted_once_and_loads(smol):
    model, tokenizer = smol
    folder = models.converted_model_dir("smollm2-135m-instruct")
    assert (folder / ".converted").exists() and (folder / "config.json").exists()
    assert models.prepare_packaged_model(verbose=False) == folder  # second call: nothing to do
    assert models.count_parameters(model)["total"] == 134_515_008
    assert tokenizer.chat_template and tokenizer.pad_token is not None


def test_seq2seq_folder_loads_as_seq2seq(tiny_t5_dir):
    model, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    assert model.config.is_encoder_decoder
    out = model.generate(**tokenizer(["hello how are you"], return_tensors="pt"), max_new_tokens=3)
    assert out.shape[0] == 1


def test_parameter_counts():
    layer = torch.nn.Linear(4, 3)
    layer.bias.requires_grad_(False)
    counts = models.count_parameters(layer)
    assert counts == {"trainable": 12, "total": 15, "trainable_pct": pytest.approx(80.0)}


def test_inference_dtype_follows_the_hardware(monkeypatch):
    import builtins
    import io

    import torch

    assert models.inference_dtype("cpu", "float32") is torch.float32
    real_open = builtins.open

    def fake_cpuinfo(flags):
        def fake_open(path, *args, **kwargs):
            if path == "/proc/cpuinfo":
                return io.StringIO(f"model name\t: Test CPU\nflags\t\t: {flags}\n")
            return real_open(path, *args, **kwargs)
        return fake_open

    monkeypatch.setattr(builtins, "open", fake_cpuinfo("fpu avx2 avx512f avx512_bf16"))
    assert models.inference_dtype("cpu") is torch.bfloat16
    monkeypatch.setattr(builtins, "open", fake_cpuinfo("fpu avx avx2"))
    assert models.inference_dtype("cpu") is torch.float32  # emulated bf16 would be slower
