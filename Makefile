# DataFlow ChatOps. `make demo` runs the sandbox drill; `make test` runs the whole test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
ARGS ?=

.PHONY: install services demo test lint seed chaos-schema-drift serve bench clean \
	stack-install stack-up stack-down stack-status test-realstack

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

services:
	@bash scripts/ensure-services.sh

demo: install services
	$(BIN)/dataflow-bot demo $(ARGS)

test: install services
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

seed: install
	$(BIN)/python scripts/seed_oltp.py

chaos-schema-drift: install seed
	$(BIN)/python scripts/chaos/simulate_schema_drift.py $(ARGS)

serve: install
	$(BIN)/dataflow-bot serve

# Benchmarks (bench/README.md): ratios against a baseline measured in the same run; each prints one JSON
# document. They use Redis database 14 (BENCH_REDIS_URL) and flush it.
bench: install services
	$(BIN)/python -m bench.alert_latency
	$(BIN)/python -m bench.ack_latency
	$(BIN)/python -m bench.hung_backends
	$(BIN)/python -m bench.storm
	$(BIN)/python -m bench.schema_bench
	$(BIN)/python -m bench.postmortem_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Local real stack without Docker (scripts/stack/README.md): MariaDB -> Debezium/Connect -> Tansu ->
# Flink job, Prometheus, Alertmanager; all state in STACK_DIR (default .stack/). The script is
# stdlib-only and runs with $(PYTHON), so it works before the project venv exists.
stack-install: services
	$(PYTHON) scripts/stack/stack.py install

stack-up:
	$(PYTHON) scripts/stack/stack.py up

stack-down:
	$(PYTHON) scripts/stack/stack.py down

stack-status:
	$(PYTHON) scripts/stack/stack.py status

# The tests marked `realstack` (tests/realstack, the real half of tests/contract) against the local real
# stack; the stack is started if it is down (after stack-install) and left running: `make stack-down`.
test-realstack: install services stack-install stack-up
	$(BIN)/pytest -q -m realstack --realstack
