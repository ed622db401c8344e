"""Documents for retrieval: one PDF loader (``pypdf``), markdown sections, and chunking.

Chunk sizes are characters. The defaults for each corpus live here, in :data:`CHUNKING`, so the notebooks, the
apps and the tests chunk the same way; a lab that measures another size passes it explicitly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from langchain_core.documents import Document

# (chunk_size, chunk_overlap) per corpus. Course notes: the Week 4 bot, from Week 3's chunking experiment (chosen on
# the dev questions: 800 characters, no overlap; tests/test_committed_results.py checks the committed run agrees);
# txt/pdf: Laci-bot's knowledge base.
CHUNKING = {
    "notes": (800, 0),
    "kb_txt": (600, 80),
    "kb_pdf": (800, 100),
}


class DocumentError(ValueError):
    """A document that cannot be read; the message names the file and what to do."""


def split_documents(documents: Iterable[Document], chunk_size: int = 800, chunk_overlap: int = 100) -> list[Document]:
    """Chunk documents with LangChain's ``RecursiveCharacterTextSplitter`` (paragraphs → lines → words).

    Each chunk keeps its document's metadata plus ``start_index`` (character offset) and ``chunk`` (index)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, add_start_index=True)
    chunks = splitter.split_documents(list(documents))
    for index, chunk in enumerate(chunks):
        chunk.metadata.setdefault("chunk", index)
    return chunks


def markdown_sections(path: str | Path) -> list[Document]:
    """One ``Document`` per ``## section`` of a markdown file and per ``### subsection`` block in it, with
    ``section``/``subsection`` metadata (so retrieval can be scored against the heading that holds the answer).

    LangChain's ``MarkdownHeaderTextSplitter`` does the splitting; a subsection's text starts with its title,
    which is what a chunk of it is about."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    path = Path(path)
    splitter = MarkdownHeaderTextSplitter([("#", "title"), ("##", "section"), ("###", "subsection")])
    documents = []
    for piece in splitter.split_text(path.read_text(encoding="utf-8")):
        section, subsection = piece.metadata.get("section"), piece.metadata.get("subsection")
        if not section:  # text under the document title only
            continue
        text = f"{subsection}\n{piece.page_content}" if subsection else piece.page_content
        documents.append(Document(page_content=text.strip(), metadata={"source": path.name, "section": section,
                                                                       "subsection": subsection}))
    return documents


def read_pdf_pages(path: str | Path) -> list[tuple[int, str]]:
    """``(page number from 1, text)`` of every page of a PDF (``pypdf``).

    A missing, damaged or password-protected PDF raises :class:`DocumentError` naming the file. Many
    "protected" PDFs only restrict printing and open with an empty password, so that one is tried first."""
    from pypdf import PdfReader

    path = Path(path)
    if not path.exists():
        raise DocumentError(f"{path}: file not found")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{path}: the PDF is password-protected; save an unprotected copy")
        return [(number, (page.extract_text() or "").strip()) for number, page in enumerate(reader.pages, start=1)]
    except DocumentError:
        raise
    except Exception as err:  # pypdf raises many exception types for damaged files; all mean "unreadable"
        raise DocumentError(f"{path}: not a readable PDF ({type(err).__name__}: {err})") from None


def load_pdf_pages(path: str | Path) -> list[Document]:
    """A PDF as one ``Document`` per page with text, ``source`` = the file name and a 1-based ``page`` for
    citations."""
    path = Path(path)
    return [Document(page_content=text, metadata={"source": path.name, "page": number})
            for number, text in read_pdf_pages(path) if text]
