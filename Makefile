# Two commands: `make demo` and `make test`. Both create .venv when missing and install the
# project into it; a stamp per extra keeps them fast once installed (it changes with pyproject.toml).
# pip (not uv/poetry) because it takes torch/torchvision from the wheels already on these machines.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARTICLES ?= 300
DEMO_SEED ?= 0

.PHONY: demo test install install-test browser clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "figcurate needs Python 3.11, found " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser

# Headless Chromium for tests/pipeline/test_report_browser.py (Debian's package). Tried only as root
# where apt-get exists, and never fatal: without it the browser test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update && apt-get install -y --no-install-recommends chromium) \
	      || echo "chromium could not be installed; browser tests will skip"; \
	  else echo "chromium not installed (needs root and apt-get); browser tests will skip"; fi; }

demo: $(VENV)/.installed
	$(BIN)/figcurate demo-corpus out/demo-corpus --articles $(DEMO_ARTICLES) --seed $(DEMO_SEED)
	$(BIN)/figcurate run configs/demo.yaml --overwrite

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf out .pytest_cache
