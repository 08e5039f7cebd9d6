# Two commands on a fresh machine:  make reproduce   |   make test
# Both create the environment (.venv) and install the system packages if they are missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

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

reproduce: env
	$(PY) -m lmg_lib.cli info

test: env
	$(PY) -m pytest -q

clean:
	rm -rf build artefacts
