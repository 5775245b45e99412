# The README's two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench bench-trim clean

# The peers live in a throwaway venv of their own, never in .venv or the project's dependencies.
BENCH_VENV ?= /tmp/checkin-bench-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check checkin tests bench
	$(BIN)/ruff format --check checkin tests bench

demo: $(STAMP)
	$(BIN)/checkin demo

bench: $(STAMP) bench-trim
	$(BIN)/python bench/run.py

bench-trim:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	$(BENCH_VENV)/bin/python bench/trim_accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
