# Two commands on a fresh machine with nothing but Python: `make demo` and `make test`.
# Each creates .venv when missing and installs the project first (torch pinned to the
# CPU build by constraints.txt, so pip never pulls a multi-GB CUDA build).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test lint clean

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tunesmith demo

test: $(INSTALLED)
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
