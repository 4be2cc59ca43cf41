"""The paper's linear-probe-free evaluation: an RBF SVM on frozen student features (Sec. 3.2).

Features (N, D) of the evaluation dataset's train and test splits are L2-normalised row-wise, standardised
with statistics of the train split, and classified by ``SVC(kernel="rbf", gamma="scale")`` whose C is
chosen by grid search with stratified k-fold cross-validation. Accuracy@k comes from ``predict_proba``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler, normalize
from sklearn.svm import SVC

from comodo.errors import ComodoError, check, check_seed, is_integer, is_positive_number
from comodo.evaluation.arrays import as_labels, as_matrix


@dataclass(frozen=True)
class SVMConfig:
    """Settings of :func:`svm_protocol`; the defaults are the paper's and the reference code's.

    Attributes:
        max_train: the train split is stratified-subsampled to at most this many samples.
        c_grid: candidate values of C for the grid search.
        cv_folds: folds of the stratified cross-validation.
        min_per_class: grid search is skipped when the train split has fewer samples per class than this,
            on average (N // classes: the reference's rule; one rare class alone does not skip it).
        min_samples: grid search is skipped when there are fewer train samples than this.
        fallback_C: the C used when the grid search is skipped.
        seed: seeds the subsampling and the Platt scaling of the final SVM.
    """

    max_train: int = 10000
    c_grid: tuple[float, ...] = field(default_factory=lambda: tuple(10.0**k for k in range(-4, 5)))
    cv_folds: int = 5
    min_per_class: int = 5
    min_samples: int = 50
    fallback_C: float = 1e5
    seed: int = 0

    def __post_init__(self) -> None:
        check(is_integer(self.max_train) and self.max_train >= 2, f"SVM max_train {self.max_train!r}: expected ≥ 2")
        check(len(self.c_grid) > 0 and all(is_positive_number(c) for c in self.c_grid),
              f"SVM c_grid {self.c_grid!r}: expected one or more finite positive values")
        check(is_integer(self.cv_folds) and self.cv_folds >= 2, f"SVM cv_folds {self.cv_folds!r}: expected ≥ 2")
        check(is_integer(self.min_per_class) and self.min_per_class >= self.cv_folds,
              f"SVM min_per_class {self.min_per_class!r}: expected ≥ cv_folds ({self.cv_folds}), or no class "
              "may fill the stratified folds")
        check(is_integer(self.min_samples) and self.min_samples >= 0,
              f"SVM min_samples {self.min_samples!r}: expected ≥ 0")
        check(is_positive_number(self.fallback_C), f"SVM fallback_C {self.fallback_C!r}: expected a finite positive number")
        check_seed("SVM seed", self.seed)


def stratified_subsample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices (≤ n,) of a seeded subsample of ``labels`` (N,) that keeps the class proportions.

    Largest-remainder rounding, at least one sample per class; all indices when N ≤ n.
    """
    if labels.shape[0] <= n:
        return np.arange(labels.shape[0])
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    check(classes.size <= n, f"max_train={n} is smaller than the number of classes ({classes.size})")
    quota = counts * n / labels.shape[0]  # (C,) ideal share of each class
    take = np.maximum(np.floor(quota).astype(np.int64), 1)  # (C,)
    for c in np.argsort(-(quota - np.floor(quota)), kind="stable"):  # hand out the remainder
        if take.sum() >= n:
            break
        if take[c] < counts[c]:
            take[c] += 1
    while take.sum() > n:  # the ≥ 1 rule overshot: trim the largest classes
        take[np.argmax(take)] -= 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(inverse == c), int(t), replace=False) for c, t in enumerate(take)]
    return np.sort(np.concatenate(picked))


def svm_protocol(
    train_x: Any, train_y: Any, test_x: Any, test_y: Any, config: SVMConfig | None = None
) -> dict[str, Any]:
    """Run the paper's SVM protocol on frozen features and report top-k accuracies.

    The grid search fits ``SVC(probability=False)``; the chosen C is then refit once with
    ``probability=True, random_state=seed``. This is exactly equivalent to grid-searching the
    ``probability=True`` SVC as the reference does: GridSearchCV scores with ``SVC.predict`` (accuracy),
    which uses the decision function and never the Platt-scaled probabilities, and libsvm fits the same
    decision function either way; it only skips the 5-fold Platt calibration inside every candidate fit.
    As in the reference, the train features are standardised with the statistics of the whole train split,
    then stratified-subsampled to ``max_train``; grid search is skipped (C = ``fallback_C``) when the train
    split has fewer than ``min_per_class`` samples per class on average (N // classes) or fewer than
    ``min_samples`` samples. A class with fewer samples than ``cv_folds`` is then missing from some folds
    (scikit-learn's warning about it is silenced), as in the reference.

    As in the reference, ties in cross-validated accuracy keep the smallest C. On easy data that can be
    C = 1e-4, where the decision values are tiny and Platt scaling may be degenerate, so acc@1 from
    ``predict_proba`` can fall far below the accuracy of ``predict`` (see the tests).

    Args:
        train_x: train features (N, D).
        train_y: train labels (N,), strings or ints.
        test_x: test features (M, D).
        test_y: test labels (M,); each must occur in ``train_y``.
        config: protocol settings; :class:`SVMConfig` defaults if omitted.

    Returns:
        ``acc1``, ``acc3``, ``acc5`` (fractions in [0, 1]; k ≥ number of classes gives 1.0), ``C``,
        ``grid_searched``, ``n_train`` (after subsampling), ``n_test``, ``n_classes`` and ``classes``
        (sorted labels, as Python values).
    """
    config = config or SVMConfig()
    train_x, test_x = as_matrix("train_x", train_x), as_matrix("test_x", test_x)
    train_y = as_labels("train_y", train_y, train_x.shape[0])
    test_y = as_labels("test_y", test_y, test_x.shape[0])
    d_train, d_test = train_x.shape[1], test_x.shape[1]
    check(d_train == d_test, f"train and test feature dims differ: {d_train} vs {d_test}")
    unseen = sorted(set(test_y.tolist()) - set(train_y.tolist()), key=str)
    if unseen:
        raise ComodoError(f"test label {unseen[0]!r} does not occur in the train labels")
    classes = np.unique(train_y)
    check(classes.size >= 2, f"the SVM needs at least 2 train classes, got {classes.tolist()}")

    scaler = StandardScaler().fit(normalize(train_x))  # on the whole train split, as the reference
    train_z = scaler.transform(normalize(train_x))  # (N, D)
    test_z = scaler.transform(normalize(test_x))  # (M, D)
    keep = stratified_subsample(train_y, config.max_train, config.seed)  # (N',)
    # the reference's rule on the whole split; a subsample (a max_train below the default) must still fill the folds
    grid_searched = bool(train_y.size // classes.size >= config.min_per_class and train_y.size >= config.min_samples
                         and keep.size // classes.size >= config.cv_folds)
    train_z, train_y = train_z[keep], train_y[keep]  # (N', D), (N',)

    c_value = float(config.fallback_C)
    if grid_searched:
        search = GridSearchCV(
            SVC(kernel="rbf", gamma="scale"),  # probability off (the default)
            {"C": list(config.c_grid)},
            cv=config.cv_folds,
            refit=False,
        )
        with warnings.catch_warnings():  # a class with fewer samples than folds: left out of some, as in the reference
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            c_value = float(search.fit(train_z, train_y).best_params_["C"])
    with warnings.catch_warnings():  # scikit-learn 1.9 deprecates probability=True (removal in 1.11)
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        svm = SVC(kernel="rbf", gamma="scale", C=c_value, probability=True, random_state=config.seed)
        svm.fit(train_z, train_y)
        proba = svm.predict_proba(test_z)  # (M, C)
    ranked = svm.classes_[np.argsort(-proba, axis=1, kind="stable")]  # (M, C) labels, most likely first
    hits = ranked == test_y[:, None]  # (M, C)
    accs = {f"acc{k}": float(hits[:, :k].any(axis=1).mean()) for k in (1, 3, 5)}
    return {
        **accs,
        "C": c_value,
        "grid_searched": grid_searched,
        "n_train": int(train_y.size),
        "n_test": int(test_y.size),
        "n_classes": int(svm.classes_.size),
        "classes": svm.classes_.tolist(),
    }
