"""Check the Laci-bot eval questions and give each one a seeded dev/test split, per kind.

Usage:
    python scripts/split_laci_eval.py            # check, then rewrite data/eval/laci_eval.jsonl
    python scripts/split_laci_eval.py --check    # check only; exit 1 if the file is not up to date

Every line of the file is one JSON object: ``id`` (qNNN), ``question``, ``lang`` ("hu"/"en"), ``kind`` (one of
KINDS), ``history`` (earlier ``{"role", "content"}`` turns of a follow-up, else []), ``expected`` (the
``{"source", "ref"}`` rows that state the answer; ``ref`` "*" = any part of that file; [] for off-topic),
``key_facts`` (knowledge-base substrings an answer must contain; [] for off-topic), ``programme`` / ``level``
(what the question names, or null) and ``counterpart`` (an English question's Hungarian twin, else null).

Checks, before anything is written: ids unique; fields present with allowed values; off-topic questions have no
expected rows or key facts and on-topic ones have both; every ``expected`` row exists in the knowledge base; every
English question's counterpart is a Hungarian question with the same expected rows.

Split, stratified by kind: every kind except "en" is shuffled separately (sorted ids, ``random.Random(2026)``),
the first half "dev", the rest "test"; the Hungarian questions with an English twin form their own stratum. An
English question takes its Hungarian counterpart's split, so a pair is never divided between tuning and
reporting, and both halves get about as many pairs. Re-running gives a byte-identical file.
"""
import argparse
import csv
import random
import sys
from pathlib import Path

from split_course_notes_qa import SEED, SPLITS, id_key, read_questions, refuse, render, with_ids, write_or_check

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "data" / "eval" / "laci_eval.jsonl"
KB = REPO / "data" / "szakmai_gyakorlat"
ON_TOPIC = ("hu", "en", "typo", "no_accents", "follow_up", "programme", "level", "ambiguous")
OFF_TOPIC = ("off_topic_near", "off_topic_far")
KINDS = ON_TOPIC + OFF_TOPIC


def kb_refs(folder=KB):
    """{(source, ref)} of every FAQ row and to-do step, plus (file, "*") for every file."""
    refs = {(path.name, "*") for path in folder.iterdir() if path.is_file()}
    with open(folder / "gyik.csv", encoding="utf-8") as f:
        refs |= {("gyik.csv", row["id"]) for row in csv.DictReader(f)}
    with open(folder / "teendok.csv", encoding="utf-8") as f:
        refs |= {("teendok.csv", f"lepes-{row['lepes']}") for row in csv.DictReader(f)}
    return refs


def problems(questions, refs):
    found = []
    by_id = {q.get("id"): q for q in questions if isinstance(q, dict)}
    for qid, q in with_ids(questions, found):
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            found.append(f"{qid}: missing or empty question")
        if q.get("kind") not in KINDS:
            found.append(f"{qid}: kind {q.get('kind')!r}; use one of {', '.join(KINDS)}")
            continue
        if q.get("lang") not in ("hu", "en"):
            found.append(f"{qid}: lang {q.get('lang')!r}; use hu or en")
        history = q.get("history")
        if not isinstance(history, list) or any(not isinstance(t, dict) or t.get("role") not in ("user", "assistant")
                                                or not isinstance(t.get("content"), str) for t in history):
            found.append(f"{qid}: history must be a list of {{'role': 'user'|'assistant', 'content': text}}")
        expected, facts = q.get("expected"), q.get("key_facts")
        if not isinstance(expected, list) or not isinstance(facts, list):
            found.append(f"{qid}: expected and key_facts must be lists")
            continue
        off = q["kind"] in OFF_TOPIC
        if off and (expected or facts):
            found.append(f"{qid}: an off-topic question has no expected rows or key facts")
        if not off and not (expected and facts):
            found.append(f"{qid}: an on-topic question needs expected rows and key facts")
        for e in expected:
            if (e.get("source"), e.get("ref")) not in refs:
                found.append(f"{qid}: expected {e!r} is not a row of the knowledge base")
        if q["kind"] == "en":
            twin = by_id.get(q.get("counterpart"))
            if twin is None or twin.get("lang") != "hu" or twin.get("expected") != expected:
                found.append(f"{qid}: counterpart {q.get('counterpart')!r} must be a Hungarian question with the "
                             "same expected rows")
    return found


def assign_splits(questions):
    """{id: "dev"|"test"}: per kind, seeded shuffle of the sorted ids, first half dev; "en" follows its twin."""
    splits = {}
    twins = {q["counterpart"] for q in questions if q["kind"] == "en"}
    strata = {}  # kind, and for Hungarian questions whether an English twin follows them (halves both evenly)
    for q in questions:
        if q["kind"] != "en":
            strata.setdefault((q["kind"], q["id"] in twins), []).append(q["id"])
    for ids in strata.values():
        order = sorted(ids, key=id_key)
        random.Random(SEED).shuffle(order)
        n_dev = len(order) // 2
        splits.update({qid: ("dev" if i < n_dev else "test") for i, qid in enumerate(order)})
    for q in questions:
        if q["kind"] == "en":
            splits[q["id"]] = splits[q["counterpart"]]
    return splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the file would change")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default: %(default)s)")
    args = parser.parse_args(argv)
    questions = read_questions(args.questions)
    found = problems(questions, kb_refs())
    if found:
        return refuse(args.questions, found)
    splits = assign_splits(questions)
    summary = f"{len(questions)} questions: " + ", ".join(
        f"{list(splits.values()).count(name)} {name}" for name in SPLITS)
    return write_or_check(args.questions, render(questions, splits), summary, args.check)


if __name__ == "__main__":
    sys.exit(main())
