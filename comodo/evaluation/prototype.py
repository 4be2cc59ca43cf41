"""Prototype accuracy, the reference's validation during training.

One anchor clip per class is picked; its teacher embedding is that class's prototype. Each IMU clip
gets the label of the prototype its student embedding is most cosine-similar to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from comodo.errors import check


def _as_matrix(name: str, x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    ok = x.ndim == 2 and x.shape[0] > 0 and x.shape[1] > 0
    check(ok, f"{name} must be a non-empty (N, D) array, got shape {x.shape}")
    check(bool(np.isfinite(x).all()), f"{name} contains NaN or inf")
    return x


def _as_labels(name: str, y: Any, n: int) -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    check(y.ndim == 1 and y.shape[0] == n, f"{name} must have shape ({n},), got {y.shape}")
    return y


def pick_anchors(labels: Any, seed: int) -> np.ndarray:
    """One seeded anchor index per class, classes in sorted order.

    Args:
        labels: class labels (N,), strings or ints.
        seed: seeds the choice.

    Returns:
        Indices into ``labels`` (C,), int64; ``labels[result]`` is the sorted array of classes.
    """
    labels = np.asarray(labels)
    check(labels.ndim == 1 and labels.size > 0, f"labels must be a non-empty (N,) array, got {labels.shape}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)  # (C,) sorted
    anchors = [rng.choice(np.flatnonzero(labels == c)) for c in classes]
    return np.array(anchors, dtype=np.int64)  # (C,)


def prototype_accuracy(imu_emb: Any, labels: Any, prototypes: Any, prototype_labels: Any) -> float:
    """Fraction of IMU clips whose most cosine-similar prototype carries their label.

    Args:
        imu_emb: student embeddings (N, D) (NumPy array or tensor).
        labels: their labels (N,).
        prototypes: one teacher embedding per class (C, D).
        prototype_labels: the class of each prototype (C,).

    Returns:
        Accuracy in [0, 1].
    """
    x = _as_matrix("imu_emb", imu_emb)  # (N, D)
    p = _as_matrix("prototypes", prototypes)  # (C, D)
    y = _as_labels("labels", labels, x.shape[0])  # (N,)
    p_labels = _as_labels("prototype_labels", prototype_labels, p.shape[0])  # (C,)
    check(x.shape[1] == p.shape[1], f"imu_emb has dim {x.shape[1]} but prototypes have dim {p.shape[1]}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (N, D)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)  # (C, D)
    predicted = p_labels[np.argmax(x @ p.T, axis=1)]  # (N, C) -> (N,)
    return float(np.mean(predicted == y))
