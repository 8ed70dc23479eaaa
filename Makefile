# `make demo` sets up .venv and runs the reference pipeline end to end; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# DVC runs stage commands through the shell: put the venv first so `python` is ours.
export PATH := $(BIN):$(PATH)
export DO_NOT_TRACK := 1

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,tune,dask,s3]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/gitml repro
	$(BIN)/dvc metrics show

test: $(VENV)/.installed
	$(BIN)/ruff check src stages tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=30

bench: $(VENV)/.installed
	for bench in bench/*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
