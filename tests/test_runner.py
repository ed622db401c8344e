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
    assert runner.available_labs() == [name for name in runner.LABS if (runner.labs_dir() / f"{name}.ipynb").exists()]
    assert "week1_prompting" in runner.available_labs()


def test_unknown_lab_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No lab 'week9'"):
        runner.run_lab("week9", tmp_path)


def test_cli_reports_errors_without_traceback(capsys, tmp_path):
    assert cli.main(["labs", "--only", "week9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lacibot labs: No lab 'week9'") and "Traceback" not in err
