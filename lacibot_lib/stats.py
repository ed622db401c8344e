"""The evaluation toolkit every lab uses: intervals, paired comparisons, splits, thresholds and random baselines.

A score on 40 examples is a noisy estimate, so every headline number in a lab should come with an interval, and
every "A beats B" with a paired test on the same items::

    >>> from lacibot_lib import stats
    >>> ci = stats.bootstrap_ci([0.2, 0.4, 0.3, 0.5])          # {'mean': 0.35, 'low': 0.25, 'high': 0.45, 'n': 4}
    >>> result = stats.paired_test([1, 1, 1, 1], [0, 0, 0, 0])
    >>> result["p_value"]  # only 2 of the 16 sign patterns are as extreme as the real one
    0.125
    >>> stats.compare_sentence("few-shot", "zero-shot", result).startswith("No detectable difference")
    True

Four items can never give p < 0.05 with a sign-flip test — which is exactly the lesson. Thresholds are tuned on a
dev split and reported on a held-out test split (``dev_test_split``), and retrieval scores are read against the
exact score of a random ranking (``random_hit_at_k``, ``random_mrr``).

Everything is deterministic for a given ``seed``, so a re-run notebook prints the same numbers.
"""
from __future__ import annotations

import json
import math
import operator
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

EXACT_PERMUTATION_MAX_N = 16  # 2**16 = 65,536 sign patterns: enumerating them all is instant
SPLIT_KEYS = ("dev", "test", "seed", "dev_fraction")


# --------------------------------------------------------------------------------------------- intervals and tests

def _as_scores(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{what}: got no values — need at least one score to summarise")
    return array


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")


def _bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``values``, drawn in chunks to bound memory."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    rows_per_chunk = max(1, 2_000_000 // values.size)  # ~16 MB of indices at a time, even for long lists
    means = []
    for start in range(0, n_boot, rows_per_chunk):
        rows = min(rows_per_chunk, n_boot - start)
        means.append(values[rng.integers(0, values.size, size=(rows, values.size))].mean(axis=1))
    return np.concatenate(means)


def _percentile_interval(values: np.ndarray, confidence: float, n_boot: int, seed: int) -> tuple[float, float]:
    if values.size == 1:  # one item: nothing to resample, the interval collapses onto the value
        return float(values[0]), float(values[0])
    means = _bootstrap_means(values, n_boot, np.random.default_rng(seed))
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """Mean of per-item scores with a percentile-bootstrap interval (resampling items).

    >>> bootstrap_ci([1, 0, 1, 1])  # doctest: +SKIP
    {'mean': 0.75, 'low': 0.25, 'high': 1.0, 'n': 4}
    """
    _check_confidence(confidence)
    scores = _as_scores(values, "bootstrap_ci")
    low, high = _percentile_interval(scores, confidence, n_boot, seed)
    return {"mean": float(scores.mean()), "low": low, "high": high, "n": int(scores.size)}


def _sign_flip_p_value(diffs: np.ndarray, n_perm: int, rng: np.random.Generator) -> float:
    """Two-sided p of the paired sign-flip test: how often a random relabelling of A/B per item is as extreme.

    Under "no difference", each item's a-b is as likely to be negative as positive, so flipping signs generates
    the null distribution of the summed difference.
    """
    n = diffs.size
    observed = abs(diffs.sum())
    tolerance = 1e-9 * max(1.0, float(np.abs(diffs).sum()))  # equal sums must count as "as extreme" despite rounding
    if n <= EXACT_PERMUTATION_MAX_N:
        patterns = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1  # every sign pattern once, as bits
        sums = (1 - 2 * patterns) @ diffs
        return float(np.mean(np.abs(sums) >= observed - tolerance))
    signs = rng.choice([-1.0, 1.0], size=(n_perm, n))
    count = int(np.sum(np.abs(signs @ diffs) >= observed - tolerance))
    return (count + 1) / (n_perm + 1)  # the observed labelling counts as one of the permutations: p is never 0


def paired_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95, n_boot: int = 2000,
                seed: int = 0) -> dict:
    """Compare system A with B on the same items: mean of a-b, its bootstrap interval and a sign-flip p-value.

    Pairing matters: the items' difficulty cancels out in a-b, so a paired test sees differences an unpaired one
    misses. The p-value is exact for n <= 16, otherwise estimated from ``n_boot`` random sign flips.

    >>> paired_test([1, 1, 1, 1], [0, 0, 0, 0])  # doctest: +SKIP
    {'diff': 1.0, 'low': 1.0, 'high': 1.0, 'p_value': 0.125, 'n': 4, 'confidence': 0.95}
    """
    _check_confidence(confidence)
    if len(a) != len(b):
        raise ValueError(f"paired_test needs scores on the same items: a has {len(a)} values, b has {len(b)}")
    diffs = _as_scores(a, "paired_test") - _as_scores(b, "paired_test")
    low, high = _percentile_interval(diffs, confidence, n_boot, seed)
    p_value = _sign_flip_p_value(diffs, n_boot, np.random.default_rng(seed + 1))
    return {"diff": float(diffs.mean()), "low": low, "high": high, "p_value": p_value, "n": int(diffs.size),
            "confidence": confidence}


def _format_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.1 else f"p = {p:.3f}"


def compare_sentence(name_a: str, name_b: str, result: dict, alpha: float = 0.05, metric: str = "score") -> str:
    """A one-line takeaway from ``paired_test`` whose wording follows the numbers (higher ``metric`` = better).

    A winner is named only when p < alpha AND the interval excludes 0; when the two disagree the result is
    borderline and reported as no detectable difference.

    >>> compare_sentence("A", "B", {"diff": 0.052, "low": 0.010, "high": 0.094, "p_value": 0.012, "n": 42})
    'A is better than B on score: +0.052 (95 % CI +0.010 to +0.094), paired p = 0.012, n = 42.'
    """
    diff, low, high, p = result["diff"], result["low"], result["high"], result["p_value"]
    level = f"{round(100 * result.get('confidence', 0.95)):g} % CI"
    evidence = f"paired {_format_p(p)}, n = {result['n']}"
    ci_excludes_zero = low > 0 or high < 0
    if p < alpha and ci_excludes_zero:
        if diff < 0:  # state the gap as winner minus loser, so the sentence reads with a "+"
            name_a, name_b, diff, low, high = name_b, name_a, -diff, -high, -low
        return (f"{name_a} is better than {name_b} on {metric}: {diff:+.3f} ({level} {low:+.3f} to {high:+.3f}), "
                f"{evidence}.")
    note = " (borderline: the test and the interval disagree)" if (p < alpha) != ci_excludes_zero else ""
    return (f"No detectable difference between {name_a} and {name_b} on {metric}: {name_a} - {name_b} = "
            f"{diff:+.3f} ({level} {low:+.3f} to {high:+.3f}), {evidence}{note}.")


# --------------------------------------------------------------------------------------------------- dev/test split

def dev_test_split(ids: Sequence[Any], dev_fraction: float = 0.5, seed: int = 42,
                   strata: Sequence[Any] | None = None) -> dict:
    """Split ``ids`` once into a dev half (to tune on) and a test half (to report on), reproducibly.

    With ``strata`` (e.g. labels, parallel to ``ids``) each stratum is shuffled and cut separately, so both halves
    keep the label mix; a stratum with 2+ items always lands in both halves. Each half keeps the input order.

    >>> dev_test_split(["q1", "q2", "q3", "q4"], strata=["yes", "yes", "no", "no"])  # doctest: +SKIP
    {'dev': ['q2', 'q3'], 'test': ['q1', 'q4'], 'seed': 42, 'dev_fraction': 0.5}
    """
    ids = list(ids)
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be between 0 and 1, got {dev_fraction}")
    if len(set(ids)) != len(ids):
        duplicates = sorted({str(i) for i in ids if ids.count(i) > 1})
        raise ValueError(f"dev_test_split: duplicate ids would leak between dev and test: {duplicates[:10]}")
    strata = [None] * len(ids) if strata is None else list(strata)
    if len(strata) != len(ids):
        raise ValueError(f"strata must be parallel to ids: {len(ids)} ids but {len(strata)} strata")

    groups: dict[Any, list[int]] = {}  # stratum -> positions, in order of first appearance (deterministic)
    for position, stratum in enumerate(strata):
        groups.setdefault(stratum, []).append(position)
    rng = np.random.default_rng(seed)
    dev_positions: set[int] = set()
    for positions in groups.values():
        n_dev = math.floor(len(positions) * dev_fraction + 0.5)  # round half up, not Python's round-half-even
        if len(positions) >= 2:
            n_dev = min(max(n_dev, 1), len(positions) - 1)
        dev_positions.update(rng.permutation(positions)[:n_dev].tolist())
    return {"dev": [ids[i] for i in range(len(ids)) if i in dev_positions],
            "test": [ids[i] for i in range(len(ids)) if i not in dev_positions],
            "seed": seed, "dev_fraction": dev_fraction}


def save_split(path: str | Path, split: dict) -> Path:
    """Write a split as JSON, so later labs evaluate on exactly the same test items."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: split[key] for key in SPLIT_KEYS}, indent=2) + "\n")
    return path


def load_split(path: str | Path) -> dict:
    """Read a split written by ``save_split``; a damaged or foreign file raises ValueError naming it."""
    path = Path(path)
    try:
        split = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a valid split file (bad JSON: {error})") from error
    if not isinstance(split, dict) or any(key not in split for key in SPLIT_KEYS):
        raise ValueError(f"{path} is not a valid split file: expected the keys {list(SPLIT_KEYS)}")
    if not isinstance(split["dev"], list) or not isinstance(split["test"], list):
        raise ValueError(f"{path} is not a valid split file: 'dev' and 'test' must be lists of ids")
    if set(map(str, split["dev"])) & set(map(str, split["test"])):
        raise ValueError(f"{path} is not a valid split file: some ids are in both dev and test")
    return split


# --------------------------------------------------------------------------------------------------- thresholds

def calibrate_threshold(dev_positive: Sequence[float], dev_negative: Sequence[float]) -> float:
    """Threshold (predict positive when score >= threshold) with the best balanced accuracy on dev.

    Candidates are the midpoints between neighbouring distinct scores (plus the lowest score: "all positive");
    among equally good ones the widest gap wins, because a threshold far from every dev score moves least on
    unseen data.

    >>> calibrate_threshold([0.8, 0.9], [0.1, 0.3])
    0.55
    """
    positive = np.sort(_as_scores(dev_positive, "calibrate_threshold (positives)"))
    negative = np.sort(_as_scores(dev_negative, "calibrate_threshold (negatives)"))
    distinct = np.unique(np.concatenate([positive, negative]))
    candidates = np.concatenate([distinct[:1], (distinct[:-1] + distinct[1:]) / 2])
    margins = np.concatenate([[0.0], np.diff(distinct)])
    tpr = 1 - np.searchsorted(positive, candidates, side="left") / positive.size  # share of positives >= t
    tnr = np.searchsorted(negative, candidates, side="left") / negative.size  # share of negatives < t
    balanced = (tpr + tnr) / 2
    best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
    return float(candidates[best[np.argmax(margins[best])]])


def threshold_report(threshold: float, positive: Sequence[float], negative: Sequence[float],
                     n_boot: int = 2000, seed: int = 0) -> dict:
    """TPR, TNR and balanced accuracy of a fixed threshold (score >= threshold = positive), with 95 % intervals.

    >>> threshold_report(0.5, [0.8, 0.9, 0.4], [0.1, 0.2])["tpr"]  # doctest: +SKIP
    0.6666666666666666
    """
    hits = _as_scores(positive, "threshold_report (positives)") >= threshold
    rejections = _as_scores(negative, "threshold_report (negatives)") < threshold
    tpr_ci = bootstrap_ci(hits, n_boot=n_boot, seed=seed)
    tnr_ci = bootstrap_ci(rejections, n_boot=n_boot, seed=seed)
    return {"threshold": float(threshold), "tpr": tpr_ci["mean"], "tnr": tnr_ci["mean"],
            "balanced_accuracy": (tpr_ci["mean"] + tnr_ci["mean"]) / 2,
            "n_pos": int(hits.size), "n_neg": int(rejections.size),
            "tpr_ci": (tpr_ci["low"], tpr_ci["high"]), "tnr_ci": (tnr_ci["low"], tnr_ci["high"])}


# ---------------------------------------------------------------------------------------------- random baselines

def _whole(name: str, value: int) -> int:
    try:
        return operator.index(value)  # accepts int and numpy integers, refuses 2.5 (and 2.0)
    except TypeError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


def _check_counts(n_docs: int, n_relevant: int) -> tuple[int, int]:
    n_docs, n_relevant = _whole("n_docs", n_docs), _whole("n_relevant", n_relevant)
    if n_docs < 1:
        raise ValueError(f"n_docs must be at least 1, got {n_docs}")
    if not 0 <= n_relevant <= n_docs:
        raise ValueError(f"n_relevant must be between 0 and n_docs={n_docs}, got {n_relevant}")
    return n_docs, n_relevant


def random_hit_at_k(n_docs: int, n_relevant: int, k: int) -> float:
    """Exact chance that a random top-k holds at least one of the relevant documents: 1 - C(N-R, k) / C(N, k).

    >>> random_hit_at_k(10, 1, 3)
    0.3
    """
    n_docs, n_relevant = _check_counts(n_docs, n_relevant)
    k = _whole("k", k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    k = min(k, n_docs)  # a top-10 over 5 documents returns all 5
    # Fractions keep it exact (0.3, not 0.30000000000000004); math.comb(n, k) is 0 when k > n, which gives 1.0.
    return float(1 - Fraction(math.comb(n_docs - n_relevant, k), math.comb(n_docs, k)))


def random_mrr(n_docs: int, n_relevant: int) -> float:
    """Exact expected reciprocal rank of the first relevant document when all N documents are shuffled at random.

    P(first relevant at rank r) = C(N-r, R-1) / C(N, R): choose where the other R-1 relevant ones go below r.

    >>> round(random_mrr(3, 1), 4)  # (1 + 1/2 + 1/3) / 3
    0.6111
    """
    n_docs, n_relevant = _check_counts(n_docs, n_relevant)
    if n_relevant == 0:
        return 0.0
    total = math.comb(n_docs, n_relevant)
    # int / int is correctly rounded even for huge counts, and fsum adds the terms without drift.
    return math.fsum(math.comb(n_docs - r, n_relevant - 1) / total / r for r in range(1, n_docs - n_relevant + 2))
