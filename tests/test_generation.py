import pytest

from lacibot_lib import generation


def test_presets_and_unknown_preset(smol):
    _, tokenizer = smol
    greedy = generation.generation_config("greedy", max_new_tokens=5, tokenizer=tokenizer)
    assert greedy.do_sample is False and greedy.max_new_tokens == 5 and greedy.pad_token_id == tokenizer.pad_token_id
    assert generation.generation_config("sample_t0.7").temperature == 0.7
    with pytest.raises(ValueError, match="Unknown generation preset"):
        generation.generation_config("creative")


def test_context_window_check(smol):
    model, tokenizer = smol
    window = generation.context_window(model, tokenizer)
    assert window == 8192
    fits = generation.check_fits(tokenizer, "hello world", 10, window)
    assert fits == generation.count_tokens(tokenizer, "hello world")
    with pytest.raises(generation.ContextWindowError, match="more than the context window of 8"):
        generation.check_fits(tokenizer, "hello world " * 10, 1, 8)


def test_truncate_left_keeps_the_end(smol):
    _, tokenizer = smol
    text = "one two three four five six seven eight"
    cut = generation.truncate_left(tokenizer, text, 3)
    assert text.endswith(cut.strip()) and generation.count_tokens(tokenizer, cut) <= 3


def test_batched_greedy_generation_matches_single(smol):
    model, tokenizer = smol
    prompts = ["The capital of France is", "Two plus two equals four. Three plus three equals"]
    config = generation.generation_config("greedy", max_new_tokens=4, tokenizer=tokenizer)
    batched = generation.generate(model, tokenizer, prompts, config, batch_size=2)
    single = [generation.generate(model, tokenizer, [p], config)[0] for p in prompts]
    assert batched == single and "Paris" in batched[0]


def test_generate_refuses_overlong_prompt(smol):
    model, tokenizer = smol
    config = generation.generation_config("greedy", max_new_tokens=9000, tokenizer=tokenizer)
    with pytest.raises(generation.ContextWindowError):
        generation.generate(model, tokenizer, ["hi"], config)


def test_seq2seq_generation(tiny_t5_dir):
    from lacibot_lib import models

    model, tokenizer = models.load_model(str(tiny_t5_dir), device="cpu")
    config = generation.generation_config("greedy", max_new_tokens=3, tokenizer=tokenizer)
    out = generation.generate(model, tokenizer, ["hello how are you", "bye"], config)
    assert len(out) == 2 and all(isinstance(o, str) for o in out)


def test_shared_prefix_generation_matches_plain_and_reports_cut_offs(smol):
    model, tokenizer = smol
    prefix = "Answer with one word. " * 20  # long enough (> 64 tokens) to be cached
    prompts = [prefix + "The capital of France is", prefix + "Two plus two equals four. Three plus three equals"]
    config = generation.generation_config("greedy", max_new_tokens=4, tokenizer=tokenizer)
    shared, _ = generation.shared_prefix_ids(tokenizer, prompts)
    assert len(shared) > 64
    plain, plain_finished = generation.generate(model, tokenizer, prompts, config, batch_size=2, return_finished=True)
    cached, finished = generation.generate_with_shared_prefix(model, tokenizer, prompts, config, batch_size=2,
                                                              return_finished=True)
    assert cached == plain
    assert finished == plain_finished == [False, False]  # four tokens cannot finish these: both cut off


def test_stop_string_ends_the_summary_and_counts_as_finished(smol):
    model, tokenizer = smol
    config = generation.generation_config("greedy", max_new_tokens=40, tokenizer=tokenizer, stop_strings=["."])
    texts, finished = generation.generate(model, tokenizer, ["The capital of France is"], config, return_finished=True)
    assert texts[0].endswith(".") and texts[0].count(".") == 1 and finished == [True]


def test_shared_prefix_ids_leaves_every_prompt_a_token():
    class Chars:  # a character-level stand-in for a tokenizer
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) for c in text]}

    prefix, rests = generation.shared_prefix_ids(Chars(), ["abcx", "abcy", "abc"])
    assert prefix == [ord("a"), ord("b")] and rests == [[ord("c"), ord("x")], [ord("c"), ord("y")], [ord("c")]]
