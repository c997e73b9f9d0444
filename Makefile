# Two commands: `make demo` and `make test`. Both create .venv when missing and install the
# project into it through the committed lock (deploy/lock/*.txt, pip constraints), then check that
# every installed package is at the locked version; a stamp per extra keeps them fast once installed
# (it changes with pyproject.toml and the lock). `make lock` resolves pyproject.toml's ranges anew.
# pip (not uv/poetry) because it takes torch/torchvision from the wheels already on these machines;
# --no-cache-dir because a fresh machine gains nothing from pip's cache and CI disks can be small.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARTICLES ?= 300
DEMO_SEED ?= 0

LOCK := deploy/lock

.PHONY: demo test install install-test browser lock clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "figcurate needs Python 3.11, found " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(LOCK)/demo.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-cache-dir -c $(LOCK)/demo.txt -e .
	$(PYTHON) $(LOCK)/lock.py check demo $(BIN)/python
	touch $@

# The test set is a superset of the demo set at the same versions, so it stamps both.
$(VENV)/.installed-test: pyproject.toml $(LOCK)/test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-cache-dir -c $(LOCK)/test.txt -e ".[test]"
	$(PYTHON) $(LOCK)/lock.py check test $(BIN)/python
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser

# Headless Chromium for tests/pipeline/report/test_report_browser.py (Debian's package). Tried only as root
# where apt-get exists, and never fatal: without it the browser test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update && apt-get install -y --no-install-recommends chromium) \
	      || echo "chromium could not be installed; browser tests will skip"; \
	  else echo "chromium not installed (needs root and apt-get); browser tests will skip"; fi; }

# Resolve every install set from pyproject.toml's ranges and rewrite deploy/lock/*.txt; then run
# `make test` and commit pyproject.toml and the lock together.
lock:
	$(PYTHON) $(LOCK)/lock.py write

demo: $(VENV)/.installed
	$(BIN)/figcurate demo-corpus out/demo-corpus --articles $(DEMO_ARTICLES) --seed $(DEMO_SEED)
	$(BIN)/figcurate run configs/demo.yaml --overwrite

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf out .pytest_cache
