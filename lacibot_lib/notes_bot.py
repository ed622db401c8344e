"""The Week 4 "chat with your data" bot over the course notes PDF.

pypdf pages → RecursiveCharacterTextSplitter → e5 embeddings → Chroma (persistent, rebuilt only when the PDF
or the chunking changes) → retriever (similarity or MMR) → a guarded prompt → the chosen chat backend.
"""
from __future__ import annotations

from pathlib import Path

from .bot import DocumentBot
from .retrieval.base import Hits
from .retrieval.documents import CHUNKING, load_pdf_pages, split_documents
from .retrieval.embeddings import get_embeddings
from .retrieval.vectorstore import chroma_store
from .settings import Settings, data_dir, get_settings

NOTES_PDF = data_dir() / "course_notes" / "course_notes.pdf"
# Least cosine relevance of the best chunk for "the notes cover this" (calibrated in the Week 4 lab on the
# labelled questions vs off-topic ones; re-check it when you change the embedder).
NOTES_THRESHOLD = 0.80
CHUNK_SIZE, CHUNK_OVERLAP = CHUNKING["notes"]


def notes_chunks(pdf: str | Path = NOTES_PDF, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP):
    return split_documents(load_pdf_pages(pdf), chunk_size, chunk_overlap)


def notes_store(settings: Settings | None = None, pdf: str | Path = NOTES_PDF, chunk_size: int = CHUNK_SIZE,
                chunk_overlap: int = CHUNK_OVERLAP, progress: bool = False):
    """The persistent Chroma store of the notes: ``(store, rebuilt)``."""
    settings = settings or get_settings()
    chunks = notes_chunks(pdf, chunk_size, chunk_overlap)
    return chroma_store(chunks, get_embeddings(settings=settings), settings.cache_dir / "vectorstores" /
                        "course_notes_pdf", collection="course_notes_pdf", progress=progress)


def make_retrieve(store, search: str = "similarity", fetch_k: int = 20, lambda_mult: float = 0.5):
    """``retrieve(query, k) -> Hits`` with similarity or MMR ordering; evidence ``best_score`` is the best
    similarity relevance. MMR reorders for diversity, so each MMR pick is paired with its own relevance."""
    def retrieve(query: str, k: int) -> Hits:
        scored = store.similarity_search_with_relevance_scores(query, k=fetch_k if search == "mmr" else k)
        evidence = {"best_score": max((score for _, score in scored), default=0.0)}
        if search != "mmr":
            return Hits(scored, evidence)
        relevance = {doc.page_content: score for doc, score in scored}
        picked = store.max_marginal_relevance_search(query, k=k, fetch_k=fetch_k, lambda_mult=lambda_mult)
        return Hits([(doc, relevance.get(doc.page_content, 0.0)) for doc in picked], evidence)
    return retrieve


def build_notes_bot(backend, settings: Settings | None = None, search: str = "similarity", k: int = 4,
                    threshold: float = NOTES_THRESHOLD) -> DocumentBot:
    """The notes bot on ``backend`` (see ``lacibot_lib.chat``). Good backends also rewrite follow-ups."""
    store, _ = notes_store(settings)
    return DocumentBot(retrieve=make_retrieve(store, search), backend=backend, threshold=threshold, k=k,
                       rewrite_with_llm=backend.name != "local")
