# All set-up happens here: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench reproduce clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned, so the package's range never pulls a multi-GB CUDA build.
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m neurolatent demo

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

# Tests marked `slow` (real data, long fits); CI runs them after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/speed.py

# The paper's results (JSON + PNG in benchmarks/results/, pages in docs/); hours on a laptop CPU.
reproduce: $(STAMP)
	for script in synthetic rat_decoding reaching_sleep goodness_of_fit topology; do \
		$(PY) benchmarks/$$script.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
