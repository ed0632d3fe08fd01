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

# The fault and fuzz tests at full scale (not in CI; 2.5 hours of one core measured, run it alone): every entry
# point its floor of inputs (100,000 for most: tests/fuzz_report.py), 20 SIGKILLs during training, 50x the
# hypothesis examples, the 50 MB tune book. FUZZ_JOBS processes (one a core) take every n-th test each and
# write what each test fed into fuzz-journal/; `make fuzz` again resumes, running only the tests not yet
# passed. fuzz-report.json adds the journal up; the run fails below a floor or on any crash, hang or failed
# test. Each shard's temporary files are outside the checkout, where a test that reads the working folder
# cannot see another shard's come and go. TUNESMITH_FUZZ_SCALE=0.01 make fuzz: a rehearsal in minutes (its
# own records in the same journal).
FUZZ_JOBS ?= 2
FUZZ_JOURNAL ?= fuzz-journal
FUZZ_TESTS = tests/test_fuzz.py tests/test_fuzz_web.py tests/test_checkpoint_tamper.py tests/test_faults.py
fuzz: $(INSTALLED)
	mkdir -p $(FUZZ_JOURNAL)
	export HYPOTHESIS_PROFILE=fuzz TUNESMITH_FUZZ_SCALE=$${TUNESMITH_FUZZ_SCALE:-1} \
		TUNESMITH_FUZZ_JOURNAL=$(FUZZ_JOURNAL) OMP_NUM_THREADS=1 PYTHONPATH=tests; \
	for k in $$(seq $(FUZZ_JOBS)); do \
		TUNESMITH_FUZZ_SHARD=$$k/$(FUZZ_JOBS) $(BIN)/python -m pytest -q -s -p fuzz_report -p no:cacheprovider \
			--basetemp=$${TMPDIR:-/tmp}/tunesmith-fuzz-$$k $(FUZZ_TESTS) > $(FUZZ_JOURNAL)/shard-$$k.log 2>&1 & \
	done; wait; \
	$(BIN)/python tests/fuzz_report.py $(FUZZ_JOURNAL) fuzz-report.json

# Tunesmith against the MIT lab on this machine (about 45 minutes on 2 cores; run it alone):
# benchmarks/results/<date>.json and .md. BENCH_ARGS=--quick for a smoke test in seconds.
bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.run --quality-minutes 10 $(BENCH_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
