import base64

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lacibot_lib import cli, runner
from lacibot_lib.results import MIME_TYPE

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def _executed(tmp_path, name):
    nb = new_notebook()
    nb.cells = [new_code_cell("x", outputs=[
        new_output("display_data", data={MIME_TYPE: {"name": "rouge1", "value": 0.31}, "text/plain": "rouge1"}),
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})])]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_report_gathers_metrics_and_figures(tmp_path):
    run = runner.LabRun("week1_prompting", _executed(tmp_path, "week1_prompting"), 90.0, {"rouge1": 0.31})
    failed = runner.LabRun("week2_finetune", tmp_path / "missing.ipynb", 3.0, {}, error="ValueError: boom (cell 4)")
    report = runner.write_report([run, failed], tmp_path, smoke=True)
    text = report.read_text()
    assert "| rouge1 | 0.31 |" in text and "FAILED: ValueError: boom" in text and "smoke" in text
    assert (tmp_path / "figures" / "week1_prompting_01.png").read_bytes().startswith(b"\x89PNG")
    assert "figures/week1_prompting_01.png" in text


def test_every_lab_in_the_list_exists():
    assert runner.available_labs() == [name for name in runner.LABS + runner.SOLUTIONS
                                       if (runner.labs_dir() / f"{name}.ipynb").exists()]
    assert runner.SOLUTIONS[0] == "solutions/week1_solutions"
    assert "week1_prompting" in runner.available_labs()


def test_unknown_lab_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No lab 'week9'"):
        runner.run_lab("week9", tmp_path)


def test_cli_reports_errors_without_traceback(capsys, tmp_path):
    assert cli.main(["labs", "--only", "week9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lacibot labs: No lab 'week9'") and "Traceback" not in err


def test_publish_cleans_the_notebook_and_states_the_measured_runtime(tmp_path):
    from nbformat.v4 import new_markdown_cell

    from lacibot_lib.settings import repo_root

    nb = new_notebook()
    first = "# Lab\n\n**Runtime.** About 99 min for the committed run on an old machine.\n\nNext."
    nb.cells = [new_markdown_cell(first),
                new_code_cell("SMOKE = False", metadata={"tags": ["injected-parameters"]}),
                new_code_cell("print(path)", outputs=[new_output("stream", name="stdout",
                                                                  text=f"{repo_root()}/data/x.csv\n")])]
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    published = nbformat.read(runner.publish_notebook(executed, tmp_path / "lab.ipynb", seconds=600), as_version=4)
    info = runner.read_run_info(tmp_path / "lab.ipynb")
    assert info["minutes"] == 10.0 and info["machine"]
    assert runner.runtime_line(info) in published.cells[0].source and "99 min" not in published.cells[0].source
    assert published.cells[0].source.endswith("\n\nNext.")
    assert len(published.cells) == 2 and published.cells[1].outputs[0]["text"] == "./data/x.csv\n"


@pytest.mark.parametrize("name", runner.available_labs())
def test_every_parameter_papermill_can_set_is_one_it_reads(name):
    """papermill reads a lab's ``parameters`` cell to know what ``-p`` may set; a line it cannot parse (e.g. a
    second ``=`` in a comment) is logged as "Unable to parse line" and silently dropped from ``--help-notebook``."""
    import ast

    import papermill

    path = runner.labs_dir() / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets]
    assert assigned, f"{path.name}: the parameters cell sets nothing"
    read = list(papermill.inspect_notebook(str(path)))
    assert read == assigned, f"{path.name}: papermill reads the parameters {read}, the cell sets {assigned}"
