# All set-up happens here: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench bench-self reproduce clean

# The official package lives in its own environment (same torch), never in ours.
OFFICIAL := .venv-official
OFFICIAL_STAMP := $(OFFICIAL)/.installed

$(OFFICIAL_STAMP):
	$(PYTHON) -m venv $(OFFICIAL)
	$(OFFICIAL)/bin/python -m pip install --upgrade pip
	$(OFFICIAL)/bin/python -m pip install "torch==2.13.0"
	$(OFFICIAL)/bin/python -m pip install "cebra==0.6.1"
	touch $(OFFICIAL_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned, so the package's range never pulls a multi-GB CUDA build.
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m neurolatent demo

# The official environment is built too: a smoke test runs the side-by-side benchmark.
test: $(STAMP) $(OFFICIAL_STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

# Tests marked `slow` (real data, long fits); CI runs them after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Side-by-side speed/memory against the official cebra 0.6.1 (JSON + README table).
bench: $(STAMP) $(OFFICIAL_STAMP)
	$(PY) benchmarks/compare_official.py --official-python $(OFFICIAL)/bin/python

# The paper's results (JSON + PNG in benchmarks/results/, pages in docs/); hours on a laptop CPU.
# JOBS=2 runs each script's independent fits in two 1-thread processes (faster on two cores).
JOBS ?= 1
reproduce: $(STAMP)
	for script in synthetic rat_decoding reaching_sleep goodness_of_fit topology ssl_neural; do \
		$(PY) benchmarks/$$script.py --jobs $(JOBS) || exit 1; done

# Our own speed figures only (no official package needed).
bench-self: $(STAMP)
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) $(OFFICIAL) build *.egg-info src/*.egg-info
