"""The EgoDistill student Φ(I, M): sparse-frame features + head IMU → the teacher's clip feature and logits.

The frozen image encoder f_I runs before this module (its per-frame features are cached), so Φ starts
from frame features (B, N, D_I):

- N > 1: a one-layer unidirectional GRU (hidden 512) over the N frame features, its last state;
  N = 1: the frame feature itself;
- f_M: comodo's 1-D dilated CNN (:class:`~comodo.encoders.cnn.DilatedCNN`, 5 dilated blocks) on the
  mean-subtracted IMU (B, 6, 422);
- Π: concat → Linear(1024) → ReLU → Linear(D_V) = z_Φ, then a linear classifier → logits;
- h (stage 0 only): the IMU feature predicted from the first and last frame features,
  concat(z_I⁰, z_Iᵀ) → Linear(1024) → ReLU → Linear(D_M).

``use_imu=False`` (VisOnly, VisOnly-Distill) drops f_M and h, and Π sees the frames alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from comodo.encoders.cnn import DilatedCNN
from comodo.errors import check

IMU_DEFAULTS = dict(width=64, depth=5, kernel=5, dim=512)  # f_M: 5 dilated blocks of 64 channels, D_M = 512


class EgoDistillStudent(nn.Module):
    """Φ. ``forward(frames, imu)`` with frames (B, N, D_I), imu (B, C, L) → (z_Φ (B, D_V), logits (B, K))."""

    def __init__(self, image_dim: int, frames: int, feature_dim: int, n_classes: int, use_imu: bool = True,
                 n_channels: int = 6, imu_length: int = 422, imu_options: dict | None = None,
                 gru_hidden: int = 512, fusion_hidden: int = 1024) -> None:
        super().__init__()
        for name, v in (("image_dim", image_dim), ("frames", frames), ("feature_dim", feature_dim),
                        ("n_classes", n_classes)):
            check(isinstance(v, int) and v >= 1, f"EgoDistill student {name} {v!r}: expected a positive integer")
        self.frames, self.use_imu, self.image_dim = frames, use_imu, image_dim
        self.gru = nn.GRU(image_dim, gru_hidden, num_layers=1, batch_first=True) if frames > 1 else None
        d_vis = gru_hidden if frames > 1 else image_dim
        self.imu = self.predictor = None
        d_imu = 0
        if use_imu:
            options = {**IMU_DEFAULTS, **(imu_options or {}), "n_channels": n_channels, "input_length": imu_length}
            self.imu = DilatedCNN(**options)
            d_imu = self.imu.dim
            self.predictor = nn.Sequential(nn.Linear(2 * image_dim, fusion_hidden), nn.ReLU(),
                                           nn.Linear(fusion_hidden, d_imu))
        self.fusion = nn.Sequential(nn.Linear(d_vis + d_imu, fusion_hidden), nn.ReLU(),
                                    nn.Linear(fusion_hidden, feature_dim))
        self.classifier = nn.Linear(feature_dim, n_classes)

    def visual(self, frames: Tensor) -> Tensor:
        """(B, N, D_I) frame features → (B, D_vis): the GRU's last state for N > 1, else the frame feature."""
        check(frames.ndim == 3 and frames.shape[1:] == (self.frames, self.image_dim),
              f"student frames: expected (B, {self.frames}, {self.image_dim}), got {tuple(frames.shape)}")
        if self.gru is None:
            return frames[:, 0]  # (B, D_I)
        _, h = self.gru(frames)  # h: (1, B, H)
        return h[0]  # (B, H)

    def imu_feature(self, imu: Tensor) -> Tensor:
        """(B, C, L) IMU → (B, D_M) = f_M(M)."""
        check(self.imu is not None, "this student has no IMU encoder (use_imu=False)")
        return self.imu(imu)[:, 0]  # (B, 1, D_M) → (B, D_M)

    def predict_imu(self, first_last: Tensor) -> Tensor:
        """(B, 2, D_I) first- and last-frame features → (B, D_M) = h(z_I⁰, z_Iᵀ)."""
        check(self.predictor is not None, "this student has no IMU predictor (use_imu=False)")
        return self.predictor(first_last.flatten(1))  # (B, 2·D_I) → (B, D_M)

    def fuse(self, frames: Tensor, z_imu: Tensor | None) -> Tensor:
        """z_Φ = Π(visual(frames), z_M): (B, D_V)."""
        parts = [self.visual(frames)] + ([z_imu] if self.use_imu else [])
        return self.fusion(parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))  # (B, D_V)

    def forward(self, frames: Tensor, imu: Tensor | None = None) -> tuple[Tensor, Tensor]:
        check(not self.use_imu or imu is not None, "this student needs the clip's IMU")
        z = self.fuse(frames, self.imu_feature(imu) if self.use_imu else None)  # (B, D_V)
        return z, self.classifier(z)  # (B, D_V), (B, K)
