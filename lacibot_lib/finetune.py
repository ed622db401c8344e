"""Full and LoRA fine-tuning through the Hugging Face ``Trainer`` — no hand-written training loop.

Causal LMs learn only the summary: prompt tokens and padding get label -100, so the loss ignores them.
Seq2seq models (T5) get the dialogue prompt as encoder input and the summary as labels (padding → -100).
Validation runs every epoch (loss, and ROUGE on a few validation dialogues); early stopping watches the
validation loss and the best checkpoint is reloaded at the end.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from .generation import generation_config
from .metrics import compute_rouge
from .prompts import training_pair
from .summarize import summarize

IGNORE_INDEX = -100
LORA_TARGETS = {  # sensible defaults per model family (attention projections)
    "t5": ["q", "v"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
}


class FinetuneInputError(ValueError):
    """Training data or settings that cannot work (empty split, missing field, sequence too short …)."""


@dataclass
class FinetuneConfig:
    method: str = "lora"  # "full" or "lora"
    epochs: int = 3
    learning_rate: float | None = None  # None → 5e-5 full, 1e-3 LoRA
    batch_size: int = 4
    max_length: int = 384  # prompt + summary tokens (causal); prompt tokens (seq2seq)
    max_target_length: int = 64  # seq2seq summaries
    patience: int = 2  # epochs without validation-loss improvement before stopping
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: list[str] | None = None
    rouge_samples: int = 6  # validation dialogues summarised after every epoch (0 = skip)
    max_new_tokens: int = 48
    seed: int = 42
    output_dir: str = "finetune-output"
    progress: bool = True

    def resolved_learning_rate(self) -> float:
        return self.learning_rate or (5e-5 if self.method == "full" else 1e-3)


@dataclass
class FinetuneResult:
    method: str
    trainable: int
    total: int
    trainable_pct: float
    steps: int
    epochs_run: float
    stopped_early: bool
    best_epoch: int | None
    wall_s: float
    s_per_step: float
    peak_memory_mb: float
    train_loss: list[dict] = field(default_factory=list)  # [{"step", "epoch", "loss"}]
    eval_history: list[dict] = field(default_factory=list)  # [{"epoch", "eval_loss", "rouge1", …}]
    best_checkpoint: str | None = None
    saved_to: str | None = None
    size_on_disk_mb: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _check_rows(split, name: str):
    if split is None or len(split) == 0:
        raise FinetuneInputError(f"The {name!r} split is empty — fine-tuning needs at least one example.")
    missing = [c for c in ("dialogue", "summary") if c not in split.column_names]
    if missing:
        raise FinetuneInputError(f"The {name!r} split lacks column(s) {missing}; found {split.column_names}.")


def tokenize_causal(tokenizer, rows, max_length: int) -> list[dict]:
    """Prompt + summary token ids with labels masked (-100) over the prompt."""
    features = []
    for row in rows:
        prompt, target = training_pair(tokenizer, row["dialogue"], row["summary"])
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) >= max_length:
            raise FinetuneInputError(
                f"Dialogue {row.get('id', '?')!r}: its prompt has {len(prompt_ids)} tokens but max_length is "
                f"{max_length}, so no summary token would be left to learn from. Raise max_length or shorten the data.")
        input_ids = (prompt_ids + target_ids)[:max_length]
        labels = ([IGNORE_INDEX] * len(prompt_ids) + target_ids)[:max_length]
        features.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels})
    return features


def tokenize_seq2seq(tokenizer, rows, max_length: int, max_target_length: int) -> list[dict]:
    """Encoder input = plain prompt; labels = summary ids (padding is masked later by the collator)."""
    features = []
    for row in rows:
        prompt, target = training_pair(tokenizer, row["dialogue"], row["summary"], use_chat_template=False)
        enc = tokenizer(prompt, max_length=max_length, truncation=True)
        enc["labels"] = tokenizer(text_target=target, max_length=max_target_length, truncation=True)["input_ids"]
        features.append(dict(enc))
    return features


def lora_config_for(model, r: int = 8, alpha: int = 16, dropout: float = 0.05, targets: list[str] | None = None):
    """A ``peft.LoraConfig`` with the target matrices that suit the model family."""
    from peft import LoraConfig, TaskType

    family = getattr(model.config, "model_type", "")
    targets = targets or LORA_TARGETS.get(family)
    if not targets:
        raise FinetuneInputError(f"No default LoRA target modules for model type {family!r}; pass lora_targets.")
    task = TaskType.SEQ_2_SEQ_LM if getattr(model.config, "is_encoder_decoder", False) else TaskType.CAUSAL_LM
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type=task, bias="none")


def add_lora(model, cfg: FinetuneConfig | None = None):
    """Wrap ``model`` with LoRA adapters; only the adapters are trainable."""
    from peft import get_peft_model

    import warnings

    cfg = cfg or FinetuneConfig()
    with warnings.catch_warnings():  # peft calls a transformers property that v5 deprecated; nothing to act on
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, lora_config_for(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_targets))


def folder_size_mb(path: str | Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def make_collator(tokenizer, seq2seq_model=None):
    """Pads inputs with the pad token and labels with -100, so padding never counts in the loss."""
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, model=seq2seq_model, label_pad_token_id=IGNORE_INDEX, padding=True)


class ValidationRouge(TrainerCallback):
    """Trainer callback: after each evaluation, summarise a few validation dialogues and record ROUGE."""

    def __init__(self, tokenizer, rows, max_new_tokens: int, history: list):
        self.tokenizer, self.rows, self.max_new_tokens, self.history = tokenizer, rows, max_new_tokens, history

    def on_evaluate(self, args, state, control, model=None, metrics=None, **kwargs):
        entry = {"epoch": round(state.epoch or 0, 3), "step": state.global_step,
                 "eval_loss": (metrics or {}).get("eval_loss")}
        if self.rows:
            was_training = model.training
            model.eval()
            config = generation_config("greedy", self.max_new_tokens, self.tokenizer)
            predictions = summarize(model, self.tokenizer, [r["dialogue"] for r in self.rows], config=config)
            entry.update(compute_rouge(predictions, [r["summary"] for r in self.rows]))
            model.train(was_training)
        self.history.append(entry)


def finetune(model, tokenizer, dataset, cfg: FinetuneConfig) -> tuple[object, FinetuneResult]:
    """Fine-tune ``model`` on ``dataset["train"]`` with validation on ``dataset["validation"]``.

    Returns ``(trained_model, result)``; the best checkpoint (lowest validation loss) is loaded at the end and
    saved to ``cfg.output_dir/final`` (the full model, or only the adapter for LoRA).
    """
    from transformers import (EarlyStoppingCallback, Seq2SeqTrainer, Seq2SeqTrainingArguments, Trainer,
                              TrainingArguments, set_seed)

    from .models import count_parameters
    from .timing import PeakMemory

    if cfg.method not in {"full", "lora"}:
        raise FinetuneInputError(f"method must be 'full' or 'lora', got {cfg.method!r}")
    for name in ("train", "validation"):
        _check_rows(dataset.get(name) if hasattr(dataset, "get") else dataset[name], name)
    set_seed(cfg.seed)
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if seq2seq:
        train = tokenize_seq2seq(tokenizer, dataset["train"], cfg.max_length, cfg.max_target_length)
        valid = tokenize_seq2seq(tokenizer, dataset["validation"], cfg.max_length, cfg.max_target_length)
    else:
        train = tokenize_causal(tokenizer, dataset["train"], cfg.max_length)
        valid = tokenize_causal(tokenizer, dataset["validation"], cfg.max_length)
    if cfg.method == "lora":
        model = add_lora(model, cfg)
    else:
        model.requires_grad_(True)
    counts = count_parameters(model)
    model.train()
    tokenizer.padding_side = "right"
    collator = make_collator(tokenizer, model if seq2seq else None)
    out = Path(cfg.output_dir)
    args_class, trainer_class = (Seq2SeqTrainingArguments, Seq2SeqTrainer) if seq2seq else (TrainingArguments, Trainer)
    args = args_class(
        output_dir=str(out / "checkpoints"), num_train_epochs=cfg.epochs, learning_rate=cfg.resolved_learning_rate(),
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True, metric_for_best_model="eval_loss",
        greater_is_better=False, save_total_limit=1, logging_strategy="steps", logging_steps=1, seed=cfg.seed,
        data_seed=cfg.seed, report_to=[], disable_tqdm=not cfg.progress, warmup_steps=0, weight_decay=0.0,
        save_only_model=True, dataloader_num_workers=0, dataloader_pin_memory=str(model.device).startswith("cuda"),
    )
    eval_history: list[dict] = []
    rouge_rows = list(dataset["validation"].select(range(min(cfg.rouge_samples, len(dataset["validation"])))))
    trainer = trainer_class(
        model=model, args=args, train_dataset=train, eval_dataset=valid, data_collator=collator,
        processing_class=tokenizer,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=cfg.patience),
                   ValidationRouge(tokenizer, rouge_rows, cfg.max_new_tokens, eval_history)],
    )
    device = str(model.device)
    started = time.perf_counter()
    with PeakMemory(device) as memory:
        output = trainer.train()
    wall = time.perf_counter() - started
    state = trainer.state
    train_loss = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"]} for h in state.log_history if "loss" in h]
    epochs_run = float(state.epoch or 0)
    best_epoch = None
    if state.best_model_checkpoint and eval_history:
        best = min((e for e in eval_history if e["eval_loss"] is not None), key=lambda e: e["eval_loss"], default=None)
        best_epoch = int(math.ceil(best["epoch"])) if best else None
    final_dir = out / "final"
    trainer.model.save_pretrained(final_dir)
    if cfg.method == "full":
        tokenizer.save_pretrained(final_dir)
    trained = trainer.model.eval()
    result = FinetuneResult(
        method=cfg.method, trainable=counts["trainable"], total=counts["total"], trainable_pct=counts["trainable_pct"],
        steps=state.global_step, epochs_run=epochs_run, stopped_early=epochs_run < cfg.epochs - 1e-6,
        best_epoch=best_epoch, wall_s=wall, s_per_step=output.metrics.get("train_runtime", wall) / max(state.global_step, 1),
        peak_memory_mb=memory.delta_mb, train_loss=train_loss, eval_history=eval_history,
        best_checkpoint=state.best_model_checkpoint, saved_to=str(final_dir), size_on_disk_mb=folder_size_mb(final_dir),
    )
    (out / "result.json").write_text(json.dumps(result.as_dict(), indent=2))
    return trained, result


def load_adapter(base_model, adapter_dir: str | Path, merge: bool = False):
    """Reload a saved LoRA adapter onto a base model; ``merge=True`` folds it into the weights (``merge_and_unload``)."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(base_model, str(adapter_dir))
    return (model.merge_and_unload() if merge else model).eval()


def forgetting_score(model, tokenizer, probes: list[dict], max_new_tokens: int = 24) -> dict:
    """Share of general instructions still answered correctly (answer contains an expected keyword).

    ``probes``: dicts with ``instruction`` and ``expected`` (a list of acceptable keywords, case-insensitive).
    """
    from .generation import generate

    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": p["instruction"]}], tokenize=False,
                                             add_generation_prompt=True) if getattr(tokenizer, "chat_template", None)
               else p["instruction"] for p in probes]
    answers = generate(model, tokenizer, prompts, generation_config("greedy", max_new_tokens, tokenizer))
    correct = [any(word.lower() in answer.lower() for word in p["expected"]) for p, answer in zip(probes, answers)]
    return {"score": sum(correct) / len(probes), "answers": answers, "correct": correct}


class StepTimer(TrainerCallback):
    """Trainer callback: wall time of every optimisation step, with the device synchronised at both ends."""

    def __init__(self, device: str):
        self.device, self.times, self._start = device, [], None

    def on_step_begin(self, args, state, control, **kwargs):
        from .timing import synchronize

        synchronize(self.device)
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        from .timing import synchronize

        synchronize(self.device)
        self.times.append(time.perf_counter() - self._start)


def time_training_steps(model, tokenizer, rows, method: str = "lora", steps: int = 3, warmup: int = 1,
                        batch_size: int = 4, max_length: int = 256, bf16: bool = False) -> dict:
    """Seconds per optimisation step (median after ``warmup`` steps) and peak memory, full or LoRA.

    Trains ``warmup + steps`` steps through the ``Trainer`` on the same ``batch_size`` rows, so full and LoRA
    see identical batches. Returns trainable counts, per-step times and peak memory in MB.
    """
    import statistics
    import tempfile

    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from .models import count_parameters
    from .timing import PeakMemory

    rows = list(rows)[:batch_size]
    if len(rows) < batch_size:
        raise FinetuneInputError(f"time_training_steps needs {batch_size} rows, got {len(rows)}")
    if method == "lora":
        model = add_lora(model, FinetuneConfig(method="lora"))
    else:
        model.requires_grad_(True)
    model.train()
    tokenizer.padding_side = "right"
    features = tokenize_causal(tokenizer, rows, max_length) * (warmup + steps)
    device = str(model.device)
    timer = StepTimer(device)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, max_steps=warmup + steps, per_device_train_batch_size=batch_size,
                                 learning_rate=FinetuneConfig(method=method).resolved_learning_rate(),
                                 save_strategy="no", eval_strategy="no", report_to=[], disable_tqdm=True,
                                 logging_strategy="no", bf16=bf16, dataloader_num_workers=0, seed=0,
                                 dataloader_pin_memory=str(model.device).startswith("cuda"))
        trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(features),
                          data_collator=make_collator(tokenizer),
                          callbacks=[timer])
        with PeakMemory(device) as memory:
            trainer.train()
    counts = count_parameters(model)
    timed = timer.times[warmup:] or timer.times
    return {"method": method, "trainable": counts["trainable"], "total": counts["total"],
            "trainable_pct": counts["trainable_pct"], "s_per_step": statistics.median(timed),
            "step_times_s": timer.times, "peak_memory_mb": memory.delta_mb, "device": device}
