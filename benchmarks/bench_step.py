"""One COMODO distillation step vs the bare student step on the same batch (target ratio ≤ 1.15).

bare:    student forward → a trivial loss → backward → AdamW step
distill: student forward → comodo_loss over queue ∪ batch keys → backward → AdamW step →
         scheduler step → enqueue the batch's teacher embeddings
Teacher embeddings come from the cache in real runs, so the teacher costs nothing per step.
Prints the median times of both and their ratio, measured in this one run, for each queue size.

    python benchmarks/bench_step.py [--batch 128] [--queue 1024,16384] [--repeats 30]

What to expect on a CPU: the loss costs three (B × (K+B) × D) matrix products (teacher logits, student
logits, the student's gradient), about 1.6 GFLOP at K = 16384, B = 128, D = 128, against ~2.6 GFLOP for
the forward + backward of the 0.84 M-parameter CNN student on 128 clips. There the ratio is bounded
below by the method's own arithmetic, not by bookkeeping: the line also prints the loss alone
(forward + backward). At K ≤ 1024 the loss and queue cost a few milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--queue", default="1024,16384", help="comma-separated queue sizes K")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--student", default="dilated_cnn")
    args = ap.parse_args()

    try:
        sizes = [int(k) for k in args.queue.split(",") if k.strip()]
    except ValueError:
        raise SystemExit(f"bench_step: --queue {args.queue!r}: expected comma-separated integers") from None
    if not sizes or min(sizes) < 1 or args.batch < 2 or args.repeats < 1:
        raise SystemExit(f"bench_step: expected K >= 1, --batch >= 2, --repeats >= 1; got --queue {args.queue}, "
                         f"--batch {args.batch}, --repeats {args.repeats}")
    print(f"threads={torch.get_num_threads()} batch={args.batch} student={args.student} repeats={args.repeats} "
          f"(median; bare and distill interleaved)")
    for k in sizes:
        b, d, loss = _measure(k, args)
        print(f"K={k}: distillation step vs bare student step: bare {b * 1e3:.1f} ms, distill {d * 1e3:.1f} ms, "
              f"ratio {d / b:.3f} (target <= 1.15); the loss alone, forward + backward: {loss * 1e3:.1f} ms")


def _measure(k: int, args: argparse.Namespace) -> tuple[float, float, float]:
    """Median seconds of the bare step, the distillation step and the loss alone, queue size ``k``."""
    from transformers import get_linear_schedule_with_warmup

    from comodo.encoders import BACKBONES
    from comodo.encoders.student import IMUStudent
    from comodo.losses import comodo_loss
    from comodo.queue import EmbeddingQueue

    torch.manual_seed(0)
    student = IMUStudent(BACKBONES.get(args.student)(None), 6)
    x = torch.randn(args.batch, 6, student.input_length)
    z_t = nn.functional.normalize(torch.randn(args.batch, 128), dim=1)
    queue = EmbeddingQueue(k, 128)
    queue.fill(nn.functional.normalize(torch.randn(k, 128), dim=1))
    opt = torch.optim.AdamW(student.parameters(), lr=3e-4)
    sched = get_linear_schedule_with_warmup(opt, 10, 10_000)

    def bare() -> None:
        loss = student(x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def step() -> None:
        loss = comodo_loss(student(x), z_t, queue.keys(), 0.05, 0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        queue.enqueue(z_t)

    z_s = torch.randn(args.batch, 128, requires_grad=True)

    def loss_only() -> None:
        comodo_loss(z_s, z_t, queue.keys(), 0.05, 0.1).backward()

    fns = {"bare": bare, "distill": step, "loss": loss_only}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in list(fns.values()) * 2:  # warm-up
        fn()
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit all alike
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return tuple(statistics.median(times[name]) for name in fns)

if __name__ == "__main__":
    main()
