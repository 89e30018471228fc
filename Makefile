# storeheat: the two commands are `make demo` and `make test`; everything else is set-up they
# call. Idempotent: each step leaves a stamp and is skipped when its inputs have not changed.

SHELL := /bin/bash
PYTHON ?= python3.11
STATE := $(or $(STOREHEAT_HOME),$(CURDIR)/.state)
# Downloads (wheels) are shared between clones on one machine; environments are per clone.
export UV_CACHE_DIR ?= $(HOME)/.cache/storeheat/uv
# One OpenBLAS thread: tiny matrices everywhere, and spinning BLAS threads on a busy 2-core
# machine made each DeepSORT update 25x slower (see storeheat/env.py).
export OPENBLAS_NUM_THREADS ?= 1
BOOT := $(STATE)/bootstrap
UV := $(BOOT)/bin/uv
VENV := $(STATE)/venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
# PyPI serves only source archives for a few locked packages (pyspark's is 450 MB). uv built
# them again whenever it could not revalidate its cached download, and each build kept another
# 1.4 GB in its cache: a few dozen fresh clones filled the disk. They are built once per
# machine into a wheelhouse shared between clones, and uv installs them from there.
WHEELHOUSE ?= $(HOME)/.cache/storeheat/wheels
SDIST_ONLY := antlr4-python3-runtime pyspark pyspark-client
UV_FLAGS := --excludes requirements/excludes.txt --overrides requirements/overrides.txt \
    --find-links $(WHEELHOUSE)

.PHONY: demo test lint typecheck venv wheelhouse jars lock model bench services-down clean-state

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

# Each wheel is built in a private directory and renamed into place, so clones setting up at
# the same time never see a half-written wheel.
wheelhouse: | $(UV)
	@mkdir -p $(WHEELHOUSE); \
	for name in $(SDIST_ONLY); do \
	  spec=$$(grep -m1 -E "^$$name==" $(LOCK)) || continue; \
	  ls $(WHEELHOUSE)/$$(echo $$name | tr - _)-$${spec#*==}-*.whl >/dev/null 2>&1 && continue; \
	  echo "==> building $$spec into $(WHEELHOUSE) (once per machine)"; \
	  tmp=$$(mktemp -d -p $(WHEELHOUSE)); \
	  if $(BOOT)/bin/pip wheel -q --disable-pip-version-check --no-deps --no-cache-dir \
	       -w $$tmp "$$spec"; then mv $$tmp/*.whl $(WHEELHOUSE)/; rm -rf $$tmp; \
	  else rm -rf $$tmp; exit 1; fi; \
	done

$(VENV)/.stamp: $(LOCK) pyproject.toml requirements/excludes.txt requirements/overrides.txt | $(UV) wheelhouse
	@echo "==> python environment $(VENV) (first run downloads ~3.5 GB of wheels, torch included)"
	@start=$$(date +%s); \
	test -x $(PY) || $(UV) venv -q --python $(PYTHON) $(VENV); \
	$(UV) pip install -q --compile-bytecode --python $(PY) -r $(LOCK) $(UV_FLAGS) && \
	$(UV) pip install -q --python $(PY) --no-deps -e . && \
	echo "==> python environment ready in $$(( $$(date +%s) - start )) s"
	@touch $@

jars: venv
	$(PY) -m storeheat.cli services fetch

# Rebuild the simulated-store person detector (DVC pipeline in dvc.yaml) and register it;
# it is promoted only if it beats the current production model on mAP50.
model: venv
	PATH=$(VENV)/bin:$$PATH DVC_NO_ANALYTICS=1 $(VENV)/bin/dvc repro train
	$(PY) -m training.registry --name person-sim --weights models/person-sim/model.onnx \
	    --metrics models/person-sim/metrics.json --promote

# Speed figures for the README (slow; run on an otherwise idle machine).
bench: venv jars
	$(PY) -m benchmarks.vision
	$(PY) benchmarks/worker.py
	$(PY) benchmarks/sim_render.py
	$(PY) -m benchmarks.lake_ingest
	$(PY) -m benchmarks.lake_rollup
	$(PY) -m benchmarks.heatmap_render
	$(PY) -m benchmarks.kafka_startup

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: | $(UV) wheelhouse
	$(UV) pip compile pyproject.toml --extra dev $(UV_FLAGS) --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 --quiet -o $(LOCK)

services-down: venv
	$(PY) -m storeheat.cli services down

clean-state: services-down
	rm -rf $(STATE)
