"""The IMU student: a backbone, a channel reduction and the trainable projector.

``features(x)`` is the backbone output after the reduction and *without* the projector — what the
SVM protocol sees (the reference's ``remove_projection_layer``). ``forward(x)`` adds the projector
``Linear(d, 2048) → BatchNorm1d → GELU → Linear(2048, 128)`` whose output the losses normalise.
"""

from __future__ import annotations

from torch import Tensor, nn

from comodo.encoders.base import Backbone
from comodo.errors import check

REDUCTIONS = ("concat", "mean")


def projector(d_in: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.GELU(), nn.Linear(hidden, out))


class IMUStudent(nn.Module):
    """Backbone + reduction + projector (+ an optional linear classifier for the supervised baseline)."""

    def __init__(self, backbone: Backbone, n_channels: int, reduction: str = "concat",
                 mlp_hidden_dim: int = 2048, mlp_output_dim: int = 128, n_classes: int | None = None) -> None:
        super().__init__()
        check(reduction in REDUCTIONS, f"reduction {reduction!r}: expected one of {', '.join(REDUCTIONS)}")
        check(mlp_hidden_dim > 0 and mlp_output_dim > 0,
              f"projector sizes must be > 0, got hidden {mlp_hidden_dim}, output {mlp_output_dim}")
        self.backbone, self.reduction, self.n_channels = backbone, reduction, n_channels
        tokens = backbone.n_tokens(n_channels)
        self.feature_dim = backbone.dim * tokens if reduction == "concat" else backbone.dim
        self.projector = projector(self.feature_dim, mlp_hidden_dim, mlp_output_dim)
        self.classifier = nn.Linear(self.feature_dim, n_classes) if n_classes else None

    @property
    def input_length(self) -> int:
        return self.backbone.input_length

    def features(self, x: Tensor) -> Tensor:
        """(B, C, L) → (B, feature_dim): backbone tokens reduced, no projector."""
        tokens = self.backbone(x)  # (B, T, d)
        return tokens.flatten(1) if self.reduction == "concat" else tokens.mean(1)  # (B, T·d) or (B, d)

    def forward(self, x: Tensor, head: str = "projector") -> Tensor:
        """(B, C, L) → (B, mlp_output_dim) through the projector (not normalised), or
        (B, n_classes) logits with ``head="classifier"`` (the supervised baseline)."""
        if head == "classifier":
            check(self.classifier is not None, "this student has no classifier (built without n_classes)")
            return self.classifier(self.features(x))
        return self.projector(self.features(x))
