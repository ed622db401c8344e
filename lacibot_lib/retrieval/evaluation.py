"""Retrieval evaluation: hit@k, MRR, relevance rules and the loops that score a retriever on labelled questions.

Every score here should be read next to the random-ranking baseline (:func:`random_baseline`): with many
relevant documents per question, even a random ranking gets a high hit@k.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
from langchain_core.documents import Document

from ..stats import random_hit_at_k


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
    """Mean hit@k for each k and MRR over (ranked results, relevance test) pairs (the MRR over the ranked lists
    as given: :func:`evaluate_retrieval` passes the top ``max(ks)``, so it is MRR@max(ks))."""
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


def states_key_fact(doc: Document, key_facts: Sequence[str]) -> bool:
    """True if ``doc``'s text contains one of the question's key facts (case-insensitive)."""
    text = doc.page_content.casefold()
    return any(fact.casefold() in text for fact in key_facts)


def relevance(question: dict, strict: bool = True) -> Callable[[Document], bool] | None:
    """The relevance test of an eval question, or None when it cannot be scored that way.

    * strict: the document is one of the FAQ rows / to-do steps labelled as stating the answer (``ref`` "*"
      entries — any chunk of a file — do not count);
    * lenient: a strict hit, or any document whose text states one of the question's key facts.
    """
    rows = [e for e in question.get("expected", []) if e["ref"] != "*"]
    facts = question.get("key_facts", [])
    if strict:
        return (lambda doc: is_relevant_hit(doc, rows)) if rows else None
    if not (rows or facts):
        return None
    return lambda doc: is_relevant_hit(doc, rows) or states_key_fact(doc, facts)


def relevant_counts(documents: Sequence[Document], questions: Sequence[dict], strict: bool = True) -> list[int]:
    """How many of ``documents`` count as a hit for each scorable question: what a random ranking is up against
    (see :func:`random_baseline`)."""
    tests = [relevance(q, strict) for q in questions]
    return [sum(test(doc) for doc in documents) for test in tests if test is not None]


def eval_query(question: dict) -> str:
    """The retrieval query for an eval question, as the bot builds it: a follow-up ("És MSc-n?") is prefixed by
    the last user turn of its history (``{"role", "content"}`` messages), which carries the topic."""
    users = [turn["content"] for turn in question.get("history", []) if turn.get("role") == "user"]
    return " ".join([*users[-1:], question["question"]])


def evaluate_retrieval(retriever, questions: Sequence[dict], mode: str = "hybrid",
                       ks: Sequence[int] = (1, 3, 5), strict: bool = True) -> dict:
    """hit@k and MRR of ``retriever`` (anything with ``search(query, k, mode)``) in ``mode`` over eval questions,
    scored by :func:`relevance` (strict by default), plus latency per question.

    Questions that cannot be scored that way (off-topic ones; in strict scoring, those labelled only with whole
    files) are skipped. Returns the scores, ``n``, ``skipped``, ``latency_ms`` (list), ``p50_ms``, ``p95_ms``,
    ``ranks`` (question id → rank of the first relevant result within the top ``max(ks)``, or ``None``) and
    ``top`` (question id → the refs of the top ``max(ks)`` results, for failure tables).
    """
    depth = max(ks)
    results, latencies, ranks, top, skipped = [], [], {}, {}, 0
    for question in questions:
        relevant = relevance(question, strict)
        if relevant is None:
            skipped += 1
            continue
        start = time.perf_counter()
        ranked = [doc for doc, _ in retriever.search(eval_query(question), k=depth, mode=mode)]
        latencies.append((time.perf_counter() - start) * 1000)
        results.append((ranked, relevant))
        qid = question.get("id", len(ranks))
        ranks[qid] = next((rank for rank, doc in enumerate(ranked, start=1) if relevant(doc)), None)
        top[qid] = [doc.metadata.get("ref") or doc.metadata.get("source") for doc in ranked]
    scores = retrieval_scores(results, ks=ks)
    return {**scores, "mode": mode, "strict": strict, "n": len(results), "skipped": skipped,
            "latency_ms": latencies, "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)), "ranks": ranks, "top": top}


def random_baseline(n_docs: int, n_relevant: Sequence[int], ks: Sequence[int] = (1, 3, 5)) -> dict:
    """Expected hit@k and MRR of a uniformly random ranking of ``n_docs`` documents, averaged over questions
    with ``n_relevant[i]`` relevant documents each (exact, hypergeometric).

    The MRR is cut at ``max(ks)`` like :func:`evaluate_retrieval`'s (a relevant document below that rank counts
    0), so the two are comparable: the sum over ranks r of P(first relevant document at r) / r."""
    if not n_relevant:
        raise ValueError("random_baseline: no questions")
    scores = {f"hit@{k}": float(np.mean([random_hit_at_k(n_docs, r, k) for r in n_relevant])) for k in ks}
    depth = max(ks)

    def mrr_at_depth(r: int) -> float:
        hits = [0.0] + [random_hit_at_k(n_docs, r, k) for k in range(1, min(depth, n_docs) + 1)]
        return sum((hits[k] - hits[k - 1]) / k for k in range(1, len(hits)))

    scores["mrr"] = float(np.mean([mrr_at_depth(r) for r in n_relevant]))
    return scores
