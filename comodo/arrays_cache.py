"""Named NumPy arrays cached in one keyed ``safetensors`` file: written atomically, no pickle, self-repairing.

The pattern of :mod:`comodo.cache` for any cache of arrays (EgoDistill's per-frame image features,
the teacher's clip outputs): the cache key is stored in the file's metadata; on load the key and the
row counts are checked and every floating-point array must be finite. A stale file (another key,
other row counts) or a corrupt one (truncated, not safetensors, an array missing) prints one line
to stderr and reads as absent, so the caller recomputes and overwrites it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping

import numpy as np

from comodo.errors import check
from comodo.io import atomic_path


def load_arrays(path: str | Path, key: str, expected_rows: int | Mapping[str, int] | None = None,
                what: str = "array cache") -> dict[str, np.ndarray] | None:
    """The arrays of ``path`` if it holds ``key`` with the expected rows, else ``None``.

    Args:
        path: the ``.safetensors`` file (a missing one is ``None``, silently).
        key: the cache key the file must have been written with.
        expected_rows: one int (every array's leading dimension), or ``{name: rows}`` (those arrays
            must be present with those leading dimensions), or ``None`` (no check).
        what: what the cache holds, for the message (``"frame-feature cache"``).

    Returns:
        ``{name: array}`` read into memory, or ``None`` when absent, stale or corrupt (then a message
        naming the file went to stderr).
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as e:  # truncated, not safetensors, unreadable ...
        print(f"comodo: corrupt {what} {path} ({type(e).__name__}): rebuilding", file=sys.stderr)
        return None
    why = _stale(arrays, meta.get("key") == key, expected_rows)
    if why:
        print(f"comodo: stale {what} {path} ({why}): rebuilding", file=sys.stderr)
        return None
    return arrays


def save_arrays(path: str | Path, key: str, arrays: Mapping[str, np.ndarray],
                metadata: Mapping[str, str] | None = None) -> None:
    """Write ``arrays`` (each C-contiguous after conversion) to ``path`` atomically, ``key`` in its metadata."""
    import torch
    from safetensors.torch import save_file

    check(len(arrays) > 0, f"cache {path}: expected at least one array to save")
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
    meta = {**{k: str(v) for k, v in (metadata or {}).items()}, "key": key}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _stale(arrays: dict[str, np.ndarray], key_ok: bool, expected_rows: int | Mapping[str, int] | None) -> str:
    """Why the loaded arrays cannot be used ('' when they can)."""
    if not key_ok:
        return "key differs"
    if not arrays:
        return "no arrays"
    if isinstance(expected_rows, Mapping):
        for name, rows in expected_rows.items():
            if name not in arrays:
                return f"no array {name!r}"
            if arrays[name].shape[:1] != (rows,):
                return f"{name!r} has {arrays[name].shape[0] if arrays[name].ndim else 0} rows, expected {rows}"
    elif expected_rows is not None:
        for name, a in arrays.items():
            if a.shape[:1] != (int(expected_rows),):
                return f"{name!r} has {a.shape[0] if a.ndim else 0} rows, expected {int(expected_rows)}"
    for name, a in arrays.items():
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            return f"{name!r} holds non-finite values"
    return ""


__all__ = ["load_arrays", "save_arrays"]
