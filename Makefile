# Run `make help` for the list of targets (in Chinese, for the office's staff).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
.DEFAULT_GOAL := help
# No built-in rules: none is used here, and make would otherwise look for a way to remake each of
# the pipeline's hundred source files (.compiled depends on them) from RCS, SCCS and the like on
# every command, 11 ms before `make report` starts the program.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

# What is given on the command line (INBOX=, OUTBOX=, CONFIG=, ROUND=, PREVIOUS=, CITY=,
# TOWNSHIPS=, RENEW=, REVOKE=, HOST=, PORT=) reaches the program through the environment, exactly as it was
# written: $(value X) is its text before make expands a `$` in it, and it is never put on a
# command line, where the shell would run a backtick or `$(…)` in a folder's name and cut it at
# a quote. Exported for the commands that take them, so that tests never see them.
USER_COMMANDS := report check serve links templates example
$(USER_COMMANDS): export PIPELINE_INBOX := $(value INBOX)
$(USER_COMMANDS): export PIPELINE_OUTBOX := $(value OUTBOX)
$(USER_COMMANDS): export PIPELINE_CONFIG := $(value CONFIG)
$(USER_COMMANDS): export PIPELINE_ROUND := $(value ROUND)
$(USER_COMMANDS): export PIPELINE_PREVIOUS := $(value PREVIOUS)
$(USER_COMMANDS): export PIPELINE_TOWNSHIPS := $(value TOWNSHIPS)
$(USER_COMMANDS): export PIPELINE_RENEW := $(value RENEW)
$(USER_COMMANDS): export PIPELINE_REVOKE := $(value REVOKE)
$(USER_COMMANDS): export PIPELINE_CITY := $(value CITY)
# make links moves the links to another address only when HOST= or PORT= is given.
$(USER_COMMANDS): export PIPELINE_HOST := $(if $(filter command line environment,$(origin HOST)),$(value HOST))
$(USER_COMMANDS): export PIPELINE_PORT := $(if $(filter command line environment,$(origin PORT)),$(value PORT))

.PHONY: help report check test lint golden templates bench example docx-template clean serve links bench-serve

$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

# Python keeps compiled modules in __pycache__ by itself, unless PYTHONDONTWRITEBYTECODE is set
# (as in many containers and on this machine): then every run would compile the pipeline's
# source again, a tenth of a second. Compiled here, again whenever a source file changes.
$(VENV)/.compiled: $(VENV)/.runtime $(wildcard pipeline/*.py pipeline/*/*.py pipeline/*/*/*.py)
	@$(PY) -m compileall -q pipeline
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@

help: ## 列出所有命令及其用途
	@echo "用法：make 命令 [INBOX=收件箱文件夹] [OUTBOX=输出文件夹] [CONFIG=设置文件]"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

report: $(VENV)/.runtime $(VENV)/.compiled ## 汇总 inbox/ 中的报表，写出到 outbox/（INBOX=、OUTBOX=、CONFIG= 可另指定；inbox/ 中没有任何文件时用内置示例；ROUND= 保存本轮并与上一轮比较，PREVIOUS= 指定上一轮；CITY=兰州市 只汇总该市（州），写到 outbox/city-代码/）
	$(PY) -m pipeline report

check: $(VENV)/.runtime $(VENV)/.compiled ## 同 report，但有单位未报送或被退回时以失败结束（make 报告状态 2）
	$(PY) -m pipeline report --strict

test: $(VENV)/.dev ## 检查代码并运行全部测试（开发用）
	$(VENV)/bin/ruff check pipeline tests scripts benchmarks
	$(PY) -m pytest

lint: $(VENV)/.dev ## 用 ruff 检查代码（开发用）
	$(VENV)/bin/ruff check pipeline tests scripts benchmarks

golden: $(VENV)/.dev ## 有意修改报告措辞后，重写 tests/golden/ 中的标准文本（开发用）
	UPDATE_GOLDEN=1 $(PY) -m pytest tests/outputs/test_golden.py

templates: $(VENV)/.runtime $(VENV)/.compiled ## 为每个单位生成空白报表模板到 outbox/templates/（TOWNSHIPS=乡镇名单CSV 可预填乡镇；CITY=兰州市 只为该市（州）的县生成）
	$(PY) -m pipeline templates

bench: $(VENV)/.dev $(VENV)/.compiled ## 测速：87 份杂乱报表对比 read_excel 循环，3000 份（SIZES=30000 另测三万份），写出 benchmarks/results.md（开发用）
	$(PY) benchmarks/bench.py $(if $(SIZES),--sizes $(SIZES))

serve: $(VENV)/.runtime $(VENV)/.compiled ## 启动报送页：各单位凭链接上传报表，即时看到审核结果（HOST= PORT= INBOX= OUTBOX=；ROUND= 上传时即与上一轮比较，PREVIOUS= 指定上一轮）
	$(PY) -m pipeline serve

links: $(VENV)/.runtime $(VENV)/.compiled ## 生成各单位、各市州的报送链接 outbox/links.csv 和状态页链接 outbox/status.url（RENEW=代码 换新，REVOKE=代码 停用；市州写 市州代码，如 RENEW=市州620100）
	$(PY) -m pipeline links

bench-serve: $(VENV)/.dev $(VENV)/.compiled ## 报送页测速：一次上传的应答时间、87 个单位同时上传，写入 benchmarks/results.md（开发用）
	$(PY) benchmarks/bench_serve.py

example: $(VENV)/.runtime $(VENV)/.compiled ## 重新生成内置示例报表 examples/gansu-2016/（开发用）
	$(PY) -m pipeline example

docx-template: $(VENV)/.runtime ## 用 scripts/build_report_template.py 重建 templates/report.docx（开发用）
	$(PY) scripts/build_report_template.py

clean: ## 删除运行环境和 outbox/ 中生成的文件（保留链接的令牌、rounds/ 和 history/）
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
	find pipeline tests -name __pycache__ -type d -prune -exec rm -rf {} +
	find outbox -mindepth 1 -maxdepth 1 -not -name .gitkeep -not -name tokens.json -not -name links.csv \
		-not -name status.url -not -name rounds -not -name history -exec rm -rf {} + 2>/dev/null || true
