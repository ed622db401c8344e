"""The written teaching material agrees with what the labs run on.

* The course notes' numbers for the labs' own model (KV cache per token, grouped-query heads, SwiGLU hidden size,
  weights per layer) are recomputed from the packaged model's config.
* Every lab links the course-notes sections it uses, and every link lands on a heading that exists.
* The dialogue split is the one ``scripts/split_dialogues.py`` writes: seed stored, no scenario in two splits.
"""
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from test_docs import anchors

from lacibot_lib import data, textchecks

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "data" / "course_notes" / "course_notes.md"
DIALOGUES = REPO / "data" / "dialogues"
LABS = ("week1_prompting", "week2_finetune", "week3_cuda_rag", "week4_gradio", "week6_rag_translation")


def notes_anchors() -> set[str]:
    return anchors(NOTES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def smol_config():
    from lacibot_lib.models import resolve_model_source
    return json.loads((Path(resolve_model_source("smollm2-135m-instruct")) / "config.json").read_text())


def test_course_notes_numbers_for_smollm2_match_its_config(smol_config):
    """§1.5, §1.8 and §7.5 quote SmolLM2-135M's sizes; each is recomputed here from the config."""
    notes = " ".join(NOTES.read_text(encoding="utf-8").split())
    c = smol_config
    layers, d, heads, kv = (c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"],
                            c["num_key_value_heads"])
    head_dim, ffn = d // heads, c["intermediate_size"]
    kv_numbers, mha_numbers = 2 * layers * kv * head_dim, 2 * layers * d
    attention = 2 * d * d + 2 * d * kv * head_dim          # W_Q and W_O, W_K and W_V
    ffn_weights = 3 * d * ffn                               # gate, up, down
    expected = [
        f"SmolLM2-135M ({heads} and {kv}) use GQA",
        f"d_model {d}, {heads} query heads and {kv} key/value heads of head_dim {head_dim}",
        f"each key/value head serves {heads // kv} query heads",
        f"W_Q and W_O are {d} x {d}, W_K and W_V {d} x {kv * head_dim}",
        f"2 x {layers} layers x {kv} x {head_dim} = {kv_numbers:,} numbers per token instead of MHA's {mha_numbers:,}",
        f"({ffn_weights:,} of {attention + ffn_weights:,})",
        f"SmolLM2-135M: {ffn:,} = 8/3 x {d}",
        f"2 x {layers} x {kv} x {head_dim} x 2 = {kv_numbers * 2:,} bytes per token in 16-bit",
        f"the {mha_numbers * 2:,} that 2 x {layers} x {d} x 2 would give",
        f"its full {c['max_position_embeddings']:,}-token context needs about "
        f"{round(kv_numbers * 2 * c['max_position_embeddings'] / 1e6)} MB",
    ]
    assert ffn == round(8 / 3 * d), "the notes call SmolLM2's FFN size 8/3 x d_model"
    assert mha_numbers == 3 * kv_numbers, "the notes say the cache is a third of multi-head attention's"
    missing = [phrase for phrase in expected if phrase not in notes]
    assert not missing, f"course_notes.md no longer states (or now misstates) these config-derived facts: {missing}"


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_links_the_course_notes_sections_it_uses_and_the_glossary(lab):
    notebook = json.loads((REPO / "labs" / f"{lab}.ipynb").read_text(encoding="utf-8"))
    markdown = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    links = re.findall(r"\]\(\.\./data/course_notes/course_notes\.md#([^)]+)\)", markdown)
    assert len(links) >= 5, f"{lab}: links {len(links)} course-notes sections; expected the ones it uses (≥ 5)"
    broken = sorted(set(links) - notes_anchors())
    assert not broken, f"{lab}: links to course-notes headings that do not exist: {broken}"
    assert "](GLOSSARY.md)" in markdown, f"{lab}: no link to the Hungarian–English glossary"


def load_split_script():
    spec = importlib.util.spec_from_file_location("split_dialogues", REPO / "scripts" / "split_dialogues.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_split_of() -> dict[str, str]:
    return {json.loads(line)["id"]: split for split in ("train", "validation", "test")
            for line in (DIALOGUES / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()}


def test_no_dialogue_scenario_is_in_two_splits_and_the_seed_is_stored():
    script = load_split_script()
    split_of = committed_split_of()
    rows = script.read_rows(DIALOGUES)
    similar = [pair for pair in script.all_similarities(rows) if pair[0] >= script.THRESHOLD]
    groups = [g for g in script.scenario_groups(rows, similar) if len(g) > 1]
    assert len(groups) >= 10, "the script finds the rewritten scenarios (15 when this test was written)"
    crossing = [g for g in groups if len({split_of[i] for i in g}) > 1]
    assert not crossing, f"scenario groups across splits: {crossing}"
    manifest = json.loads((DIALOGUES / "split_manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == script.SEED
    assert {i: s for s, ids in manifest["ids"].items() for i in ids} == split_of


def test_the_split_script_check_fails_when_a_scenario_crosses_splits(tmp_path, capsys):
    """--check passes on the committed files and fails on a copy where one rewrite moved to another split."""
    script = load_split_script()
    assert script.main(["--check"]) == 0
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "split_manifest.json"):
        shutil.copy(DIALOGUES / name, tmp_path / name)
    test_lines = (tmp_path / "test.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    moved = next(line for line in test_lines if json.loads(line)["id"] == "p3-077")  # a car-rental rewrite
    (tmp_path / "test.jsonl").write_text("".join(line for line in test_lines if line != moved), encoding="utf-8")
    with (tmp_path / "train.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(moved)
    capsys.readouterr()
    assert script.main(["--src", str(tmp_path), "--out", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_summary_facts_the_labs_print_agree_with_the_data_card():
    """Week 2 prints the summaries' length and shape; the data card states them; both come from the files."""
    rows = [r for split in data.load_dialogues(None).values() for r in split]
    script = load_split_script()
    counts = [textchecks.sentence_count(r["summary"]) for r in rows]
    assert counts == [script.sentences(r["summary"]) for r in rows], "the library and the split script count alike"
    words = [len(r["summary"].split()) for r in rows]
    card = (DIALOGUES / "README.md").read_text(encoding="utf-8")
    assert f"{sum(c == 2 for c in counts)} of {len(rows)} summaries" in card
    assert f"| summary, words | {sum(words) / len(words):.1f} |" in card


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_opens_with_objectives_prerequisites_and_its_measured_runtime(lab):
    from lacibot_lib import runner

    path = REPO / "labs" / f"{lab}.ipynb"
    first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    assert "**Learning objectives.**" in first and "**Prerequisites.**" in first
    objectives = re.findall(r"^\d\. ", first.split("**Prerequisites.**")[0], flags=re.M)
    assert 3 <= len(objectives) <= 5, f"{lab}: {len(objectives)} learning objectives (the course asks for 3–5)"
    assert runner.runtime_line(runner.read_run_info(path)) in first, \
        f"{lab}: the runtime line is not the committed run's (publish the lab with `lacibot labs --publish`)"


@pytest.mark.parametrize("lab", ("week2_finetune", "week3_cuda_rag"))
def test_the_gpu_weeks_colab_cell_is_a_no_op_here_and_installs_the_pins_without_torch_on_colab(lab, tmp_path,
                                                                                                 monkeypatch):
    """Colab itself cannot be reached from here; this runs the cell against a stand-in: outside Colab it does
    nothing, with an empty ``REPO_URL`` it stops with a message naming it, and with one it clones, installs every
    pinned package except torch (Colab's CUDA build must stay) and moves into the clone's ``labs`` folder."""
    import subprocess
    import types

    cells = json.loads((REPO / "labs" / f"{lab}.ipynb").read_text(encoding="utf-8"))["cells"]
    codes = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    source = next(code for code in codes if "google.colab" in code)
    source = source.replace("/content", str(tmp_path))
    calls = []

    def fake_run(args, cwd=None, check=False):
        calls.append(list(args))
        if args[:2] == ["git", "clone"]:
            (tmp_path / "lacibot" / "labs").mkdir(parents=True)
            shutil.copy(REPO / "requirements.txt", tmp_path / "lacibot" / "requirements.txt")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(source, {})
    assert calls == [], "outside Colab the cell must do nothing"

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(ValueError, match="REPO_URL"):
        exec(source, {})
    exec(source.replace('REPO_URL = ""', 'REPO_URL = "https://example.org/lacibot.git"'), {})
    assert calls[0][:2] == ["git", "clone"] and "https://example.org/lacibot.git" in calls[0]
    pins = (tmp_path / "requirements-colab.txt").read_text().splitlines()
    assert pins and not any(p.startswith("torch==") for p in pins)
    assert "transformers" in " ".join(pins)
    assert sum("pip" in c and "install" in c for c in calls) == 3
    assert Path.cwd() == tmp_path / "lacibot" / "labs"
