"""This machine's speed right now, in two one-thread probes: to put a timing beside the machine's state.

A virtual 2-core machine's speed drifts by up to 1.8x from one run to the next (README, *Tests and
benchmarks*); printing these two numbers before and after a long measurement shows how fast the machine
was while it ran:

- matmul: 200 products of two 512 x 512 float32 matrices on one torch thread (vectorised kernels);
- python: a 3,000,000-step Python loop adding integers at module level (the interpreter).

    python benchmarks/bench_machine.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import machine  # noqa: E402


def probes() -> tuple[float, float]:
    """(matmul seconds, python-loop seconds)."""
    import torch

    from comodo.threads import one_thread

    with one_thread():
        x = torch.randn(512, 512, generator=torch.Generator().manual_seed(0))
        t = time.perf_counter()
        for _ in range(200):
            x @ x
        matmul = time.perf_counter() - t
    loop = compile("total = 0\nfor i in range(3_000_000):\n    total += i\n", "<probe>", "exec")
    t = time.perf_counter()
    exec(loop, {})  # at module level: every name a dict lookup, as in a script's top-level loop
    return matmul, time.perf_counter() - t


if __name__ == "__main__":
    print(machine())
    m, p = probes()
    print(f"probe: matmul {m:.3f} s, python loop {p:.3f} s")
