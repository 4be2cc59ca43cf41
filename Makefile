# comodo — two commands do everything:
#   make study   run the whole study on the embedded world (figures/ + JSON + executed notebooks)
#   make test    run the test suite (CI calls this through .ci/run)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.comodo-installed
UV     := $(VENV)/bin/uv
TORCH  := torch==2.13.0

.PHONY: install study study-quick test bench clean distclean

install: $(STAMP)

# torch comes from pip (which sees a machine's local wheels and pip.conf; uv would fetch the default
# CUDA build), together with uv; then uv installs the package and its dependencies around that torch,
# with pip's find-links and extra indexes and pip's choice among them (the best match), several times
# faster than pip; compiled to bytecode at install, as pip does (else, with PYTHONDONTWRITEBYTECODE
# set, every worker and kernel compiles transformers' sources again on import). Without uv (offline,
# say): pip, as before. Last, UMAP's numba kernels are compiled once into numba's disk cache (else every
# new kernel or worker compiles them before its first fit: comodo/study/comodo/umap_fit.py).
# `pip install -e '.[dev]' torch==2.13.0` and environment.yml keep working.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH) uv || $(PY) -m pip install --quiet $(TORCH)
	@if [ -x $(UV) ]; then \
	  links="$${PIP_FIND_LINKS:-$$($(PY) -m pip config get global.find-links 2>/dev/null)}"; \
	  extra="$${PIP_EXTRA_INDEX_URL:-$$($(PY) -m pip config get global.extra-index-url 2>/dev/null)}"; \
	  args="--index-strategy unsafe-best-match --compile-bytecode"; \
	  for l in $$links; do args="$$args --find-links $$l"; done; \
	  for u in $$extra; do args="$$args --extra-index-url $$u"; done; \
	  echo "$(UV) pip install --python $(PY) $$args -e '.[dev]' $(TORCH)"; \
	  $(UV) pip install --quiet --python $(PY) $$args -e '.[dev]' $(TORCH); \
	else \
	  echo "uv unavailable: pip"; $(PY) -m pip install --quiet --upgrade pip && \
	  $(PY) -m pip install --quiet -e '.[dev]' $(TORCH); \
	fi
	$(PY) -m comodo.study.comodo.umap_fit
	@touch $@

study: install
	$(PY) -m comodo study

study-quick: install
	$(PY) -m comodo study --quick

# Two pytest workers (pytest-xdist), each test file on one of them (their module fixtures built once);
# TEST_WORKERS=1 runs the suite in one process.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -q --durations=20 $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

bench: install
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Removes executed notebooks and the quick study's output (build/) only. Cached worlds, teachers,
# embeddings and runs live in data/ and are never deleted silently: `make distclean` says what it removes.
clean:
	rm -rf build/notebooks build/quick

distclean: clean
	@echo "removing cached worlds, teachers, embeddings and runs under data/cache"
	rm -rf data/cache
