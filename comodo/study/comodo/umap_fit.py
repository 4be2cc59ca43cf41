"""UMAP fits for notebook 6, with umap-learn's numba kernels cached on disk.

umap-learn declares its numba functions without ``cache=True``, so every new process (a kernel, a
worker) compiled them again before its first fit: 17 s of a 300-point fit on a 2-core Xeon, 30 s under
load. :func:`enable_kernel_cache` turns numba's on-disk cache on for the module-level kernels of
umap-learn and pynndescent (numba keeps them in ``__pycache__`` beside their sources, or in
``NUMBA_CACHE_DIR``; its index is keyed by the source file, the signature and the CPU, so another CPU
compiles its own). The machine code loaded from the cache is the code numba compiled: the same
coordinates bit for bit. ``make install`` calls :func:`warm` once, so that the study's first fit, and
every kernel a reader restarts in JupyterLab, start from compiled kernels.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

_PACKAGES = ("umap", "pynndescent")


def enable_kernel_cache() -> int:
    """Turn on numba's disk cache for every module-level kernel of umap-learn and pynndescent that lacks
    one (imports them first); returns how many were turned on (0 on a second call)."""
    import umap  # noqa: F401  (imports pynndescent and every kernel module the fits use)
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    n = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in _PACKAGES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(value._cache, NullCache):
                value.enable_caching()
                n += 1
    return n


def fit(x: np.ndarray, n: int, n_neighbors: int = 15, min_dist: float = 0.3,
        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The two UMAPs (cosine metric) of notebook 6 over ``x`` (3N, D), whose first ``n`` rows are the
    teacher's embeddings: ``joint``, fitted on all rows, and ``placed``, fitted on the first ``n`` with
    the other rows placed by ``UMAP.transform``. Returns (joint, placed), each (3N, 2) float32."""
    import umap

    enable_kernel_cache()

    def reducer(n_points: int):
        return umap.UMAP(n_neighbors=min(n_neighbors, n_points - 1), min_dist=min_dist, metric="cosine",
                         random_state=seed, n_jobs=1)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        joint = reducer(len(x)).fit_transform(x).astype(np.float32)  # (3N, 2)
        video_map = reducer(n).fit(x[:n])
        placed = np.concatenate([video_map.embedding_, video_map.transform(x[n:])]).astype(np.float32)  # (3N, 2)
    return joint, placed


def warm(n: int = 100, dim: int = 64) -> None:
    """Compile (or load) every kernel :func:`fit` uses, on random embeddings of the study's kind."""
    x = np.random.default_rng(0).standard_normal((3 * n, dim)).astype(np.float32)  # (3N, D)
    fit(x, n)


if __name__ == "__main__":  # `python -m comodo.study.comodo.umap_fit`: what `make install` runs
    import time

    t = time.time()
    warm()
    print(f"UMAP's numba kernels compiled into numba's cache (or found there) in {time.time() - t:.0f} s",
          flush=True)
