# Run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INBOX ?=
OUTBOX ?=
ROUND ?=
PREVIOUS ?=
REPORT_ARGS = $(if $(INBOX),--inbox "$(INBOX)") $(if $(OUTBOX),--outbox "$(OUTBOX)") \
	$(if $(ROUND),--round "$(ROUND)") $(if $(PREVIOUS),--previous "$(PREVIOUS)")

.DEFAULT_GOAL := help
.PHONY: help report check test lint golden templates bench example docx-template clean

$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

# Python keeps compiled modules in __pycache__ by itself, unless PYTHONDONTWRITEBYTECODE is set
# (as in many containers and on this machine): then every run would compile the pipeline's
# source again, a tenth of a second. Compiled here, again whenever a source file changes.
$(VENV)/.compiled: $(VENV)/.runtime $(wildcard pipeline/*.py)
	@$(PY) -m compileall -q pipeline
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@

help: ## Show the targets and what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

report: $(VENV)/.runtime $(VENV)/.compiled ## Consolidate inbox/ into outbox/ (INBOX=dir OUTBOX=dir to override; empty inbox: bundled example; ROUND=name keeps and compares rounds, PREVIOUS=round)
	$(PY) -m pipeline report $(REPORT_ARGS)

check: $(VENV)/.runtime $(VENV)/.compiled ## Like report, but exit 1 when any unit is missing or rejected
	$(PY) -m pipeline report --strict $(REPORT_ARGS)

test: $(VENV)/.dev ## Lint, then run every test
	$(VENV)/bin/ruff check pipeline tests scripts benchmarks
	$(PY) -m pytest

lint: $(VENV)/.dev ## Check the code with ruff
	$(VENV)/bin/ruff check pipeline tests scripts benchmarks

golden: $(VENV)/.dev ## Rewrite the golden report text after a deliberate change of wording
	UPDATE_GOLDEN=1 $(PY) -m pytest tests/test_golden.py

templates: $(VENV)/.runtime $(VENV)/.compiled ## Write blank return templates for every unit to outbox/templates/ (TOWNSHIPS=csv to pre-fill)
	$(PY) -m pipeline templates $(if $(OUTBOX),--outbox "$(OUTBOX)") $(if $(TOWNSHIPS),--townships "$(TOWNSHIPS)")

bench: $(VENV)/.dev $(VENV)/.compiled ## Benchmark the pipeline on 87, 1000 and 3000 returns; writes benchmarks/results.md
	$(PY) benchmarks/bench.py $(if $(SIZES),--sizes $(SIZES))

example: $(VENV)/.runtime $(VENV)/.compiled ## Regenerate the bundled example returns in examples/gansu-2016/
	$(PY) -m pipeline example

docx-template: $(VENV)/.runtime ## Rebuild templates/report.docx from scripts/build_report_template.py
	$(PY) scripts/build_report_template.py

clean: ## Remove the environment and the outbox's generated files
	rm -rf $(VENV) .pytest_cache .ruff_cache pipeline/__pycache__
	find outbox -mindepth 1 -not -name .gitkeep -delete 2>/dev/null || true
