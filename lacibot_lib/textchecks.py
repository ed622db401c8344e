"""Cheap text-quality checks: loops, low diversity and facts that are not in the source.

They need no model, so they run on every generated text and catch the failures a ROUGE average hides::

    >>> from lacibot_lib import textchecks
    >>> textchecks.is_looping("the sum of the maximum sum of the maximum sum of the maximum")
    True
    >>> textchecks.distinct_n("a b a b", n=2)  # bigrams (a b), (b a), (a b): 2 unique of 3
    0.6666666666666666
    >>> textchecks.unsupported_facts("Tom meets Anna at 5", source="Tom: see you at 6")
    {'numbers': ['5'], 'names': ['Anna'], 'faithful': False}

They are heuristics: a flagged text is worth reading, not automatically wrong (and an unflagged one can still be).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# "Digits with an optional decimal part"; thousands commas are allowed so "1,000" stays one number.
NUMBER_PATTERN = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# Spelled-out numbers, so "every four days" is checked too. "one" is left out: "no one", "the one who" are not
# numbers, and flagging them would bury the real problems. Compounds ("forty-five") are checked word by word.
NUMBER_WORDS = {word: str(value) for value, word in enumerate(
    "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split()) if word != "_"}
NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                     "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000"})
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def repeated_ngrams(text: str, n: int = 4) -> dict[tuple[str, ...], int]:
    """Word n-grams (lowercased) that occur more than once, with their counts.

    >>> repeated_ngrams("I think so. I think so.", n=2)
    {('i', 'think'): 2, ('think', 'so'): 2}
    """
    counts = Counter(_ngrams(_words(text), n))
    return {gram: count for gram, count in counts.items() if count > 1}


def is_looping(text: str, n: int = 4, min_repeats: int = 3) -> bool:
    """True when some word n-gram occurs at least ``min_repeats`` times — the signature of a generation loop.

    One repeat is normal prose ("on the other hand ... on the other hand"); three of the same four words is not.
    """
    return any(count >= min_repeats for count in repeated_ngrams(text, n).values())


def distinct_n(text: str, n: int = 2) -> float:
    """Share of word n-grams that are unique (distinct-n): 1.0 = no repetition; text too short to have any = 1.0.

    >>> distinct_n("the cat saw the cat", n=2)  # (the cat) x2, (cat saw), (saw the): 3 unique of 4
    0.75
    """
    grams = _ngrams(_words(text), n)
    return len(set(grams)) / len(grams) if grams else 1.0


def _normalise_number(number: str) -> str:
    number = number.lower().replace(",", "")
    number = NUMBER_WORDS.get(number, number)
    if "." in number:  # "45.0" and "45.50" are the numbers 45 and 45.5
        number = number.rstrip("0").rstrip(".")
    return number


def _numbers(text: str) -> list[str]:
    """Numbers as written, in order: digit strings and spelled-out number words."""
    digits = [(match.start(), match.group()) for match in NUMBER_PATTERN.finditer(text)]
    words = [(match.start(), match.group()) for match in re.finditer(r"[A-Za-z]+", text)
             if match.group().lower() in NUMBER_WORDS]
    return [number for _, number in sorted(digits + words)]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def unsupported_facts(output: str, source: str) -> dict:
    """Numbers and names in ``output`` that the ``source`` does not contain — likely hallucinations.

    ``numbers``: numbers in the output (as written) whose value is not in the source ("45.0" matches "45").
    ``names``: capitalised words that do not start a sentence (so probably names) and are not words of the source,
    compared case-insensitively. A name that opens a sentence is missed: it cannot be told from "The".

    >>> unsupported_facts("The bus comes every four days.", source="The bus comes every 45 minutes.")
    {'numbers': ['four'], 'names': [], 'faithful': False}
    """
    source_numbers = {_normalise_number(number) for number in _numbers(source)}
    numbers = [number for number in _numbers(output) if _normalise_number(number) not in source_numbers]

    source_words = set(_words(source))
    names = []
    for sentence in SENTENCE_BREAK.split(output):
        for word in re.findall(r"\w+", sentence)[1:]:  # [1:]: a sentence's first word is capitalised anyway
            if word[0].isupper() and word != "I" and word.lower() not in source_words:
                names.append(word)
    numbers, names = _unique(numbers), _unique(names)
    return {"numbers": numbers, "names": names, "faithful": not numbers and not names}


SPEAKER_TURN = re.compile(r"^\s*#?Person\s*\d+#?\s*:", re.IGNORECASE)


def continues_dialogue(output: str) -> bool:
    """True when the "summary" is another dialogue turn ("#Person1#: …") — the model continued, not summarised.

    >>> continues_dialogue("#Person1#: Do you have any sourdough left?"), continues_dialogue("#Person1# buys bread.")
    (True, False)
    """
    return bool(SPEAKER_TURN.match(output))


def copied_phrases(output: str, examples: Iterable[str], source: str, n: int = 4,
                   ignore: Iterable[str] = ()) -> list[str]:
    """Word n-grams of ``output`` taken from the in-context ``examples`` but absent from the ``source`` dialogue.

    A few-shot summary that reuses "from the flat downstairs" from an example, when the dialogue never says it,
    copied the example instead of summarising. Overlapping n-grams are merged into one phrase. n-grams with a
    word from ``ignore`` (lowercase, e.g. the speaker tags ``person1``, ``person2`` every summary uses) never count.

    >>> copied_phrases("They argue about noise from the flat downstairs.",
    ...                ["#Person1# complains about music from the flat downstairs."], "Loud music again!")
    ['from the flat downstairs']
    """
    skip = {word.lower() for word in ignore}
    example_grams = {gram for text in examples for gram in _ngrams(_words(text), n) if not skip & set(gram)}
    source_grams = set(_ngrams(_words(source), n))
    words = _words(output)
    copied = [i for i, gram in enumerate(_ngrams(words, n)) if gram in example_grams and gram not in source_grams]
    phrases: list[list[int]] = []
    for i in copied:
        if phrases and i <= phrases[-1][1]:
            phrases[-1][1] = i + n
        else:
            phrases.append([i, i + n])
    return _unique(" ".join(words[a:b]) for a, b in phrases)


def loop_rate(texts: Iterable[str], **kwargs) -> float:
    """Share of ``texts`` that loop (``is_looping``; keyword arguments are passed on, e.g. ``n=3``)."""
    flags = [is_looping(text, **kwargs) for text in texts]
    if not flags:
        raise ValueError("loop_rate: got no texts")
    return sum(flags) / len(flags)


# --- citations -----------------------------------------------------------------------------------------------------
# A marker is "[n]" not followed by a name or a call: choices[0].message and x[1](y) are code, not citations.
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\](?!\.?[A-Za-z_(])")
# Claims are split where a sentence ends *and* a new one starts (a capital, a bracket or a quote follows), so
# "e.g. the" or "0.75 words" stay in one claim with the marker that ends it.
CLAIM_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])|\n+")
LEADING_CITATIONS = re.compile(r"^(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
# Function words carry no claim: a sentence is supported when its *content* words are in the cited text.
STOP_WORDS = set("""a an the and or but if then than that this these those there their they them it its is are was
were be been being to of in on at by for from with as into about over under so such not no can could may might
must should would will do does did done has have had which who whom whose what when where why how also only just
very more most much many some any each every other both all one your you we our he she his her i me my""".split())


def key_fact_recall(answer: str, fact: str) -> float:
    """Share of the content words of ``fact`` (e.g. a labelled answer quote) that the answer contains.

    >>> key_fact_recall("B starts at zero, so B A = 0.", "B starts at zero")
    1.0
    """
    wanted = set(content_words(fact))
    return len(wanted & set(content_words(answer))) / len(wanted) if wanted else 1.0


def content_words(text: str) -> list[str]:
    """Lowercased words that carry content (not function words, not citation numbers), cut to their first six
    letters so that "parameters" and "parameter" match."""
    return [word[:6] for word in _words(CITATION.sub(" ", text)) if word not in STOP_WORDS and not word.isdigit()]


def citation_check(answer: str, sources: list[str], min_support: float = 0.8) -> dict:
    """Parse an answer's [n] markers and check each sentence against the sources it cites.

    ``sources[n-1]`` is the text of source n (the numbered documents the model saw). For every sentence:
    ``cited`` (the numbers it gives), ``valid`` (all of them exist), ``support`` (the share of its content words
    found in the cited sources) and ``supported`` (valid, support ≥ ``min_support``, no number the cited sources
    lack). A sentence without a marker is uncited and counts as unsupported. The answer ``cited`` when some marker
    is valid, ``supported`` when it has sentences and every one is supported.

    >>> check = citation_check("LoRA trains low-rank matrices [1]. It is free [3].",
    ...                        ["LoRA trains two low-rank matrices."])
    >>> [(s["cited"], s["valid"], round(s["support"], 2)) for s in check["sentences"]], check["supported"]
    ([([1], True, 1.0), ([3], False, 0.0)], False)
    >>> citation_check("LoRA trains low-rank matrices. [1]", ["LoRA trains two low-rank matrices."])["supported"]
    True
    >>> citation_check("Read choices[0].text [1].", ["Read choices[0].text for the answer."])["supported"]
    True
    >>> [s["cited"] for s in citation_check("LoRA trains matrices[1][2].", ["LoRA", "matrices"])["sentences"]]
    [[1, 2]]
    """
    pieces: list[str] = []
    for part in (part.strip() for part in CLAIM_BREAK.split(answer)):
        lead = LEADING_CITATIONS.match(part)
        if lead and pieces:  # "… gradients. [1] Next sentence": the marker belongs to the sentence before it
            pieces[-1] += " " + lead.group().strip()
            part = part[lead.end():].strip()
        pieces.append(part)
    sentences = []
    for text in pieces:
        if not content_words(text):
            continue  # a bare marker or punctuation left over from the split
        cited = [int(n) for group in CITATION.findall(text) for n in re.split(r"\s*,\s*", group)]
        valid = bool(cited) and all(1 <= n <= len(sources) for n in cited)
        cited_text = " ".join(sources[n - 1] for n in cited if 1 <= n <= len(sources))
        words = content_words(text)
        source_words = set(content_words(cited_text))
        support = sum(word in source_words for word in words) / len(words) if cited_text else 0.0
        numbers_ok = not unsupported_facts(CITATION.sub(" ", text), cited_text)["numbers"]
        sentences.append({"text": text, "cited": cited, "valid": valid, "support": support,
                          "supported": valid and support >= min_support and numbers_ok})
    return {"sentences": sentences,
            "cited": any(s["valid"] for s in sentences),
            "invalid_markers": sum(bool(s["cited"]) and not s["valid"] for s in sentences),
            "supported": bool(sentences) and all(s["supported"] for s in sentences)}


# A sentence ends at ".", "!" or "?" (and any closing quote or bracket) followed by a space and a capital, a digit,
# a quote or "#" (the speaker tags start summaries' sentences), but not after a title such as "Mr." or "Dr.".
SENTENCE_END = re.compile(r"(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)[.!?]['\"”’)]*\s+(?=[A-Z#\"“'‘(0-9])")


def sentence_count(text: str) -> int:
    """How many sentences a summary has, not fooled by "Mr." or "a.m." as a split at every ". " would be.

    >>> sentence_count("#Person1# meets Mr. Lee at 9 a.m. on Monday. They agree on a price.")
    2
    """
    return len([part for part in SENTENCE_END.split(text.strip()) if part.strip()])
