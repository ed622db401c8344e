"""The English→Hungarian dictionary layer: dictd parsing, lemma fallbacks, what is kept or dropped, installation."""
from __future__ import annotations

import gzip
import os

import pytest

from lacibot_lib.retrieval import translate

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# Entries as dictfmt writes them (headword /IPA/, then one plain line or numbered senses), with the real data's
# quirks: ô/û for ő/ű, glosses in parentheses, vki/vmi placeholders, a suffix entry under the same index key.
ENTRIES = [
    ("00databaseinfo", "English-Hungarian FreeDict Dictionary\n"),
    ("week", "week /wˈiːk/\nhét\n"),
    ("company", "company /kˈʌmpəni/\n1. társaság\n2. vállalat\n3. cég\n"),
    ("sign", "sign /sˈaɪn/\n1. jel (kártyában)\n2. aláír vmit\n3. ismertetôjel\n"),
    ("cooperation", "cooperation /kəʊˈɒpəɹˈeɪʃən/\negyüttmûködés\n"),
    ("pay", "pay /pˈeɪ/\n1. fizetés\n2. bér\n"),
    ("study", "study /stˈʌdi/\n1. tanulmány\n2. dolgozószoba\n"),
    ("student", "student /stjˈuːdənt/\n1. egyetemi hallgató\n2. hallgató\n"),
    ("note", "note /nˈəʊt/\njegyzet\n"),
    ("not", "not /nˈɒt/\nnem\n"),
    ("use", "use /jˈuːs/\nhasználat\n"),
    ("us", "us /ˈʌs/\nminket\n"),
    ("stop", "stop /stˈɒp/\nmegálló\n"),
    ("make", "make /mˈeɪk/\n1. gyártmány\n2. készít\n"),
    ("a", "a /ˈeɪ/\negy\n"),
    ("a", "a- /ˈeɪ/\n1. -ve\n2. közben\n"),
]


def _b64(n: int) -> str:
    digits = ""
    while True:
        digits = _ALPHABET[n % 64] + digits
        n //= 64
        if not n:
            return digits


def write_dictd(folder) -> None:
    data, index = b"", []
    for key, text in ENTRIES:
        raw = text.encode("utf-8")
        index.append(f"{key}\t{_b64(len(data))}\t{_b64(len(raw))}")
        data += raw
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "freedict-eng-hun.index").write_text("\n".join(sorted(index)) + "\n", encoding="utf-8")
    with gzip.open(folder / "freedict-eng-hun.dict.dz", "wb") as handle:
        handle.write(data)


@pytest.fixture
def tiny(tmp_path):
    write_dictd(tmp_path / "dict")
    return translate.load_dictionary(tmp_path / "dict")


def test_parses_dictd_entries(tiny):
    assert tiny["week"] == ["hét"]
    assert tiny["company"] == ["társaság", "vállalat", "cég"]  # sense numbers gone, order kept
    assert tiny["sign"] == ["jel", "aláír", "ismertetőjel"]  # gloss, placeholder, ô → ő
    assert tiny["cooperation"] == ["együttműködés"]  # û → ű
    assert tiny["a"] == ["egy"] and tiny["a-"] == ["-ve", "közben"]  # headword from the entry, not the index key
    assert not any(key.startswith("00database") for key in tiny)


def test_load_accepts_the_index_file_and_is_cached(tmp_path):
    write_dictd(tmp_path)
    first = translate.load_dictionary(tmp_path / "freedict-eng-hun.index")
    assert translate.load_dictionary(tmp_path) is first


def test_lemma_fallbacks(tiny):
    assert translate.lookup("weeks", tiny) == ["hét"]
    assert translate.lookup("studies", tiny)[0] == "tanulmány"
    assert translate.lookup("Student's", tiny)[0] == "egyetemi hallgató"
    assert translate.lookup("students'", tiny)[0] == "egyetemi hallgató"
    assert translate.lookup("signed", tiny)[0] == "jel"
    assert translate.lookup("signing", tiny)[0] == "jel"
    assert translate.lookup("stopped", tiny) == ["megálló"]
    assert translate.lookup("making", tiny)[0] == "gyártmány"
    assert translate.lookup("paid", tiny)[0] == "fizetés"
    assert translate.lookup("notes", tiny) == ["jegyzet"]  # -s before -es: not "not"
    assert translate.lookup("used", tiny) == ["használat"]  # use, not "us"
    assert translate.lookup("internship", tiny) == []


def test_keeps_numbers_codes_and_unknown_words(tiny):
    out = translate.translate_en_hu("Is VIAUAS00 for BSc or MSc, NDA, IAESTE, 6 weeks in Neptun?", tiny)
    assert out.split() == ["VIAUAS00", "BSc", "MSc", "NDA", "IAESTE", "6", "hét", "Neptun"]


def test_drops_stopwords(tiny):
    assert translate.translate_en_hu("What is the week? Don't I have to do it?", tiny) == "hét"
    assert translate.translate_en_hu("the of and", tiny) == ""


def test_per_word_limit(tiny):
    assert translate.translate_en_hu("company", tiny) == "társaság vállalat"
    assert translate.translate_en_hu("company", tiny, per_word=1) == "társaság"
    assert translate.translate_en_hu("company", tiny, per_word=5) == "társaság vállalat cég"


def test_coverage(tiny):
    assert translate.coverage("Who signs the cooperation agreement?", tiny) == pytest.approx(2 / 3)
    assert translate.coverage("the BSc 2024", tiny) == 1.0  # nothing to translate
    assert translate.coverage("internship", tiny) == 0.0


def test_missing_dictionary_names_path_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path / "cache"))
    assert translate.dictionary_path() == tmp_path / "cache" / "dictionaries" / "freedict-eng-hun"
    with pytest.raises(FileNotFoundError) as err:
        translate.load_dictionary()
    message = str(err.value)
    assert str(translate.dictionary_path()) in message
    assert "make setup" in message and "python -m lacibot_lib.cli setup" in message


def test_install_without_apt_reports_instead_of_raising(tmp_path, monkeypatch):
    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path))
    monkeypatch.setattr(translate.shutil, "which", lambda name: None)
    path, reason = translate.install_dictionary()
    assert path is None and "apt-get" in reason and "\n" not in reason


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake apt-get")
def test_install_reports_a_failed_download(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool, script in {"apt-get": "echo 'E: Unable to locate package dict-freedict-eng-hun' >&2; exit 100",
                         "dpkg-deb": "exit 1"}.items():
        (fake / tool).write_text(f"#!/bin/sh\n{script}\n")
        (fake / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path / "cache"))
    path, reason = translate.install_dictionary()
    assert path is None and "Unable to locate package" in reason and "\n" not in reason


def test_install_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path))
    write_dictd(translate.dictionary_path())
    monkeypatch.setattr(translate.subprocess, "run", lambda *a, **k: pytest.fail("downloaded again"))
    assert translate.install_dictionary() == (translate.dictionary_path(), None)


def test_setup_prints_one_dictionary_line(tmp_path, monkeypatch, capsys):
    from lacibot_lib import cli, models

    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path))
    monkeypatch.setattr(models, "PACKAGED_MODELS", {})
    monkeypatch.setattr(translate.shutil, "which", lambda name: None)
    assert cli.cmd_setup(None) == 0
    assert capsys.readouterr().out.strip() == "dictionary eng-hun: skipped: apt-get and dpkg-deb not found " \
                                              "(the dictionary is a Debian package: Debian/Ubuntu only)"
    installed = lambda quiet=True: (write_dictd(translate.dictionary_path()), (translate.dictionary_path(), None))[1]
    monkeypatch.setattr(translate, "install_dictionary", installed)
    assert cli.cmd_setup(None) == 0
    assert capsys.readouterr().out.strip() == f"dictionary eng-hun: installed at {translate.dictionary_path()}"
    assert cli.cmd_setup(None) == 0
    assert capsys.readouterr().out.strip() == f"dictionary eng-hun: already there at {translate.dictionary_path()}"


@pytest.mark.skipif(not translate.is_installed(), reason="FreeDict eng-hun not installed (run `make setup`)")
def test_real_dictionary():
    real = translate.load_dictionary()
    assert len(real) > 80_000
    assert translate.lookup("weeks", real)[0] == "hét"
    assert translate.lookup("salary", real) == ["fizetés"]
    assert "külföldön" in translate.lookup("abroad", real)
    assert "vállalat" in translate.lookup("company", real)
    assert translate.lookup("cooperation", real) == ["együttműködés"]
    assert translate.lookup("internship", real) == []  # a known gap: kept in English
    out = translate.translate_en_hu("Who signs the cooperation agreement?", real).split()
    assert "együttműködés" in out and "megállapodás" in out
