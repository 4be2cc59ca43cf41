"""Checks shared by the evaluations: features and labels given as NumPy arrays, lists or torch tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from comodo.errors import check


def _numpy(x: Any) -> Any:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x  # a torch tensor, on any device


def as_matrix(name: str, x: Any) -> np.ndarray:
    """``x`` as a finite, non-empty float64 (N, D) array, or a one-line error naming ``name``."""
    x = np.asarray(_numpy(x), dtype=np.float64)
    ok = x.ndim == 2 and x.shape[0] > 0 and x.shape[1] > 0
    check(ok, f"{name} must be a non-empty (N, D) array, got shape {x.shape}")
    check(bool(np.isfinite(x).all()), f"{name} contains NaN or inf")
    return x


def as_labels(name: str, y: Any, n: int) -> np.ndarray:
    """``y`` as an (n,) array of labels, one per row of the matching features."""
    y = np.asarray(_numpy(y))
    check(y.ndim == 1 and y.shape[0] == n, f"{name} must have shape ({n},), one label per feature row, got {y.shape}")
    return y
