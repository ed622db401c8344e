"""Decoding a user's text file (``lacibot_lib.textfiles``): every encoding case is tested here, once.

The loaders (``data``, ``retrieval.kb``) only pass these messages through with their own exception class; their
tests keep one or two cases showing that.
"""
import codecs
import warnings
from pathlib import Path

import pytest

from lacibot_lib import textfiles
from lacibot_lib.textfiles import EncodingGuessWarning, decode_text_bytes, decode_text_file

HU = "== Díjazás ==\r\nÁrvíztűrő tükörfúrógép: kőműves, fűtő, ŐŰ.\r\nA cég dönt, 2000 Ft óránként.\n"
CP1250_ONLY = "„Idézet” – három pont… Őszi félév.\n"  # „ ” – … are bytes 0x80-0x9F: control characters in Latin-2
POLISH = "Zażółć gęślą jaźń\n"  # ą ś ź are different bytes in Windows-1250 and Latin-2


class MyError(ValueError):
    pass


def _write(tmp_path, raw: bytes, name: str = "note.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def _refused(path, *parts) -> str:
    with pytest.raises(MyError) as err:
        decode_text_file(path, MyError)
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    for part in parts:
        assert part in message, (part, message)
    return message


# --- Unicode: exact, no warning -------------------------------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: t.encode("utf-8-sig"),
    lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    lambda t: t.encode("utf-16-le"),
    lambda t: t.encode("utf-16-be"),
], ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "utf16-le-no-bom", "utf16-be-no-bom"])
def test_unicode_encodings_decode_exactly_without_warning(tmp_path, encode):
    path = _write(tmp_path, encode(HU))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_text_file(path) == HU


@pytest.mark.parametrize("raw", [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_empty_files_are_empty_text(tmp_path, raw):
    assert decode_text_file(_write(tmp_path, raw)) == ""


# --- legacy encodings: decoded with a warning, only when unambiguous ------------------------------------------

@pytest.mark.parametrize("text, codec, named", [
    (HU, "iso-8859-2", "Latin-2 / Windows-1250 (identical for the letters in this file)"),
    (HU, "cp1250", "Latin-2 / Windows-1250"),    # Hungarian letters are the same bytes in both
    (CP1250_ONLY + HU, "cp1250", "Windows-1250 (cp1250)"),  # „ ” – … decide it
    (POLISH, "cp1250", "Windows-1250 (cp1250)"),  # ś is 0x9C in Windows-1250: that decides it too
], ids=["latin2", "cp1250-hungarian", "cp1250-punctuation", "cp1250-polish"])
def test_legacy_encoding_decodes_with_a_warning_naming_file_encoding_and_line(tmp_path, text, codec, named):
    path = _write(tmp_path, text.encode(codec), "legacy.txt")
    with pytest.warns(EncodingGuessWarning) as record:
        assert decode_text_file(path) == text
    (warning,) = record
    message = str(warning.message)
    assert message.startswith(f"{path}: not UTF-8; read it as {named}") and "first non-UTF-8 byte on line 1" in message
    assert "save the whole file as UTF-8" in message and "\n" not in message
    assert warning.filename == __file__, "the warning points at the caller"


def test_legacy_bytes_that_happen_to_form_a_rare_utf8_character_are_not_taken_for_utf8(tmp_path):
    text = "SZŐLŐ” – ÜZEMÉ°\n"  # Ő” is D5 94 in Windows-1250: valid UTF-8 for an Armenian letter
    raw = text.encode("cp1250")
    assert b"\xd5\x94" in raw
    with pytest.warns(EncodingGuessWarning, match="Windows-1250"):
        assert decode_text_file(_write(tmp_path, raw)) == text


def test_bytes_that_differ_between_cp1250_and_latin2_are_refused(tmp_path):
    path = _write(tmp_path, b"plain line\n" + POLISH.encode("iso-8859-2"))
    _refused(path, "not UTF-8, and its bytes 0xB1, 0xB6, 0xBC (first on line 2) are different letters in "
                   "Windows-1250 and Latin-2", "tried UTF-8/UTF-16", "save the whole file as UTF-8")


def test_byte_undefined_in_cp1250_is_refused_with_the_line(tmp_path):
    path = _write(tmp_path, "„Idézet”\n".encode("cp1250") + b"second \x81 line\n")
    _refused(path, f"{path}, line 2: not a readable text file (byte 0x81 means nothing in Windows-1250")


# --- mixed encodings: refused with the line -------------------------------------------------------------------

UTF8_LINES = "== Díjazás ==\nA hallgató fizetése: óránként 2000 Ft.\n".encode()
LATIN2_LINE = "Fizetés: a cég dönt, fűtött irodában.\n".encode("iso-8859-2")


def test_utf8_file_with_a_latin2_line_names_both_lines(tmp_path):
    path = _write(tmp_path, UTF8_LINES + LATIN2_LINE + b"Vege.\n")
    _refused(path, f"{path}, line 3: mixed encodings — this line is not valid UTF-8 (byte 6 of the line; Latin-2 or "
                   f"Windows-1250 text pasted in?), although line 1 has UTF-8 letters",
             "Retype the accented letters on line 3 and save the whole file as UTF-8")


def test_utf8_and_latin2_on_the_same_line(tmp_path):
    path = _write(tmp_path, b"plain ascii\n" + "Fizetés ".encode() + "fűtés\n".encode("iso-8859-2"))
    _refused(path, f"{path}, line 2: mixed encodings", "the same line also has UTF-8 letters")


def test_a_latin2_line_before_the_utf8_ones(tmp_path):
    path = _write(tmp_path, LATIN2_LINE + UTF8_LINES)
    _refused(path, f"{path}, line 1: mixed encodings", "line 2 has UTF-8 letters")


def test_utf8_bom_file_with_a_latin2_line_is_mixed_even_without_other_accents(tmp_path):
    path = _write(tmp_path, codecs.BOM_UTF8 + b"ascii only\n" + LATIN2_LINE)
    _refused(path, f"{path}, line 2: mixed encodings", "the file starts with a UTF-8 byte-order mark",
             "Retype the accented letters on line 2")


# --- not text ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, parts", [
    (bytes(range(256)) * 4, ["contains NUL bytes, so it is not a text file"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40, ["contains NUL bytes"]),  # valid UTF-8, but NULs
    (b"\x89PNG\r\n\x1a\n\x07IHDR\x8f\x81", ["line 3: not a readable text file (byte 0x81 means nothing in"]),
    (b"GIF\x1a\x07\xe9\xe1\xf5 data", ["not a readable text file", "control character U+001A on line 1"]),
    (b"\xb0\xb0\xb0 12345 ;;;; \xb0\xb0 99 %%% \xb0\n", ["not a readable text file", "only 0% of its characters"]),
    (codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"\x00", ["not valid UTF-16 LE (BOM)"]),  # odd length
    (codecs.BOM_UTF16_LE + "a\x00b".encode("utf-16-le"), ["line 1: UTF-16 LE (BOM) text contains NUL"]),
    (codecs.BOM_UTF16_BE + "ok\n\x07".encode("utf-16-be"), ["control character U+0007 on line 2"]),
    ("Szakmai\x01gyakorlat".encode("utf-16-le"), ["UTF-16-LE without a byte-order mark", "U+0001"]),
], ids=["garbage", "png-nul", "png-no-nul", "control-no-nul", "few-letters", "utf16-odd", "utf16-nul", "utf16-control",
        "utf16-no-bom-control"])
def test_binary_or_control_characters_are_refused(tmp_path, raw, parts):
    message = _refused(_write(tmp_path, raw, "broken.txt"), *parts)
    assert "save the whole file as UTF-8" in message  # says what to do


# --- the file itself ------------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    _refused(tmp_path / "nope.txt", f"{tmp_path / 'nope.txt'}: file not found")


def test_folder(tmp_path):
    _refused(tmp_path, "is a folder, not a text file")


def test_unreadable_file(tmp_path, monkeypatch):
    path = _write(tmp_path, b"text")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    _refused(path, f"{path}: cannot be read (Permission denied)")


def test_error_class_defaults_to_value_error(tmp_path):
    with pytest.raises(ValueError, match="file not found") as err:
        decode_text_file(tmp_path / "nope.txt")
    assert type(err.value) is ValueError


def test_decode_text_bytes_names_the_given_file():
    assert decode_text_bytes("ő".encode(), "x.txt") == "ő"
    with pytest.raises(MyError, match=r"^upload\.csv, line 1: mixed encodings"):
        decode_text_bytes("é".encode() + b"\xf5", "upload.csv", MyError)
    with pytest.warns(EncodingGuessWarning, match=r"^upload\.csv: not UTF-8") as record:
        assert decode_text_bytes(b"\xf5", "upload.csv") == "ő"
    assert record[0].filename == __file__


def test_no_package_imports():
    """The module sits at the bottom of the import graph: standard library only."""
    source = Path(textfiles.__file__).read_text(encoding="utf-8")
    assert "lacibot_lib" not in source and "from ." not in source
