"""Evaluation metrics. ROUGE comes from a local `evaluate` metric script over `rouge_score` — no Hub needed."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_SCRIPT = Path(__file__).parent / "metric_scripts" / "rouge_local.py"


@lru_cache(maxsize=1)
def rouge_metric():
    """The ROUGE ``evaluate`` metric, loaded from the file shipped in this package (loaded once)."""
    import evaluate

    return evaluate.load(str(ROUGE_SCRIPT))


def compute_rouge(predictions: list[str], references: list[str], use_stemmer: bool = True) -> dict[str, float]:
    """Mean ROUGE-1/2/L/Lsum F-measures. ROUGE-Lsum treats each line as a sentence (join sentences by newline)."""
    if len(predictions) != len(references):
        raise ValueError(f"compute_rouge: {len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("compute_rouge: no predictions to score")
    scores = rouge_metric().compute(predictions=[p or "" for p in predictions], references=list(references),
                                    use_stemmer=use_stemmer)
    return {k: float(scores[k]) for k in ROUGE_TYPES}


def rouge_per_example(predictions: list[str], references: list[str]) -> dict[str, list[float]]:
    """ROUGE for each example separately (to find the best and worst summaries)."""
    return rouge_metric().compute(predictions=[p or "" for p in predictions], references=list(references),
                                  use_aggregator=False)
