"""The persistent Chroma vector store, rebuilt only when the documents, the chunking or the embedder change."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from .embeddings import embedder_name


def fingerprint(documents: Sequence[Document], extra: dict | None = None) -> str:
    """A hash of the documents' text and metadata plus build settings: equal hash → the store can be reused."""
    digest = hashlib.sha256(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    for doc in documents:
        digest.update(doc.page_content.encode("utf-8"))
        digest.update(json.dumps(doc.metadata, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def chroma_store(documents: Sequence[Document], embeddings: Embeddings, persist_dir: str | Path,
                 collection: str = "lacibot", batch_size: int = 32, progress: bool = False):
    """A persistent Chroma vector store over ``documents``; reused when nothing changed, rebuilt otherwise.

    Returns ``(store, rebuilt)``. The fingerprint of the documents and the embedding model is kept next to the
    database, so a changed document, chunk size or embedding model triggers a clean rebuild.
    """
    from langchain_chroma import Chroma
    from tqdm.auto import tqdm

    persist_dir = Path(persist_dir)
    persist_dir.mkdir(parents=True, exist_ok=True)
    stamp = persist_dir / "fingerprint.txt"
    wanted = fingerprint(documents, {"embeddings": embedder_name(embeddings),
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


