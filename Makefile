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

# pip installs uv, then uv installs the package, torch and every other dependency with pip's index,
# extra indexes and find-links and pip's choice among them (the best match: a local
# torch-2.13.0+cpu wheel wins over PyPI's 2.13.0, as with pip; benchmarks/bench_install.py compares
# this recipe with the one before). Without uv (offline, say): pip, as before. Then, side by side on
# the cores: site-packages compiled to bytecode, as pip does at install (else, with
# PYTHONDONTWRITEBYTECODE set, every worker and kernel compiles transformers' sources again on import),
# and UMAP's numba kernels compiled once into numba's disk cache (on one core, for the seconds `umap_fit`
# prints, the bytecode on the others; else every new kernel or worker compiles them before its first fit:
# comodo/study/comodo/umap_fit.py).
# `pip install -e '.[dev]' torch==2.13.0` and environment.yml keep working.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -m pip install --quiet uv && [ -x $(UV) ]; then \
	  conf() { $(PY) -m pip config get "global.$$1" 2>/dev/null; }; \
	  index="$${PIP_INDEX_URL:-$$(conf index-url)}"; \
	  links="$${PIP_FIND_LINKS:-$$(conf find-links)}"; \
	  extra="$${PIP_EXTRA_INDEX_URL:-$$(conf extra-index-url)}"; \
	  args="--index-strategy unsafe-best-match"; \
	  for u in $$index; do args="$$args --index-url $$u"; done; \
	  for l in $$links; do args="$$args --find-links $$l"; done; \
	  for u in $$extra; do args="$$args --extra-index-url $$u"; done; \
	  echo "$(UV) pip install --python $(PY) $$args -e '.[dev]' $(TORCH)"; \
	  $(UV) pip install --quiet --python $(PY) $$args -e '.[dev]' $(TORCH); \
	else \
	  echo "uv unavailable: pip"; $(PY) -m pip install --quiet --upgrade pip && \
	  $(PY) -m pip install --quiet -e '.[dev]' $(TORCH); \
	fi
	@echo "compiling site-packages to bytecode, and UMAP's numba kernels beside it"; \
	site="$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"; \
	$(PY) -m comodo.study.comodo.umap_fit & umap=$$!; \
	nice -n 10 $(PY) -m compileall -qq -j 0 "$$site" || true; \
	wait $$umap
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
	@for f in benchmarks/bench_*.py; do \
	  case $$f in *bench_install.py) echo "== $$f: skipped (two installs from fresh clones; run it alone)"; continue;; esac; \
	  echo "== $$f"; $(PY) $$f || exit 1; done

# Removes executed notebooks and the quick study's output (build/) only. Cached worlds, teachers,
# embeddings and runs live in data/ and are never deleted silently: `make distclean` says what it removes.
clean:
	rm -rf build/notebooks build/quick

distclean: clean
	@echo "removing cached worlds, teachers, embeddings and runs under data/cache"
	rm -rf data/cache
