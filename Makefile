# fleetward: `make run` starts the server, `make test` runs every check.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= .fleetward
PORT ?= 8470
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck layers pytest postgres bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@test -f $(DATA_DIR)/root.json || $(BIN)/fleetward init --data-dir $(DATA_DIR)
	$(BIN)/fleetward server --data-dir $(DATA_DIR) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src
	$(BIN)/mypy bench  # the benchmarks call internals: keep them from rotting

layers: $(STAMP)
	$(BIN)/lint-imports

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL is not answering"; exit 1

pytest: $(STAMP) postgres
	FLEETWARD_TEST_PG=$(PG_URL) $(BIN)/pytest -q -n 2 -p no:cacheprovider

test: lint typecheck layers pytest

bench: $(STAMP)
	$(BIN)/python bench/param_store.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
