# storeheat: the two commands are `make demo` and `make test`; everything else is set-up they
# call. Idempotent: each step leaves a stamp and is skipped when its inputs have not changed.

SHELL := /bin/bash
PYTHON ?= python3.11
STATE := $(or $(STOREHEAT_HOME),$(CURDIR)/.state)
# Downloads (wheels) are shared between clones on one machine; environments are per clone.
export UV_CACHE_DIR ?= $(HOME)/.cache/storeheat/uv
BOOT := $(STATE)/bootstrap
UV := $(BOOT)/bin/uv
VENV := $(STATE)/venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
UV_FLAGS := --excludes requirements/excludes.txt --overrides requirements/overrides.txt

.PHONY: demo test lint typecheck venv jars lock services-down clean-state

demo: venv jars
	$(PY) -m storeheat.cli demo

test: venv jars lint typecheck
	$(PY) -m pytest -p no:cacheprovider tests

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

venv: $(VENV)/.stamp

$(UV):
	@mkdir -p $(STATE)
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install -q --disable-pip-version-check uv==0.13.8

$(VENV)/.stamp: $(LOCK) pyproject.toml requirements/excludes.txt requirements/overrides.txt | $(UV)
	@echo "==> python environment $(VENV) (first run downloads ~3.5 GB of wheels, torch included)"
	@start=$$(date +%s); \
	test -x $(PY) || $(UV) venv -q --python $(PYTHON) $(VENV); \
	$(UV) pip install -q --python $(PY) -r $(LOCK) $(UV_FLAGS) && \
	$(UV) pip install -q --python $(PY) --no-deps -e . && \
	echo "==> python environment ready in $$(( $$(date +%s) - start )) s"
	@touch $@

jars: venv
	$(PY) -m storeheat.cli services fetch

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev $(UV_FLAGS) --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 --quiet -o $(LOCK)

services-down: venv
	$(PY) -m storeheat.cli services down

clean-state: services-down
	rm -rf $(STATE)
