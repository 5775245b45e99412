# The README's two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check checkin tests bench
	$(BIN)/ruff format --check checkin tests bench

demo: $(STAMP)
	@echo "checkin is installed in .venv ($$($(BIN)/checkin --version))."
	@echo "The full demo (loopback SMTP and IMAP, simulated clients, digests) arrives with its own issue."
	@echo "Today you can validate the example practice:"
	$(BIN)/checkin --config examples/checkin.yaml check

bench: $(STAMP)
	@echo "The benchmarks arrive with their own issue; nothing to measure yet."

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
