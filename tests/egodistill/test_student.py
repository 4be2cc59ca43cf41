"""The student Φ and its config: shapes per variant, what each part sees, and bad settings."""

from __future__ import annotations

import pytest
import torch

from comodo.egodistill.config import VARIANTS, EgoDistillConfig, variant
from comodo.egodistill.student import EgoDistillStudent
from comodo.errors import ComodoError

SMALL = dict(width=8, depth=2, kernel=3, dim=16)


def _student(frames: int = 1, use_imu: bool = True) -> EgoDistillStudent:
    torch.manual_seed(0)
    return EgoDistillStudent(image_dim=12, frames=frames, feature_dim=20, n_classes=5, use_imu=use_imu,
                             imu_length=64, imu_options=SMALL, gru_hidden=24, fusion_hidden=32)


@pytest.mark.parametrize("frames", [1, 2, 4])
@pytest.mark.parametrize("use_imu", [True, False])
def test_shapes(frames, use_imu):
    s = _student(frames, use_imu)
    z, logits = s(torch.randn(3, frames, 12), torch.randn(3, 6, 64) if use_imu else None)
    assert z.shape == (3, 20) and logits.shape == (3, 5)
    assert (s.gru is not None) == (frames > 1)
    assert (s.imu is not None) == (s.predictor is not None) == use_imu
    assert s.fusion[0].in_features == (24 if frames > 1 else 12) + (16 if use_imu else 0)  # concat → FC(1024 here 32)
    if use_imu:
        assert s.predict_imu(torch.randn(3, 2, 12)).shape == (3, 16)  # h(z_I⁰, z_Iᵀ) → the IMU feature size


def test_the_imu_changes_the_output_and_the_frames_order_matters_for_the_gru():
    s = _student(frames=4).eval()
    frames, imu = torch.randn(2, 4, 12), torch.randn(2, 6, 64)
    z, _ = s(frames, imu)
    assert not torch.allclose(z, s(frames, imu.flip(-1))[0])  # f_M reads the IMU
    assert not torch.allclose(z, s(frames.flip(1), imu)[0])  # the GRU is order-sensitive (unidirectional)
    one = _student(frames=1).eval()
    assert torch.equal(one.visual(frames[:, :1]), frames[:, 0])  # N = 1: the frame feature itself


def test_bad_inputs():
    s = _student(frames=2)
    with pytest.raises(ComodoError, match=r"expected \(B, 2, 12\)"):
        s(torch.randn(3, 1, 12), torch.randn(3, 6, 64))
    with pytest.raises(ComodoError, match="needs the clip's IMU"):
        s(torch.randn(3, 2, 12))
    with pytest.raises(ComodoError, match="frames 0"):
        EgoDistillStudent(12, 0, 20, 5)


def test_variants_are_settings():
    assert {name: variant(name).resolved().variant for name in VARIANTS} == {name: name for name in VARIANTS}
    c = variant("egodistill", num_epochs=7, pretrain_epochs=3, alpha=0.5)
    s0 = c.stage0()
    assert (s0.stage, s0.num_epochs, s0.alpha, s0.pretrain) == ("pretrain", 3, 0.95, "nce+l1")
    # every stage-1 variant of the same data and pre-training shares one stage-0 run
    assert variant("egodistill", losses=["kd", "gt"]).stage0() == variant("egodistill").stage0()
    assert EgoDistillConfig(losses=["gt", "kd"]).resolved().losses == ["kd", "gt"]  # canonical order
    assert EgoDistillConfig.from_dict(c.resolved().to_dict()).resolved() == c.resolved()


@pytest.mark.parametrize("field,value,message", [
    ("frames", 0, "frames 0"), ("frames", 1.5, "frames 1.5"), ("frame_selection", "best", "frame selection"),
    ("clip_s", 0, "clip_s 0"), ("clip_s", -2.0, "clip_s"), ("alpha", 1.5, "alpha 1.5"), ("alpha", -0.1, "alpha"),
    ("beta", -1, "beta -1"), ("tau", 0, "tau 0"), ("losses", [], "losses"), ("losses", ["kd", "mse"], "losses kd,mse"),
    ("pretrain", "simclr", "pretrain 'simclr'"), ("batch_size", 1, "batch-size 1"), ("num_epochs", 0, "num-epochs 0"),
    ("learning_rate", float("nan"), "learning-rate"), ("seed", -1, "seed -1"), ("stage", "finetune", "stage"),
])
def test_nonsense_settings_are_one_line_errors(field, value, message):
    with pytest.raises(ComodoError, match=message) as e:
        EgoDistillConfig(**{field: value}).resolved()
    assert "\n" not in str(e.value)


def test_stage0_needs_losses():
    with pytest.raises(ComodoError, match="needs losses"):
        EgoDistillConfig(stage="pretrain", pretrain="none").resolved()
    with pytest.raises(ComodoError, match="without the IMU"):
        EgoDistillConfig(stage="pretrain", use_imu=False, pretrain="nce+l1").resolved()
