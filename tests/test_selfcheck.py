"""Self-checks and quizzes, tested both ways: a right answer is confirmed, a wrong one gets the explanation."""
import re
from pathlib import Path

import pytest

from lacibot_lib import selfcheck

NOTES = Path(__file__).resolve().parent.parent / "data" / "course_notes" / "course_notes.md"
SMOL = {"layers": 30, "kv_heads": 3, "head_dim": 64, "query_heads": 9}   # SmolLM2-135M's config


# (check, inputs, the right answer worked out here, {a typical wrong answer: words its explanation must contain})
CASES = [
    ("lora_parameters", {"d_in": 576, "d_out": 192, "r": 8, "matrices": 30}, 30 * 8 * (576 + 192),
     {30 * 576 * 192: "full weight matrix", 8 * (576 + 192): "one matrix", 30 * 64: "r × r"}),
    ("kv_cache_bytes", SMOL, 23_040,
     {69_120: "multi-head formula", 11_520: "counts numbers, not bytes", 46_080: "32-bit", 11_520 * 1: "bytes"}),
    ("softmax_temperature", {"logits": [2.0, 0.0], "temperature": 0.5}, 0.982,
     {0.881: "at T = 1", 0.731: "multiplied by T"}),
    ("rrf_score", {"ranks": (1, 3), "k": 1}, 0.75, {0.5: "one list only", 1 + 1 / 3: "constant k"}),
    ("optimiser_steps", {"examples": 8, "batch_size": 4, "epochs": 8}, 16,
     {64: "examples seen", 2: "one epoch"}),
    ("mrr_at_k", {"ranks": [1, 2, None, 6], "depth": 5}, (1 + 0.5) / 4,
     {(1 + 0.5 + 1 / 6) / 4: "count 0", (1 + 0.5) / 2: "stays in the average"}),
    ("balanced_accuracy", {"answered": 30, "covered": 35, "refused": 6, "uncovered": 16}, (30 / 35 + 6 / 16) / 2,
     {36 / 51: "plain accuracy", 30 / 35: "only the share of covered", 6 / 16: "only the share of uncovered"}),
    ("invalid_citations", {"markers": [1, 3, 3, 2], "sources": 2}, 2,
     {4: "counts every marker", 1: "repeated invalid marker"}),
]


@pytest.mark.parametrize("name, inputs, right, wrongs", CASES, ids=[c[0] for c in CASES])
def test_a_right_answer_is_confirmed_and_a_typical_wrong_one_is_explained(name, inputs, right, wrongs):
    result = selfcheck.check(name, right, **inputs)
    assert result.ok and str(result).startswith("✓ Right."), result
    for wrong, words in wrongs.items():
        result = selfcheck.check(name, wrong, **inputs)
        assert not result.ok, f"{name}: {wrong} was accepted"
        assert words in str(result), f"{name}: the explanation of {wrong} lacks {words!r}: {result}"
        assert selfcheck.CHECKS[name].explain(**inputs) in str(result), "the right working is shown"
    odd = selfcheck.check(name, right * 7 + 3, **inputs)
    assert not odd.ok and "is not it" in str(odd)


def test_blank_and_non_numbers_are_not_wrong_answers_but_prompts():
    blank = selfcheck.check("rrf_score", None, ranks=(1,), k=60)
    assert not blank.ok and blank.text.startswith("… Fill in your answer")
    assert "Not a number: 'seventy'" in selfcheck.check("rrf_score", "seventy", ranks=(1,), k=60).text
    with pytest.raises(KeyError, match="no self-check called .lora.; there are: .*kv_cache_bytes"):
        selfcheck.check("lora", 1)


def test_every_quiz_is_graded_both_ways():
    for lab, questions in selfcheck.QUIZZES.items():
        letters = {n: selfcheck.shown(lab, n)[1] for n in range(1, len(questions) + 1)}
        result = selfcheck.grade_quiz(lab, letters)
        assert result.ok and result.text.startswith(f"{len(questions)} of {len(questions)} right"), result
        for n, letter in letters.items():
            wrong = next(chr(97 + i) for i in range(len(questions[n - 1].options)) if chr(97 + i) != letter)
            result = selfcheck.grade_quiz(lab, {**letters, n: wrong})
            assert not result.ok and questions[n - 1].why in result.text
        assert "not answered yet" in selfcheck.grade_quiz(lab, {}).text
        assert "is not one of the letters" in selfcheck.grade_quiz(lab, {1: "z"}).text
        with pytest.raises(ValueError, match="no question"):
            selfcheck.grade_quiz(lab, {99: "a"})


def test_quiz_shows_every_option_once_and_the_right_answers_are_not_all_one_letter():
    for lab, questions in selfcheck.QUIZZES.items():
        text = selfcheck.quiz(lab)
        for number, q in enumerate(questions, 1):
            options, letter = selfcheck.shown(lab, number)
            assert sorted(options) == sorted(q.options)
            assert options[ord(letter) - 97] == q.options[ord(q.answer) - 97]
            assert all(option in text for option in q.options)
        assert len({selfcheck.shown(lab, n)[1] for n in range(1, len(questions) + 1)}) > 1


def test_quiz_explanations_cite_course_notes_sections_that_exist():
    sections = set(re.findall(r"^###\s+(\d+\.\d+)\s", NOTES.read_text(encoding="utf-8"), flags=re.M))
    for lab, questions in selfcheck.QUIZZES.items():
        for q in questions:
            cited = re.findall(r"§(\d+\.\d+)", q.why)
            assert set(cited) <= sections, f"{lab}: {q.text!r} cites {cited}, not all in the notes"


def test_the_docstring_examples_run():
    import doctest

    from lacibot_lib import textchecks
    for module in (selfcheck, textchecks):
        assert doctest.testmod(module).failed == 0, module.__name__
