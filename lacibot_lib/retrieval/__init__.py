"""Retrieval-augmented generation, in one place (bottom-up):

``embeddings`` (e5 packaged / sentence-transformers online) → ``documents`` (PDF, markdown sections, chunking) →
``vectorstore`` (persistent Chroma) → ``kb`` (Laci-bot's Hungarian knowledge base) → ``hybrid`` (BM25 + dense +
reciprocal-rank fusion) → ``evaluation`` (hit@k, MRR, relevance rules, random baselines); ``translate`` (a
word-by-word English→Hungarian dictionary layer, FreeDict from Debian). ``base.Hits`` is the
contract every retriever returns from ``search(query, k)``.
"""
