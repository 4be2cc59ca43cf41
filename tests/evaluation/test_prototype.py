import numpy as np
import pytest
import torch

from comodo.errors import ComodoError
from comodo.evaluation.prototype import pick_anchors, prototype_accuracy


def test_pick_anchors_one_per_sorted_class_and_seeded():
    labels = np.array(["walk", "cook", "walk", "bike", "cook", "walk", "bike"])
    anchors = pick_anchors(labels, seed=0)
    assert anchors.dtype == np.int64 and anchors.shape == (3,)
    assert labels[anchors].tolist() == ["bike", "cook", "walk"]
    assert np.array_equal(anchors, pick_anchors(labels, seed=0))
    seen = {tuple(pick_anchors(labels, seed=s)) for s in range(20)}
    assert len(seen) > 1  # the seed matters
    assert pick_anchors(np.array([4, 4, 9]), seed=3).tolist()[1] == 2  # a single-sample class


def test_prototype_accuracy_by_hand():
    prototypes = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # classes a, b, c
    imu = np.array(
        [
            [5.0, 0.1],  # a: cosine, not distance: the length 5 does not matter
            [0.2, 0.9],  # b
            [-0.3, -0.1],  # c
            [0.6, 0.5],  # nearest a, labelled b: wrong
        ]
    )
    labels = np.array(["a", "b", "c", "b"])
    assert prototype_accuracy(imu, labels, prototypes, np.array(["a", "b", "c"])) == pytest.approx(0.75)
    # prototype labels need not be sorted, and tensors are accepted
    reversed_protos = torch.tensor(prototypes[::-1].copy())
    acc = prototype_accuracy(torch.tensor(imu), labels, reversed_protos, ["c", "b", "a"])
    assert acc == pytest.approx(0.75)
    # predictions are 0, 1, 2, 0: every label below is wrong
    assert prototype_accuracy(imu, np.array([2, 0, 1, 1]), prototypes, np.array([0, 1, 2])) == 0.0


def test_anchor_prototypes_end_to_end():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 10)  # (30,)
    directions = np.eye(3)[labels]  # (30, 3)
    teacher = directions + 0.05 * rng.normal(size=(30, 3))
    student = directions + 0.05 * rng.normal(size=(30, 3))
    anchors = pick_anchors(labels, seed=1)
    assert prototype_accuracy(student, labels, teacher[anchors], labels[anchors]) == 1.0
    shuffled = rng.permutation(30)
    assert prototype_accuracy(student[shuffled], labels, teacher[anchors], labels[anchors]) < 0.7


@pytest.mark.parametrize(
    "imu, labels, protos, proto_labels, message",
    [
        (np.ones((2, 3)), [0, 1], np.ones((2, 4)), [0, 1], "dim 3 but prototypes have dim 4"),
        (np.ones((2, 3)), [0], np.ones((2, 3)), [0, 1], r"labels must have shape \(2,\)"),
        (np.ones((2, 3)), [0, 1], np.ones((2, 3)), [0], r"prototype_labels must have shape \(2,\)"),
        (np.full((2, 3), np.nan), [0, 1], np.ones((2, 3)), [0, 1], "imu_emb contains NaN"),
        (np.ones(3), [0], np.ones((2, 3)), [0, 1], "imu_emb must be a non-empty"),
        (np.ones((2, 3)), [0, 1], np.ones((0, 3)), [], "prototypes must be a non-empty"),
    ],
)
def test_bad_inputs(imu, labels, protos, proto_labels, message):
    with pytest.raises(ComodoError, match=message):
        prototype_accuracy(imu, np.asarray(labels), protos, np.asarray(proto_labels))


def test_pick_anchors_rejects_empty():
    with pytest.raises(ComodoError, match="non-empty"):
        pick_anchors(np.array([]), seed=0)
