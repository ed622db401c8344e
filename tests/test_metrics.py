import pytest

from lacibot_lib.metrics import compute_rouge, rouge_per_example


def test_rouge_matches_hand_worked_values():
    # pred: the cat sat on the mat / ref: the cat was on the mat (6 words each)
    # unigrams shared: the, the, cat, on, mat = 5 → P = R = F = 5/6
    # bigrams shared: "the cat", "on the", "the mat" = 3 of 5 → 0.6
    # longest common subsequence: the cat on the mat = 5 → 5/6
    scores = compute_rouge(["the cat sat on the mat"], ["the cat was on the mat"])
    assert scores["rouge1"] == pytest.approx(5 / 6)
    assert scores["rouge2"] == pytest.approx(0.6)
    assert scores["rougeL"] == pytest.approx(5 / 6)
    assert scores["rougeLsum"] == pytest.approx(5 / 6)


def test_stemming_matches_word_forms():
    # "summarised"/"summarises" stem to the same word; without stemming only "she" matches → P = R = 1/2
    assert compute_rouge(["she summarises"], ["she summarised"])["rouge1"] == pytest.approx(1.0)
    assert compute_rouge(["she summarises"], ["she summarised"], use_stemmer=False)["rouge1"] == pytest.approx(0.5)


def test_mean_over_examples_and_empty_prediction():
    scores = compute_rouge(["a b", ""], ["a b", "c d"])
    assert scores["rouge1"] == pytest.approx(0.5)  # (1.0 + 0.0) / 2
    per = rouge_per_example(["a b", ""], ["a b", "c d"])
    assert per["rouge1"] == pytest.approx([1.0, 0.0])


def test_lsum_uses_newline_sentences():
    # LCS over sentences: "b a" vs "a b" scores 0.5 as one sentence, 1.0 when split into lines
    assert compute_rouge(["b a"], ["a b"])["rougeL"] == pytest.approx(0.5)
    assert compute_rouge(["b\na"], ["a\nb"])["rougeLsum"] == pytest.approx(1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        compute_rouge(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no predictions"):
        compute_rouge([], [])
