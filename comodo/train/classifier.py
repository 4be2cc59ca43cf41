"""Fitting a small transformers classifier on pixel values: the loop the embedded models share (the
COMODO teacher, EgoDistill's image encoder), with the augmentation as a parameter."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn


def fit_classifier(model: nn.Module, p_train: Tensor, y_train: np.ndarray, p_val: Tensor, y_val: np.ndarray, *,
                   epochs: int, batch_size: int, opt: torch.optim.Optimizer, sched, gen: torch.Generator,
                   augment: Callable[[Tensor, torch.Generator], Tensor], name: str, verbose: bool) -> list[dict]:
    """Cross-entropy on ``model(pixel_values=...).logits``; returns the per-epoch history (model left in eval).

    Each epoch: a permutation drawn from ``gen``; per batch of ``batch_size`` rows of ``p_train``,
    ``augment(batch, gen)``, one optimiser and one scheduler step; then the accuracy on ``p_val``.
    """
    y = torch.as_tensor(y_train)
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(y_train), generator=gen)
        losses = []
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(pixel_values=augment(p_train[idx], gen)).logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        acc = evaluate_classifier(model, p_val, y_val)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_acc": acc})
        if verbose:
            print(f"{name} epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.3f}, val acc {acc:.3f}", flush=True)
    model.eval()
    return history


@torch.no_grad()
def evaluate_classifier(model: nn.Module, pixels: Tensor, y: np.ndarray, batch: int = 64) -> float:
    """Top-1 accuracy of ``model`` on ``pixels`` against ``y``."""
    model.eval()
    pred = torch.cat([model(pixel_values=pixels[i:i + batch]).logits.argmax(-1) for i in range(0, len(y), batch)])
    return float((pred.numpy() == y).mean())
