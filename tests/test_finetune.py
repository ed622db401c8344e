import pytest
import torch
from datasets import Dataset, DatasetDict

from lacibot_lib import data, finetune, models
from lacibot_lib.finetune import FinetuneConfig, FinetuneInputError

ROWS = [{"id": f"d{i}", "dialogue": f"#Person1#: hello {i}\n#Person2#: hi how are you", "summary": "a greeting"}
        for i in range(4)]


def _dataset(rows=ROWS, val=ROWS[:2]):
    return DatasetDict({"train": Dataset.from_list(rows), "validation": Dataset.from_list(val),
                        "test": Dataset.from_list(val)})


def test_course_parity_flan_t5_base_lora_count():
    """The original course lab prints 3,538,944 trainable of 251,116,800 (1.41 %) for LoRA r=32 on q, v."""
    from peft import get_peft_model
    from transformers import T5ForConditionalGeneration

    with torch.device("meta"):  # architecture only: no weights allocated, nothing downloaded
        base = T5ForConditionalGeneration(models.flan_t5_base_config())
    peft_model = get_peft_model(base, finetune.lora_config_for(base, r=32, alpha=32, dropout=0.05))
    counts = models.count_parameters(peft_model)
    assert counts["trainable"] == 3_538_944  # r·(768+768) × (q, v) × 36 attention blocks
    # transformers 5 ties T5's lm_head to the shared embedding; the course (transformers 4) counted it separately.
    untied_lm_head = base.config.vocab_size * base.config.d_model
    assert counts["total"] == 226_442_496 and counts["total"] + untied_lm_head == 251_116_800
    assert round(100 * counts["trainable"] / (counts["total"] + untied_lm_head), 2) == 1.41


def test_lora_targets_by_family(smol):
    model, _ = smol
    assert set(finetune.lora_config_for(model).target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert set(finetune.lora_config_for(models.tiny_seq2seq_model()).target_modules) == {"q", "v"}


def test_causal_labels_mask_the_prompt(smol):
    _, tokenizer = smol
    [features] = finetune.tokenize_causal(tokenizer, ROWS[:1], max_length=256)
    labels, ids = features["labels"], features["input_ids"]
    n_masked = labels.count(finetune.IGNORE_INDEX)
    assert 0 < n_masked < len(labels) and labels[:n_masked] == [finetune.IGNORE_INDEX] * n_masked
    target = tokenizer.decode(ids[n_masked:])
    assert target.startswith("a greeting") and target.endswith(tokenizer.eos_token)
    assert labels[n_masked:] == ids[n_masked:]


def test_max_length_shorter_than_prompt_is_a_clear_error(smol):
    _, tokenizer = smol
    with pytest.raises(FinetuneInputError, match=r"the data: all 1 example\(s\) were skipped .* prompt \+ summary need "
                                                 r"\d+ tokens but max_length is 10"):
        finetune.tokenize_causal(tokenizer, ROWS[:1], max_length=10)


def test_empty_split_and_missing_column(tiny_t5_dir, tmp_path):
    model, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    cfg = FinetuneConfig(method="lora", epochs=1, output_dir=str(tmp_path), progress=False, rouge_samples=0)
    with pytest.raises(FinetuneInputError, match="'train' split is empty"):
        finetune.finetune(model, tokenizer, _dataset(rows=[]), cfg)
    no_summary = DatasetDict({"train": Dataset.from_list([{"dialogue": "x"}]), "validation": Dataset.from_list(ROWS)})
    with pytest.raises(FinetuneInputError, match=r"lacks column\(s\) \['summary'\]"):
        finetune.finetune(model, tokenizer, no_summary, cfg)
    with pytest.raises(FinetuneInputError, match="method must be"):
        finetune.finetune(model, tokenizer, _dataset(), FinetuneConfig(method="qlora"))


def test_seq2seq_lora_training_masks_padding_and_runs(tiny_t5_dir, tmp_path):
    model, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    cfg = FinetuneConfig(method="lora", epochs=2, batch_size=2, output_dir=str(tmp_path), progress=False,
                         rouge_samples=1, max_new_tokens=3, patience=5)
    trained, result = finetune.finetune(model, tokenizer, _dataset(), cfg)
    assert result.steps == 4 and len(result.eval_history) == 2 and "rouge1" in result.eval_history[0]
    assert (tmp_path / "final" / "adapter_config.json").exists() and (tmp_path / "result.json").exists()
    rows = [ROWS[0], {**ROWS[1], "summary": "a b c d e"}]
    features = finetune.tokenize_seq2seq(tokenizer, rows, 64, 8)
    assert features[0]["labels"] == tokenizer(text_target="a greeting")["input_ids"]
    batch = finetune.make_collator(tokenizer, trained)(features)
    short = len(features[0]["labels"])
    assert batch["labels"][0, short:].tolist() == [finetune.IGNORE_INDEX] * (batch["labels"].shape[1] - short)
    assert (batch["labels"][1] != finetune.IGNORE_INDEX).all()


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """Three LoRA steps on the same 4 short dialogues (1 step per epoch) with the packaged model."""
    model, tokenizer = models.load_model("smollm2-135m-instruct", device="cpu")
    train = data.shortest_dialogues(data.load_dialogues()["train"], 4)
    dataset = DatasetDict({"train": train, "validation": train.select(range(2))})
    out = tmp_path_factory.mktemp("lora")
    cfg = FinetuneConfig(method="lora", epochs=3, batch_size=4, output_dir=str(out), progress=False,
                         rouge_samples=1, max_new_tokens=8, patience=3, seed=0)
    trained, result = finetune.finetune(model, tokenizer, dataset, cfg)
    return trained, tokenizer, result, train


def test_lora_loss_decreases_and_few_parameters_train(lora_run):
    _, _, result, _ = lora_run
    losses = [h["loss"] for h in result.train_loss]
    assert len(losses) == 3 and losses[-1] < losses[0]
    # r·(d_in+d_out) for q,k,v,o (k,v are 576→192) × 30 layers
    assert result.trainable_pct < 1.0 and result.trainable == 921_600
    eval_losses = [e["eval_loss"] for e in result.eval_history]
    assert eval_losses[-1] < eval_losses[0] and result.best_epoch == 3 and not result.stopped_early
    assert result.truncated_examples == result.skipped_examples == 0  # short dialogues: nothing cut


def test_saved_adapter_reloads_with_identical_generations(lora_run):
    from lacibot_lib.generation import generation_config
    from lacibot_lib.summarize import summarize

    trained, tokenizer, result, train = lora_run
    config = generation_config("greedy", 12, tokenizer)
    dialogues = [train[0]["dialogue"]]
    before = summarize(trained, tokenizer, dialogues, config=config)
    fresh, _ = models.load_model("smollm2-135m-instruct", device="cpu")
    assert summarize(finetune.load_adapter(fresh, result.saved_to), tokenizer, dialogues, config=config) == before
    fresh, _ = models.load_model("smollm2-135m-instruct", device="cpu")
    merged = finetune.load_adapter(fresh, result.saved_to, merge=True)
    assert not hasattr(merged, "peft_config") and summarize(merged, tokenizer, dialogues, config=config) == before


def test_forgetting_score_counts_keywords(smol):
    model, tokenizer = smol
    probes = [{"instruction": "What is the capital of France? Answer in one word.", "expected": ["Paris"]},
              {"instruction": "Say the word banana.", "expected": ["zzzz-never"]}]
    result = finetune.forgetting_score(model, tokenizer, probes, max_new_tokens=8)
    assert result["correct"] == [True, False] and result["score"] == 0.5


def test_finetune_trains_like_the_notebook_cells(tmp_path):
    """Week 2 writes the LoraConfig, TrainingArguments and Trainer out in cells; `lacibot finetune` (finetune())
    must train the same way: the same arguments and, on a tiny LoRA run, the same loss at every step (the second
    step's loss depends on the learning rate, the schedule and the optimizer, so a drift in any of them shows)."""
    from peft import LoraConfig, get_peft_model
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    train = data.shortest_dialogues(data.load_dialogues()["train"], 4)
    dataset = DatasetDict({"train": train, "validation": train.select(range(2))})
    cfg = FinetuneConfig(method="lora", epochs=1, batch_size=2, learning_rate=1e-3, patience=1, seed=0,
                         rouge_samples=0, output_dir=str(tmp_path / "library"), progress=False)
    model, tokenizer = models.load_model("smollm2-135m-instruct", device="cpu")
    _, result = finetune.finetune(model, tokenizer, dataset, cfg)

    # The notebook's cells, as a student reads them.
    model, tokenizer = models.load_model("smollm2-135m-instruct", device="cpu")
    args = TrainingArguments(
        output_dir=str(tmp_path / "cells"), num_train_epochs=1, learning_rate=1e-3,
        per_device_train_batch_size=2, per_device_eval_batch_size=2, lr_scheduler_type="linear", warmup_steps=0,
        weight_decay=0.0, eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
        metric_for_best_model="eval_loss", greater_is_better=False, save_total_limit=1, save_only_model=True,
        logging_strategy="steps", logging_steps=1, seed=0, data_seed=0, report_to=[], disable_tqdm=True)
    library_args = TrainingArguments(output_dir=str(tmp_path / "x"), **finetune.training_settings(cfg))
    assert finetune.training_values(args) == finetune.training_values(library_args)
    set_seed(0)
    lora_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, bias="none",
                                                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                                  task_type="CAUSAL_LM"))
    tokenizer.padding_side = "right"
    trainer = Trainer(model=lora_model, args=args, data_collator=finetune.make_collator(tokenizer),
                      train_dataset=finetune.tokenize_causal(tokenizer, dataset["train"], cfg.max_length),
                      eval_dataset=finetune.tokenize_causal(tokenizer, dataset["validation"], cfg.max_length),
                      callbacks=[EarlyStoppingCallback(early_stopping_patience=1)])
    trainer.train()
    cell_losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(cell_losses) == result.steps == 2
    assert cell_losses == pytest.approx([h["loss"] for h in result.train_loss], rel=1e-5)


def test_keywords_match_whole_words_only():
    assert finetune.contains_keyword("The symbol of gold is Au.", "au")
    assert not finetune.contains_keyword("because it is August", "Au")
    assert not finetune.contains_keyword("It is 112.", "12") and finetune.contains_keyword("It is 12.", "12")
    assert finetune.contains_keyword("Carbon dioxide (CO2).", "carbon dioxide")
    assert finetune.contains_keyword("0.5 is larger", "0.5") and not finetune.contains_keyword("0.25", "0.5")


def test_forgetting_probes_are_many_and_not_at_ceiling(smol):
    """Week 2 needs ≥ 30 probes the packaged model gets only partly right, so both forgetting and gains show."""
    probes = data.load_forgetting_probes()
    assert len(probes) >= 30 and len({p["instruction"] for p in probes}) == len(probes)
    assert all(p["expected"] and all(isinstance(w, str) and w.strip() for w in p["expected"]) for p in probes)
    model, tokenizer = smol
    score = finetune.forgetting_score(model, tokenizer, probes)["score"]
    assert 0.3 <= score <= 0.85, f"the base model answers {score:.0%} of the probes: too hard or at the ceiling"
