"""Check the course-notes retrieval questions and give each one a seeded dev/test split.

Usage:
    python scripts/split_course_notes_qa.py            # check, then rewrite data/eval/course_notes_qa.jsonl
    python scripts/split_course_notes_qa.py --check    # check only; exit 1 if the file is not up to date

Every line of the question file is one JSON object with ``id``, ``question``, ``section`` (a ``## `` heading
of data/course_notes/course_notes.md, exactly), ``subsection`` (a ``### `` heading under it, exactly, or null
when the answer sits directly under the ``## `` heading), ``answer_quote`` and ``lang``.

Checks, before anything is written: ids are present and unique, every section/subsection equals a heading of
the notes, and every ``answer_quote`` occurs verbatim in the text of its subsection (from its heading line to
the next heading of any level). If a check fails the script prints the question's id (and the quote that was
not found) and exits with status 1 without touching the file.

Split: the ids are sorted (numerically: cn2 before cn10), shuffled with ``random.Random(2026)``; the first half
is "dev" and the rest "test" (with an odd count, test gets the extra one). Any existing ``split`` value is
ignored and overwritten, and the file is rewritten ordered by id, so the output depends only on the set of
questions: the script is deterministic and re-running it gives a byte-identical file. Adding questions
reshuffles the split of all of them; run the script after every edit of the question file.

Standard library only.
"""
import argparse
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "data" / "course_notes" / "course_notes.md"
QUESTIONS = REPO / "data" / "eval" / "course_notes_qa.jsonl"
SEED = 2026
SPLITS = ("dev", "test")
HEADING = re.compile(r"^(#{1,3}) +(.*?)\s*$")


def subsection_texts(notes_text):
    """{(section, subsection or None): text from the heading line up to the next heading of any level}."""
    texts, key, body, section = {}, None, [], None
    for line in notes_text.splitlines():
        match = HEADING.match(line)
        if not match:
            body.append(line)
            continue
        if key is not None:
            texts[key] = "\n".join(body)
        level, title = len(match.group(1)), match.group(2)
        if level == 1:
            key, section = None, None
        elif level == 2:
            key, section = (title, None), title
        else:
            key = (section, title) if section is not None else None
        body = [line]
    if key is not None:
        texts[key] = "\n".join(body)
    return texts


def id_key(qid):
    """Sort key: the text before the trailing number, then the number (cn2 < cn10 < cn100)."""
    match = re.fullmatch(r"(.*?)(\d+)", qid)
    return (match.group(1), int(match.group(2))) if match else (qid, -1)


def read_questions(path):
    questions = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(json.loads(line))
        except json.JSONDecodeError as err:
            sys.exit(f"{path}, line {line_no}: not valid JSON ({err.msg})")
    return questions


def with_ids(questions, found):
    """``(id, question)`` for each question that is a JSON object with an id; other lines and ids used twice are
    reported in ``found``."""
    seen = set()
    for q in questions:
        if not isinstance(q, dict):
            found.append(f"a line is not a JSON object: {q!r}")
            continue
        qid = q.get("id")
        if not isinstance(qid, str) or not qid:
            found.append(f"a question has no id: {q!r}")
            continue
        if qid in seen:
            found.append(f"{qid}: the id is used twice")
        seen.add(qid)
        yield qid, q


def problems(questions, texts):
    """One message per failed check (empty when all pass)."""
    found = []
    for qid, q in with_ids(questions, found):
        section, subsection, quote = q.get("section"), q.get("subsection"), q.get("answer_quote")
        if not isinstance(section, str) or (section, None) not in texts:
            found.append(f"{qid}: section {section!r} is not a '## ' heading of {NOTES.name}")
            continue
        if subsection is not None and (not isinstance(subsection, str) or (section, subsection) not in texts):
            found.append(f"{qid}: subsection {subsection!r} is not a '### ' heading under {section!r}")
            continue
        if not isinstance(quote, str) or not quote.strip():
            found.append(f"{qid}: missing or empty answer_quote")
        elif quote not in texts[(section, subsection)]:
            found.append(f"{qid}: answer_quote not found verbatim in {subsection or section!r}: {quote!r}")
    return found


def assign_splits(ids):
    """{id: "dev" or "test"}: seeded shuffle of the sorted ids, first half dev, the rest (the larger half) test."""
    order = sorted(ids, key=id_key)
    random.Random(SEED).shuffle(order)
    n_dev = len(order) // 2
    return {qid: ("dev" if i < n_dev else "test") for i, qid in enumerate(order)}


def render(questions, splits):
    """The file's new text: one JSON object a line, ordered by id, with ``split`` set (added last if new)."""
    lines = [json.dumps({**q, "split": splits[q["id"]]}, ensure_ascii=False)
             for q in sorted(questions, key=lambda q: id_key(q["id"]))]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the file would change")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default: %(default)s)")
    parser.add_argument("--notes", type=Path, default=NOTES, help="course notes (default: %(default)s)")
    args = parser.parse_args(argv)

    questions = read_questions(args.questions)
    found = problems(questions, subsection_texts(args.notes.read_text(encoding="utf-8")))
    if found:
        return refuse(args.questions, found)
    splits = assign_splits([q["id"] for q in questions])
    summary = f"{len(questions)} questions: " + ", ".join(
        f"{list(splits.values()).count(name)} {name}" for name in SPLITS)
    return write_or_check(args.questions, render(questions, splits), summary, args.check)


def refuse(path, found):
    """Print the problems found in ``path``; exit status 1, nothing written."""
    print("\n".join(found), file=sys.stderr)
    print(f"{path}: {len(found)} problem(s); nothing written", file=sys.stderr)
    return 1


def write_or_check(path, text, summary, check):
    """Write ``text`` to ``path`` (or, with ``check``, only say whether the file already holds it)."""
    if check:
        if path.read_text(encoding="utf-8") != text:
            print(f"{path}: splits or order out of date; run without --check", file=sys.stderr)
            return 1
        print(f"{path}: up to date ({summary})")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"{path}: wrote {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
