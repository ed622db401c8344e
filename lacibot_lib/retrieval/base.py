"""The one retriever contract both bots use: ``search(query, k)`` returns :class:`Hits`."""
from __future__ import annotations


class Hits(list):
    """Scored search results, best first: a list of ``(Document, score)`` pairs, plus ``evidence`` — how strongly
    the corpus supports the query, taken from the *same* scores that ranked it (e.g. the best cosine), so a bot
    decides "is this covered?" without scoring the question a second time.

    >>> hits = Hits([("doc", 0.9)], evidence={"best_score": 0.9})
    >>> hits[0], hits.evidence["best_score"]
    (('doc', 0.9), 0.9)
    """

    def __init__(self, pairs=(), evidence: dict | None = None):
        super().__init__(pairs)
        self.evidence = dict(evidence or {})
