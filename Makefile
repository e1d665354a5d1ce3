# Facet: `make run` starts the embedded stack, `make test` checks everything.
# Only Python (3.11+) and make are needed; everything else goes into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python scripts/run.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# pytest-xdist workers: each starts its own Temporal servers and databases (tests/conftest.py).
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

bench: $(INSTALLED)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .data .mypy_cache .pytest_cache .ruff_cache
