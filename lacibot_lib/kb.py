"""Laci-bot's knowledge base (the internship rules in ``data/szakmai_gyakorlat``) as LangChain ``Document``s.

Every document carries the metadata the app cites and the eval set scores against:
``source`` (file name), ``ref`` (FAQ id, ``lepes-N``, ``txt-N`` or ``page-N``) and ``kind``
(``faq`` | ``todo`` | ``txt`` | ``pdf``), plus ``row`` (CSV, 1-based data row) or ``page`` (PDF, 1-based).

Files written by hand on Windows often arrive as UTF-16 or Latin-2, so text files are decoded by
:func:`read_text_file`, which refuses to guess rather than silently mangling accents.
A broken file fails with a :class:`KnowledgeBaseError` that names it; :func:`load_knowledge_base` collects
those as problems and still loads every other file.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

from langchain_core.documents import Document

from .rag import split_documents
from .settings import data_dir

FAQ_REQUIRED = ("id", "kerdes", "valasz")
FAQ_OPTIONAL = ("question_en", "answer_en", "tema")
TODO_REQUIRED = ("lepes", "ki", "mit", "mikor")
TODO_OPTIONAL = ("megjegyzes",)

# Order matters: the UTF-8 BOM is checked before the two-byte UTF-16 ones.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
         (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE (BOM)"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE (BOM)"))
_TRIED = "UTF-8/UTF-16 byte-order marks, UTF-8, Latin-2 (ISO-8859-2)"
# Control characters that never occur in a text file; C1 (0x80-0x9F) is what a UTF-8 or Windows-1250 file
# read as Latin-2 typically produces, so its presence means "wrong guess", not "Hungarian text".
_NON_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SECTION = re.compile(r"^==\s*(.+?)\s*==\s*$", re.MULTILINE)


class KnowledgeBaseError(ValueError):
    """A knowledge-base file that cannot be used as it is; the message names the file and the problem."""


def knowledge_base_dir() -> Path:
    """The bundled knowledge base: ``data/szakmai_gyakorlat``."""
    return data_dir() / "szakmai_gyakorlat"


def _looks_like_text(text: str) -> bool:
    """True for plausible human-written text: no control characters, and letters make up a fair share."""
    if _NON_TEXT.search(text):
        return False
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return True  # an empty or blank file is text, just an empty one
    letters = sum(ch.isalpha() for ch in visible)
    # A low bar (tables of numbers are text too); the control-character check above rejects binary.
    return letters / len(visible) >= 0.3


def read_text_file(path: str | Path) -> str:
    """The text of ``path``, decoded from UTF-8 (with or without BOM), UTF-16 (LE/BE with BOM) or Latin-2.

    Decoding is strict (never "replace"): a file that is none of these, or decodes to control characters
    (binary, wrong encoding), raises :class:`KnowledgeBaseError` naming the file and the encodings tried.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KnowledgeBaseError(f"{path}: file not found") from None
    except OSError as err:
        raise KnowledgeBaseError(f"{path}: cannot be read ({err.strerror or err})") from None

    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as err:
                raise KnowledgeBaseError(f"{path}: starts with a {label} mark but is not valid {label} "
                                         f"(byte {err.start})") from None
            if "\x00" in text:
                raise KnowledgeBaseError(f"{path}: {label} text contains NUL characters; not a text file")
            return text

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid UTF-8 may still be binary or BOM-less UTF-16 (ASCII + NUL bytes): refuse that too.
        if "\x00" not in text:
            return text
        raise KnowledgeBaseError(f"{path}: contains NUL bytes (binary, or UTF-16 without a byte-order mark); "
                                 f"tried {_TRIED}. Save it as UTF-8.")

    # Every byte sequence decodes as Latin-2, so only accept it when the result reads like text.
    text = raw.decode("iso-8859-2")
    if _looks_like_text(text):
        return text
    raise KnowledgeBaseError(f"{path}: not a readable text file (tried {_TRIED}); save it as UTF-8.")


def _csv_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> list[tuple[int, int, dict]]:
    """``(data row number, line number, row)`` for each non-empty CSV row, values stripped.

    Missing columns, rows with more fields than the header (an unquoted comma) and empty required values
    raise :class:`KnowledgeBaseError` naming the file and the line, because dropping them would lose data.
    """
    reader = csv.DictReader(io.StringIO(read_text_file(path), newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise KnowledgeBaseError(f"{path}: header lacks column(s) {', '.join(missing)}; "
                                 f"found {', '.join(header) or 'no header'}")
    reader.fieldnames = header
    rows, row_no = [], 0
    try:
        for raw in reader:
            if None in raw:
                raise KnowledgeBaseError(f"{path}, line {reader.line_num}: more fields than the header has "
                                         f"(a comma inside an unquoted value?)")
            values = {name: (raw.get(name) or "").strip() for name in (*required, *optional)}
            if not any(values.values()):
                continue  # a blank line
            empty = [name for name in required if not values[name]]
            if empty:
                raise KnowledgeBaseError(f"{path}, line {reader.line_num}: empty value in column(s) "
                                         f"{', '.join(empty)}")
            row_no += 1
            rows.append((row_no, reader.line_num, values))
    except csv.Error as err:
        raise KnowledgeBaseError(f"{path}, line {reader.line_num}: malformed CSV ({err})") from None
    if not rows:
        raise KnowledgeBaseError(f"{path}: no data rows")
    return rows


def _unique_refs(path: Path, refs: list[tuple[str, int]]) -> None:
    """Refs identify documents for citation and fusion, so a duplicate would silently hide a row."""
    seen: dict[str, int] = {}
    for ref, line in refs:
        if ref in seen:
            raise KnowledgeBaseError(f"{path}, line {line}: duplicate id {ref!r} (first on line {seen[ref]})")
        seen[ref] = line


def load_faq_csv(path: str | Path) -> list[Document]:
    """One ``Document`` per FAQ row (``id,kerdes,valasz[,question_en,answer_en,tema]``).

    ``page_content`` holds the Hungarian and the English question and answer so that keyword and dense
    search both match a question asked in either language; the separate fields stay in the metadata for
    answering (``kerdes``, ``valasz``, ``question_en``, ``answer_en``, ``tema``).
    """
    path = Path(path)
    rows = _csv_rows(path, FAQ_REQUIRED, FAQ_OPTIONAL)
    _unique_refs(path, [(row["id"], line) for _, line, row in rows])
    documents = []
    for row_no, _, row in rows:
        parts = [f"Kérdés: {row['kerdes']}", f"Válasz: {row['valasz']}"]
        if row["question_en"]:
            parts.append(f"Question: {row['question_en']}")
        if row["answer_en"]:
            parts.append(f"Answer: {row['answer_en']}")
        metadata = {"source": path.name, "ref": row["id"], "kind": "faq", "row": row_no,
                    **{name: row[name] for name in ("kerdes", "valasz", *FAQ_OPTIONAL)}}
        documents.append(Document(page_content="\n".join(parts), metadata=metadata))
    return documents


def load_todo_csv(path: str | Path) -> list[Document]:
    """One ``Document`` per step of the to-do table (``lepes,ki,mit,mikor[,megjegyzes]``), ref ``lepes-N``."""
    path = Path(path)
    rows = _csv_rows(path, TODO_REQUIRED, TODO_OPTIONAL)
    _unique_refs(path, [(f"lepes-{row['lepes']}", line) for _, line, row in rows])
    documents = []
    for row_no, _, row in rows:
        parts = [f"{row['lepes']}. lépés – ki: {row['ki']}", f"Mit: {row['mit']}", f"Mikor: {row['mikor']}"]
        if row["megjegyzes"]:
            parts.append(f"Megjegyzés: {row['megjegyzes']}")
        metadata = {"source": path.name, "ref": f"lepes-{row['lepes']}", "kind": "todo", "row": row_no,
                    **{name: row[name] for name in (*TODO_REQUIRED, *TODO_OPTIONAL)}}
        documents.append(Document(page_content="\n".join(parts), metadata=metadata))
    return documents


def _sections(text: str) -> list[tuple[str | None, str]]:
    """``(title, body)`` per ``== Title ==`` section; text before the first heading has title ``None``."""
    sections, title, start = [], None, 0
    for match in _SECTION.finditer(text):
        sections.append((title, text[start:match.start()]))
        title, start = match.group(1), match.end()
    sections.append((title, text[start:]))
    return [(title, body.strip()) for title, body in sections if body.strip()]


def load_txt(path: str | Path, chunk_size: int = 600, chunk_overlap: int = 80) -> list[Document]:
    """Chunks of a plain-text file, split per ``== Title ==`` section and then by size.

    Each chunk starts with its section title (so a chunk from "Milyen hosszú?" still says what it is about)
    and has metadata ``section``, ``chunk`` (index in the file) and ``ref`` ``txt-<chunk>``.
    """
    path = Path(path)
    sections = _sections(read_text_file(path))
    if not sections:
        raise KnowledgeBaseError(f"{path}: the file is empty")
    pieces = [Document(page_content=body, metadata={"source": path.name, "kind": "txt", "section": title})
              for title, body in sections]
    chunks = split_documents(pieces, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    for index, chunk in enumerate(chunks):
        title = chunk.metadata["section"]
        if title:
            chunk.page_content = f"{title}\n{chunk.page_content}"
        chunk.metadata.update(chunk=index, ref=f"txt-{index}")
    return chunks


def load_pdf(path: str | Path, chunk_size: int = 800, chunk_overlap: int = 100) -> list[Document]:
    """The text of each PDF page as ``Document``s (a long page is chunked), metadata ``page`` (1-based),
    ``ref`` ``page-N`` and ``chunk`` (index in the file, so chunks of one page stay distinguishable).

    A corrupt or encrypted PDF, or one without extractable text (a scan), raises :class:`KnowledgeBaseError`.
    """
    from pypdf import PdfReader

    path = Path(path)
    if not path.exists():
        raise KnowledgeBaseError(f"{path}: file not found")
    pages = []
    try:
        reader = PdfReader(path)
        # Many "protected" PDFs only restrict printing/copying and open with an empty password.
        if reader.is_encrypted and not reader.decrypt(""):
            raise KnowledgeBaseError(f"{path}: the PDF is password-protected; save an unprotected copy")
        for number, page in enumerate(reader.pages, start=1):
            pages.append((number, (page.extract_text() or "").strip()))
    except KnowledgeBaseError:
        raise
    except Exception as err:  # pypdf raises many exception types for damaged files; all mean "unreadable"
        raise KnowledgeBaseError(f"{path}: not a readable PDF ({type(err).__name__}: {err})") from None
    pieces = [Document(page_content=text, metadata={"source": path.name, "kind": "pdf", "page": number,
                                                    "ref": f"page-{number}"})
              for number, text in pages if text]
    if not pieces:
        raise KnowledgeBaseError(f"{path}: no extractable text in {len(pages)} page(s) (a scanned PDF?)")
    chunks = split_documents(pieces, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    for index, chunk in enumerate(chunks):
        chunk.metadata["chunk"] = index
    return chunks


def _csv_loader(path: Path):
    """The loader matching a CSV header: FAQ (``kerdes``) or to-do (``lepes``)."""
    first_line = read_text_file(path).lstrip().split("\n", 1)[0]
    header = {name.strip().strip('"') for name in first_line.split(",")}
    if "kerdes" in header:
        return load_faq_csv
    if "lepes" in header:
        return load_todo_csv
    raise KnowledgeBaseError(f"{path}: unknown CSV layout; expected a FAQ header ({','.join(FAQ_REQUIRED)}, ...) "
                             f"or a to-do header ({','.join(TODO_REQUIRED)}, ...)")


def load_knowledge_base(folder: str | Path | None = None) -> tuple[list[Document], list[str]]:
    """All documents of the knowledge base folder (default ``data/szakmai_gyakorlat``) and the problems.

    Loads ``*.csv`` (FAQ or to-do, told apart by the header), ``*.txt`` and ``*.pdf``; other files (such as the
    ``*.md`` source of the PDF) are ignored. A file that fails becomes a ``"file: message"`` entry of
    ``problems`` and the other files still load.
    """
    folder = Path(folder) if folder is not None else knowledge_base_dir()
    if not folder.is_dir():
        raise KnowledgeBaseError(f"{folder}: knowledge-base folder not found")
    documents: list[Document] = []
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in {".csv", ".txt", ".pdf"}:
            continue
        try:
            if suffix == ".csv":
                documents.extend(_csv_loader(path)(path))
            elif suffix == ".txt":
                documents.extend(load_txt(path))
            else:
                documents.extend(load_pdf(path))
        except KnowledgeBaseError as err:
            # The message already starts with the full path; report it by file name.
            message = str(err)
            message = message[len(str(path)):].lstrip(":, ") if message.startswith(str(path)) else message
            problems.append(f"{path.name}: {message}")
    return documents, problems
