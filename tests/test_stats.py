"""lacibot_lib.stats against hand-worked values and brute-force oracles."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from lacibot_lib import stats

# ------------------------------------------------------------------------------------------------ bootstrap_ci


def test_bootstrap_ci_of_a_constant_list_has_zero_width():
    ci = stats.bootstrap_ci([0.7] * 25)
    assert ci["high"] - ci["low"] == 0
    assert ci["low"] == pytest.approx(0.7) and ci["mean"] == pytest.approx(0.7)
    assert ci["n"] == 25


def test_bootstrap_ci_covers_the_mean_and_is_deterministic():
    values = np.random.default_rng(3).normal(loc=0.5, scale=0.2, size=60)
    ci = stats.bootstrap_ci(values)
    assert ci["low"] < values.mean() < ci["high"]
    assert ci["mean"] == pytest.approx(values.mean())
    # Roughly mean +- 1.96 standard errors for a normal sample.
    half_width = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert ci["high"] - ci["low"] == pytest.approx(2 * half_width, rel=0.2)
    assert stats.bootstrap_ci(values) == ci
    assert stats.bootstrap_ci(values, seed=1) != ci


def test_bootstrap_ci_wider_for_higher_confidence():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    narrow, wide = stats.bootstrap_ci(values, confidence=0.8), stats.bootstrap_ci(values, confidence=0.99)
    assert wide["low"] <= narrow["low"] and narrow["high"] <= wide["high"]
    assert wide["high"] - wide["low"] > narrow["high"] - narrow["low"]


def test_bootstrap_ci_single_value_and_bad_input():
    assert stats.bootstrap_ci([0.4]) == {"mean": 0.4, "low": 0.4, "high": 0.4, "n": 1}
    with pytest.raises(ValueError, match="no values"):
        stats.bootstrap_ci([])
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci([1, 2], confidence=95)


# ------------------------------------------------------------------------------------------------- paired_test


def brute_force_sign_flip_p(diffs) -> float:
    diffs = np.asarray(diffs, dtype=float)
    observed = abs(diffs.sum())
    flips = [abs(np.dot(signs, diffs)) >= observed - 1e-9 for signs in itertools.product([-1, 1], repeat=diffs.size)]
    return sum(flips) / len(flips)


def test_paired_test_exact_p_hand_worked():
    result = stats.paired_test([1, 1, 1, 1], [0, 0, 0, 0])
    assert result["p_value"] == 2 / 16  # only all-plus and all-minus reach |sum| = 4
    assert result["diff"] == 1.0 and result["low"] == result["high"] == 1.0 and result["n"] == 4
    # a-b = [1, 1, 1, -1]: |sum| >= 2 unless exactly two signs are +, i.e. 16 - C(4, 2) = 10 of 16 patterns.
    assert stats.paired_test([2, 2, 2, 0], [1, 1, 1, 1])["p_value"] == 10 / 16


def test_paired_test_exact_p_matches_brute_force():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=9), rng.normal(size=9)
    assert stats.paired_test(a, b)["p_value"] == pytest.approx(brute_force_sign_flip_p(a - b))
    assert stats.paired_test(a, a)["p_value"] == 1.0  # identical systems: every relabelling is "as extreme"


def test_paired_test_monte_carlo_for_large_n():
    result = stats.paired_test([1.0] * 20, [0.0] * 20)  # true p = 2 / 2**20: (0 + 1) / (2000 + 1) at best
    assert result["p_value"] == pytest.approx(1 / 2001)
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=17), rng.normal(size=17)
    exact = brute_force_sign_flip_p(a - b)
    assert stats.paired_test(a, b, n_boot=20000)["p_value"] == pytest.approx(exact, abs=0.015)


def test_paired_test_interval_and_errors():
    rng = np.random.default_rng(5)
    b = rng.normal(size=100)
    a = b + 0.3 + rng.normal(scale=0.1, size=100)
    result = stats.paired_test(a, b)
    assert result["low"] < result["diff"] < result["high"] and result["low"] > 0
    assert result["diff"] == pytest.approx(np.mean(a - b))
    assert result["p_value"] < 0.001
    with pytest.raises(ValueError, match="a has 3 values, b has 2"):
        stats.paired_test([1, 2, 3], [1, 2])


# ---------------------------------------------------------------------------------------------- compare_sentence


def test_compare_sentence_wording_follows_the_numbers():
    win = {"diff": 0.052, "low": 0.010, "high": 0.094, "p_value": 0.012, "n": 42}
    assert (stats.compare_sentence("A", "B", win)
            == "A is better than B on score: +0.052 (95 % CI +0.010 to +0.094), paired p = 0.012, n = 42.")
    loss = {"diff": -0.052, "low": -0.094, "high": -0.010, "p_value": 0.012, "n": 42}
    assert (stats.compare_sentence("A", "B", loss, metric="ROUGE-L")
            == "B is better than A on ROUGE-L: +0.052 (95 % CI +0.010 to +0.094), paired p = 0.012, n = 42.")
    null = {"diff": 0.004, "low": -0.03, "high": 0.04, "p_value": 0.71, "n": 42}
    sentence = stats.compare_sentence("A", "B", null)
    assert sentence.startswith("No detectable difference between A and B on score: A - B = +0.004")
    assert "-0.030 to +0.040" in sentence and "p = 0.71" in sentence and "borderline" not in sentence


def test_compare_sentence_needs_the_test_and_the_interval_to_agree():
    disagree = {"diff": 0.05, "low": -0.001, "high": 0.1, "p_value": 0.04, "n": 30}
    assert stats.compare_sentence("A", "B", disagree).startswith("No detectable difference")
    assert "borderline" in stats.compare_sentence("A", "B", disagree)
    assert stats.compare_sentence("A", "B", disagree, alpha=0.01).startswith("No detectable difference")
    tiny_p = dict(disagree, low=0.01, p_value=0.0001)
    assert "paired p < 0.001" in stats.compare_sentence("A", "B", tiny_p)


def test_compare_sentence_from_paired_test():
    rng = np.random.default_rng(2)
    base = rng.normal(size=80)
    better = base + 0.5
    noisy = base + rng.normal(scale=0.01, size=80)
    assert stats.compare_sentence("new", "old", stats.paired_test(better, base)).startswith("new is better than old")
    assert stats.compare_sentence("new", "old", stats.paired_test(base, better)).startswith("old is better than new")
    assert stats.compare_sentence("new", "old", stats.paired_test(noisy, base)).startswith("No detectable")
    assert "90 % CI" in stats.compare_sentence("new", "old", stats.paired_test(better, base, confidence=0.9))


# ------------------------------------------------------------------------------------------------ dev/test split


def test_dev_test_split_is_disjoint_complete_and_deterministic():
    ids = [f"q{i}" for i in range(20)]
    split = stats.dev_test_split(ids)
    assert len(split["dev"]) == 10 and len(split["test"]) == 10
    assert set(split["dev"]) | set(split["test"]) == set(ids) and not set(split["dev"]) & set(split["test"])
    assert split["dev"] == sorted(split["dev"], key=ids.index)  # each half keeps the input order
    assert split["seed"] == 42 and split["dev_fraction"] == 0.5
    assert stats.dev_test_split(ids) == split
    assert any(stats.dev_test_split(ids, seed=seed)["dev"] != split["dev"] for seed in range(5))
    assert len(stats.dev_test_split(ids, dev_fraction=0.25)["dev"]) == 5


def test_dev_test_split_stratified_keeps_the_label_mix():
    ids = list(range(20))
    labels = ["no"] * 16 + ["yes"] * 4
    for seed in range(10):
        split = stats.dev_test_split(ids, seed=seed, strata=labels)
        for half in ("dev", "test"):
            assert [labels[i] for i in split[half]].count("yes") == 2
            assert [labels[i] for i in split[half]].count("no") == 8
        assert sorted(split["dev"] + split["test"]) == ids
    # A stratum of 2 items at a small dev fraction still lands in both halves.
    split = stats.dev_test_split(list(range(10)), dev_fraction=0.2, strata=["a"] * 8 + ["b"] * 2)
    assert 8 in split["dev"] + split["test"] and {8, 9} & set(split["dev"]) and {8, 9} & set(split["test"])


def test_dev_test_split_rejects_bad_input():
    with pytest.raises(ValueError, match="duplicate ids.*q1"):
        stats.dev_test_split(["q1", "q2", "q1"])
    with pytest.raises(ValueError, match="3 ids but 2 strata"):
        stats.dev_test_split(["q1", "q2", "q3"], strata=["a", "b"])
    with pytest.raises(ValueError, match="dev_fraction"):
        stats.dev_test_split(["q1", "q2"], dev_fraction=1.0)


def test_save_and_load_split_round_trip(tmp_path):
    split = stats.dev_test_split([f"id-{i}" for i in range(11)], dev_fraction=0.4, seed=3)
    path = stats.save_split(tmp_path / "splits" / "week4.json", split)
    assert stats.load_split(path) == split


def test_load_split_names_the_damaged_file(tmp_path):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"dev": [1, 2], "test": ')
    with pytest.raises(ValueError, match="corrupt.json.*bad JSON"):
        stats.load_split(corrupt)
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"dev": [1, 2], "test": [3]}')
    with pytest.raises(ValueError, match="foreign.json.*expected the keys"):
        stats.load_split(foreign)
    leaky = tmp_path / "leaky.json"
    leaky.write_text('{"dev": [1, 2], "test": [2, 3], "seed": 0, "dev_fraction": 0.5}')
    with pytest.raises(ValueError, match="leaky.json.*both dev and test"):
        stats.load_split(leaky)


# ----------------------------------------------------------------------------------------------------- thresholds


def test_calibrate_threshold_on_separable_data_sits_between_the_classes():
    positive, negative = [0.7, 0.8, 0.95], [0.1, 0.2, 0.35]
    threshold = stats.calibrate_threshold(positive, negative)
    assert threshold == pytest.approx((0.35 + 0.7) / 2)  # the midpoint of the gap between the classes
    report = stats.threshold_report(threshold, positive, negative)
    assert report["tpr"] == report["tnr"] == report["balanced_accuracy"] == 1.0
    assert report["tpr_ci"] == (1.0, 1.0) and report["tnr_ci"] == (1.0, 1.0)
    assert report["n_pos"] == 3 and report["n_neg"] == 3


def test_calibrate_threshold_breaks_ties_by_the_widest_gap():
    # Thresholds 0.3 (gap 0.1..0.5) and 0.75 (gap 0.6..0.9) both give balanced accuracy 0.75; 0.3 has more room.
    assert stats.calibrate_threshold([0.5, 0.9], [0.1, 0.6]) == pytest.approx(0.3)


def test_calibrate_threshold_is_optimal_against_brute_force():
    rng = np.random.default_rng(4)
    positive, negative = rng.normal(1.0, 1.0, size=30), rng.normal(0.0, 1.0, size=40)
    best = stats.calibrate_threshold(positive, negative)
    achieved = stats.threshold_report(best, positive, negative, n_boot=10)["balanced_accuracy"]
    everything = np.concatenate([positive, negative, [np.inf]])
    oracle = max(((positive >= t).mean() + (negative < t).mean()) / 2 for t in everything)
    assert achieved == pytest.approx(oracle)


def test_threshold_report_hand_worked():
    report = stats.threshold_report(0.5, [0.8, 0.9, 0.4, 0.5], [0.1, 0.2, 0.6])
    assert report["tpr"] == 0.75  # 0.5 >= 0.5 counts as positive
    assert report["tnr"] == pytest.approx(2 / 3)
    assert report["balanced_accuracy"] == pytest.approx((0.75 + 2 / 3) / 2)
    assert report["tpr_ci"][0] <= 0.75 <= report["tpr_ci"][1] and 0 <= report["tnr_ci"][0] <= 2 / 3
    with pytest.raises(ValueError, match="negatives"):
        stats.threshold_report(0.5, [0.8], [])


# ----------------------------------------------------------------------------------------------- random baselines


def test_random_hit_at_k_hand_worked():
    assert stats.random_hit_at_k(10, 1, 3) == 0.3
    assert stats.random_hit_at_k(10, 2, 3) == pytest.approx(1 - 56 / 120)
    assert stats.random_hit_at_k(10, 2, 3) == float(1 - Fraction(math.comb(8, 3), math.comb(10, 3)))
    assert stats.random_hit_at_k(10, 0, 5) == 0.0
    assert stats.random_hit_at_k(10, 3, 8) == 1.0  # k >= N - R + 1: some relevant document must be in the top k
    assert stats.random_hit_at_k(5, 1, 50) == 1.0  # k beyond N returns every document


def test_random_hit_at_k_matches_brute_force():
    n_docs, relevant = 7, {0, 1}
    for k in range(1, n_docs + 1):
        subsets = list(itertools.combinations(range(n_docs), k))
        expected = sum(bool(relevant & set(s)) for s in subsets) / len(subsets)
        assert stats.random_hit_at_k(n_docs, len(relevant), k) == pytest.approx(expected)


def test_random_mrr_single_relevant_is_harmonic_over_n():
    for n_docs in (1, 2, 5, 50):
        harmonic = sum(1 / r for r in range(1, n_docs + 1))
        assert stats.random_mrr(n_docs, 1) == pytest.approx(harmonic / n_docs)


def test_random_mrr_matches_brute_force_over_all_permutations():
    n_docs, relevant = 5, {0, 1}
    reciprocal_ranks = [1 / next(rank for rank, doc in enumerate(order, start=1) if doc in relevant)
                        for order in itertools.permutations(range(n_docs))]
    assert stats.random_mrr(n_docs, 2) == pytest.approx(sum(reciprocal_ranks) / len(reciprocal_ranks))
    assert stats.random_mrr(4, 4) == 1.0 and stats.random_mrr(4, 0) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: stats.random_hit_at_k(5, 6, 1), "n_relevant"),
    (lambda: stats.random_hit_at_k(0, 0, 1), "n_docs"),
    (lambda: stats.random_hit_at_k(5, 1, 0), "k must be at least 1"),
    (lambda: stats.random_hit_at_k(5, 1, 2.5), "k must be a whole number"),
    (lambda: stats.random_mrr(5, -1), "n_relevant"),
    (lambda: stats.random_mrr(3.0, 1), "n_docs must be a whole number"),
])
def test_random_baselines_validate_their_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
