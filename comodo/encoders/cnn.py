"""A small 1-D dilated CNN: the fast CPU default IMU backbone (no pretraining).

In the spirit of EgoDistill's IMU encoder (a 5-layer 1-D dilated CNN): a strided stem, residual
dilated convolution blocks (dilation 1, 2, 4, …), then mean- and max-pooling over time and a linear
layer. ``per_channel=False`` (default) mixes the 6 axes in the stem and returns one token;
``per_channel=True`` encodes each axis separately with shared weights, like Mantis and MOMENT, so the
student's ``concat``/``mean`` reduction applies.
"""

from __future__ import annotations

from torch import Tensor, nn

from comodo.encoders import BACKBONES
from comodo.encoders.base import Backbone
from comodo.errors import check, is_integer


class _Block(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.norm = nn.BatchNorm1d(width)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:  # (N, W, L) -> (N, W, L)
        return x + self.act(self.norm(self.conv(x)))


class DilatedCNN(Backbone):
    """(B, C, L) IMU → (B, T, dim) tokens, T = C if ``per_channel`` else 1."""

    def __init__(self, n_channels: int = 6, per_channel: bool = False, width: int = 32, depth: int = 5,
                 kernel: int = 5, dim: int = 256, input_length: int = 256) -> None:
        super().__init__()
        sizes = {"n_channels": n_channels, "width": width, "depth": depth, "kernel": kernel, "dim": dim,
                 "input_length": input_length}
        for name, v in sizes.items():
            ok = is_integer(v) and v > 0
            check(ok, f"dilated_cnn {name} {v!r}: expected a positive integer")
        check(kernel % 2 == 1, f"dilated_cnn kernel: expected an odd size, got {kernel}")
        check(isinstance(per_channel, bool), f"dilated_cnn per_channel {per_channel!r}: expected true or false")
        self.n_channels, self.per_channel = n_channels, per_channel
        self.input_length, self.dim = input_length, dim
        c_in = 1 if per_channel else n_channels
        self.stem = nn.Sequential(nn.Conv1d(c_in, width, 7, stride=2, padding=3), nn.BatchNorm1d(width), nn.GELU())
        self.blocks = nn.Sequential(*[_Block(width, kernel, 2**i) for i in range(depth)])
        self.out = nn.Linear(2 * width, dim)

    def forward(self, x: Tensor) -> Tensor:
        check(x.ndim == 3 and x.shape[1] == self.n_channels,
              f"dilated_cnn input: expected (B, {self.n_channels}, L), got {tuple(x.shape)}")
        B, C, L = x.shape
        h = x.reshape(B * C, 1, L) if self.per_channel else x  # (B·C, 1, L) or (B, C, L)
        h = self.blocks(self.stem(h))  # (N, W, L/2)
        h = self.out(torch_cat_pool(h))  # (N, dim)
        return h.reshape(B, C if self.per_channel else 1, self.dim)  # (B, T, dim)


def torch_cat_pool(h: Tensor) -> Tensor:
    """(N, W, L) → (N, 2W): mean and max over time."""
    import torch

    return torch.cat([h.mean(-1), h.amax(-1)], dim=-1)


@BACKBONES.register("dilated_cnn")
def build_dilated_cnn(checkpoint: str | None = None, **options) -> DilatedCNN:
    """The CNN has no pretrained checkpoint: ``checkpoint`` must be None (weights come from the seed)."""
    check(checkpoint in (None, "", "none"),
          f"dilated_cnn has no pretrained weights; got checkpoint {checkpoint!r} (leave --imu-ckpt unset)")
    allowed = {"n_channels", "per_channel", "width", "depth", "kernel", "dim", "input_length"}
    unknown = set(options) - allowed
    check(not unknown, f"dilated_cnn: unknown option(s) {sorted(unknown)}; expected some of {sorted(allowed)}")
    return DilatedCNN(**options)
