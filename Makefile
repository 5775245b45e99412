# The README's two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench clean

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

bench: $(STAMP)
	@echo "The benchmarks arrive with their own issue; nothing to measure yet."

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
