"""Execute the labs with papermill — shared by ``make labs`` and the notebook tests — and write a report.

``run_lab`` executes one notebook (the ``parameters`` cell is overridden, e.g. ``SMOKE=True``) and reads back the
metrics it recorded; ``run_labs`` runs several into ``runs/<timestamp>/`` and writes ``report.md`` with each lab's
metrics and the plots it drew.
"""
from __future__ import annotations

import base64
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .results import format_value, read_claims, read_recorded
from .settings import repo_root

LABS = ("week1_prompting", "week2_finetune", "week3_cuda_rag", "week4_gradio", "week6_rag_translation")
# Each lab's worked solutions (labs/solutions/weekN_solutions.ipynb), run and published like the labs.
SOLUTIONS = tuple(f"solutions/{lab.split('_')[0]}_solutions" for lab in LABS)


@dataclass
class LabRun:
    name: str
    output: Path
    seconds: float
    metrics: dict = field(default_factory=dict)
    error: str | None = None


def labs_dir() -> Path:
    return repo_root() / "labs"


def available_labs() -> list[str]:
    """The labs, then their solution notebooks, that exist in this checkout (names relative to ``labs/``)."""
    return [name for name in LABS + SOLUTIONS if (labs_dir() / f"{name}.ipynb").exists()]


def _use_this_environments_kernel() -> None:
    # Jupyter looks in JUPYTER_PATH first: this makes "python3" mean the kernel installed in this venv,
    # even if the user has another "python3" kernelspec in ~/.local.
    venv_share = str(Path(sys.prefix) / "share" / "jupyter")
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if venv_share not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([venv_share, *[p for p in paths if p]])


def run_lab(name: str, output_dir: str | Path, parameters: dict | None = None, smoke: bool = False,
            timeout_s: int = 1800, progress: bool = True) -> LabRun:
    """Execute ``labs/<name>.ipynb`` into ``output_dir`` and return its recorded metrics."""
    import papermill as pm

    _use_this_environments_kernel()
    source = labs_dir() / f"{name}.ipynb"
    if not source.exists():
        raise FileNotFoundError(f"No lab {name!r}: {source} does not exist. Labs: {', '.join(available_labs())}")
    output = Path(output_dir) / f"{name}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)  # the output folder, with solutions/… kept as a subfolder
    params = {"SMOKE": smoke, **(parameters or {})}
    started = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(str(source), str(output), parameters=params, kernel_name="python3",
                            cwd=str(source.parent), execution_timeout=timeout_s, progress_bar=progress,
                            request_save_on_cell_execute=True)
    except pm.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue} (cell {err.exec_count})"
    seconds = time.perf_counter() - started
    metrics = read_recorded(output) if output.exists() else {}
    return LabRun(name=name, output=output, seconds=seconds, metrics=metrics, error=error)


def extract_figures(notebook: Path, figures_dir: Path, prefix: str) -> list[Path]:
    """Save every PNG a notebook drew into ``figures_dir``; return the files in order."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    figures_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                path = figures_dir / f"{prefix}_{len(saved) + 1:02d}.png"
                path.write_bytes(base64.b64decode(png))
                saved.append(path)
    return saved


def write_report(runs: list[LabRun], out_dir: Path, smoke: bool) -> Path:
    """``report.md``: the machine, per lab its status and runtime, the claims ledger of all labs, then each lab's
    recorded metrics and figures."""
    from .timing import describe_machine

    lines = [f"# Laci-bot labs — run report ({datetime.now():%Y-%m-%d %H:%M})", "",
             f"Mode: {'smoke' if smoke else 'full'} parameters, on {describe_machine()}. Every number below was "
             "recorded by the executed notebook in this folder.", "", "| lab | status | minutes |", "|---|---|---|"]
    for run in runs:
        status = "ok" if run.error is None else f"FAILED: {run.error}"
        lines.append(f"| [{run.name}]({run.name}.ipynb) | {status} | {run.seconds / 60:.1f} |")
    lines += ["", "## Course claims", "", "| lab | claim | verdict | evidence |", "|---|---|---|---|"]
    for run in runs:
        for claim in (read_claims(run.output) if run.output.exists() else []):
            cells = [run.name, claim["statement"], claim["verdict"], claim["evidence"]]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    for run in runs:
        lines += ["", f"## {run.name}", "", "| metric | value |", "|---|---|"]
        for key, value in run.metrics.items():
            lines.append(f"| {key} | {format_value(value)} |")
        figures = (extract_figures(run.output, out_dir / "figures", run.name.replace("/", "_"))
                   if run.output.exists() else [])
        lines += [""] + [f"![{run.name} figure {i}](figures/{f.name})" for i, f in enumerate(figures, 1)]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def run_labs(names: list[str] | None = None, out_root: str | Path | None = None, smoke: bool = False,
             parameters: dict | None = None) -> tuple[Path, list[LabRun]]:
    """Run several labs into ``runs/<timestamp>/`` and write the report; returns (report path, runs)."""
    names = names or available_labs()
    out_root = Path(out_root) if out_root else repo_root() / "runs"
    out_dir = out_root / datetime.now().strftime("%Y%m%d-%H%M%S")
    runs = []
    for index, name in enumerate(names, start=1):
        print(f"[{index}/{len(names)}] {name} …", flush=True)
        run = run_lab(name, out_dir, parameters=parameters, smoke=smoke)
        print(f"    {'done' if run.error is None else 'FAILED'} in {run.seconds / 60:.1f} min"
              + (f": {run.error}" if run.error else ""), flush=True)
        runs.append(run)
    return write_report(runs, out_dir, smoke), runs


RUNTIME_LINE = re.compile(r"^\*\*Runtime\.\*\* .*$", re.M)


def runtime_line(info: dict) -> str:
    """The line a lab's first cell states its runtime with, from the run's metadata (see :func:`read_run_info`)."""
    return (f"**Runtime.** About {info['minutes']:.0f} min for the committed run on {info['machine']} "
            f"({info['date']}).")


def publish_notebook(executed: str | Path, destination: str | Path, seconds: float | None = None) -> Path:
    """Copy an executed notebook over its lab, made fit for git: no machine paths, no widget state, no
    papermill bookkeeping. The outputs stay those of the real run; the notebook's metadata keeps when, on which
    machine and (``seconds``) how long it ran, so the README can quote it (see :func:`read_run_info`)."""
    import nbformat

    from .timing import describe_machine

    nb = nbformat.read(str(executed), as_version=4)
    replacements = [(str(repo_root()), "."), (str(Path.home()), "~"), (sys.prefix, "<venv>")]
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]

    def clean(text: str) -> str:
        for old, new in replacements:
            text = text.replace(old, new)
        return text

    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            data = output.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            for key in ("text/plain", "text/html", "text/markdown"):
                if key in data:
                    data[key] = clean(data[key] if isinstance(data[key], str) else "".join(data[key]))
            if "traceback" in output:
                output["traceback"] = [clean(line) for line in output["traceback"]]
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["lacibot_run"] = {"date": datetime.now().date().isoformat(), "machine": describe_machine(),
                                  **({"minutes": round(seconds / 60, 1)} if seconds is not None else {})}
    first = nb.cells[0] if nb.cells and nb.cells[0].cell_type == "markdown" else None
    if first is not None and seconds is not None and RUNTIME_LINE.search(first.source):  # the lab states its runtime
        line = runtime_line(nb.metadata["lacibot_run"])
        first.source = RUNTIME_LINE.sub(lambda _: line, first.source)
    destination = Path(destination)
    nbformat.write(nb, str(destination))
    return destination


def read_run_info(notebook: str | Path) -> dict:
    """When, where and how long a published lab ran (written by :func:`publish_notebook`); ``{}`` if unknown."""
    import nbformat

    return dict(nbformat.read(str(notebook), as_version=4).metadata.get("lacibot_run", {}))


# What the README quotes from the committed labs: (lab, what it is, metric path "name.key.key", format).
README_RESULTS = [
    ("week1_prompting", "hand-written decoder block vs SmolLM2, largest error over all steps",
     "decoder_block_max_error", ".1e"),
    ("week1_prompting", "test strict ROUGE-1, zero-shot", "strict_rouge1_by_shots.0.mean", ".3f"),
    ("week1_prompting", "test strict ROUGE-1, 6-shot (mean of example draws)", "strict_rouge1_by_shots.6.mean", ".3f"),
    ("week1_prompting", "zero-shot outputs that continue the dialogue (share)", "continuation_rate_by_shots.0", ".2f"),
    ("week2_finetune", "test ROUGE-1, zero-shot (all test dialogues)", "rouge1_test.zero_shot.mean", ".3f"),
    ("week2_finetune", "k of the best prompting setting (chosen on validation)", "best_k", "d"),
    ("week2_finetune", "test ROUGE-1, best prompting setting (k chosen on validation)",
     "rouge1_test.best_prompting.mean", ".3f"),
    ("week2_finetune", "test ROUGE-1, full fine-tuning", "rouge1_test.full.mean", ".3f"),
    ("week2_finetune", "test ROUGE-1, LoRA", "rouge1_test.lora.mean", ".3f"),
    ("week2_finetune", "test ROUGE-1, LoRA, 95 % CI low", "rouge1_test.lora.low", ".3f"),
    ("week2_finetune", "test ROUGE-1, LoRA, 95 % CI high", "rouge1_test.lora.high", ".3f"),
    ("week2_finetune", "test ROUGE-1, LoRA minus zero-shot (paired)", "paired_test_rouge1.lora_vs_zero_shot.diff",
     "+.3f"),
    ("week2_finetune", "LoRA trainable share (%)", "lora_summary.trainable_pct", ".2f"),
    ("week2_finetune", "adapter on disk (MB)", "lora_summary.disk_mb", ".1f"),
    ("week2_finetune", "full model on disk (MB)", "full_summary.disk_mb", ".0f"),
    ("week2_finetune", "forgetting probes answered, base model", "forgetting_scores.base", ".2f"),
    ("week3_cuda_rag", "CPU training step, full (s)", "timing_training_s_per_step.cpu/full", ".2f"),
    ("week3_cuda_rag", "CPU training step, LoRA (s)", "timing_training_s_per_step.cpu/lora", ".2f"),
    ("week3_cuda_rag", "bf16 ÷ fp32 speed on this CPU, prefill", "bf16_gain.prefill", ".2f"),
    ("week3_cuda_rag", "bf16 ÷ fp32 speed on this CPU, decode", "bf16_gain.decode", ".2f"),
    ("week3_cuda_rag", "validation ROUGE-1, best prompting setting (the line to beat)", "baseline_val_rouge1.mean",
     ".3f"),
    ("week3_cuda_rag", "validation ROUGE-1, LoRA after the last epoch (mean of seeds)", "lora_val_rouge1_last_epoch",
     ".3f"),
    ("week3_cuda_rag", "course-notes retrieval, test hit@3 (chunk contains the answer)", "chunking_test.hit@3.mean",
     ".3f"),
    ("week3_cuda_rag", "same, random ranking", "chunking_test.random_hit@3", ".3f"),
    ("week3_cuda_rag", "distinct subsections in the top 5, MMR", "retrieval_diversity.mmr", ".2f"),
    ("week3_cuda_rag", "distinct subsections in the top 5, similarity", "retrieval_diversity.similarity", ".2f"),
    ("week4_gradio", "generated answers that loop (test, setting chosen on dev)", "loop_test.rate", ".0%"),
    ("week4_gradio", "quoted answers supported by their citations (test)", "citations_test.extractive.supported",
     ".0%"),
    ("week4_gradio", "generated answers supported by their citations (test)", "citations_test.generated.supported",
     ".0%"),
    ("week4_gradio", "'I don't know' threshold from dev, balanced accuracy on test",
     "threshold.test_balanced_accuracy", ".2f"),
    ("week4_gradio", "20 concurrent chats, local model: p95 full answer (s)", "app_load.local.p95_s", ".0f"),
    ("week4_gradio", "20 concurrent chats, local model: p95 first text (s)", "app_load.local.first_token_p95_s",
     ".0f"),
    ("week6_rag_translation", "strict hybrid hit@3 (test, settings chosen on dev)", "strict_test_headline.hit@3.mean",
     ".3f"),
    ("week6_rag_translation", "strict hybrid hit@3, 95 % CI low", "strict_test_headline.hit@3.low", ".3f"),
    ("week6_rag_translation", "strict hybrid hit@3, 95 % CI high", "strict_test_headline.hit@3.high", ".3f"),
    ("week6_rag_translation", "strict hit@3 of a random ranking", "strict_test_headline.hit@3.random", ".3f"),
    ("week6_rag_translation", "strict hybrid MRR (test)", "strict_test_headline.mrr.mean", ".3f"),
    ("week6_rag_translation", "warm search p50 (ms)", "latency_ms.p50", ".1f"),
    ("week6_rag_translation", "answers with all key facts (test)", "key_facts_test.mean", ".0%"),
    ("week6_rag_translation", "off-topic questions given the easter egg (test)",
     "easter_egg_test.off_topic_caught.mean", ".0%"),
    ("week6_rag_translation", "on-topic questions wrongly given the easter egg (test)",
     "easter_egg_test.on_topic_wrongly_egged", ".1%"),
    ("week6_rag_translation", "English questions, Hungarian-only index: dense MRR",
     "translation_experiment.dense, English.mrr", ".2f"),
    ("week6_rag_translation", "same, their Hungarian twins (oracle): dense MRR",
     "translation_experiment.dense, Hungarian twin (oracle).mrr", ".2f"),
    ("week6_rag_translation", "same, BM25 after the dictionary translation: MRR",
     "translation_experiment.BM25, dictionary-translated.mrr", ".2f"),
]


def metric_at(metrics: dict, path: str):
    """``metrics["a"]["b"]`` for the path ``"a.b"``; keys may contain "/" (``timing.cpu/full``)."""
    value = metrics
    for part in path.split("."):
        value = value[part]
    return value


def results_table(folder: str | Path | None = None) -> str:
    """The README's results block, built from the committed labs in ``folder`` (default ``labs/``): runtimes,
    the quoted metrics and every course claim's verdict. ``tests/test_committed_results.py`` checks that the
    README holds exactly this text, so the README cannot drift from the runs."""
    folder = Path(folder) if folder else labs_dir()
    lines = ["| lab | run | minutes | machine |", "|---|---|---|---|"]
    metrics, claims = {}, []
    for name in LABS:
        notebook = folder / f"{name}.ipynb"
        info = read_run_info(notebook)
        lines.append(f"| {name} | {info.get('date', '?')} | {info.get('minutes', '?')} | {info.get('machine', '?')} |")
        metrics[name] = read_recorded(notebook)
        claims += [(name, claim) for claim in read_claims(notebook)]
    lines += ["", "| lab | result | value |", "|---|---|---|"]
    for name, label, path, fmt in README_RESULTS:
        lines.append(f"| {name} | {label} | {format(metric_at(metrics[name], path), fmt)} |")
    lines += ["", "| lab | course claim | verdict | evidence |", "|---|---|---|---|"]
    for name, claim in claims:
        evidence = claim["evidence"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {name} | {claim['statement']} | **{claim['verdict']}** | {evidence} |")
    return "\n".join(lines)


README_MARKERS = ("<!-- results:start (written by `lacibot results --update-readme`) -->", "<!-- results:end -->")


def update_readme(readme: str | Path | None = None) -> Path:
    """Rewrite the block between :data:`README_MARKERS` in README.md with :func:`results_table`."""
    readme = Path(readme) if readme else repo_root() / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"{readme}: the results markers are missing; add the lines {start!r} and {end!r}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{results_table()}\n{end}{tail}", encoding="utf-8")
    return readme
