"""The committed notebooks are fit to read on GitHub: published from a real run, small, and free of what a student
should not have to read past (STYLE.md, EVALUATION.md §10).

For every notebook under ``labs/`` (the labs and their worked solutions): published by ``lacibot labs --publish``
(the run's date and machine in its metadata), at most 1 MB, no machine paths or secrets, no progress widgets or
bars, no warnings, no tracebacks or error outputs, no iframes (a dead Gradio frame on GitHub), and no lines native
libraries print to stderr (the profiler's ``USDT: profiler_start``).
"""
from __future__ import annotations

import json
import re

import pytest

from lacibot_lib import runner

NOTEBOOKS = [runner.labs_dir() / f"{name}.ipynb" for name in runner.available_labs()]
MACHINE_PATH = re.compile(r"/(?:root|tmp|work|Users/[A-Za-z]+|home/[a-z_][a-z0-9_-]*)/")
SECRET = re.compile(r"sk-[A-Za-z0-9_-]{20,}")
WARNING = re.compile(r"\b(?:\w*Warning: |FutureWarning|DeprecationWarning|warnings\.warn\()")
PROGRESS = re.compile(r"\d+(?:\.\d+)?\s?(?:it|s|cell)/s\]|\|[█▏▎▍▌▋▊▉ ]+\|")
NATIVE_LOG = re.compile(r"^(?:USDT|STAGE):\d{4}-\d\d-\d\d ", flags=re.M)


def problems(notebook: dict, size: int) -> list[str]:
    """What is wrong with one committed notebook (an empty list when nothing is)."""
    found = []
    if size > 1_048_576:
        found.append(f"{size:,} bytes (the limit is 1 MB)")
    if "lacibot_run" not in notebook.get("metadata", {}):
        found.append("not published from a run (no lacibot_run metadata: use `lacibot labs --publish`)")
    for index, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(output.get("text", [])) + "".join(
                "".join(value) for key, value in data.items() if key.startswith("text/"))
            where = f"cell {index}"
            checks = {
                "a machine path": MACHINE_PATH.search(text),
                "something that looks like an API key": SECRET.search(text),
                "a warning": WARNING.search(text),
                "a progress bar": PROGRESS.search(text) or "application/vnd.jupyter.widget-view+json" in data,
                "a traceback": output.get("output_type") == "error" or "Traceback (most recent call last)" in text,
                "an iframe": "<iframe" in text,
                "a native library's log line": NATIVE_LOG.search(text),
            }
            found += [f"{where}: {what}" for what, hit in checks.items() if hit]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    found = problems(json.loads(path.read_text(encoding="utf-8")), path.stat().st_size)
    assert not found, f"{path.relative_to(runner.labs_dir().parent)}: " + "; ".join(found[:8])


def test_the_checks_find_each_kind_of_noise():
    def notebook(*texts, **extra):
        outputs = [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]
        return {"metadata": {"lacibot_run": {"date": "2026-11-29"}}, **extra,
                "cells": [{"cell_type": "code", "outputs": outputs}]}

    assert problems(notebook("ROUGE-1 0.31 (0.25–0.37)\n", "Q1: right.\n"), 10) == []
    fake_key = "sk-" + "x" * 24  # built here, so that no key-shaped string is committed
    noisy = notebook("/root/.cache/lacibot/model\n", f"key {fake_key}\n",
                     "/x/modeling_utils.py:3312: FutureWarning: deprecated\n",
                     "Executing: 100%|██████| 21/21 [00:04, 4.1cell/s]\n",
                     "USDT:2026-11-29 00:34:25 30775:30775 SyncActivityProfilerHandler.cpp:52] profiler_start\n",
                     '<iframe src="http://127.0.0.1:7860"></iframe>')
    found = " ".join(problems(noisy, 2_000_000))
    for what in ("1 MB", "machine path", "API key", "warning", "progress bar", "native library", "iframe"):
        assert what in found, what
    assert "not published" in " ".join(problems({"metadata": {}, "cells": []}, 10))
