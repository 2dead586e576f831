# Two entry points: `make report` (the whole study, HTML in reports/) and `make test`.
# Each creates .venv and installs the pinned dependencies when they changed (scripts/ensure_env.py).

PYTHON ?= python3
PY := .venv/bin/python
# `make -B report` forces a rerun of the study (without reinstalling the environment).
IF_CHANGED := $(if $(findstring B,$(firstword -$(MAKEFLAGS))),,--if-changed)

.PHONY: help setup report test test-slow lint clean-outputs

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Create .venv with the pinned dependencies and register the Jupyter kernel (when they changed)
	@$(PYTHON) scripts/ensure_env.py

report: setup ## Run every notebook with papermill and write the HTML reports, when an input changed
	$(PY) -m analysis run -f params.yml $(IF_CHANGED)

test: setup ## Run the test suite (a few minutes; the two full study runs are in test-slow)
	$(PY) -m pytest -m "not slow"

test-slow: setup ## The two full runs of the study on a mini corpus (CI runs them too)
	$(PY) -m pytest -m slow

lint: setup ## ruff on the package, tests and benchmarks
	$(PY) -m ruff check src tests benchmarks scripts

clean-outputs: ## Delete data/processed and reports (rebuilt by `make report`)
	find data/processed reports -mindepth 1 ! -name .gitkeep ! -name README.md -delete
