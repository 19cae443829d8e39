# Every target builds .venv from the runtime lock (requirements.txt) and the
# development lock (requirements-dev.txt) on first use, so each is one command on
# a fresh clone; it is brought up to date when either lock or pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test test-cluster lint format typecheck bench chaos clean airflow

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt -r requirements-dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m koppel.demo

# Airflow standalone on http://127.0.0.1:8080 with the example merchants' partner stand-ins;
# Ctrl-C stops everything. A Python launcher, not a recipe: see plugins/koppel/local_airflow.py.
airflow: $(STAMP)
	$(BIN)/python -m koppel.local_airflow

test: $(STAMP)
	$(BIN)/python -m pytest

# Issue 8: PostgreSQL, Redis and Airflow's api-server, scheduler, dag-processor and a Celery
# worker as separate processes, running a file flow and an API flow (a few minutes). Needs
# redis-server and the Celery provider; `make test` deselects it (pytest marker `cluster`).
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -m cluster -rA tests/cluster

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/koppel lint include/connections
	$(BIN)/koppel dags --check

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
