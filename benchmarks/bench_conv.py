"""f_M's dilated 1-D convolutions on a CPU: PyTorch's oneDNN ``conv1d`` against the other ways to compute
them, forward + backward, and the whole f_M step, measured in one run.

EgoDistill's runs are ~95 % the training of f_M (:class:`comodo.encoders.cnn.DilatedCNN`: a strided stem,
then 5 residual blocks of dilation 1, 2, 4, 8, 16, kernel 5, on 422 / 2 = 211 time steps), so a faster
convolution is the only way to a faster run at the same settings. Per dilation, one layer's forward and
backward (input and weight gradients) at the study's batch (64) and width, the median over rounds of:

- ``conv1d``: ``F.conv1d`` (oneDNN on x86): what the study uses, the reference (ratio 1);
- ``conv2d``: the same layer as a (1, k) ``F.conv2d``;
- ``conv2d_cl``: that, with the input in channels-last memory format;
- ``im2col``: k shifted views concatenated, one (B·L, k·W) × (k·W, W) matrix product (``addmm``);
- ``native``: ``conv1d`` with oneDNN disabled (ATen's own kernels).

Then f_M's whole forward + backward at widths 32 (the study's) and 64 (the default). Each line prints the
milliseconds and the ratio to ``conv1d`` (below 1: faster). Any other kernel also changes the last bits
of every run, so a switch would change the study's numbers.

    python benchmarks/bench_conv.py [--width 32] [--batch 64] [--rounds 15]

About a minute on one thread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from comodo.encoders.cnn import DilatedCNN
from comodo.study.cli import machine

KERNEL, LENGTH = 5, 211  # f_M's kernel; 422 IMU samples after the stem's stride 2


def _median_ms(fn, rounds: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def layer_variants(batch: int, width: int, dilation: int):
    """The five ways to compute one dilated layer's forward and backward, as zero-argument callables."""
    pad = dilation * (KERNEL - 1) // 2
    x = torch.randn(batch, width, LENGTH, requires_grad=True)
    w = torch.randn(width, width, KERNEL, requires_grad=True)
    b = torch.randn(width, requires_grad=True)
    g = torch.randn(batch, width, LENGTH)
    x_cl = x.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last).requires_grad_()

    def conv1d():
        F.conv1d(x, w, b, padding=pad, dilation=dilation).backward(g)

    def conv2d():
        F.conv2d(x.unsqueeze(2), w.unsqueeze(2), b, padding=(0, pad), dilation=(1, dilation)).squeeze(2).backward(g)

    def conv2d_cl():
        F.conv2d(x_cl, w.unsqueeze(2), b, padding=(0, pad), dilation=(1, dilation)).squeeze(2).backward(g)

    def im2col():
        xp = F.pad(x, (pad, pad)).transpose(1, 2)  # (B, L + 2p, W)
        cols = torch.cat([xp[:, j * dilation: j * dilation + LENGTH] for j in range(KERNEL)], dim=2)  # (B, L, k·W)
        weight = w.permute(2, 1, 0).reshape(KERNEL * width, width)  # (k·W, W)
        y = torch.addmm(b, cols.reshape(batch * LENGTH, KERNEL * width), weight)  # (B·L, W)
        y.view(batch, LENGTH, width).transpose(1, 2).backward(g)

    def native():
        with torch.backends.mkldnn.flags(enabled=False):
            conv1d()

    return {"conv1d": conv1d, "conv2d": conv2d, "conv2d_cl": conv2d_cl, "im2col": im2col, "native": native}


def fm_step(batch: int, width: int):
    torch.manual_seed(0)
    model = DilatedCNN(n_channels=6, width=width, depth=5, kernel=KERNEL, dim=512, input_length=2 * LENGTH)
    x = torch.randn(batch, 6, 2 * LENGTH)

    def step():
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    return step


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=32, help="f_M's channels (the study: 32)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=15)
    a = p.parse_args(argv)
    torch.set_num_threads(1)  # as every study run
    print(f"{machine()}, torch {torch.__version__}, 1 thread; "
          f"one layer: batch {a.batch}, width {a.width}, length {LENGTH}, kernel {KERNEL}")
    total: dict[str, float] = {}
    for d in (1, 2, 4, 8, 16):
        ms = {name: _median_ms(fn, a.rounds) for name, fn in layer_variants(a.batch, a.width, d).items()}
        ref = ms["conv1d"]
        print(f"dilation {d:2d}: " + "  ".join(f"{n} {v:6.2f} ms (×{v / ref:.2f})" for n, v in ms.items()))
        total = {n: total.get(n, 0.0) + v for n, v in ms.items()}
    print("the 5 blocks:  " + "  ".join(f"{n} {v:6.1f} ms (×{v / total['conv1d']:.2f})" for n, v in total.items()))
    for width in (32, 64):
        print(f"f_M forward + backward, width {width}, batch {a.batch}: "
              f"{_median_ms(fm_step(a.batch, width), a.rounds):.1f} ms")


if __name__ == "__main__":
    main()
