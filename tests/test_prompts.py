import pytest

from lacibot_lib import prompts

EXAMPLES = [{"dialogue": "#Person1#: Hi.\n#Person2#: Hello.", "summary": "#Person1# greets #Person2#."},
            {"dialogue": "#Person1#: Bye.\n#Person2#: See you.", "summary": "They say goodbye."}]


def test_chat_prompt_has_one_turn_pair_per_shot(smol):
    _, tokenizer = smol
    zero = prompts.zero_shot_prompt(tokenizer, "#Person1#: Where is it?")
    two = prompts.few_shot_prompt(tokenizer, "#Person1#: Where is it?", EXAMPLES)
    assert zero.count("<|im_start|>user") == 1 and two.count("<|im_start|>user") == 3
    assert two.count("<|im_start|>assistant") == 3  # two answered examples + the open turn
    assert two.rstrip().endswith("<|im_start|>assistant") and "They say goodbye." in two
    assert len(two) > len(zero)


def test_plain_prompt_for_models_without_chat_template(tiny_t5_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_t5_dir)
    prompt = prompts.one_shot_prompt(tokenizer, "#Person1#: Where?", EXAMPLES[0])
    assert prompt.count("Summary:") == 2 and prompt.endswith("Summary:")
    assert "#Person1# greets #Person2#." in prompt


def test_training_pair_ends_with_end_of_turn(smol):
    _, tokenizer = smol
    prompt, target = prompts.training_pair(tokenizer, "#Person1#: Hi.", "A greeting.")
    assert target == "A greeting." + tokenizer.eos_token and "A greeting" not in prompt


def test_pick_examples_is_seeded_and_checks_size():
    rows = [{"dialogue": f"d {i}", "summary": f"s {i}"} for i in range(20)]
    assert prompts.pick_examples(rows, 5, seed=1) == prompts.pick_examples(rows, 5, seed=1)
    assert prompts.pick_examples(rows, 5, seed=1) != prompts.pick_examples(rows, 5, seed=2)
    with pytest.raises(ValueError, match="only 20 rows"):
        prompts.pick_examples(rows, 21)


def test_pick_examples_draws_are_nested():
    rows = [{"dialogue": f"d {i}", "summary": f"s {i}"} for i in range(30)]
    eight = prompts.pick_examples(rows, 8, seed=3)
    assert [prompts.pick_examples(rows, k, seed=3) for k in range(9)] == [eight[:k] for k in range(9)]


def test_wording_variants_reach_the_prompt(smol):
    _, tokenizer = smol
    plain = prompts.few_shot_prompt(tokenizer, "#Person1#: Hi.")
    no_system = prompts.few_shot_prompt(tokenizer, "#Person1#: Hi.", system=None)
    reworded = prompts.few_shot_prompt(tokenizer, "#Person1#: Hi.", instruction="Write a haiku about it.")
    assert prompts.SYSTEM_PROMPT in plain and prompts.SYSTEM_PROMPT not in no_system
    assert "Write a haiku about it." in reworded and prompts.INSTRUCTION not in reworded
