# Run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INBOX ?=
OUTBOX ?=
REPORT_ARGS = $(if $(INBOX),--inbox "$(INBOX)") $(if $(OUTBOX),--outbox "$(OUTBOX)")

.DEFAULT_GOAL := help
HOST ?= 127.0.0.1
PORT ?= 8000
SERVE_ARGS = --host "$(HOST)" --port "$(PORT)" $(if $(OUTBOX),--outbox "$(OUTBOX)")

.PHONY: help report check test lint golden templates bench example docx-template clean serve links bench-serve

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

report: $(VENV)/.runtime $(VENV)/.compiled ## Consolidate inbox/ into outbox/ (INBOX=dir OUTBOX=dir to override; empty inbox: bundled example)
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

serve: $(VENV)/.runtime $(VENV)/.compiled ## Run the submission page: each unit uploads by its link and sees its findings at once (HOST= PORT= INBOX= OUTBOX=)
	$(PY) -m pipeline serve $(SERVE_ARGS) $(if $(INBOX),--inbox "$(INBOX)")

links: $(VENV)/.runtime $(VENV)/.compiled ## Write each unit's link to outbox/links.csv and the status link to outbox/status.url (RENEW=code, REVOKE=code)
	$(PY) -m pipeline links $(SERVE_ARGS) $(if $(RENEW),--renew "$(RENEW)") $(if $(REVOKE),--revoke "$(REVOKE)")

bench-serve: $(VENV)/.dev $(VENV)/.compiled ## Time the submission page: one upload's answer, 87 uploads at once; writes its section of benchmarks/results.md
	$(PY) benchmarks/bench_serve.py

example: $(VENV)/.runtime $(VENV)/.compiled ## Regenerate the bundled example returns in examples/gansu-2016/
	$(PY) -m pipeline example

docx-template: $(VENV)/.runtime ## Rebuild templates/report.docx from scripts/build_report_template.py
	$(PY) scripts/build_report_template.py

clean: ## Remove the environment and the outbox's generated files (keeps the links' tokens, rounds/ and history/)
	rm -rf $(VENV) .pytest_cache .ruff_cache pipeline/__pycache__
	find outbox -mindepth 1 -maxdepth 1 -not -name .gitkeep -not -name tokens.json -not -name links.csv \
		-not -name status.url -not -name rounds -not -name history -exec rm -rf {} + 2>/dev/null || true
