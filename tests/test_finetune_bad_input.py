"""Fine-tuning input that cannot work fails early and clearly; long dialogues are cut, never the summary."""
import math
import re

import pytest
from datasets import Dataset, DatasetDict

from lacibot_lib import finetune, models
from lacibot_lib.finetune import IGNORE_INDEX, TRUNCATION_MARKER, FinetuneConfig, FinetuneInputError

LONG_DIALOGUE = "\n".join(f"#Person{1 + i % 2}#: sentence {i} about the weather and the trains" for i in range(80))
LONG = {"id": "long", "dialogue": "#Person1#: OPENING line.\n" + LONG_DIALOGUE + "\n#Person2#: CLOSING line.",
        "summary": "They talk about the weather and the trains."}
SHORT = {"id": "short", "dialogue": "#Person1#: hello\n#Person2#: hi how are you", "summary": "a greeting"}


@pytest.mark.parametrize("change, field, shown", [
    ({"epochs": 0}, "epochs", "at least 1, got 0"),
    ({"epochs": -1}, "epochs", "at least 1, got -1"),
    ({"epochs": 1.5}, "epochs", "a whole number ≥ 1, got 1.5"),
    ({"epochs": True}, "epochs", "a whole number ≥ 1, got True"),
    ({"batch_size": 0}, "batch_size", "at least 1, got 0"),
    ({"max_length": 15}, "max_length", "at least 16, got 15"),
    ({"patience": 0}, "patience", "at least 1, got 0"),
    ({"lora_r": 0}, "lora_r", "at least 1, got 0"),
    ({"learning_rate": 0}, "learning_rate", "positive number (or None for the default), got 0"),
    ({"learning_rate": -1e-3}, "learning_rate", "got -0.001"),
    ({"learning_rate": math.nan}, "learning_rate", "got nan"),
    ({"method": "qlora"}, "method", "'full' or 'lora', got 'qlora'"),
    ({"rouge_samples": -1}, "rouge_samples", "at least 0, got -1"),
    ({"lora_dropout": 1.0}, "lora_dropout", "in [0, 1), got 1.0"),
])
def test_config_rejects_values_that_cannot_work(change, field, shown):
    with pytest.raises(FinetuneInputError, match=rf"FinetuneConfig\.{field} must be .*{re.escape(shown)}") as caught:
        FinetuneConfig(**change)
    assert caught.value.field == field and isinstance(caught.value, ValueError)


def test_smallest_valid_config_is_accepted():
    cfg = FinetuneConfig(epochs=1, batch_size=1, max_length=16, patience=1, lora_r=1, learning_rate=1e-5,
                         rouge_samples=0, method="full")
    assert cfg.resolved_learning_rate() == 1e-5


def test_fields_changed_after_construction_are_checked_before_any_work():
    cfg = FinetuneConfig()
    cfg.epochs = 0  # a notebook cell may change a field after building the config
    with pytest.raises(FinetuneInputError, match=r"FinetuneConfig\.epochs must be at least 1, got 0"):
        finetune.finetune(None, None, None, cfg)  # fails before touching the model or the data


def _target_ids(tokenizer, row):
    _, target = finetune.training_pair(tokenizer, row["dialogue"], row["summary"])
    return tokenizer(target, add_special_tokens=False)["input_ids"]


def test_long_dialogue_is_cut_in_the_middle_and_the_summary_is_kept(smol):
    _, tokenizer = smol
    features = finetune.tokenize_causal(tokenizer, [LONG, SHORT], max_length=160)
    assert (features.truncated, features.skipped) == (1, 0) and len(features) == 2
    long, short = features
    assert len(long["input_ids"]) <= 160 and len(long["labels"]) == len(long["input_ids"])
    n_masked = long["labels"].count(IGNORE_INDEX)
    assert long["labels"][:n_masked] == [IGNORE_INDEX] * n_masked  # the whole prompt is masked …
    target = _target_ids(tokenizer, LONG)
    assert long["labels"][n_masked:] == target == long["input_ids"][n_masked:]  # … the whole summary + EOS learnt
    assert tokenizer.decode(target).endswith(tokenizer.eos_token)
    prompt = tokenizer.decode(long["input_ids"][:n_masked])
    assert "OPENING line" in prompt and "CLOSING line" in prompt and TRUNCATION_MARKER in prompt
    # The middle went; the end of the prompt (where the answer starts) stayed.
    assert "sentence 40 " not in prompt and prompt.endswith("<|im_start|>assistant\n")
    # An example that fits is exactly what it was without any cutting.
    assert short == finetune.tokenize_causal(tokenizer, [SHORT], max_length=1024)[0]
    assert finetune.tokenize_causal(tokenizer, [LONG], max_length=4096).truncated == 0


def test_example_is_skipped_when_the_summary_leaves_no_room(smol):
    _, tokenizer = smol
    wordy = {**LONG, "id": "wordy", "summary": " ".join(["A very long summary sentence."] * 20)}
    features = finetune.tokenize_causal(tokenizer, [wordy, SHORT, LONG], max_length=160)
    assert (features.skipped, features.skipped_ids, features.truncated) == (1, ["wordy"], 1)
    assert [f["labels"][-len(_target_ids(tokenizer, SHORT)):] for f in features[:1]] == [_target_ids(tokenizer, SHORT)]
    notice = finetune.fit_notice(160, train=features)
    assert notice.startswith("note: to fit max_length 160 — train: 1 dialogue(s) cut in the middle, 1 skipped")
    assert "wordy" in notice and finetune.fit_notice(160, train=finetune.TokenizedExamples()) is None


def test_all_examples_skipped_is_a_clear_error(smol):
    _, tokenizer = smol
    with pytest.raises(FinetuneInputError, match=r"'train' split: all 2 example\(s\) were skipped .* max_length is "
                                                 r"40\. Use a larger max_length \(--max-length \d+") as caught:
        finetune.tokenize_causal(tokenizer, [SHORT, LONG], max_length=40, where="'train' split")
    assert caught.value.field == "max_length"


def test_seq2seq_cuts_the_dialogue_and_keeps_the_summary_cue(tiny_t5_dir):
    _, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    words = "hello hi how are you fine thanks bye".split()
    row = {"id": "t", "dialogue": "#person1#: a b c " + " ".join(words * 20) + " #person2#: f g",
           "summary": "a b c d e f g"}
    features = finetune.tokenize_seq2seq(tokenizer, [row], max_length=40, max_target_length=4)
    assert features.truncated == 1 and len(features[0]["input_ids"]) <= 40
    ids = features[0]["input_ids"]
    prompt, _ = finetune.training_pair(tokenizer, row["dialogue"], row["summary"], use_chat_template=False)
    full = tokenizer(prompt)["input_ids"]
    # Instruction and the dialogue's opening at the front; its end and the "Summary:" cue at the back.
    assert ids[:12] == full[:12] and ids[-4:] == full[-4:] and "a b c" in tokenizer.decode(ids)
    assert features[0]["labels"] == tokenizer(text_target="a b c d e f g", max_length=4, truncation=True)["input_ids"]
    with pytest.raises(FinetuneInputError, match="all 1 example"):
        finetune.tokenize_seq2seq(tokenizer, [row], max_length=16, max_target_length=4)


def test_finetune_reports_cut_examples_in_the_result(tiny_t5_dir, tmp_path, capsys):
    """One training step on a tiny T5: the counts reach FinetuneResult and a one-line notice is printed."""
    model, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    long = {"id": "t", "dialogue": "#person1#: " + "hello how are you " * 30, "summary": "a b"}
    short = {"id": "s", "dialogue": "#person1#: hi", "summary": "bye"}
    rows = Dataset.from_list([long, short])
    cfg = FinetuneConfig(method="lora", epochs=1, batch_size=2, max_length=32, output_dir=str(tmp_path),
                         progress=False, rouge_samples=0)
    _, result = finetune.finetune(model, tokenizer, DatasetDict({"train": rows, "validation": rows}), cfg)
    assert result.steps == 1 and (result.truncated_examples, result.skipped_examples) == (2, 0)
    err = capsys.readouterr().err
    assert "note: to fit max_length 32 — train: 1 dialogue(s) cut in the middle; validation: 1 dialogue(s)" in err
