# comodo — two commands do everything:
#   make study   run the whole study on the embedded world (figures/ + JSON + executed notebooks)
#   make test    run the test suite (CI calls this through .ci/run)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.comodo-installed
TORCH  := torch==2.13.0

.PHONY: install study study-quick test bench clean distclean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]' $(TORCH)
	@touch $@

study: install
	$(PY) -m comodo study

study-quick: install
	$(PY) -m comodo study --quick

test: install
	$(PY) -m pytest -q

bench: install
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Removes executed notebooks and the quick study's output (build/) only. Cached worlds, teachers,
# embeddings and runs live in data/ and are never deleted silently: `make distclean` says what it removes.
clean:
	rm -rf build/notebooks build/quick

distclean: clean
	@echo "removing cached worlds, teachers, embeddings and runs under data/cache"
	rm -rf data/cache
