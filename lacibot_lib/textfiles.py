"""Decoding a user's text file safely: the one place where the bytes of a hand-made file become text.

Students' files come from Notepad, Excel and Word on Hungarian Windows as often as from an editor that writes
UTF-8, so :func:`decode_text_file` reads, in this order:

* a byte-order mark: UTF-8, UTF-16 LE or UTF-16 BE;
* UTF-16 without a byte-order mark, recognised by its NUL-byte pattern (any other NUL byte means binary);
* UTF-8 (strict);
* Windows-1250 / Latin-2 (ISO-8859-2), with an :class:`EncodingGuessWarning` naming the file and the encoding, but
  only when the choice is unambiguous: bytes 0x80-0x9F (letters and „ ” – … in Windows-1250, control characters in
  Latin-2) decide for Windows-1250; without them the file is read as Latin-2 only when each of its bytes means the
  same letter in both (true of all Hungarian letters).

It never decodes with "replace" and refuses rather than guesses: a file that mixes UTF-8 and another encoding (a
line pasted from another program; no single encoding reads it right), bytes that are different letters in the two
legacy encodings, and binary or control-character "text". Every refusal is one line naming the file (and the line
where there is one) and saying what to do; it is raised as the caller's own exception class (``error``), so the
dialogue loader raises ``DataFormatError`` and the knowledge base ``KnowledgeBaseError``.

Only the standard library is imported: this module sits at the bottom of the package's import graph.
"""
from __future__ import annotations

import codecs
import re
import warnings
from collections.abc import Callable
from pathlib import Path

SAVE_AS_UTF8 = "save the whole file as UTF-8 (e.g. in VS Code: 'Save with Encoding' → UTF-8)"
ENCODINGS_TRIED = "UTF-8/UTF-16 byte-order marks, UTF-8, UTF-16 without BOM, Windows-1250, Latin-2 (ISO-8859-2)"

# Order matters: the UTF-8 BOM is checked before the two-byte UTF-16 ones.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (BOM)"),
         (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE (BOM)"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE (BOM)"))
# Control characters never found in a text file; after a legacy or BOM-less UTF-16 decode they mean "binary" or
# "wrong guess" (C1, 0x80-0x9F, is what a UTF-8 or Windows-1250 file read as Latin-2 produces), not text.
_NON_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Bytes 0x80-0x9F are letters and punctuation („ ” – …) in Windows-1250 but control characters in Latin-2.
_CP1250_ONLY = frozenset(range(0x80, 0xA0))
# Bytes that are different letters in the two encodings (e.g. 0xB9: ą vs š); Hungarian letters are not among them.
_CP1250_LATIN2_DIFFER = frozenset(b for b in range(0xA0, 0x100)
                                  if bytes([b]).decode("cp1250") != bytes([b]).decode("iso-8859-2"))
# On a line that is not valid UTF-8, a valid UTF-8 sequence for one of these (Latin letters with accents, typographic
# quotes and dashes, €) is evidence of pasted UTF-8. Legacy bytes almost never form one by chance, and other
# characters (Armenian, C1 controls …) they can form are left out so that a real legacy file is not refused.
_UTF8_EVIDENCE = re.compile("[\u00a0-\u024f\u2010-\u2027\u20ac]")
# A legacy-decoded text with fewer letters among its visible characters is binary or a wrong guess. A low bar:
# text with numbers and punctuation passes, random bytes (mostly symbols and rare letters' neighbours) do not.
_MIN_LETTER_SHARE = 0.3

ErrorClass = Callable[[str], Exception]


class EncodingGuessWarning(UserWarning):
    """A file was not UTF-8 and was decoded with a legacy encoding; the message names the file and the encoding."""


def decode_text_file(path: str | Path, error: ErrorClass = ValueError) -> str:
    """The text of the file ``path``, decoded as described in the module docstring.

    Raises ``error(message)`` (``ValueError`` by default) when the file is missing, unreadable or not decodable
    text; warns with :class:`EncodingGuessWarning` when it was read as Windows-1250 / Latin-2.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a text file") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror or err})") from None
    text, note = _decode(raw, str(path), error)
    if note:
        warnings.warn(note, EncodingGuessWarning, stacklevel=2)
    return text


def decode_text_bytes(raw: bytes, name: str, error: ErrorClass = ValueError) -> str:
    """:func:`decode_text_file` for bytes already read; ``name`` (the file's name) starts every message."""
    text, note = _decode(raw, name, error)
    if note:
        warnings.warn(note, EncodingGuessWarning, stacklevel=2)
    return text


def _line_of(raw: bytes | str, offset: int) -> int:
    """The 1-based line number of position ``offset`` in ``raw``."""
    return raw.count(b"\n" if isinstance(raw, bytes) else "\n", 0, offset) + 1


def _decode(raw: bytes, name: str, error: ErrorClass) -> tuple[str, str | None]:
    """``(text, warning message or None)``; raises ``error`` for anything that is not safely decodable text."""
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            return _decode_with_bom(raw, name, error, codec, label), None

    # NUL bytes never occur in UTF-8 or legacy text: either BOM-less UTF-16 (every other byte) or binary.
    if b"\x00" in raw:
        codec = _utf16_without_bom(raw)
        if codec is None:
            raise error(f"{name}: contains NUL bytes, so it is not a text file (binary? tried {ENCODINGS_TRIED}); "
                        f"{SAVE_AS_UTF8}")
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as err:
            raise error(f"{name}: looks like {codec.upper()} without a byte-order mark but is not valid "
                        f"{codec.upper()} (byte {err.start}); {SAVE_AS_UTF8}") from None
        _check_text(text, name, error, f"{codec.upper()} without a byte-order mark", letters=False)
        return text, None

    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    return _decode_legacy(raw, name, error)


def _decode_with_bom(raw: bytes, name: str, error: ErrorClass, codec: str, label: str) -> str:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as err:
        if codec == "utf-8-sig":
            # The mark says UTF-8, so an invalid byte is a line pasted from another program.
            bad, col, utf8 = _utf8_scan(raw[len(codecs.BOM_UTF8):])
            evidence = _evidence(bad, utf8) if utf8 else "the file starts with a UTF-8 byte-order mark"
            raise error(_mixed_message(name, bad, col, evidence)) from None
        raise error(f"{name}: starts with a {label} mark but is not valid {label} (byte {err.start}: an odd "
                    f"length or a broken character; a line pasted from another program?); {SAVE_AS_UTF8}") from None
    if "\x00" in text:
        raise error(f"{name}, line {_line_of(text, text.index(chr(0)))}: {label} text contains NUL characters, "
                    f"so it is not a text file (binary?); {SAVE_AS_UTF8}")
    if codec != "utf-8-sig":
        _check_text(text, name, error, label, letters=False)
    return text


def _utf16_without_bom(raw: bytes) -> str | None:
    """The ``utf-16-le``/``-be`` codec when the NUL bytes look like BOM-less UTF-16, else ``None``."""
    if len(raw) < 2 or len(raw) % 2:
        return None
    even, odd = raw[0::2], raw[1::2]
    # Latin-script text in UTF-16 has a zero high byte in nearly every code unit; LE stores it second.
    if odd.count(0) >= 0.5 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.5 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _utf8_scan(raw: bytes) -> tuple[int, int, int | None]:
    """``(first line that is not UTF-8, its first bad byte (1-based), first line with UTF-8 letters or None)``
    for ``raw``, known not to be valid UTF-8."""
    bad = col = utf8 = None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            evidence = not line.decode("utf-8").isascii()
        except UnicodeDecodeError as err:
            if bad is None:
                bad, col = number, err.start + 1
            evidence = bool(_UTF8_EVIDENCE.search(line.decode("utf-8", "replace")))
        if utf8 is None and evidence:
            utf8 = number
        if bad is not None and utf8 is not None:
            break
    return bad, col, utf8


def _evidence(bad: int, utf8: int) -> str:
    return "the same line also has UTF-8 letters" if utf8 == bad else f"line {utf8} has UTF-8 letters"


def _mixed_message(name: str, bad: int, col: int, evidence: str) -> str:
    return (f"{name}, line {bad}: mixed encodings — this line is not valid UTF-8 (byte {col} of the line; "
            f"Latin-2 or Windows-1250 text pasted in?), although {evidence}, so reading the file as either "
            f"encoding would garble some accents. Retype the accented letters on line {bad} and {SAVE_AS_UTF8}.")


def _decode_legacy(raw: bytes, name: str, error: ErrorClass) -> tuple[str, str]:
    """Decode a non-UTF-8 file as Windows-1250 / Latin-2 when that is unambiguous, with a warning; else refuse."""
    bad, col, utf8 = _utf8_scan(raw)
    # Accented UTF-8 on one line and invalid UTF-8 on another: decoding everything as Latin-2 would garble the
    # UTF-8 lines, decoding as UTF-8 would garble the other, so refuse and point at the odd line.
    if utf8 is not None:
        raise error(_mixed_message(name, bad, col, _evidence(bad, utf8)))
    high = {b for b in raw if b >= 0x80}
    if high & _CP1250_ONLY:
        codec, label = "cp1250", "Windows-1250 (cp1250)"
    elif high & _CP1250_LATIN2_DIFFER:
        odd = sorted(high & _CP1250_LATIN2_DIFFER)
        first = min(raw.index(bytes([b])) for b in odd)
        listed = ", ".join(f"0x{b:02X}" for b in odd)
        raise error(f"{name}: not UTF-8, and its bytes {listed} (first on line {_line_of(raw, first)}) are different "
                    f"letters in Windows-1250 and Latin-2, so the encoding cannot be told (tried {ENCODINGS_TRIED}); "
                    f"{SAVE_AS_UTF8}")
    else:
        # Every byte in the file means the same letter in both encodings, so the choice cannot go wrong.
        codec, label = "iso-8859-2", "Latin-2 / Windows-1250 (identical for the letters in this file)"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as err:
        raise error(f"{name}, line {_line_of(raw, err.start)}: not a readable text file (byte "
                    f"0x{raw[err.start]:02X} means nothing in {label}; tried {ENCODINGS_TRIED}); "
                    f"{SAVE_AS_UTF8}") from None
    _check_text(text, name, error, label)
    return text, (f"{name}: not UTF-8; read it as {label}, first non-UTF-8 byte on line {bad}. "
                  f"Check the accents, and {SAVE_AS_UTF8} to silence this warning.")


def _check_text(text: str, name: str, error: ErrorClass, label: str, letters: bool = True) -> None:
    """Raise ``error`` unless ``text`` (decoded as ``label``) reads like human-written text: no control characters
    and, with ``letters`` (for a legacy guess, where every byte decodes to something), a fair share of letters."""
    control = _NON_TEXT.search(text)
    if control:
        raise error(f"{name}: not a readable text file (read as {label} it has a control character "
                    f"U+{ord(control.group()):04X} on line {_line_of(text, control.start())}: binary, or another "
                    f"encoding; tried {ENCODINGS_TRIED}); {SAVE_AS_UTF8}")
    if not letters:
        return
    visible = [ch for ch in text if not ch.isspace()]
    share = sum(ch.isalpha() for ch in visible)
    if visible and share < _MIN_LETTER_SHARE * len(visible):
        raise error(f"{name}: not a readable text file (read as {label} only {share * 100 // len(visible)}% of "
                    f"its characters are letters: binary, or another encoding; tried {ENCODINGS_TRIED}); "
                    f"{SAVE_AS_UTF8}")
