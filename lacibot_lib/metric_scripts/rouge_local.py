"""ROUGE as a local `evaluate` metric (no Hub download), computed by Google's `rouge_score` package.

Loaded with ``evaluate.load(<path to this file>)``; the Hub's "rouge" script does the same computation but
must be fetched online. Scores are the mean F-measure over the examples.
"""
import datasets
import evaluate
from rouge_score import rouge_scorer

_DESCRIPTION = "ROUGE-1/2/L/Lsum F-measures (rouge_score), averaged over examples; Lsum splits on newlines."
_KWARGS = """
Args:
    predictions: list of generated summaries.
    references: list of reference summaries.
    rouge_types: which of rouge1, rouge2, rougeL, rougeLsum to compute (default: all four).
    use_stemmer: Porter-stem words before matching (default True).
    use_aggregator: return the mean (True, default) or a list of per-example scores (False).
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class RougeLocal(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Lin, C.-Y. (2004). ROUGE: A Package for Automatic Evaluation of Summaries.",
            inputs_description=_KWARGS,
            features=datasets.Features({
                "predictions": datasets.Value("string"),
                "references": datasets.Value("string"),
            }),
        )

    def _compute(self, predictions, references, rouge_types=None, use_stemmer=True, use_aggregator=True):
        rouge_types = rouge_types or ["rouge1", "rouge2", "rougeL", "rougeLsum"]
        scorer = rouge_scorer.RougeScorer(rouge_types=rouge_types, use_stemmer=use_stemmer)
        scores = [scorer.score(ref, pred) for ref, pred in zip(references, predictions)]
        if use_aggregator:
            return {t: sum(s[t].fmeasure for s in scores) / len(scores) if scores else 0.0 for t in rouge_types}
        return {t: [s[t].fmeasure for s in scores] for t in rouge_types}
