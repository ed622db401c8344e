"""Check the questions the course notes do NOT answer and give each one a seeded dev/test split, per kind.

Usage:
    python scripts/split_course_notes_uncovered.py            # check, then rewrite the question file
    python scripts/split_course_notes_uncovered.py --check    # check only; exit 1 if the file is not up to date

These questions calibrate the Week 4 bot's "I don't know" threshold: it should refuse them, while still answering
the covered questions of data/eval/course_notes_qa.jsonl. Every line of the file is one JSON object with ``id``,
``question``, ``kind`` ("near": an LLM/ML/GPU/chatbot question the notes do not answer; "far": an everyday
off-domain question), ``why_uncovered`` (one sentence: what the notes say nearby and why it is not an answer)
and ``lang`` ("en" or "hu").

Checks, before anything is written: ids are present and unique; every field above is present and non-empty
text; ``kind`` and ``lang`` have one of the allowed values; and no question repeats another one of this file or
a question of the covered file verbatim (ignoring case and surrounding spaces). If a check fails the script
prints the question's id and what is wrong and exits with status 1 without touching the file.

Split, stratified by kind: for each kind separately its ids are sorted (numerically: un2 before un10) and
shuffled with a fresh ``random.Random(2026)``; the first half is "dev" and the rest "test" (with an odd count,
test gets the extra one). Any existing ``split`` value is ignored and overwritten, and the file is rewritten
ordered by id, so the output depends only on the set of questions: the script is deterministic and re-running it
gives a byte-identical file. Adding questions of a kind reshuffles the split of that kind; run the script after
every edit of the question file.

Standard library only.
"""
import argparse
import random
import sys
from pathlib import Path

# The id ordering and the JSONL reading are the covered-questions script's own, so both files sort alike.
from split_course_notes_qa import QUESTIONS as COVERED
from split_course_notes_qa import SEED, SPLITS, id_key, read_questions, refuse, render, with_ids, write_or_check

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "data" / "eval" / "course_notes_uncovered.jsonl"
KINDS = ("near", "far")
LANGS = ("en", "hu")
TEXT_FIELDS = ("question", "kind", "why_uncovered", "lang")


def normalised(question):
    return question.strip().casefold()


def problems(questions, covered, covered_name=COVERED.name):
    """One message per failed check (empty when all pass)."""
    found, asked = [], {}
    covered_questions = {normalised(q["question"]): q.get("id", "?") for q in covered
                         if isinstance(q, dict) and isinstance(q.get("question"), str)}
    for qid, q in with_ids(questions, found):
        missing = [name for name in TEXT_FIELDS if not isinstance(q.get(name), str) or not q[name].strip()]
        if missing:
            found.append(f"{qid}: missing or empty field(s) {', '.join(missing)}")
            continue
        if q["kind"] not in KINDS:
            found.append(f"{qid}: kind {q['kind']!r}; use one of {', '.join(KINDS)}")
        if q["lang"] not in LANGS:
            found.append(f"{qid}: lang {q['lang']!r}; use one of {', '.join(LANGS)}")
        key = normalised(q["question"])
        if key in covered_questions:
            found.append(f"{qid}: the question is also covered question {covered_questions[key]} "
                         f"({covered_name}): {q['question']!r}")
        if key in asked:
            found.append(f"{qid}: the same question as {asked[key]}: {q['question']!r}")
        asked.setdefault(key, qid)
    return found


def assign_splits(questions):
    """{id: "dev" or "test"}: per kind, a seeded shuffle of its sorted ids, first half dev, the rest test."""
    splits = {}
    for kind in KINDS:
        order = sorted((q["id"] for q in questions if q["kind"] == kind), key=id_key)
        random.Random(SEED).shuffle(order)
        n_dev = len(order) // 2
        splits.update({qid: ("dev" if i < n_dev else "test") for i, qid in enumerate(order)})
    return splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the file would change")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default: %(default)s)")
    parser.add_argument("--covered", type=Path, default=COVERED,
                        help="covered questions, none of which may be repeated (default: %(default)s)")
    args = parser.parse_args(argv)

    questions = read_questions(args.questions)
    found = problems(questions, read_questions(args.covered), args.covered.name)
    if found:
        return refuse(args.questions, found)
    splits = assign_splits(questions)
    summary = f"{len(questions)} questions: " + "; ".join(
        f"{kind} " + ", ".join(f"{sum(q['kind'] == kind and splits[q['id']] == name for q in questions)} {name}"
                               for name in SPLITS)
        for kind in KINDS)
    return write_or_check(args.questions, render(questions, splits), summary, args.check)


if __name__ == "__main__":
    sys.exit(main())
