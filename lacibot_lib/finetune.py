"""Full and LoRA fine-tuning through the Hugging Face ``Trainer`` — no hand-written training loop.

Causal LMs learn only the summary: prompt tokens and padding get label -100, so the loss ignores them.
Seq2seq models (T5) get the dialogue prompt as encoder input and the summary as labels (padding → -100).
Validation runs every epoch (loss, and ROUGE on a few validation dialogues); early stopping watches the
validation loss and the best checkpoint is reloaded at the end.

Long dialogues: when prompt + summary exceed ``max_length``, the *dialogue* is cut in the middle (its beginning
and end are kept, joined by ``TRUNCATION_MARKER``) so the whole summary is still learnt; the opening says who
talks about what and the end how it turned out, which is what a summary needs. An example whose summary leaves
room for fewer than ``MIN_DIALOGUE_TOKENS`` dialogue tokens is skipped (training on a summary without its
dialogue would teach the model to invent). The counts are reported, never silent.
"""
from __future__ import annotations

import functools
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from .generation import generation_config
from .metrics import compute_rouge, rouge_per_example
from .prompts import training_pair
from .summarize import summarize
from .timing import PeakMemory, StepTimer

IGNORE_INDEX = -100
TRUNCATION_MARKER = " … "  # stands where the middle of a too-long dialogue was cut out
MIN_DIALOGUE_TOKENS = 16  # fewer dialogue tokens than this left next to the summary → skip the example
LORA_TARGETS = {  # sensible defaults per model family (attention projections)
    "t5": ["q", "v"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
}


class FinetuneInputError(ValueError):
    """Training data or settings that cannot work (empty split, missing field, sequence too short …).

    ``field`` names the :class:`FinetuneConfig` field at fault when there is one (the CLI maps it to its option).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# Smallest sensible value of each integer setting: 0 epochs would "train" nothing and still save an adapter.
_INT_MINIMUMS = {"epochs": 1, "batch_size": 1, "max_length": 16, "max_target_length": 1, "patience": 1, "lora_r": 1,
                 "rouge_samples": 0, "max_new_tokens": 1}


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
    max_new_tokens: int = 96  # validation summaries: the longest reference is ~80 tokens, so none is cut
    seed: int = 42
    output_dir: str = "finetune-output"
    progress: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise :class:`FinetuneInputError` naming the first field whose value cannot work."""
        def bad(name: str, need: str):
            raise FinetuneInputError(f"FinetuneConfig.{name} must be {need}, got {getattr(self, name)!r}", name)

        if self.method not in {"full", "lora"}:
            bad("method", "'full' or 'lora'")
        for name, minimum in _INT_MINIMUMS.items():
            value = getattr(self, name)
            # bool is an int subclass, but epochs=True is a mistake, not 1
            if isinstance(value, bool) or not isinstance(value, int):
                bad(name, f"a whole number ≥ {minimum}")
            if value < minimum:
                bad(name, f"at least {minimum}")
        rate = self.learning_rate
        if rate is not None and not (_is_number(rate) and 0 < rate < math.inf):
            bad("learning_rate", "a positive number (or None for the default)")
        if not (_is_number(self.lora_alpha) and self.lora_alpha > 0):
            bad("lora_alpha", "a positive number")
        if not (_is_number(self.lora_dropout) and 0 <= self.lora_dropout < 1):
            bad("lora_dropout", "in [0, 1)")

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
    truncated_examples: int = 0  # train + validation dialogues cut in the middle to fit max_length
    skipped_examples: int = 0  # train + validation examples dropped: the summary left no room for the dialogue

    def as_dict(self) -> dict:
        return asdict(self)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _check_rows(split, name: str):
    if split is None or len(split) == 0:
        raise FinetuneInputError(f"The {name!r} split is empty — fine-tuning needs at least one example.")
    missing = [c for c in ("dialogue", "summary") if c not in split.column_names]
    if missing:
        raise FinetuneInputError(f"The {name!r} split lacks column(s) {missing}; found {split.column_names}.")


class TokenizedExamples(list):
    """Feature dicts for the ``Trainer`` (a plain list to it) that also say how many examples were cut or skipped.

    ``truncated``: dialogues cut in the middle to fit; ``skipped``: examples dropped because even a minimal
    dialogue would not fit next to the summary; ``skipped_ids``: their ``id`` values (``?`` when none).
    """

    def __init__(self, features=(), truncated: int = 0, skipped: int = 0, skipped_ids=()):
        super().__init__(features)
        self.truncated, self.skipped, self.skipped_ids = truncated, skipped, list(skipped_ids)


def _cut_middle(tokenizer, dialogue_ids: list[int], keep: int) -> str:
    """The dialogue's first and last tokens (``keep`` in all, the beginning gets the odd one) around the marker."""
    head = (keep + 1) // 2
    tail = keep - head
    # A cut inside a multi-byte character decodes to U+FFFD; drop that fragment rather than train on it.
    start = tokenizer.decode(dialogue_ids[:head]).rstrip("\ufffd").rstrip()
    end = tokenizer.decode(dialogue_ids[len(dialogue_ids) - tail:]).lstrip("\ufffd").lstrip() if tail else ""
    return f"{start}{TRUNCATION_MARKER}{end}"


def _fit_dialogue(tokenizer, dialogue: str, prompt_ids, room: int) -> tuple[list[int] | None, bool, int]:
    """Prompt token ids of at most ``room`` tokens, cutting the middle of the dialogue when needed.

    ``prompt_ids(dialogue)`` builds and tokenises the prompt. Returns ``(ids, truncated, needed)``: ``ids`` is
    None when fewer than ``MIN_DIALOGUE_TOKENS`` dialogue tokens would be left; ``needed`` is then the prompt
    length with that minimal dialogue (for the error message).
    """
    ids = prompt_ids(dialogue)
    if len(ids) <= room:
        return ids, False, len(ids)
    dialogue_ids = tokenizer(dialogue.strip(), add_special_tokens=False)["input_ids"]
    floor = min(MIN_DIALOGUE_TOKENS, len(dialogue_ids))
    keep = len(dialogue_ids) - (len(ids) - room)
    while keep >= floor:
        ids = prompt_ids(_cut_middle(tokenizer, dialogue_ids, keep))
        if len(ids) <= room:
            return ids, True, len(ids)
        # Tokens merge differently at the cuts and the marker costs a few: shave off the measured excess.
        keep -= len(ids) - room
    return None, True, len(prompt_ids(_cut_middle(tokenizer, dialogue_ids, floor)))


def _causal_prompt_ids(tokenizer, summary: str, dialogue: str) -> list[int]:
    prompt, _ = training_pair(tokenizer, dialogue, summary)
    return tokenizer(prompt, add_special_tokens=False)["input_ids"]


def _seq2seq_prompt_ids(tokenizer, summary: str, dialogue: str) -> list[int]:
    prompt, _ = training_pair(tokenizer, dialogue, summary, use_chat_template=False)
    return tokenizer(prompt)["input_ids"]  # with the encoder's special tokens (T5's </s>)


def _all_skipped(where: str, count: int, needed: list[int], max_length: int, what: str) -> FinetuneInputError:
    low, high = min(needed), max(needed)
    span = f"{low}" if low == high else f"{low}–{high}"
    return FinetuneInputError(
        f"{where}: all {count} example(s) were skipped — even with each dialogue cut down to "
        f"{MIN_DIALOGUE_TOKENS} tokens, {what} need {span} tokens but max_length is {max_length}. "
        f"Use a larger max_length (--max-length {high} on the command line keeps them all) or shorter summaries.",
        "max_length")


def tokenize_causal(tokenizer, rows, max_length: int, *, where: str = "the data") -> TokenizedExamples:
    """Prompt + summary token ids with labels masked (-100) over the prompt.

    The summary and its end token are always kept whole; a prompt that would not leave room for them has the
    middle of its dialogue cut out (``.truncated`` counts those), and an example whose summary leaves room for
    fewer than ``MIN_DIALOGUE_TOKENS`` dialogue tokens is left out (``.skipped``). When every example would be
    left out this raises :class:`FinetuneInputError`; ``where`` names the data in that message.
    """
    out, needed, count = TokenizedExamples(), [], 0
    for row in rows:
        count += 1
        _, target = training_pair(tokenizer, row["dialogue"], row["summary"])
        target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
        build = functools.partial(_causal_prompt_ids, tokenizer, row["summary"])
        prompt_ids, cut, need = _fit_dialogue(tokenizer, row["dialogue"], build, max_length - len(target_ids))
        if prompt_ids is None:
            out.skipped += 1
            out.skipped_ids.append(row.get("id", "?"))
            needed.append(need + len(target_ids))
            continue
        out.truncated += cut
        input_ids = prompt_ids + target_ids
        labels = [IGNORE_INDEX] * len(prompt_ids) + target_ids
        out.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels})
    if count and not out:
        raise _all_skipped(where, count, needed, max_length, "prompt + summary")
    return out


def tokenize_seq2seq(tokenizer, rows, max_length: int, max_target_length: int, *,
                     where: str = "the data") -> TokenizedExamples:
    """Encoder input = plain prompt; labels = summary ids (padding is masked later by the collator).

    A prompt over ``max_length`` has the middle of its dialogue cut out, so the closing ``Summary:`` cue stays
    (``.truncated``); summaries are cut to ``max_target_length``. A prompt that cannot fit even with
    ``MIN_DIALOGUE_TOKENS`` dialogue tokens is left out (``.skipped``); all left out raises.
    """
    out, needed, count = TokenizedExamples(), [], 0
    for row in rows:
        count += 1
        _, target = training_pair(tokenizer, row["dialogue"], row["summary"], use_chat_template=False)
        build = functools.partial(_seq2seq_prompt_ids, tokenizer, row["summary"])
        input_ids, cut, need = _fit_dialogue(tokenizer, row["dialogue"], build, max_length)
        if input_ids is None:
            out.skipped += 1
            out.skipped_ids.append(row.get("id", "?"))
            needed.append(need)
            continue
        out.truncated += cut
        labels = tokenizer(text_target=target, max_length=max_target_length, truncation=True)["input_ids"]
        out.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels})
    if count and not out:
        raise _all_skipped(where, count, needed, max_length, "the prompts")
    return out


def fit_notice(max_length: int, **splits: TokenizedExamples) -> str | None:
    """One line saying how many examples per split were cut or skipped to fit ``max_length``; None when none."""
    parts = []
    for name, features in splits.items():
        bits = ([f"{features.truncated} dialogue(s) cut in the middle"] if features.truncated else []) + (
            [f"{features.skipped} skipped (summary leaves no room for the dialogue, e.g. "
             f"{', '.join(map(str, features.skipped_ids[:3]))})"] if features.skipped else [])
        if bits:
            parts.append(f"{name}: {', '.join(bits)}")
    if not parts:
        return None
    return f"note: to fit max_length {max_length} — {'; '.join(parts)}. A larger --max-length keeps more."


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
    import warnings

    from peft import get_peft_model

    cfg = cfg or FinetuneConfig()
    with warnings.catch_warnings():  # peft calls a transformers property that v5 deprecated; nothing to act on
        warnings.simplefilter("ignore", FutureWarning)
        config = lora_config_for(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_targets)
        return get_peft_model(model, config)


def folder_size_mb(path: str | Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def make_collator(tokenizer, seq2seq_model=None):
    """Pads inputs with the pad token and labels with -100, so padding never counts in the loss."""
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, model=seq2seq_model, label_pad_token_id=IGNORE_INDEX, padding=True)


class ValidationRouge(TrainerCallback):
    """Trainer callback: after each evaluation, summarise ``rows`` (validation dialogues) and record ROUGE.

    Appends to ``history`` one dict per evaluation: ``epoch``, ``step``, ``eval_loss``, the mean ROUGE scores and
    ``rouge1_per_example``.
    """

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
            references = [r["summary"] for r in self.rows]
            entry.update(compute_rouge(predictions, references))
            # per dialogue too, so two epochs can be compared with a paired test
            entry["rouge1_per_example"] = [float(x) for x in rouge_per_example(predictions, references)["rouge1"]]
            model.train(was_training)
        self.history.append(entry)


# The TrainingArguments fields that decide how training goes (Week 2 builds them in a cell; ``finetune`` uses
# ``training_settings``; a test and the notebook check both give the same values).
TRAINING_FIELDS = ("num_train_epochs", "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size",
                   "lr_scheduler_type", "warmup_steps", "weight_decay", "eval_strategy", "save_strategy",
                   "load_best_model_at_end", "metric_for_best_model", "greater_is_better", "save_total_limit",
                   "logging_steps", "seed", "data_seed")


def training_settings(cfg: FinetuneConfig) -> dict:
    """The ``TrainingArguments`` keywords ``finetune`` uses for ``cfg`` (all but ``output_dir`` and data loading).

    Validation every epoch, the best checkpoint by validation loss kept and reloaded at the end, the loss logged
    every step, a linear learning-rate decay without warm-up or weight decay.
    """
    return dict(num_train_epochs=cfg.epochs, learning_rate=cfg.resolved_learning_rate(),
                per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
                lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, eval_strategy="epoch",
                save_strategy="epoch", load_best_model_at_end=True, metric_for_best_model="eval_loss",
                greater_is_better=False, save_total_limit=1, save_only_model=True, logging_strategy="steps",
                logging_steps=1, seed=cfg.seed, data_seed=cfg.seed, report_to=[], disable_tqdm=not cfg.progress)


def training_values(args) -> dict:
    """The :data:`TRAINING_FIELDS` of a ``TrainingArguments`` as plain values (enums as their strings)."""
    return {name: getattr(getattr(args, name), "value", getattr(args, name)) for name in TRAINING_FIELDS}


def finetune(model, tokenizer, dataset, cfg: FinetuneConfig) -> tuple[object, FinetuneResult]:
    """Fine-tune ``model`` on ``dataset["train"]`` with validation on ``dataset["validation"]``.

    Returns ``(trained_model, result)``; the best checkpoint (lowest validation loss) is loaded at the end and
    saved to ``cfg.output_dir/final`` (the full model, or only the adapter for LoRA).
    """
    from transformers import (
        EarlyStoppingCallback,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from .models import count_parameters

    cfg.validate()  # again: fields may have been changed after construction
    for name in ("train", "validation"):
        _check_rows(dataset.get(name) if hasattr(dataset, "get") else dataset[name], name)
    set_seed(cfg.seed)
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if seq2seq:
        train = tokenize_seq2seq(tokenizer, dataset["train"], cfg.max_length, cfg.max_target_length,
                                 where="'train' split")
        valid = tokenize_seq2seq(tokenizer, dataset["validation"], cfg.max_length, cfg.max_target_length,
                                 where="'validation' split")
    else:
        train = tokenize_causal(tokenizer, dataset["train"], cfg.max_length, where="'train' split")
        valid = tokenize_causal(tokenizer, dataset["validation"], cfg.max_length, where="'validation' split")
    notice = fit_notice(cfg.max_length, train=train, validation=valid)
    if notice:  # before training, so a user can stop and raise max_length without waiting for the run
        print(notice, file=sys.stderr, flush=True)
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
    args = args_class(output_dir=str(out / "checkpoints"), **training_settings(cfg),
                      dataloader_num_workers=0, dataloader_pin_memory=str(model.device).startswith("cuda"))
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
    train_loss = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"]}
                  for h in state.log_history if "loss" in h]
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
        best_epoch=best_epoch, wall_s=wall,
        s_per_step=output.metrics.get("train_runtime", wall) / max(state.global_step, 1),
        peak_memory_mb=memory.delta_mb, train_loss=train_loss, eval_history=eval_history,
        best_checkpoint=state.best_model_checkpoint, saved_to=str(final_dir), size_on_disk_mb=folder_size_mb(final_dir),
        truncated_examples=train.truncated + valid.truncated, skipped_examples=train.skipped + valid.skipped,
    )
    (out / "result.json").write_text(json.dumps(result.as_dict(), indent=2))
    return trained, result


def run_summary(trainer, history: list[dict], step_times: list[float], peak_memory_mb: float, train_s: float,
                saved_to: str | Path) -> dict:
    """What a finished ``Trainer`` run cost and where it stopped, as one JSON-able dict (Week 2's tables).

    ``history``: the :class:`ValidationRouge` entries; ``step_times``: seconds per optimisation step
    (:class:`StepTimerCallback`); ``train_s``: wall time of ``trainer.train()``; ``saved_to``: the saved model or
    adapter folder, whose size is reported.
    """
    import statistics

    from .models import count_parameters

    counts = count_parameters(trainer.model)
    state = trainer.state
    evaluated = [e for e in history if e.get("eval_loss") is not None]
    best = min(evaluated, key=lambda e: e["eval_loss"]) if evaluated else None
    planned = float(trainer.args.num_train_epochs)
    epochs_run = float(state.epoch or 0)
    return {"trainable": counts["trainable"], "total": counts["total"], "trainable_pct": counts["trainable_pct"],
            "steps": state.global_step, "epochs_run": epochs_run, "planned_epochs": planned,
            "stopped_early": epochs_run < planned - 1e-6,
            "best_epoch": int(round(best["epoch"])) if best else None,
            "best_eval_loss": best["eval_loss"] if best else None,
            "s_per_step": statistics.median(step_times) if step_times else None,
            "s_per_step_min": min(step_times, default=None), "s_per_step_max": max(step_times, default=None),
            "peak_memory_mb": peak_memory_mb, "train_s": train_s, "disk_mb": folder_size_mb(saved_to),
            "train_loss": [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"]}
                           for h in state.log_history if "loss" in h]}


def load_adapter(base_model, adapter_dir: str | Path, merge: bool = False):
    """Reload a saved LoRA adapter onto a base model; ``merge=True`` folds it into the weights (merge_and_unload)."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings():  # the same deprecated transformers property as in add_lora; nothing to act on
        warnings.simplefilter("ignore", FutureWarning)
        model = PeftModel.from_pretrained(base_model, str(adapter_dir))
    return (model.merge_and_unload() if merge else model).eval()


def forgetting_score(model, tokenizer, probes: list[dict], max_new_tokens: int = 24) -> dict:
    """Share of general instructions still answered correctly (the answer contains an expected keyword as a word).

    ``probes``: dicts with ``instruction`` and ``expected`` (a list of acceptable keywords, case-insensitive).
    A keyword check is a heuristic: an answer that names the keyword only to deny it still counts.
    """
    from .generation import generate

    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": p["instruction"]}], tokenize=False,
                                             add_generation_prompt=True) if getattr(tokenizer, "chat_template", None)
               else p["instruction"] for p in probes]
    answers = generate(model, tokenizer, prompts, generation_config("greedy", max_new_tokens, tokenizer))
    correct = [any(contains_keyword(answer, word) for word in p["expected"]) for p, answer in zip(probes, answers)]
    return {"score": sum(correct) / len(probes), "answers": answers, "correct": correct}


def contains_keyword(answer: str, keyword: str) -> bool:
    """True when ``keyword`` occurs in ``answer`` as a whole word (case-insensitive): "Au" is not found in
    "because", nor "12" in "112".

    >>> contains_keyword("The symbol is Au.", "au"), contains_keyword("because", "Au")
    (True, False)
    """
    import re

    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", answer, flags=re.IGNORECASE) is not None


class StepTimerCallback(TrainerCallback):
    """Trainer callback: wall time of every optimisation step (a synchronised :class:`timing.StepTimer`)."""

    def __init__(self, device: str):
        self.timer = StepTimer(device)

    def on_step_begin(self, args, state, control, **kwargs):
        self.timer.start()

    def on_step_end(self, args, state, control, **kwargs):
        self.timer.stop()
