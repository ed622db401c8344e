"""Laci-bot's knowledge base (the internship rules in ``data/szakmai_gyakorlat``) as LangChain ``Document``s.

Every document carries the metadata the app cites and the eval set scores against:
``source`` (file name), ``ref`` (FAQ id, ``lepes-N``, ``txt-N`` or ``page-N``) and ``kind``
(``faq`` | ``todo`` | ``txt`` | ``pdf``), plus ``row`` (CSV, 1-based data row) or ``page`` (PDF, 1-based).

Files written by hand on Windows often arrive as UTF-16, Windows-1250 or Latin-2, so text files are decoded by
:func:`read_text_file` (that is, :func:`lacibot_lib.textfiles.decode_text_file`), which refuses to guess rather than
silently mangling accents (also when a UTF-8 file has one Latin-2 line pasted into it).

The rule for damage: a bad row costs that row only, a bad file costs that file only, and both are reported with
the file, the line and what to do. A broken file fails with a :class:`KnowledgeBaseError` that names it; a broken
CSV row is skipped and reported when the caller passes a ``problems`` list (and raises when it does not, so a
direct call never returns a silently shortened table). :func:`load_knowledge_base` collects both kinds, plus files
it cannot read (Word, Excel, subfolders …), and still loads everything else; :func:`knowledge_base_health` sums
that up for a check command or a banner.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

from langchain_core.documents import Document

from ..settings import data_dir
from ..textfiles import decode_text_file
from .documents import CHUNKING, DocumentError, read_pdf_pages, split_documents

FAQ_REQUIRED = ("id", "kerdes", "valasz")
FAQ_OPTIONAL = ("question_en", "answer_en", "tema", "forras")
TODO_REQUIRED = ("lepes", "ki", "mit", "mikor")
TODO_OPTIONAL = ("megjegyzes", "forras")

_SECTION = re.compile(r"^==\s*(.+?)\s*==\s*$", re.MULTILINE)

# Python's csv refuses a field over 128 KiB with a bare ``_csv.Error``, which used to cost the whole file. The
# parser limit is raised (process-wide, and only ever upwards) so such a field parses and is refused per row by
# MAX_FIELD_CHARS instead. The longest bundled value is ~400 characters: one over 32 Ki is an unclosed quote that
# swallowed the rows after it, or a document pasted into a cell.
_CSV_PARSE_LIMIT = 4 * 1024 * 1024
MAX_FIELD_CHARS = 32 * 1024

# What to do with the files the knowledge base does not read (by suffix); anything else gets a generic message.
_UNREAD = {
    **dict.fromkeys((".docx", ".doc", ".odt", ".rtf"), "Word files are not read; save it as PDF or TXT (UTF-8)"),
    **dict.fromkeys((".xlsx", ".xls", ".xlsm", ".ods"),
                    "spreadsheets are not read; save it as 'CSV UTF-8' (a FAQ or to-do table)"),
    **dict.fromkeys((".pptx", ".ppt", ".odp"), "presentations are not read; export it as PDF"),
    **dict.fromkeys((".json", ".xml", ".yaml", ".yml", ".html", ".htm"),
                    "this format is not read; put its text into a TXT (UTF-8) or CSV file"),
}
_READ = {".csv", ".txt", ".pdf"}


class KnowledgeBaseError(ValueError):
    """A knowledge-base file that cannot be used as it is; the message names the file and the problem."""


def knowledge_base_dir() -> Path:
    """The bundled knowledge base: ``data/szakmai_gyakorlat``."""
    return data_dir() / "szakmai_gyakorlat"


def read_text_file(path: str | Path) -> str:
    """The text of ``path``, decoded by :func:`lacibot_lib.textfiles.decode_text_file`: UTF-8 or UTF-16 (with or
    without a byte-order mark), else Windows-1250 / Latin-2 when unambiguous (with an ``EncodingGuessWarning``).

    Decoding is strict (never "replace"): a missing file, binary or control-character "text", bytes that differ
    between Windows-1250 and Latin-2, or a UTF-8 file with some non-UTF-8 lines (named by line number), which no
    single encoding reads correctly, raise :class:`KnowledgeBaseError` naming the file and saying what to do.
    """
    return decode_text_file(path, KnowledgeBaseError)


def _csv_records(lines: list[str]):
    """``(first line, last line, fields or csv.Error)`` for each CSV record of ``lines`` (1-based line numbers).

    Parsing is strict, so a stray or unclosed double quote is an error instead of a value that silently runs on.
    After a broken record parsing resumes on the line after its first one: an unclosed quote that swallowed the
    rows below it then costs only its own line.
    """
    if csv.field_size_limit() < _CSV_PARSE_LIMIT:
        csv.field_size_limit(_CSV_PARSE_LIMIT)
    pos = 0  # lines consumed so far

    def feed():
        nonlocal pos
        while pos < len(lines):
            pos += 1
            yield lines[pos - 1]

    while pos < len(lines):
        first = pos + 1
        try:
            for fields in csv.reader(feed(), strict=True):
                yield first, pos, fields
                first = pos + 1
        except csv.Error as err:
            yield first, pos, err
            pos = first  # a fresh reader on the next line: the parser's state after an error is not to be trusted


def _csv_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...], id_column: str,
              problems: list[str] | None = None) -> list[tuple[int, int, dict]]:
    """``(data row number, line number, row)`` for each good non-empty CSV row, values stripped.

    A bad row (malformed CSV, more fields than the header, an over-long or empty required value, an ``id_column``
    value with spaces or seen before) is appended to ``problems`` with its line and skipped; with ``problems``
    None it raises :class:`KnowledgeBaseError` instead, so that no caller gets a silently shortened table.
    A missing header column or no usable row at all is a file-level :class:`KnowledgeBaseError` either way.
    Data row numbers count the rejected rows too, so a broken row does not renumber the ones after it.
    """
    def reject(message: str) -> None:
        if problems is None:
            raise KnowledgeBaseError(f"{path}, {message}")
        problems.append(f"{path}, {message}; the row was skipped")

    lines = io.StringIO(read_text_file(path), newline="").readlines()  # split as csv does: \n, \r\n or \r
    records = _csv_records(lines)
    header: list[str] = []
    for first, _, fields in records:
        if isinstance(fields, csv.Error):
            raise KnowledgeBaseError(f"{path}, line {first}: the header row is not valid CSV ({fields}); write it "
                                     f"as plain column names separated by commas")
        if any(field.strip() for field in fields):  # blank lines before the header are harmless
            header = [name.strip() for name in fields]
            break
    missing = [name for name in required if name not in header]
    if missing:
        raise KnowledgeBaseError(f"{path}: header lacks column(s) {', '.join(missing)}; "
                                 f"found {', '.join(header) or 'no header'}")
    rows, row_no, rejected = [], 0, 0
    seen: dict[str, int] = {}
    for first, last, fields in records:
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        if isinstance(fields, csv.Error):
            row_no, rejected = row_no + 1, rejected + 1
            if "field larger than field limit" in str(fields):
                advice = (f"a value over {_CSV_PARSE_LIMIT // 2**20} MiB: an unclosed quote, or a document pasted "
                          "into a cell? Shorten it or move the text to a .txt file")
            else:
                advice = ('a stray or unclosed double quote? Put the whole value in double quotes and double each '
                          'quote in it ("")')
            reject(f"line {first} (starting {_preview(lines[first - 1], 30)}): not valid CSV ({fields}); {advice}")
            continue
        if not any(field.strip() for field in fields):
            continue  # a blank line
        row_no += 1
        values = {name: value.strip() for name, value in zip(header, fields)}
        values = {name: values.get(name, "") for name in (*required, *optional)}
        ref = values[id_column]
        at = f"{where} ({id_column} {_preview(ref)})" if ref else where  # helps find the row in a spreadsheet
        extra = [field for field in fields[len(header):] if field.strip()]
        long = [name for name, value in zip(header, fields) if name in values and len(value) > MAX_FIELD_CHARS]
        empty = [name for name in required if not values[name]]
        if extra:  # empty trailing fields (a spreadsheet's trailing commas) lose nothing, so they pass
            message = (f"{at}: more fields than the header has ({len(fields)}, not {len(header)}: "
                       f"{', '.join(header)}; extra text {_preview(extra[0])}); a comma inside an unquoted value? "
                       "Put that value in double quotes")
        elif long:
            message = (f"{at}, column {long[0]}: the value is {len(values[long[0]]):,} characters long (limit "
                       f"{MAX_FIELD_CHARS:,}); an unclosed quote, or a document pasted into a cell? Shorten it or "
                       "move the text to a .txt file")
        elif empty:
            message = f"{at}: empty value in column(s) {', '.join(empty)}; fill it in"
        elif re.search(r"\s", ref):
            message = (f"{where}, column {id_column}: {_preview(ref)} contains spaces; it is a citation reference, "
                       f"write it as one word (like {'gyik-50' if id_column == 'id' else '15'})")
        elif ref in seen:
            message = (f"{where}: duplicate {id_column} {_preview(ref)} (first on line {seen[ref]}); give this row "
                       "its own one")
        else:
            seen[ref] = first
            rows.append((row_no, first, values))
            continue
        rejected += 1
        reject(message)
    if not rows:
        raise KnowledgeBaseError(f"{path}: no usable data rows ({rejected} rejected, see above)" if rejected
                                 else f"{path}: no data rows")
    return rows


def _preview(text: str, limit: int = 40) -> str:
    """A short quoted excerpt of ``text`` for a message (never a whole 200 kB field)."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "…")


def load_faq_csv(path: str | Path, problems: list[str] | None = None) -> list[Document]:
    """One ``Document`` per FAQ row (``id,kerdes,valasz[,question_en,answer_en,tema,forras]``; ``forras`` names
    the public sources that state the row).

    ``page_content`` holds the Hungarian and the English question and answer so that keyword and dense
    search both match a question asked in either language; the separate fields stay in the metadata for
    answering (``kerdes``, ``valasz``, ``question_en``, ``answer_en``, ``tema``). A bad row goes to ``problems``
    and is skipped, or raises :class:`KnowledgeBaseError` when ``problems`` is None (see :func:`_csv_rows`).
    """
    path = Path(path)
    rows = _csv_rows(path, FAQ_REQUIRED, FAQ_OPTIONAL, "id", problems)
    documents = []
    for row_no, _, row in rows:
        metadata = {"source": path.name, "ref": row["id"], "kind": "faq", "row": row_no,
                    **{name: row[name] for name in ("kerdes", "valasz", *FAQ_OPTIONAL)}}
        documents.append(Document(page_content=faq_content(metadata), metadata=metadata))
    return documents


def faq_content(row: dict) -> str:
    """The indexed text of a FAQ row: its Hungarian question and answer, then the English ones it has."""
    parts = [f"Kérdés: {row['kerdes']}", f"Válasz: {row['valasz']}"]
    if row.get("question_en"):
        parts.append(f"Question: {row['question_en']}")
    if row.get("answer_en"):
        parts.append(f"Answer: {row['answer_en']}")
    return "\n".join(parts)


def hungarian_only(documents: list[Document]) -> list[Document]:
    """Copies of ``documents`` with every English text removed: FAQ rows keep only ``kerdes`` and ``valasz`` (in
    the content and the metadata). The index the Week 6 translation experiment searches, so that an English
    question meets Hungarian text only."""
    result = []
    for doc in documents:
        if doc.metadata.get("kind") != "faq":
            result.append(doc)
            continue
        meta = {name: value for name, value in doc.metadata.items() if name not in ("question_en", "answer_en")}
        result.append(Document(page_content=faq_content(meta), metadata=meta))
    return result


def load_todo_csv(path: str | Path, problems: list[str] | None = None) -> list[Document]:
    """One ``Document`` per step of the to-do table (``lepes,ki,mit,mikor[,megjegyzes,forras]``), ref ``lepes-N``.

    Bad rows are handled as in :func:`load_faq_csv`."""
    path = Path(path)
    rows = _csv_rows(path, TODO_REQUIRED, TODO_OPTIONAL, "lepes", problems)
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


def load_txt(path: str | Path, chunk_size: int = CHUNKING["kb_txt"][0],
             chunk_overlap: int = CHUNKING["kb_txt"][1]) -> list[Document]:
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


def load_pdf(path: str | Path, chunk_size: int = CHUNKING["kb_pdf"][0],
             chunk_overlap: int = CHUNKING["kb_pdf"][1]) -> list[Document]:
    """The text of each PDF page as ``Document``s (a long page is chunked), metadata ``page`` (1-based),
    ``ref`` ``page-N`` and ``chunk`` (index in the file, so chunks of one page stay distinguishable).

    A corrupt or encrypted PDF, or one without extractable text (a scan), raises :class:`KnowledgeBaseError`.
    """
    path = Path(path)
    try:
        pages = read_pdf_pages(path)
    except DocumentError as err:
        raise KnowledgeBaseError(str(err)) from None
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


def _hidden(path: Path) -> bool:
    """Dot-files and Office's ``~$`` lock files (hidden on Windows): never someone's knowledge-base content."""
    return path.name.startswith((".", "~$"))


def _unread_reason(path: Path) -> str | None:
    """Why ``path`` in the knowledge-base folder is not loaded, or None when it is loaded or ignored on purpose.

    Silently skipping a file someone put there (a Word document, a subfolder) looks like the bot "forgot" it,
    so those are reported. Ignored without a word: hidden files (dot-files, Office's ``~$`` lock files) and
    ``*.md`` (the bundled ``osszefoglalo_forras.md`` is the source the PDF was made from, the PDF is what is read).
    """
    suffix = path.suffix.lower()
    if _hidden(path) or suffix == ".md":
        return None
    if path.is_dir():
        return (f"{path.name}/: subfolders are not read; put its .csv, .txt and .pdf files in the top folder "
                f"({path.parent.name})")
    if not path.is_file():
        return f"{path.name}: not a regular file (a broken link?); replace it with the file itself"
    if suffix in _READ:
        return None
    kind = f"{suffix} files" if suffix else "files without an extension"
    reason = _UNREAD.get(suffix) or (f"{kind} are not read; the knowledge base reads .csv (FAQ or to-do table), "
                                     ".txt and .pdf")
    return f"{path.name}: {reason}"


def _short(path: Path, message: str) -> str:
    """``message`` reported by file name (``"gyik.csv: line 7: …"``) instead of the full path it starts with."""
    if message.startswith(str(path)):
        return f"{path.name}: {message[len(str(path)):].lstrip(':, ')}"
    return message


def load_knowledge_base(folder: str | Path | None = None) -> tuple[list[Document], list[str]]:
    """All documents of the knowledge base folder (default ``data/szakmai_gyakorlat``) and the problems.

    Loads ``*.csv`` (FAQ or to-do, told apart by the header), ``*.txt`` and ``*.pdf``. Each problem is one line
    starting with the file name: a file that fails (it costs that file only), a CSV row that fails (it costs that
    row only), a file or subfolder that is not read (Word, Excel …; ``*.md`` and hidden files are ignored
    silently), or an empty folder. Everything else still loads.
    """
    folder = Path(folder) if folder is not None else knowledge_base_dir()
    if not folder.is_dir():
        raise KnowledgeBaseError(f"{folder}: knowledge-base folder not found")
    documents: list[Document] = []
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        reason = _unread_reason(path)
        if reason:
            problems.append(reason)
            continue
        suffix = path.suffix.lower()
        if _hidden(path) or suffix not in _READ or not path.is_file():
            continue  # also a hidden ".x.csv", e.g. macOS's "._gyik.csv" resource fork, which is not a table
        found: list[str] = []
        try:
            if suffix == ".csv":
                documents.extend(_csv_loader(path)(path, problems=found))
            elif suffix == ".txt":
                documents.extend(load_txt(path))
            else:
                documents.extend(load_pdf(path))
        except KnowledgeBaseError as err:
            found.append(str(err))
        problems.extend(_short(path, message) for message in found)
    if not documents and not problems:
        problems.append(f"{folder.name}: no documents: the folder has no .csv, .txt or .pdf file")
    return documents, problems


def knowledge_base_health(folder: str | Path | None = None) -> dict:
    """A summary for a check command or an app banner; never raises for a bad knowledge base.

    ``{"folder", "documents": n, "by_source": {file: n}, "problems": [...], "ok": bool}``; ``ok`` means at least
    one document and no problem at all.
    """
    folder = Path(folder) if folder is not None else knowledge_base_dir()
    try:
        documents, problems = load_knowledge_base(folder)
    except KnowledgeBaseError as err:
        documents, problems = [], [str(err)]
    by_source = Counter(doc.metadata.get("source", "?") for doc in documents)
    return {"folder": str(folder), "documents": len(documents), "by_source": dict(sorted(by_source.items())),
            "problems": problems, "ok": bool(documents) and not problems}
