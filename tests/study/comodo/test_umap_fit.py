"""Notebook 6's UMAP fits, with umap-learn's numba kernels in numba's disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from comodo.study.comodo import umap_fit


def test_kernels_are_cached_on_disk_and_fits_repeat():
    import umap.umap_

    umap_fit.enable_kernel_cache()
    assert umap_fit.enable_kernel_cache() == 0  # every kernel already has its cache
    kernel = umap.umap_.smooth_knn_dist  # one of the kernels every fit runs
    assert type(kernel._cache).__name__ == "FunctionCache"
    x = np.random.default_rng(1).standard_normal((3 * 20, 8)).astype(np.float32)  # (3N, D)
    joint, placed = umap_fit.fit(x, 20, n_neighbors=5)
    assert joint.shape == placed.shape == (60, 2) and joint.dtype == np.float32
    assert np.isfinite(joint).all() and np.isfinite(placed).all()
    assert sum(kernel._cache_hits.values()) + sum(kernel._cache_misses.values()) >= 1  # looked up on disk
    index = Path(kernel._cache._cache_file._index_path)
    assert index.exists()  # compiled machine code kept for the next process
    again = umap_fit.fit(x, 20, n_neighbors=5)
    assert np.array_equal(joint, again[0]) and np.array_equal(placed, again[1])
