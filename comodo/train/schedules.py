"""Learning-rate schedules shared by the embedded models' training (the EgoDistill teacher and image encoder)."""

from __future__ import annotations

import torch


def one_cycle(opt: torch.optim.Optimizer, lr: float, steps: int, warmup: float = 0.1):
    """One-cycle schedule over ``steps`` (warm-up: the fraction ``warmup`` of the steps, at least 2);
    constant under 4 steps (a tiny data set: torch's one-cycle needs a warm-up of at least one step)."""
    if steps < 4:
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=max(warmup, 2.0 / steps))
