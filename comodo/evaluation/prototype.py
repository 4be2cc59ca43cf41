"""Prototype accuracy, the reference's validation during training.

One anchor clip per class is picked; its teacher embedding is that class's prototype. Each IMU clip
gets the label of the prototype its student embedding is most cosine-similar to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from comodo.errors import check
from comodo.evaluation.arrays import as_labels, as_matrix


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
    x = as_matrix("imu_emb", imu_emb)  # (N, D)
    p = as_matrix("prototypes", prototypes)  # (C, D)
    y = as_labels("labels", labels, x.shape[0])  # (N,)
    p_labels = as_labels("prototype_labels", prototype_labels, p.shape[0])  # (C,)
    check(x.shape[1] == p.shape[1], f"imu_emb has dim {x.shape[1]} but prototypes have dim {p.shape[1]}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (N, D)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)  # (C, D)
    predicted = p_labels[np.argmax(x @ p.T, axis=1)]  # (N, C) -> (N,)
    return float(np.mean(predicted == y))
