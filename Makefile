# Two commands on a fresh machine with nothing but Python: `make demo` and `make test`.
# Each creates .venv when missing and installs the project first (torch pinned to the
# CPU build by constraints.txt, so pip never pulls a multi-GB CUDA build).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo train-demo test fuzz bench lint clean

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tunesmith demo

# The MIT lab's way: train a model for a few minutes first (on O'Neill's), then the same gallery.
train-demo: $(INSTALLED)
	$(BIN)/tunesmith demo --train

test: $(INSTALLED)
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

# The fault and fuzz tests at length (about 15 minutes on 2 cores; not in CI): 50x the examples
# and mutants, the 50 MB tune book, kills at random moments; counts per entry point in fuzz-report.json.
fuzz: $(INSTALLED)
	HYPOTHESIS_PROFILE=fuzz TUNESMITH_FUZZ_REPORT=fuzz-report.json $(BIN)/python -m pytest -q -s \
		tests/test_fuzz.py tests/test_fuzz_web.py tests/test_checkpoint_tamper.py tests/test_faults.py

# Tunesmith against the MIT lab on this machine (about 45 minutes on 2 cores; run it alone):
# benchmarks/results/<date>.json and .md. BENCH_ARGS=--quick for a smoke test in seconds.
bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.run --quality-minutes 10 $(BENCH_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
