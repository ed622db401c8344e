"""lacibot_lib.textchecks on hand-written strings."""
from __future__ import annotations

import pytest

from lacibot_lib import textchecks

LOOPING = "the sum of the maximum sum of the maximum sum of the maximum"
NORMAL = "The maximum subarray sum is found with Kadane's algorithm in one pass over the array."


def test_repeated_ngrams_counts_only_repeats():
    # words 1-12 are "sum of the maximum" three times: its 4-gram occurs 3 times, the three shifted ones twice.
    assert textchecks.repeated_ngrams(LOOPING) == {
        ("sum", "of", "the", "maximum"): 3, ("of", "the", "maximum", "sum"): 2,
        ("the", "maximum", "sum", "of"): 2, ("maximum", "sum", "of", "the"): 2}
    assert textchecks.repeated_ngrams(NORMAL) == {}
    assert textchecks.repeated_ngrams("Yes, YES yes", n=1) == {("yes",): 3}  # lowercased, punctuation dropped


def test_is_looping_on_hand_written_strings():
    assert textchecks.is_looping(LOOPING)
    assert not textchecks.is_looping(NORMAL)
    assert not textchecks.is_looping("on the other hand, it rains; on the other hand, it is warm")  # one repeat
    assert not textchecks.is_looping(LOOPING, min_repeats=4)
    assert textchecks.is_looping("no no no no", n=1, min_repeats=4)


def test_distinct_n_worked_values():
    assert textchecks.distinct_n("the cat saw the cat", n=2) == 0.75  # (the cat) twice, (cat saw), (saw the)
    assert textchecks.distinct_n("the cat saw the cat", n=1) == 0.6  # the, cat, saw of 5 words
    assert textchecks.distinct_n("a a a a", n=1) == 0.25
    assert textchecks.distinct_n("hello", n=2) == 1.0  # too short to have a bigram
    assert textchecks.distinct_n("", n=1) == 1.0
    with pytest.raises(ValueError, match="n must be at least 1"):
        textchecks.distinct_n("a b", n=0)


def test_unsupported_facts_brief_example():
    assert textchecks.unsupported_facts("Tom meets Anna at 5", source="Tom: see you at 6") == {
        "numbers": ["5"], "names": ["Anna"], "faithful": False}


def test_unsupported_facts_numbers():
    facts = textchecks.unsupported_facts("Take it every four days.", source="Take one tablet every 45 minutes.")
    assert facts["numbers"] == ["four"] and not facts["faithful"]
    assert textchecks.unsupported_facts("It costs 45.0 euros, about 1,000 forint.",
                                        "Price: 45 EUR (1000 HUF)")["numbers"] == []
    assert textchecks.unsupported_facts("They have four cats.", "They have 4 cats.")["numbers"] == []
    assert textchecks.unsupported_facts("No one came at 3.5 or 12.", "Nobody came at 3.50")["numbers"] == ["12"]


def test_unsupported_facts_names():
    source = "#Person1#: Hi, I'm anna. #Person2#: Nice to meet you, I work at Google in Paris."
    facts = textchecks.unsupported_facts("Anna meets Bob. She tells Bob about Google and Berlin.", source)
    assert facts["names"] == ["Bob", "Berlin"]  # "Anna" opens a sentence; "Google" is in the source
    assert textchecks.unsupported_facts("I think Anna works in Paris.", source) == {
        "numbers": [], "names": [], "faithful": True}


def test_loop_rate():
    texts = [LOOPING, NORMAL, LOOPING, "short"]
    assert textchecks.loop_rate(texts) == 0.5
    assert textchecks.loop_rate(texts, min_repeats=4) == 0.0
    assert textchecks.loop_rate(["a b a b a b"], n=2) == 1.0
    with pytest.raises(ValueError, match="no texts"):
        textchecks.loop_rate([])


def test_continues_dialogue_spots_a_speaker_turn():
    assert textchecks.continues_dialogue("#Person1#: Do you have any sourdough left?")
    assert textchecks.continues_dialogue("  Person2: Sure.")
    assert not textchecks.continues_dialogue("#Person1# asks #Person2# for sourdough.")


def test_copied_phrases_only_counts_what_the_source_lacks():
    examples = ["#Person1# complains about music from the flat downstairs every night."]
    copied = textchecks.copied_phrases("They argue about noise from the flat downstairs every night.", examples,
                                       source="Loud music again!")
    assert copied == ["from the flat downstairs every night"]  # overlapping 4-grams merged into one phrase
    # the same words are fine when the dialogue itself says them
    assert textchecks.copied_phrases("Noise from the flat downstairs.", examples,
                                     source="It comes from the flat downstairs.") == []


def test_copied_phrases_can_ignore_speaker_tags():
    examples = ["#Person1# asks #Person2# to lend a car."]
    output = "#Person1# asks #Person2# to bring a laptop."
    assert textchecks.copied_phrases(output, examples, source="Bring the laptop!") == ["person1 asks person2 to"]
    assert textchecks.copied_phrases(output, examples, source="Bring the laptop!", ignore=("person1", "person2")) == []


# --- citations ---------------------------------------------------------------------------------------------------

SOURCES = ["LoRA freezes the pretrained weights and trains two low-rank matrices A and B.",
           "ROUGE-L uses the longest common subsequence of the two texts."]


def test_citation_after_the_full_stop_belongs_to_the_sentence_before():
    check = textchecks.citation_check("LoRA trains two low-rank matrices. [1] ROUGE-L uses the longest common "
                                      "subsequence. [2]", SOURCES)
    assert [s["cited"] for s in check["sentences"]] == [[1], [2]]
    assert check["cited"] and check["supported"] and check["invalid_markers"] == 0


def test_a_marker_to_a_missing_document_is_invalid():
    check = textchecks.citation_check("LoRA trains low-rank matrices [3].", SOURCES)
    assert not check["cited"] and check["invalid_markers"] == 1 and not check["supported"]


def test_an_uncited_answer_is_not_supported_even_when_true():
    check = textchecks.citation_check("LoRA trains low-rank matrices.", SOURCES)
    assert not check["cited"] and not check["supported"] and check["sentences"][0]["support"] == 0.0


def test_citing_the_wrong_document_is_not_supported():
    check = textchecks.citation_check("LoRA trains low-rank matrices [2].", SOURCES)
    assert check["cited"] and not check["supported"] and check["sentences"][0]["support"] < 0.8


def test_an_invented_number_is_not_supported_by_its_citation():
    check = textchecks.citation_check("LoRA trains 3 low-rank matrices [1].", SOURCES)
    assert check["sentences"][0]["support"] >= 0.8 and not check["supported"]


def test_several_markers_in_one_bracket():
    check = textchecks.citation_check("LoRA trains low-rank matrices; ROUGE-L uses subsequences [1, 2].", SOURCES)
    assert check["sentences"][0]["cited"] == [1, 2] and check["supported"]


def test_key_fact_recall_counts_content_words():
    assert textchecks.key_fact_recall("B starts at zero.", "B starts at zero") == 1.0
    assert textchecks.key_fact_recall("A starts random.", "B starts at zero") == pytest.approx(1 / 3)  # b, starts, zero
    assert textchecks.key_fact_recall("anything", "the of and") == 1.0
