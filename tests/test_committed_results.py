"""The README cannot drift from the runs: every number it states is read back from the committed labs.

Measured numbers live only in the README's results block, which must equal what ``lacibot results`` builds from
the committed notebooks' recorded metrics; the prose elsewhere states no measurement.
"""
from __future__ import annotations

import re

from lacibot_lib import runner
from lacibot_lib.settings import repo_root

README = repo_root() / "README.md"
# A measurement: a number followed by a unit of time, size, speed or share.
MEASUREMENT = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:%|min\b|ms\b|s\b|MB\b|GB\b|×|GFLOP|TFLOP|tok/s)")


def _block_and_prose() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    start, end = runner.README_MARKERS
    assert start in text and end in text, "README.md lost its results markers"
    head, rest = text.split(start, 1)
    block, tail = rest.split(end, 1)
    return block.strip(), head + tail


def test_readme_results_block_is_read_from_the_committed_labs():
    block, _ = _block_and_prose()
    assert block == runner.results_table(), "README results are stale: run `lacibot results --update-readme`"


def test_readme_quotes_every_lab_and_claim():
    block, _ = _block_and_prose()
    for lab in runner.LABS:
        assert f"| {lab} |" in block
    assert block.count("**supported**") + block.count("**not supported**") + block.count("**not testable here**") >= 6


def test_readme_prose_states_no_measurement_outside_the_block():
    _, prose = _block_and_prose()
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # commands and code, not claims
    prose = re.sub(r"`[^`]*`", "", prose)
    prose = prose.replace("95 %", "")  # a confidence level, not a measurement
    found = MEASUREMENT.findall(prose)
    assert not found, f"README prose states measurements that no test reads back: {found[:10]}"
