import numpy as np
import pytest
import torch

from comodo.errors import ComodoError
from comodo.evaluation.arrays import as_labels, as_matrix
from comodo.evaluation.svm import svm_protocol


def test_as_matrix_takes_tensors_that_require_grad():
    t = torch.arange(6.0).reshape(3, 2).requires_grad_()
    x = as_matrix("features", t)
    assert x.dtype == np.float64 and x.shape == (3, 2)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(3, 2))


def test_as_labels_takes_tensors_and_lists():
    np.testing.assert_array_equal(as_labels("y", torch.tensor([2, 0, 1]), 3), [2, 0, 1])
    np.testing.assert_array_equal(as_labels("y", ["walk", "cook"], 2), ["walk", "cook"])


@pytest.mark.parametrize(
    "x, message",
    [
        (np.ones(3), r"features must be a non-empty \(N, D\) array, got shape \(3,\)"),
        (np.ones((0, 4)), r"non-empty \(N, D\) array, got shape \(0, 4\)"),
        (np.array([[1.0, np.nan]]), "features contains NaN or inf"),
        (torch.tensor([[float("inf")]]), "features contains NaN or inf"),
    ],
)
def test_as_matrix_rejects(x, message):
    with pytest.raises(ComodoError, match=message):
        as_matrix("features", x)


def test_as_labels_rejects_a_count_that_does_not_match():
    with pytest.raises(ComodoError, match=r"y must have shape \(3,\), one label per feature row, got \(2,\)"):
        as_labels("y", [0, 1], 3)


def test_svm_protocol_accepts_student_features_as_tensors():
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(4)[:2] * 3  # (2, 4)
    y = torch.arange(40) % 2  # (40,)
    x = (centres[y] + 0.1 * torch.randn(40, 4, generator=gen)).requires_grad_()  # (40, 4)
    as_tensors = svm_protocol(x[:30], y[:30], x[30:], y[30:])
    as_arrays = svm_protocol(x[:30].detach().numpy(), y[:30].numpy(), x[30:].detach().numpy(), y[30:].numpy())
    assert as_tensors == as_arrays
    assert as_tensors["acc1"] == 1.0
