"""Word-by-word English→Hungarian dictionary translation: the "translation layer" arm of the Week 6 experiment.

English questions are searched against the Hungarian-only knowledge base; one arm translates the question word
by word with a bilingual dictionary and then runs BM25. No translation model and no network at run time.

Dictionary source: Debian's ``dict-freedict-eng-hun`` (FreeDict English–Hungarian, GPL-2+, ~89 700 headwords,
package 2022.04.21-1). PyPI was checked first and has no real, maintained English–Hungarian word list usable
offline: the dict.cc / Wiktionary packages query web services or parse dumps you must download, and packages
such as ``ipanema`` hold language metadata, not translations. :func:`install_dictionary` (run by
``lacibot setup``) fetches the .deb with ``apt-get download`` and unpacks it with ``dpkg-deb -x``, both without
root, into ``$LACIBOT_CACHE/dictionaries/freedict-eng-hun/``. Without apt (Windows, macOS) it reports why and the
translation arm is skipped.

The dictd files: ``.index`` lines are ``key<TAB>offset<TAB>length`` (offsets in dictd's base64), ``.dict.dz`` is
gzip-readable (dictzip). An entry is ``headword /IPA/`` then one translation, or numbered senses ``1. …``; glosses
stand in parentheses (``alap (pókerban)``). The data carries a Latin-1 legacy of Latin-2: ``ô``/``û`` stand for
``ő``/``ű`` and are repaired here.
"""
from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

PACKAGE = "dict-freedict-eng-hun"
NAME = "freedict-eng-hun"
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_REPAIR = str.maketrans("ôõûÔÕÛ", "őőűŐŐŰ")  # Hungarian never uses ô, õ, û: they are mis-encoded ő, ű
_SENSE = re.compile(r"^\s*\d+\.\s*")
_NOISE = re.compile(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>|\{[^}]*\}")  # glosses, POS tags, notes
_PLACEHOLDER = re.compile(r"\b(?:vki|vmi|vhol|vhova|vhová|vhonnan)\w*", re.IGNORECASE)  # valaki/valami …
_HEAD = re.compile(r"^(.*?)\s*(?:/[^/]*/)?\s*(?:<[^>]*>)?\s*$")  # "abroad /ɐbɹˈɔːd/ <adv>"
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

STOPWORDS = frozenset("""
a an the and or but if then than so as of to in on at by for from with without into onto about over under up down
out off during before after between through per via is am are was were be been being do does did done have has had
having will would shall should can could may might must i me my mine you your yours he him his she her hers it its
we us our ours they them their theirs this that these those there here what which who whom whose when where why
how many much any some all each every no not nor also just only very too there's it's i'm i've i'd i'll you're
don't doesn't didn't can't cannot won't isn't aren't wasn't weren't haven't hasn't shouldn't wouldn't couldn't
""".split())

# A few irregular forms that the suffix rules below cannot undo.
_IRREGULAR = {"paid": "pay", "did": "do", "done": "do", "made": "make", "got": "get", "gone": "go", "went": "go",
              "given": "give", "gave": "give", "taken": "take", "took": "take", "sent": "send", "spent": "spend",
              "written": "write", "wrote": "write", "found": "find", "kept": "keep", "left": "leave",
              "children": "child", "men": "man", "women": "woman", "people": "person"}


def dictionary_path() -> Path:
    """The folder the dictionary is installed into: ``<cache>/dictionaries/freedict-eng-hun`` (the cache folder
    of :class:`~lacibot_lib.settings.Settings`, ``LACIBOT_CACHE``)."""
    from ..settings import get_settings

    return get_settings().cache_dir / "dictionaries" / NAME


def _files(folder: Path) -> tuple[Path, Path]:
    return folder / f"{NAME}.index", folder / f"{NAME}.dict.dz"


def is_installed() -> bool:
    """Whether both dictd files are in :func:`dictionary_path`."""
    return all(f.is_file() for f in _files(dictionary_path()))


def install_dictionary(quiet: bool = True) -> tuple[Path | None, str | None]:
    """Fetch and unpack FreeDict eng-hun into :func:`dictionary_path` once: (path, None) or (None, reason).

    Idempotent. Never raises when apt-get/dpkg-deb are missing or the download fails; the reason is one line.
    """
    target = dictionary_path()
    if is_installed():
        return target, None
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        return None, f"{' and '.join(missing)} not found (the dictionary is a Debian package: Debian/Ubuntu only)"
    out = subprocess.PIPE if quiet else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            got = subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, stdout=out, stderr=out, text=True,
                                 timeout=600)
            debs = sorted(Path(tmp).glob(f"{PACKAGE}_*.deb"))
            if got.returncode != 0 or not debs:
                errors = [ln for ln in (got.stderr or "").splitlines() if ln.startswith("E:")]
                why = errors[-1][2:].strip() if errors else f"exit status {got.returncode}"
                return None, f"apt-get download {PACKAGE} failed: {why} (try `apt-get update` first)"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True, stdout=out,
                           stderr=out, timeout=300)
            version = subprocess.run(["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True,
                                     timeout=60).stdout.strip()
            source = Path(tmp) / "x" / "usr" / "share" / "dictd"
            staging = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=_mkdir(target.parent)))
            staging.chmod(0o755)  # mkdtemp makes it private
            try:  # copy into a staging folder, then rename: an interrupted install leaves no half dictionary
                for f in _files(source):
                    shutil.copy2(f, staging / f.name)
                licence = Path(tmp) / "x" / "usr" / "share" / "doc" / PACKAGE / "copyright"
                if licence.is_file():
                    shutil.copy2(licence, staging / "copyright")
                (staging / "VERSION").write_text(f"{PACKAGE} {version}\n", encoding="utf-8")
                if target.exists():
                    shutil.rmtree(target)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"installing {PACKAGE} failed: {' '.join(str(err).split())}"
    return target, None


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _b64(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64[char]
    return value


def _clean(line: str) -> str:
    """One sense line → a Hungarian translation: no sense number, glosses, tags, placeholders or end marks."""
    text = _PLACEHOLDER.sub(" ", _NOISE.sub(" ", _SENSE.sub("", line.translate(_REPAIR))))
    return " ".join(text.split()).strip(" ,;:.!?")


def parse_entry(entry: str) -> tuple[str, list[str]]:
    """A dictd entry (``headword /IPA/`` then sense lines) → (lowercase headword, translations in order)."""
    lines = [ln for ln in entry.splitlines() if ln.strip()]
    if not lines:
        return "", []
    match = _HEAD.match(lines[0].strip())
    head = (match.group(1) if match else lines[0]).strip().lower()
    senses = [_clean(ln) for ln in lines[1:]]
    return head, [s for s in dict.fromkeys(senses) if s]


def load_dictionary(path: str | Path | None = None) -> dict[str, list[str]]:
    """Headword (lowercase) → Hungarian translations in dictionary order, read from the dictd files (cached).

    ``path`` is the folder holding ``freedict-eng-hun.index``/``.dict.dz`` or the ``.index`` file itself
    (default: :func:`dictionary_path`). Raises FileNotFoundError naming the path and how to install it.
    """
    folder = Path(path) if path is not None else dictionary_path()
    if folder.suffix == ".index":
        folder = folder.parent
    return _load(folder.expanduser().resolve())


@lru_cache(maxsize=4)
def _load(folder: Path) -> dict[str, list[str]]:
    index, data = _files(folder)
    if not (index.is_file() and data.is_file()):
        raise FileNotFoundError(
            f"English–Hungarian dictionary not found at {folder} (needs {index.name} and {data.name}). Install it "
            f"with `make setup` or `python -m lacibot_lib.cli setup` (runs `apt-get download {PACKAGE}`; "
            f"Debian/Ubuntu only).")
    with gzip.open(data) as handle:
        raw = handle.read()
    result: dict[str, list[str]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00database"):
            continue
        start, length = _b64(parts[1]), _b64(parts[2])
        head, senses = parse_entry(raw[start:start + length].decode("utf-8", errors="replace"))
        if head and senses:
            known = result.setdefault(head, [])
            known.extend(s for s in senses if s not in known)
    return result


def _is_code(token: str) -> bool:
    """Numbers and codes kept as they are: VIAUAS00, 2024, BSc, MSc, NDA, IAESTE (a digit, or capitals inside)."""
    return any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:])


def _candidates(word: str) -> list[str]:
    """``word`` (lowercase) and its simple English lemmas: plural, possessive, -ed, -ing, a few irregulars."""
    out = [word]
    if word.endswith("'s") or word.endswith("s'"):
        word = word[:-2] if word.endswith("'s") else word[:-1]
        out.append(word)
    if word in _IRREGULAR:
        out.append(_IRREGULAR[word])
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])  # before -es: notes → note, not "not"
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[: -len(suffix)]
            out += [stem + "e", stem] if suffix == "ed" else [stem, stem + "e"]  # used → use; making → make
            if len(stem) > 2 and stem[-1] == stem[-2]:  # stopped → stop, running → run
                out.append(stem[:-1])
            if suffix == "ed" and stem.endswith("i"):  # applied → apply
                out.append(stem[:-1] + "y")
    return list(dict.fromkeys(out))


def lookup(word: str, dictionary: dict[str, list[str]]) -> list[str]:
    """Hungarian translations of one English word, trying its lemmas in turn; [] when the dictionary lacks it."""
    for candidate in _candidates(word.lower()):
        if dictionary.get(candidate):
            return dictionary[candidate]
    return []


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("’", "'"))


def translate_en_hu(text: str, dictionary: dict[str, list[str]] | None = None, per_word: int = 2) -> str:
    """Word-by-word translation: stopwords dropped, the first ``per_word`` translations of each word kept,
    numbers, codes and unknown words kept unchanged; Hungarian words joined by spaces."""
    dictionary = load_dictionary() if dictionary is None else dictionary
    out: list[str] = []
    for token in _tokens(text):
        if _is_code(token):
            out.append(token)
        elif token.lower() not in STOPWORDS:
            out += lookup(token, dictionary)[:per_word] or [token]
    return " ".join(out)


def coverage(text: str, dictionary: dict[str, list[str]] | None = None) -> float:
    """Share of the words to translate (not stopwords, numbers or codes) that the dictionary knows; 1.0 if none."""
    dictionary = load_dictionary() if dictionary is None else dictionary
    words = [t for t in _tokens(text) if not _is_code(t) and t.lower() not in STOPWORDS]
    return sum(bool(lookup(w, dictionary)) for w in words) / len(words) if words else 1.0
