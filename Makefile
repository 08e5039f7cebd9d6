# Two commands on a fresh machine:  make reproduce   |   make test
# Both create the environment (.venv) and install the system packages if they are missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONHASHSEED := 0
# No MPLBACKEND here: the notebook kernels must keep their inline backend (figures shown in the
# executed notebooks as well as saved); matplotlib picks Agg by itself on a headless machine.

.PHONY: env sysdeps reproduce test test-fast clean

env: $(VENV)/.installed sysdeps

# PyTorch first: `torch==2.13.0` is the CPU build (on these machines it comes from local disk);
# pyproject's range admits it, so the project install keeps it.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[notebooks,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# espeak-ng speaks the embedded corpus (Debian packages; no pip package ships the library).
sysdeps:
	@if ! ldconfig -p | grep -q libespeak-ng; then \
	  echo "installing espeak-ng (Debian packages)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng libespeak-ng1 >/dev/null; \
	fi

PARAMS ?= params/smoke.yaml

# The main job: every notebook in order (papermill), figures regenerated into figures/.
reproduce: env
	$(PY) tools/run_notebooks.py --params $(PARAMS)

# Unit tests, then nbval executing the notebooks (smoke defaults) with their checks cells.
# Notebook artefacts of the test run go to build/test-artefacts, not to the user's artefacts/.
test: env
	LMG_ARTEFACTS=$(CURDIR)/build/test-artefacts $(PY) -m pytest -q tests notebooks \
	  --nbval-lax --nbval-kernel-name python3 --sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout 1800 --durations 15

clean:
	rm -rf build artefacts
