"""The student-backbone interface every IMU backbone follows.

A backbone maps an IMU batch ``(B, C, L)`` (float32, SI units — m/s² and rad/s — already resampled to
``input_length`` samples) to channel tokens ``(B, T, dim)``: ``T = C`` for per-channel backbones
(Mantis, MOMENT, the CNN in per-channel mode), ``T = 1`` for a backbone that mixes channels itself.
:class:`comodo.encoders.student.IMUStudent` reduces the tokens (``concat`` → ``T·dim``, ``mean`` → ``dim``).
"""

from __future__ import annotations

from torch import Tensor, nn


class Backbone(nn.Module):
    """Base class. Subclasses set ``input_length``, ``dim`` and ``per_channel`` and implement ``forward``."""

    input_length: int
    dim: int
    per_channel: bool

    def forward(self, x: Tensor) -> Tensor:  # (B, C, L) -> (B, T, dim)
        raise NotImplementedError

    def n_tokens(self, n_channels: int) -> int:
        return n_channels if self.per_channel else 1
