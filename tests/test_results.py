import math

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lacibot_lib import results


def test_record_is_quiet_unless_asked(capsys):
    assert results.record("rouge1", 0.25) is None
    assert capsys.readouterr().out == ""
    results.record("rouge1", 0.25, show=True)
    assert "rouge1 = 0.25" in capsys.readouterr().out


def test_record_converts_numpy_and_nan(capsys):
    import numpy as np

    results.record("x", {"a": np.float32(0.5), "b": [float("nan")]}, show=True)
    assert "x = a=0.5, b=[None]" in capsys.readouterr().out
    with pytest.raises(TypeError):
        results.record("bad", object())


def _notebook(tmp_path, *bundles):
    nb = new_notebook()
    nb.cells = [new_code_cell("x", outputs=[new_output("display_data", data=b)]) for b in bundles]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    return path


def test_read_recorded_from_a_notebook(tmp_path):
    path = _notebook(tmp_path, {results.MIME_TYPE: {"name": "m", "value": 1}},
                     {results.MIME_TYPE: {"name": "m", "value": 2}}, {"text/plain": "hi"})
    assert results.read_recorded(path) == {"m": 2}


def test_claims_are_validated_recorded_and_read_back(tmp_path, capsys):
    claim = results.record_claim("gpu_faster", "A GPU is much faster", "not testable here", "no GPU on this machine")
    assert "not testable here" in capsys.readouterr().out
    with pytest.raises(ValueError, match="verdict must be one of"):
        results.record_claim("x", "s", "probably", "e")
    with pytest.raises(ValueError, match="evidence is empty"):
        results.record_claim("x", "s", "supported", " ")
    updated = dict(claim, verdict="supported", evidence="H200 reference: 38× on prefill")
    path = _notebook(tmp_path, {results.CLAIM_MIME_TYPE: claim, "text/markdown": "…"},
                     {results.CLAIM_MIME_TYPE: updated, "text/markdown": "…"})
    assert results.read_claims(path) == [updated]


def test_format_value():
    assert results.format_value(0.123456) == "0.1235"
    assert results.format_value({0: {"r": 0.5}}) == "0: r=0.5"
    assert not math.isnan(float(results.format_value(1.0)))
