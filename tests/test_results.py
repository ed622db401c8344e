import math

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lacibot_lib import results


def test_record_outside_ipython_prints(capsys):
    assert results.record("rouge1", 0.25) is None
    assert "rouge1 = 0.25" in capsys.readouterr().out


def test_record_converts_numpy_and_nan(capsys):
    import numpy as np

    results.record("x", {"a": np.float32(0.5), "b": [float("nan")]})
    assert "x = a=0.5, b=[None]" in capsys.readouterr().out
    with pytest.raises(TypeError):
        results.record("bad", object(), display=False)


def test_read_recorded_from_a_notebook(tmp_path):
    nb = new_notebook()
    payload = {results.MIME_TYPE: {"name": "m", "value": 1}, "text/plain": "m = 1"}
    later = {results.MIME_TYPE: {"name": "m", "value": 2}, "text/plain": "m = 2"}
    nb.cells = [new_code_cell("x", outputs=[new_output("display_data", data=payload)]),
                new_code_cell("y", outputs=[new_output("display_data", data=later), new_output("stream", text="hi")])]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert results.read_recorded(path) == {"m": 2}


def test_format_value():
    assert results.format_value(0.123456) == "0.1235"
    assert results.format_value({0: {"r": 0.5}}) == "0: r=0.5"
    assert not math.isnan(float(results.format_value(1.0)))
