"""scripts/bootstrap.py (the path in without `make`, e.g. on Windows) runs what the Makefile runs."""
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap", REPO / "scripts" / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def makefile_commands(target: str) -> list[str]:
    """The recipe lines of ``target`` and of the setup rules it depends on, with $(PY) etc. spelled out."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    rules = {m.group(1): m.group(2) for m in re.finditer(r"^([^\s:#=]+):[^\n=]*\n((?:\t[^\n]*\n)*)", text, re.M)}
    wanted = ["$(VENV)/bin/python", "$(STAMPS)/packages", "$(STAMPS)/kernel", "setup", target]
    lines = [line.strip().lstrip("@") for rule in wanted for line in rules.get(rule, "").splitlines()]
    spelled = [re.sub(r"^LACIBOT_SMOKE=1 JUPYTER_PATH=.*?/share/jupyter ", "", line)
               .replace("$(PY)", "PY").replace("$(VENV)/bin/", "BIN/").replace("$(NBVAL_LABS)",
                                                                                "labs/week1_prompting.ipynb")
               for line in lines if not line.startswith(("mkdir", "touch"))]
    return [line.replace(">/dev/null", "").strip() for line in spelled]


@pytest.mark.parametrize("target", ["labs", "test"])
def test_bootstrap_runs_every_command_the_makefile_runs(target, capsys):
    boot = load_bootstrap()
    plan = [" ".join(cmd).replace(str(boot.PY), "PY").replace(str(boot.BIN) + "/", "BIN/")
            for _, cmd, _, _ in boot.steps(target)]
    plan = [re.sub(r"^\S+ -m venv \S+", "$(PYTHON) -m venv $(VENV)", line) for line in plan]
    expected = makefile_commands(target)
    assert len(expected) >= 7, expected
    normalise = lambda line: line.replace('"', "")  # noqa: E731
    missing = [line for line in expected if normalise(line) not in map(normalise, plan)]
    assert not missing, f"the Makefile runs these and scripts/bootstrap.py does not: {missing}"


def test_bootstrap_sets_the_makefiles_environment():
    boot = load_bootstrap()
    exported = dict(re.findall(r"^export (\w+) :?= (\S+)", (REPO / "Makefile").read_text(encoding="utf-8"), re.M))
    assert {k: v for k, v in exported.items() if k != "LACIBOT_CACHE"} == boot.ENVIRONMENT


def test_dry_run_prints_commands_and_runs_nothing(capsys):
    boot = load_bootstrap()
    assert boot.main(["test", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "pytest -q tests" in out and "== " not in out
    with pytest.raises(SystemExit):
        boot.main(["deploy"])
