# Two entry points: `make report` (the whole study, HTML in reports/) and `make test`.
# Each creates .venv and installs the pinned dependencies when they are missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
MODULES := $(wildcard src/analysis/*.py) $(wildcard src/analysis/resources/*)
NOTEBOOKS := $(wildcard notebooks/[0-9][0-9]_*.ipynb)
RAW := $(wildcard data/raw/*)

.PHONY: help report test lint clean-outputs setup

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv, install pinned dependencies, register the Jupyter kernel, cut the web font

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	$(PY) -m analysis kernel
	$(PY) -m analysis fonts
	touch $(STAMP)

report: reports/.run-complete ## Run every notebook with papermill and write the HTML reports (main job)

# The stamp is written only when every notebook ran, so a failed run is retried next time.
reports/.run-complete: $(STAMP) params.yml $(NOTEBOOKS) $(MODULES) $(RAW)
	$(PY) -m analysis run -f params.yml
	touch $@

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff on the package, tests and benchmarks
	$(PY) -m ruff check src tests benchmarks scripts

clean-outputs: ## Delete data/processed and reports (rebuilt by `make report`)
	find data/processed reports -mindepth 1 ! -name .gitkeep ! -name README.md -delete
