"""Retrieval evaluation: hit@k, MRR, relevance rules and the loops that score a retriever on labelled questions.

Every score here should be read next to the random-ranking baseline (:func:`random_baseline`): with many
relevant documents per question, even a random ranking gets a high hit@k.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
from langchain_core.documents import Document

from ..stats import random_hit_at_k, random_mrr


def hit_at_k(ranked: Sequence, relevant: Callable[[object], bool], k: int) -> float:
    """1.0 if any of the first ``k`` results is relevant, else 0.0."""
    return float(any(relevant(item) for item in list(ranked)[:k]))


def reciprocal_rank(ranked: Sequence, relevant: Callable[[object], bool]) -> float:
    """1 / rank of the first relevant result (0.0 if none is relevant)."""
    for rank, item in enumerate(ranked, start=1):
        if relevant(item):
            return 1.0 / rank
    return 0.0


def retrieval_scores(results: Sequence[tuple[Sequence, Callable[[object], bool]]], ks=(1, 3, 5)) -> dict:
    """Mean hit@k for each k and MRR over (ranked results, relevance test) pairs."""
    if not results:
        raise ValueError("retrieval_scores: no questions to score")
    scores = {f"hit@{k}": float(np.mean([hit_at_k(r, rel, k) for r, rel in results])) for k in ks}
    scores["mrr"] = float(np.mean([reciprocal_rank(r, rel) for r, rel in results]))
    return scores


def same_section(question: dict) -> Callable[[Document], bool]:
    """Relevance test for the course-notes questions: a chunk from the section (and subsection) of the answer."""
    def relevant(doc: Document) -> bool:
        meta = doc.metadata
        if meta.get("section") != question["section"]:
            return False
        return question.get("subsection") in (None, meta.get("subsection"))
    return relevant


def is_relevant_hit(doc: Document, expected: Sequence[dict]) -> bool:
    """True if ``doc`` matches an expected ``{"source", "ref"}`` of the eval set (``ref`` ``"*"``: any part of
    that source)."""
    meta = doc.metadata
    return any(meta.get("source") == e["source"] and (e["ref"] == "*" or meta.get("ref") == e["ref"])
               for e in expected)


def eval_query(question: dict) -> str:
    """The retrieval query for an eval question: a follow-up ("És MSc-n?") is prefixed by the last turn of its
    history, which carries the topic."""
    return " ".join([*question.get("history", [])[-1:], question["question"]])


def evaluate_retrieval(retriever, questions: Sequence[dict], mode: str = "hybrid",
                       ks: Sequence[int] = (1, 3, 5), strict: bool = False) -> dict:
    """hit@k and MRR of ``retriever`` (a :class:`~lacibot_lib.retrieval.hybrid.HybridRetriever` or anything with
    ``search(query, k, mode)``) in ``mode`` over eval questions, plus latency per question.

    Off-topic questions (``expected == []``) are skipped. ``strict=True`` ignores ``ref: "*"`` expectations
    (any chunk of the text or PDF) so only the specific FAQ rows / to-do steps count.
    Returns the scores, ``n``, ``skipped``, ``latency_ms`` (list), ``p50_ms``, ``p95_ms`` and ``ranks``
    (question id → rank of the first relevant result within the top ``max(ks)``, or ``None``).
    """
    depth = max(ks)
    results, latencies, ranks, skipped = [], [], {}, 0
    for question in questions:
        expected = [e for e in question.get("expected", []) if not (strict and e["ref"] == "*")]
        if not expected:
            skipped += 1
            continue
        start = time.perf_counter()
        ranked = [doc for doc, _ in retriever.search(eval_query(question), k=depth, mode=mode)]
        latencies.append((time.perf_counter() - start) * 1000)
        relevant = lambda doc, expected=expected: is_relevant_hit(doc, expected)  # noqa: E731
        results.append((ranked, relevant))
        ranks[question.get("id", len(ranks))] = next(
            (rank for rank, doc in enumerate(ranked, start=1) if relevant(doc)), None)
    scores = retrieval_scores(results, ks=ks)
    return {**scores, "mode": mode, "strict": strict, "n": len(results), "skipped": skipped,
            "latency_ms": latencies, "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)), "ranks": ranks}


def random_baseline(n_docs: int, n_relevant: Sequence[int], ks: Sequence[int] = (1, 3, 5)) -> dict:
    """Expected hit@k and MRR of a uniformly random ranking of ``n_docs`` documents, averaged over questions
    with ``n_relevant[i]`` relevant documents each (exact, hypergeometric)."""
    if not n_relevant:
        raise ValueError("random_baseline: no questions")
    scores = {f"hit@{k}": float(np.mean([random_hit_at_k(n_docs, r, k) for r in n_relevant])) for k in ks}
    scores["mrr"] = float(np.mean([random_mrr(n_docs, r) for r in n_relevant]))
    return scores
