# banditd developer commands. Every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install redis test lint proto proto-check demo bench scenarios clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (3.11 or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ./clients/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# redis-server from the system's packages (tests start their own on a free port).
redis:
	@command -v redis-server >/dev/null || { \
		echo "installing redis-server"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		if command -v apt-get >/dev/null; then $$SUDO apt-get update -q && $$SUDO apt-get install -y -q redis-server; \
		elif command -v brew >/dev/null; then brew install redis; \
		else echo "install redis-server with your package manager"; exit 1; fi; }

test: install redis
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

proto: install
	$(BIN)/python proto/generate.py

demo: install redis
	$(BIN)/python -m loadtest.demo

bench: install redis
	$(BIN)/python -m loadtest.bench

scenarios: install redis
	$(BIN)/python -m loadtest.scenarios

clean:
	rm -rf $(VENV) .banditd .pytest_cache .mypy_cache .ruff_cache
