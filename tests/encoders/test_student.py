import pytest
import torch
from torch import nn

from comodo.encoders.cnn import DilatedCNN
from comodo.encoders.student import IMUStudent
from comodo.errors import ComodoError


def small_backbone(per_channel: bool) -> DilatedCNN:
    return DilatedCNN(per_channel=per_channel, width=8, depth=2, dim=16, input_length=64)


@pytest.mark.parametrize("per_channel, reduction, feature_dim", [
    (True, "concat", 6 * 16), (True, "mean", 16), (False, "concat", 16), (False, "mean", 16),
])
def test_feature_width_follows_the_reduction(per_channel, reduction, feature_dim):
    student = IMUStudent(small_backbone(per_channel), 6, reduction, mlp_hidden_dim=32, mlp_output_dim=8)
    x = torch.randn(4, 6, 64)
    assert student.feature_dim == feature_dim
    assert student.features(x).shape == (4, feature_dim)
    assert student(x).shape == (4, 8)


def test_mean_reduction_is_the_mean_of_the_channel_tokens():
    student = IMUStudent(small_backbone(True), 6, "mean").eval()
    x = torch.randn(3, 6, 64)
    torch.testing.assert_close(student.features(x), student.backbone(x).mean(1))


def test_projector_is_the_references_and_features_skip_it():
    """Linear(d, 2048) → BatchNorm1d → GELU → Linear(2048, 128) by default; features() never touches it."""
    student = IMUStudent(small_backbone(False), 6).eval()
    kinds = [type(m) for m in student.projector]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.GELU, nn.Linear]
    assert (student.projector[0].in_features, student.projector[0].out_features) == (16, 2048)
    assert (student.projector[3].in_features, student.projector[3].out_features) == (2048, 128)
    x = torch.randn(2, 6, 64)
    before = student.features(x)
    with torch.no_grad():
        for p in student.projector.parameters():
            p.add_(1.0)
    torch.testing.assert_close(student.features(x), before)
    torch.testing.assert_close(student(x), student.projector(before))


def test_classifier_head_only_when_built_with_classes():
    x = torch.randn(2, 6, 64)
    assert IMUStudent(small_backbone(False), 6, n_classes=5)(x, head="classifier").shape == (2, 5)
    with pytest.raises(ComodoError, match="no classifier"):
        IMUStudent(small_backbone(False), 6)(x, head="classifier")


@pytest.mark.parametrize("kwargs, message", [
    (dict(reduction="max"), "reduction 'max': expected one of concat, mean"),
    (dict(mlp_output_dim=0), "projector sizes must be > 0, got hidden 2048, output 0"),
])
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ComodoError, match=message):
        IMUStudent(small_backbone(False), 6, **kwargs)
