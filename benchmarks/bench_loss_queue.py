"""Time one COMODO step (loss, backward through z_imu, queue update): our ring buffer vs the reference.

Ours: ``loss = comodo_loss(z_imu, z_v, queue.keys())`` then ``queue.enqueue(z_v)`` (B rows written).
Reference formulation: ``keys = cat([queue, z_v])``; the loss over ``keys``; ``queue = keys[B:].clone()``
(K rows copied each step). Both compute the same loss and end with the same queue (checked below).
Besides the queue update, ours differs in two details of the loss arithmetic: 1/τ scales the B queries
instead of the B×(K+B) logits, and the queue's finiteness is checked on its K row norms. Float32 on CPU,
default threads; a second line times the queue update alone.

Run: ``python benchmarks/bench_loss_queue.py`` (about 20 s on two cores).
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from comodo.losses import comodo_loss
from comodo.queue import EmbeddingQueue

K, B, D = 65536, 128, 128
TAU_S, TAU_T = 0.05, 0.1
WARMUP, REPEATS = 3, 15


def reference_loss(z_imu: Tensor, z_video: Tensor, keys: Tensor) -> Tensor:
    """METHOD.md §1 written directly over precomputed ``keys`` (K+B, D), logits divided by τ."""
    z_x = F.normalize(z_imu, dim=1)  # (B, D)
    z_v = F.normalize(z_video, dim=1)  # (B, D)
    keys = F.normalize(keys, dim=1)  # (K+B, D)
    with torch.no_grad():
        p_v = torch.softmax(z_v @ keys.T / TAU_T, dim=1)  # (B, K+B)
    log_p_x = torch.log_softmax(z_x @ keys.T / TAU_S, dim=1)  # (B, K+B)
    return -(p_v * log_p_x).sum(dim=1).mean()


def random_batch(gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Student outputs (B, D) and unit-length teacher embeddings (B, D)."""
    return torch.randn(B, D, generator=gen), F.normalize(torch.randn(B, D, generator=gen), dim=1)


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    start = F.normalize(torch.randn(K, D, generator=gen), dim=1)  # (K, D)
    batches = [random_batch(gen) for _ in range(8)]  # (z_imu (B, D), z_v (B, D)) pairs

    ours_queue = EmbeddingQueue(K, D)
    ours_queue.fill(start)
    ref_state = {"queue": start.clone()}

    def ours(z_imu: Tensor, z_v: Tensor) -> Tensor:
        loss = comodo_loss(z_imu, z_v, ours_queue.keys(), TAU_S, TAU_T)
        loss.backward()
        ours_queue.enqueue(z_v)
        return loss

    def reference(z_imu: Tensor, z_v: Tensor) -> Tensor:
        keys = torch.cat([ref_state["queue"], z_v])  # (K+B, D)
        loss = reference_loss(z_imu, z_v, keys)
        loss.backward()
        ref_state["queue"] = keys[B:].clone()  # (K, D)
        return loss

    losses: dict[str, list[float]] = {"ours": [], "reference": []}
    times: dict[str, list[float]] = {"ours": [], "reference": []}
    steps: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"ours": ours, "reference": reference}
    for i in range(WARMUP + REPEATS):
        z_imu_data, z_v = batches[i % len(batches)]
        for name, step in steps.items():  # interleaved, so both see the same machine load
            z_imu = z_imu_data.clone().requires_grad_(True)
            t0 = time.perf_counter()
            loss = step(z_imu, z_v)
            elapsed = time.perf_counter() - t0
            if i >= WARMUP:
                times[name].append(elapsed)
            losses[name].append(loss.item())
    ours_losses, ref_losses = torch.tensor(losses["ours"]), torch.tensor(losses["reference"])
    torch.testing.assert_close(ours_losses, ref_losses, rtol=1e-4, atol=0)  # the same loss at every step
    torch.testing.assert_close(ours_queue.ordered(), ref_state["queue"])  # the same queue at the end

    queue_ms: dict[str, list[float]] = {"ours": [], "reference": []}
    for i in range(WARMUP + REPEATS):
        z_v = batches[i % len(batches)][1]
        keys = torch.cat([ref_state["queue"], z_v])  # (K+B, D): the loss needs it in both formulations
        t0 = time.perf_counter()
        ours_queue.enqueue(z_v)
        t1 = time.perf_counter()
        ref_state["queue"] = keys[B:].clone()  # (K, D)
        t2 = time.perf_counter()
        if i >= WARMUP:
            queue_ms["ours"].append(1000 * (t1 - t0))
            queue_ms["reference"].append(1000 * (t2 - t1))

    ours_ms = 1000 * statistics.median(times["ours"])
    ref_ms = 1000 * statistics.median(times["reference"])
    print(f"threads={torch.get_num_threads()} warm-up={WARMUP} repeats={REPEATS} (median)")
    print(
        f"loss+queue K={K} B={B} D={D}: ours {ours_ms:.1f} ms, reference {ref_ms:.1f} ms, "
        f"ratio {ours_ms / ref_ms:.2f}"
    )
    q_ours, q_ref = (statistics.median(queue_ms[name]) for name in ("ours", "reference"))
    print(f"queue update alone: ours enqueue {q_ours:.2f} ms, reference keys[B:].clone() {q_ref:.1f} ms")


if __name__ == "__main__":
    main()
