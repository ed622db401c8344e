"""Re-split the bundled dialogues at random, stratified by domain, with no scenario in two splits.

Usage:
    python split_dialogues.py                      # read --src, write train/validation/test.jsonl and
                                                   # split_manifest.json into --out
    python split_dialogues.py --check              # write nothing; exit 1 if --out is not what the script writes
    python split_dialogues.py --stats stats.md     # also write the before/after statistics as markdown
    python split_dialogues.py --review 40          # also print the 40 most similar pairs below the threshold

Input: ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` in ``--src`` (default: the repo's
data/dialogues), one JSON object a line with ``id``, ``topic``, ``dialogue`` and ``summary``. The three files are
pooled; the split they came in plays no part in the new one (it is only reported as "before").

1. Domain. Every dialogue already has a fine ``topic`` label ("missing parcel", "flu"; 250 distinct labels for 255
   dialogues), too fine to stratify on. Each label is mapped to one of eight coarse domains by DOMAIN_KEYWORDS:
   the domains are tried in the order listed and the first whose keyword occurs in the label (as a word or word
   start) wins, so "travel vaccines" is health and "holiday handover" is work. A label with no keyword falls back
   to the summary: the domain with most keyword hits there (ties: the earlier domain); none at all gives "other".
   Every dialogue's domain and which rule set it are written to the manifest.

2. Scenario groups. Some scenarios were written twice with other names and numbers (two car rentals, two noisy
   neighbours at midnight). Two dialogues are the same scenario when either
   * the cosine similarity of their TF-IDF vectors of content words (dialogue + summary, lower-cased, speaker
     tags, STOPWORDS and words under three letters removed, a plural -s/-ies folded) is at least THRESHOLD; or
   * the pair is listed in SAME_SCENARIO: rewrites that share the situation and its outcome but few words, found
     by reading the most similar pairs below the threshold (``--review``) and pairs with related topic labels.
   Groups are the connected components of these pairs; a group always goes to one split as a whole.

3. Split sizes: test = N // 6, validation = N // 12, train = the rest (192 / 21 / 42 for N = 255, the sizes
   the labs and the README were written against). Each domain's share of every split is fixed first (largest
   remainder, so the totals are exact). Then the groups, ordered by id, are shuffled with
   ``random.Random(SEED)`` and stably sorted by size (largest first, so the pairs are placed while every split
   still has room); each group goes to a split drawn with probability proportional to that split's remaining room
   for the group's domains, among the splits with room for all its members. The singletons placed last fill every
   quota exactly.

Output: the three files (same fields, same order of fields, one object a line, rows ordered by id, UTF-8 without
escapes, as before) and ``split_manifest.json`` (seed, method, sizes, domain counts, groups, ids per split, the
domain of every id). The result depends only on the set of rows, so re-running gives byte-identical files, also
when --src and --out are the same folder. Standard library only.
"""
import argparse
import collections
import itertools
import json
import math
import random
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "data" / "dialogues"
OUT = SRC
SEED = 2026
SPLITS = ("train", "validation", "test")
FIELDS = ("id", "topic", "dialogue", "summary")
# In the gap between the least similar rewrite the measure finds (p1-058 / p3-006, two surprise parties for a
# parent, 0.272) and the most similar pair that is not one scenario (p3-014 / p3-051, a ticket fine and buying a
# metro pass, 0.251); see stats.md for the pairs on both sides.
THRESHOLD = 0.26

# Tried in this order on the topic label; the first domain with a keyword in the label wins.
DOMAIN_KEYWORDS = (
    ("health", ("doctor", "dentist", "pharmac*", "hospital", "flu", "fever", "allerg*", "injur*", "pain",
                "toothache", "eye test", "blood test", "smok*", "snor*", "sleep", "diet", "protein", "dessert",
                "vaccin*", "yoga", "nurse", "symptom*", "physio*")),
    ("work", ("job", "nursing interview", "internship", "salary", "report deadline", "team meeting", "colleague",
              "resign*", "remote work", "performance review", "account lockout", "office printer", "office move",
              "noisy desk", "expense",
              "training course", "retire*", "overtime", "first day", "pitch", "sick day", "promotion",
              "reference request", "video call", "career", "project delay", "payslip", "handover", "dress code",
              "phishing", "missed meeting", "day off", "scheduling software", "stolen credit", "freelance",
              "travel freeze", "laptop setup", "app crash", "manager", "boss")),
    ("study", ("exam*", "essay", "lecture", "module", "thesis", "viva", "seminar", "homework", "scholarship",
               "semester", "major", "plagiarism", "tuition", "graduation", "open day", "science fair",
               "personal statement", "waiting list", "language exchange", "group project", "project meeting",
               "silent floor", "dropping out", "library book", "overdue book*", "course*", "japanese class",
               "parent meeting", "bootcamp", "university", "professor", "student*")),
    ("technology", ("new laptop", "wifi", "computer", "hacked", "cloud", "tablet", "password", "app")),
    ("travel", ("flight*", "airport", "hotel*", "train", "ferry", "taxi", "luggage", "car rental", "bike rental",
                "customs", "currency", "road trip", "holiday", "metro", "ticket inspection", "plane",
                "directions", "lost driver", "visa", "checkout")),
    ("customer service", ("parcel", "order*", "coupon", "florist", "repair*", "cracked phone", "delivery",
                          "warranty", "return*", "exchange", "complaint", "restaurant", "booking", "electricity bill",
                          "phone plan", "lost card", "bank", "subscription", "bakery", "price match", "headphone*",
                          "broadband", "insurance", "parking", "police", "registered letter", "post office",
                          "library card", "lost property", "locked out", "roadside", "theatre tickets", "membership",
                          "wine", "coat", "buying", "flea market", "used", "canteen", "passport", "licence",
                          "streetlight", "roaming", "shop", "refund", "receipt")),
    ("home & family", ("neighbour*", "grocery", "school pickup", "laundry", "chore*", "baking", "babysit*",
                       "guest", "cat*", "dog*", "hamster", "pet*", "pocket money", "leftovers", "cooking dinner",
                       "mower", "moving", "painting", "garage", "screen time", "rent", "flatmate", "roommate",
                       "sublet*", "flat viewing", "deposit", "pipe", "heating", "bathroom", "bin*", "washing up",
                       "splitting bills", "birthday gift", "surprise party", "mum", "dad", "grandma", "landlord")),
    ("social & leisure", ("party", "karaoke", "board game*", "hiking", "camping", "fishing", "cinema", "concert",
                          "football", "tennis", "pottery", "class*", "book club", "photography", "weather", "friend*",
                          "tipping", "splitting bill", "barbecue", "exhibition", "marathon", "cancelled plans",
                          "news")),
)
DOMAINS = tuple(name for name, _ in DOMAIN_KEYWORDS) + ("other",)

# Same scenario, found by reading (see the docstring); each pair with the situation the two share.
SAME_SCENARIO = (
    ("p1-064", "p2-078", "returning a faulty purchase from last week with the receipt: exchange or refund"),
    ("p1-064", "p3-049", "returning a purchase to the shop, which offers an exchange"),
    ("p2-034", "p3-083", "late because of a hospital stay; a hospital letter cancels the penalty"),
    ("p3-042", "p1-071", "flatmates argue about dishes left in the sink and agree on a fix"),
    ("p1-054", "p3-053", "booking places on a cooking class"),
    ("p3-020", "p1-075", "cancelling a membership/subscription; the company offers a way to keep it"),
    ("p1-084", "p3-063", "cancelling a booking because of a fever; it is moved instead of paid for"),
    ("p1-033", "p3-034", "buying something second-hand and bargaining the price down over a flaw"),
    ("p1-037", "p3-034", "buying something second-hand and bargaining the price down over a flaw"),
)

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can can't could did didn't do does doesn't doing don't down during each few for from further get go going
got had has have having he her here hers herself hi him himself his how i i'd i'll i'm i've if in into is isn't it
it's its itself just let let's me more most my myself no nor not now of off oh ok okay on once one only or other
our ours ourselves out over own please really right same she should so some sorry sure than thank thanks that
that's the their theirs them themselves then there there's these they this those through to too two under until
up very was we we'll we're well were what what's when where which while who whom why will with won't would yes you
you're your yours yourself yourselves
""".split())


def id_key(row_id):
    """Sort key: the text before the trailing number, then the number (p1-2 < p1-10 < p2-1)."""
    match = re.fullmatch(r"(.*?)(\d+)", row_id)
    return (match.group(1), int(match.group(2))) if match else (row_id, -1)


def read_rows(src):
    """All rows of the three files, each with the split it came from under ``"_before"``; problems exit."""
    rows = []
    for name in SPLITS:
        path = src / f"{name}.jsonl"
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                sys.exit(f"{path}, line {line_no}: not valid JSON ({err.msg})")
            missing = [f for f in FIELDS if not isinstance(row.get(f), str) or not row[f].strip()]
            if missing:
                sys.exit(f"{path}, line {line_no}: missing or empty field(s) {missing}")
            rows.append({**row, "_before": name})
    ids = [r["id"] for r in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        sys.exit(f"{src}: id(s) used more than once: {repeated}")
    return sorted(rows, key=lambda r: id_key(r["id"]))


# ---------------------------------------------------------------- domains

def _has(text, keyword):
    """``keyword`` as a whole word or phrase in ``text``; a trailing ``*`` also matches longer words."""
    if keyword.endswith("*"):
        return re.search(r"\b" + re.escape(keyword[:-1]), text) is not None
    return re.search(r"\b" + re.escape(keyword) + r"\b", text) is not None


def domain_of(row):
    """``(domain, how)``: how is "label" (keyword in the topic label), "summary" (fallback) or "none"."""
    label = row["topic"].lower()
    for name, keywords in DOMAIN_KEYWORDS:
        if any(_has(label, k) for k in keywords):
            return name, "label"
    summary = row["summary"].lower()
    hits = [(sum(_has(summary, k) for k in keywords), -i, name) for i, (name, keywords) in enumerate(DOMAIN_KEYWORDS)]
    best = max(hits)
    return (best[2], "summary") if best[0] > 0 else ("other", "none")


# ---------------------------------------------------------------- scenario groups

def content_words(text):
    text = re.sub(r"#person\d+#", " ", text.lower())
    words = []
    for word in re.findall(r"[a-z]+(?:'[a-z]+)?", text):
        if word in STOPWORDS or len(word) < 3:
            continue
        word = re.sub(r"'s$", "", word)
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        words.append(word)
    return words


def tfidf_vectors(rows):
    """One unit-length {word: weight} per row: (1 + log tf) * log(N / df) over dialogue + summary."""
    counts = [collections.Counter(content_words(r["dialogue"] + " " + r["summary"])) for r in rows]
    df = collections.Counter(w for c in counts for w in c)
    vectors = []
    for c in counts:
        v = {w: (1 + math.log(n)) * math.log(len(rows) / df[w]) for w, n in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors.append({w: x / norm for w, x in v.items()})
    return vectors


def all_similarities(rows):
    """``[(cosine, id_a, id_b)]`` for every pair, most similar first (ties by id)."""
    vectors = tfidf_vectors(rows)
    pairs = []
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = vectors[i], vectors[j]
        if len(a) > len(b):
            a, b = b, a
        pairs.append((round(sum(x * b.get(w, 0.0) for w, x in a.items()), 6), rows[i]["id"], rows[j]["id"]))
    return sorted(pairs, key=lambda p: (-p[0], id_key(p[1]), id_key(p[2])))


def scenario_groups(rows, similar_pairs):
    """Connected components of the similar pairs plus SAME_SCENARIO, as sorted id lists (singletons included)."""
    parent = {r["id"]: r["id"] for r in rows}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = [(a, b) for _, a, b in similar_pairs] + [(a, b) for a, b, _ in SAME_SCENARIO]
    for a, b in edges:
        if a not in parent or b not in parent:
            sys.exit(f"SAME_SCENARIO names an id that is not in the data: {a} / {b}")
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=id_key)] = min(ra, rb, key=id_key)
    members = collections.defaultdict(list)
    for r in rows:
        members[find(r["id"])].append(r["id"])
    return sorted((sorted(m, key=id_key) for m in members.values()), key=lambda m: id_key(m[0]))


# ---------------------------------------------------------------- the split

def split_sizes(n):
    test, validation = n // 6, n // 12
    return {"train": n - test - validation, "validation": validation, "test": test}


def quotas(domain_counts, sizes):
    """{domain: {split: count}}: proportional, rounded by largest remainder so rows and columns add up exactly."""
    n = sum(domain_counts.values())
    order = sorted(domain_counts, key=DOMAINS.index)
    q = {d: {} for d in order}
    left = dict(domain_counts)
    for split in ("test", "validation"):
        ideal = {d: domain_counts[d] * sizes[split] / n for d in order}
        for d in order:
            q[d][split] = min(math.floor(ideal[d]), left[d])
        short = sizes[split] - sum(q[d][split] for d in order)
        by_remainder = sorted(order, key=lambda d: (-(ideal[d] - math.floor(ideal[d])), -domain_counts[d],
                                                    DOMAINS.index(d)))
        for d in itertools.cycle(by_remainder):
            if short == 0:
                break
            if q[d][split] < left[d]:
                q[d][split] += 1
                short -= 1
        for d in order:
            left[d] -= q[d][split]
    for d in order:
        q[d]["train"] = left[d]
    return q


def assign(groups, domain, sizes):
    """{id: split}. Groups shuffled with SEED, largest first, each to a split drawn by its remaining room."""
    counts = collections.Counter(domain.values())
    room = quotas(counts, sizes)
    rng = random.Random(SEED)
    order = [list(g) for g in groups]
    rng.shuffle(order)
    order.sort(key=len, reverse=True)  # stable: the shuffled order is kept within a size
    result = {}
    for group in order:
        need = collections.Counter(domain[i] for i in group)
        fits = [s for s in SPLITS if all(room[d][s] >= k for d, k in need.items())]
        if fits:
            weights = [sum(room[d][s] for d in need) for s in fits]
            split = rng.choices(fits, weights=weights)[0]
        else:  # cannot happen while singletons are left to fill up; kept so the script never loops
            split = max(SPLITS, key=lambda s: sum(room[d][s] for d in need))
        for d, k in need.items():
            room[d][split] -= k
        result.update({i: split for i in group})
    return result


# ---------------------------------------------------------------- output

def render_split(rows, assignment, split):
    lines = [json.dumps({f: r[f] for f in FIELDS}, ensure_ascii=False)
             for r in rows if assignment[r["id"]] == split]
    return "\n".join(lines) + "\n"


def manifest(rows, assignment, domains, how, groups, similar_pairs):
    by_split = {s: [r["id"] for r in rows if assignment[r["id"]] == s] for s in SPLITS}
    return {
        "seed": SEED,
        "method": ("pooled train+validation+test; scenario groups (TF-IDF cosine of content words >= "
                   f"{THRESHOLD}, plus the reviewed pairs in SAME_SCENARIO) kept in one split; groups shuffled with "
                   "random.Random(seed), largest first, each drawn into a split in proportion to the room left "
                   "for its domain(s); per-domain quotas by largest remainder; sizes test = N // 6, "
                   "validation = N // 12, train = rest"),
        "script": "split_dialogues.py",
        "threshold": THRESHOLD,
        "sizes": {s: len(by_split[s]) for s in SPLITS},
        "domains": {s: dict(sorted(collections.Counter(domains[i] for i in by_split[s]).items(),
                                   key=lambda kv: DOMAINS.index(kv[0]))) for s in SPLITS},
        "groups": [{"ids": g, "split": assignment[g[0]]} for g in groups if len(g) > 1],
        "similar_pairs": [{"ids": [a, b], "cosine": c} for c, a, b in similar_pairs],
        "reviewed_pairs": [{"ids": [a, b], "why": why} for a, b, why in SAME_SCENARIO],
        "ids": by_split,
        "domain_of": {r["id"]: domains[r["id"]] for r in rows},
        "domain_from": {r["id"]: how[r["id"]] for r in rows},
    }


def outputs(rows, assignment, man):
    files = {f"{s}.jsonl": render_split(rows, assignment, s) for s in SPLITS}
    files["split_manifest.json"] = json.dumps(man, ensure_ascii=False, indent=1) + "\n"
    return files


# ---------------------------------------------------------------- statistics

_SENTENCE_END = re.compile(r"(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)[.!?]['\"”’)]*\s+(?=[A-Z#\"“'‘(0-9])")


def sentences(text):
    """Sentence count: ., ! or ? followed by space and a capital, '#' or digit; Mr./Mrs./Ms./Dr./St. are not
    ends, and "a.m. because" is not either (lower-case follows)."""
    return len([p for p in _SENTENCE_END.split(text.strip()) if p.strip()])


def naive_sentences(text):
    """Every ., ! or ? followed by white space counted as a sentence end (miscounts "Mr. Dobson")."""
    return len([p for p in re.split(r"[.!?]\s+", text.strip()) if p.strip()])


def words(text):
    return len(text.split())


def describe(rows, split_of, domains, groups):
    """Markdown lines: sizes, domains, groups across splits, lengths, per split of ``split_of``."""
    by = {s: [r for r in rows if split_of[r["id"]] == s] for s in SPLITS}
    lines = ["| | " + " | ".join(SPLITS) + " | all |", "|---|" + "---:|" * (len(SPLITS) + 1)]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(by[s]) for s in SPLITS) + f" | {fn(rows)} |")

    row("dialogues", lambda rs: str(len(rs)))
    for d in DOMAINS:
        if any(domains[r["id"]] == d for r in rows):
            row(d, lambda rs, d=d: (f"{sum(domains[r['id']] == d for r in rs)} "
                                    f"({100 * sum(domains[r['id']] == d for r in rs) / len(rs):.0f} %)"))

    def mean(values, fmt=".1f"):
        return f"{statistics.mean(values):{fmt}}"

    row("dialogue words, mean (median)", lambda rs: (f"{mean([words(r['dialogue']) for r in rs])} "
                                                    f"({statistics.median([words(r['dialogue']) for r in rs]):g})"))
    row("dialogue words without speaker tags, mean",
        lambda rs: mean([words(re.sub(r"#Person\d+#:", "", r["dialogue"])) for r in rs]))
    row("summary words, mean (median)", lambda rs: (f"{mean([words(r['summary']) for r in rs])} "
                                                   f"({statistics.median([words(r['summary']) for r in rs]):g})"))
    row("summary words, min–max", lambda rs: (f"{min(words(r['summary']) for r in rs)}–"
                                               f"{max(words(r['summary']) for r in rs)}"))
    row("summary / dialogue words, mean of ratios",
        lambda rs: mean([words(r["summary"]) / words(r["dialogue"]) for r in rs], ".3f"))
    row("summary / dialogue words, ratio of totals",
        lambda rs: f"{sum(words(r['summary']) for r in rs) / sum(words(r['dialogue']) for r in rs):.3f}")
    row("summaries of exactly 2 sentences",
        lambda rs: f"{sum(sentences(r['summary']) == 2 for r in rs)} "
                   f"({100 * sum(sentences(r['summary']) == 2 for r in rs) / len(rs):.0f} %)")
    row("… counted naively (every '. ')", lambda rs: str(sum(naive_sentences(r["summary"]) == 2 for r in rs)))
    crossing = [g for g in groups if len(g) > 1 and len({split_of[i] for i in g}) > 1]
    lines.append("")
    lines.append(f"Scenario groups (2+ dialogues) split across train/validation/test: **{len(crossing)}** of "
                 f"{sum(len(g) > 1 for g in groups)}" + (": " + "; ".join(
                     " / ".join(f"{i} ({split_of[i]})" for i in g) for g in crossing) if crossing else ""))
    return lines


def stats_markdown(src, rows, before, after, domains, how, groups, similar_pairs, ranked):
    sentence_counts = collections.Counter(sentences(r["summary"]) for r in rows)
    out = ["# Dialogue data: statistics before and after the re-split", "",
           f"Written by `split_dialogues.py --stats` (seed {SEED}). Words are white-space separated tokens, so a "
           "speaker tag `#Person1#:` counts as one word in a dialogue and `#Person1#` as one in a summary.", "",
           f"## Before: the split of the files in {src}", ""]
    out += describe(rows, before, domains, groups)
    out += ["", f"## After: random, stratified by domain, scenario groups kept together (seed {SEED})", ""]
    out += describe(rows, after, domains, groups)
    out += ["", "## Summary sentences (all 255)", "",
            "Exactly-two-sentence count by sentence rule: " + ", ".join(
                f"{k} sentence(s): {v}" for k, v in sorted(sentence_counts.items())) + ".",
            "The issue's 227 of 255 is what the naive rule gives: it cuts after \"Mr.\", \"Dr.\", \"Ms.\" and "
            "\"a.m.\"; counting those as sentence ends is wrong, and the proper count is "
            f"{sentence_counts[2]}.", "",
            "Not two sentences: " + "; ".join(f"{r['id']} ({sentences(r['summary'])})" for r in rows
                                               if sentences(r["summary"]) != 2) + ".", "",
            "## Scenario groups", "",
            f"Pairs with TF-IDF cosine >= {THRESHOLD}:", ""]
    topic = {r["id"]: r["topic"] for r in rows}
    out += [f"* {a} ({topic[a]}) ~ {b} ({topic[b]}): {c:.3f}" for c, a, b in similar_pairs]
    out += ["", "The next 15 pairs below the threshold (read to find the reviewed pairs; most are not one "
            "scenario):", ""]
    below = ranked[len(similar_pairs):len(similar_pairs) + 15]
    out += [f"* {a} ({topic[a]}) ~ {b} ({topic[b]}): {c:.3f}" for c, a, b in below]
    out += ["", "Reviewed pairs (SAME_SCENARIO):", ""]
    out += [f"* {a} ({topic[a]}) ~ {b} ({topic[b]}): {why}" for a, b, why in SAME_SCENARIO]
    out += ["", "Groups: " + "; ".join(" / ".join(g) + f" → {after[g[0]]}" for g in groups if len(g) > 1), "",
            "## Domain of each topic label", "",
            "Rule: first domain of DOMAIN_KEYWORDS with a keyword in the label; "
            f"{sum(v == 'label' for v in how.values())} of {len(rows)} decided by the label, "
            f"{sum(v == 'summary' for v in how.values())} by the summary fallback, "
            f"{sum(v == 'none' for v in how.values())} 'other'.", ""]
    for d in DOMAINS:
        labels = sorted({topic[r["id"]] for r in rows if domains[r["id"]] == d})
        if labels:
            out.append(f"* **{d}** ({sum(domains[r['id']] == d for r in rows)}): " + ", ".join(labels))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=SRC, help="folder with the three files (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out is not up to date")
    parser.add_argument("--stats", type=Path, default=None, help="also write before/after statistics (markdown)")
    parser.add_argument("--review", type=int, default=0, metavar="N",
                        help="also print the N most similar pairs below the threshold")
    args = parser.parse_args(argv)

    rows = read_rows(args.src)
    decided = {r["id"]: domain_of(r) for r in rows}
    domains = {i: d for i, (d, _) in decided.items()}
    how = {i: h for i, (_, h) in decided.items()}
    ranked = all_similarities(rows)
    similar = [p for p in ranked if p[0] >= THRESHOLD]
    groups = scenario_groups(rows, similar)
    sizes = split_sizes(len(rows))
    after = assign(groups, domains, sizes)
    before = {r["id"]: r["_before"] for r in rows}

    topic = {r["id"]: r["topic"] for r in rows}
    print(f"{len(rows)} dialogues; {len(similar)} pair(s) with cosine >= {THRESHOLD}:")
    for c, a, b in similar:
        print(f"  {c:.3f}  {a} ({topic[a]}, was {before[a]}) ~ {b} ({topic[b]}, was {before[b]})")
    print(f"{len(SAME_SCENARIO)} reviewed pair(s):")
    for a, b, why in SAME_SCENARIO:
        print(f"  {a} ({topic[a]}, was {before[a]}) ~ {b} ({topic[b]}, was {before[b]}): {why}")
    if args.review:
        print(f"next {args.review} pair(s) below the threshold:")
        for c, a, b in ranked[len(similar):len(similar) + args.review]:
            print(f"  {c:.3f}  {a} ({topic[a]}) ~ {b} ({topic[b]})")

    problems = []
    for g in groups:
        if len({after[i] for i in g}) > 1:
            problems.append(f"group {g} is split")
    got = collections.Counter(after.values())
    if any(got[s] != sizes[s] for s in SPLITS):
        problems.append(f"sizes {dict(got)} differ from {sizes}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1

    files = outputs(rows, after, manifest(rows, after, domains, how, groups, similar))
    print("split: " + ", ".join(f"{s} {got[s]}" for s in SPLITS) + f" (seed {SEED}); "
          f"{sum(len(g) > 1 for g in groups)} scenario group(s), none across splits")
    for line in describe(rows, after, domains, groups):
        print(line)
    if args.stats and not args.check:
        args.stats.write_text(stats_markdown(args.src, rows, before, after, domains, how, groups, similar,
                                                   ranked), encoding="utf-8")
        print(f"{args.stats}: written")
    if args.check:
        stale = [name for name, text in files.items()
                 if not (args.out / name).exists() or (args.out / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"{args.out}: out of date ({', '.join(stale)}); run without --check", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"{args.out}: wrote {', '.join(files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
