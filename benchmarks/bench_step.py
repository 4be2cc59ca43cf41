"""One COMODO distillation step vs the bare student step on the same batch (target ratio ≤ 1.15).

bare:    student forward → a trivial loss → backward → AdamW step
distill: student forward → comodo_loss over queue ∪ batch keys → backward → AdamW step →
         scheduler step → enqueue the batch's teacher embeddings
Teacher embeddings come from the cache in real runs, so the teacher costs nothing per step.

Each run is ``student@K``; students are built at their real size with random weights (nothing is
downloaded; only the arithmetic matters), as notebook 8 builds them: ``dilated_cnn`` (the study's
0.84 M-parameter CNN + projector, 6 × 256 clips), ``mantis`` (the paper's Mantis-8M + projector,
6 × 512 clips, one channel at a time), ``moment`` (MOMENT-1-small + projector). The default runs are the
CNN at K = 1024 and K = 16384, and the paper's configuration: Mantis-8M, batch 128, K = 16384.

Each line prints, measured in this one run (the steps of a run interleaved, round by round, bare and
distill taking turns to go first): the median
bare step and distillation step, and the median over rounds of their ratio within a round (the two run
back to back, so a drift in the machine's speed moves both alike); the loss alone
(forward + backward) and the ratio it implies, (bare + loss) / bare; and the loss's three
(B × (K+B) × D) matrix products alone (teacher logits, student logits, the student's gradient: the
arithmetic of the method, which no implementation of it can skip) with the ratio they alone would
give, (bare + products) / bare — the floor for any way of writing the loss, on that machine.
The spread of the bare step over the rounds (its interquartile range) is printed too: when it is larger than the loss's share
(Mantis on a CPU, where one step takes seconds and pages gigabytes of activations in and out), the
direct ratio scatters around 1 and the ratio from the loss alone is the sharper number.

    python benchmarks/bench_step.py [--runs dilated_cnn@1024,dilated_cnn@16384,mantis@16384]
                                    [--batch 128] [--repeats N]

About 5 minutes on two cores, most of it Mantis (a 128-clip step of it takes ~25 s and ~8 GB there).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from torch import nn

DEFAULT_RUNS = "dilated_cnn@1024,dilated_cnn@16384,mantis@16384"
STUDENTS = ("dilated_cnn", "mantis", "moment")
DEFAULT_REPEATS = {"dilated_cnn": 50, "mantis": 5, "moment": 5}  # the transformers take seconds per step
D = 128  # embedding width (the projector's output)
TARGET = 1.15


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated student@K")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=None,
                    help=f"timed rounds per run (default per student: {DEFAULT_REPEATS})")
    args = ap.parse_args()
    runs = _parse_runs(args.runs)
    if args.batch < 2 or (args.repeats is not None and args.repeats < 1):
        raise SystemExit(f"bench_step: expected --batch >= 2 and --repeats >= 1; got --batch {args.batch}, "
                         f"--repeats {args.repeats}")
    print(f"threads={torch.get_num_threads()} batch={args.batch} D={D} (medians; ratios within a round, then their median)")
    for student, k in runs:
        repeats = args.repeats or DEFAULT_REPEATS[student]
        times = _measure(student, k, args.batch, repeats)
        t = {name: statistics.median(ts) for name, ts in times.items()}
        # Ratios of the steps of one round (run back to back), then their median: a change in the
        # machine's speed between rounds (shared cores) moves both steps of a round alike.
        ratio = statistics.median(d / b for d, b in zip(times["distill"], times["bare"]))
        parts = statistics.median((b + c) / b for b, c in zip(times["bare"], times["loss"]))
        floor = statistics.median((b + c) / b for b, c in zip(times["bare"], times["products"]))
        q1, _, q3 = statistics.quantiles(times["bare"], n=4) if repeats > 1 else (0.0, 0.0, 0.0)
        spread = (q3 - q1) / t["bare"]  # interquartile range of the bare step, relative to its median
        print(f"{student} K={k} (x{repeats}): bare {_ms(t['bare'])} (interquartile range {spread:.0%} of it), "
              f"distill {_ms(t['distill'])}, "
              f"ratio {ratio:.3f} (target <= {TARGET}, {'met' if ratio <= TARGET else 'NOT met'}); "
              f"loss alone (fwd + bwd) {_ms(t['loss'])}, (bare + loss alone) / bare {parts:.3f}; "
              f"its 3 matrix products alone {_ms(t['products'])}, (bare + products) / bare {floor:.3f}", flush=True)


def _parse_runs(text: str) -> list[tuple[str, int]]:
    runs = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        student, _, k = item.partition("@")
        if student not in STUDENTS or not k.isdigit() or int(k) < 1:
            raise SystemExit(f"bench_step: --runs item {item!r}: expected student@K with student one of "
                             f"{list(STUDENTS)} and K a positive integer")
        runs.append((student, int(k)))
    if not runs:
        raise SystemExit(f"bench_step: --runs {text!r}: expected at least one student@K")
    return runs


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def _measure(student_name: str, k: int, batch: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of the bare step, the distillation step, the loss alone and its matrix products, per round."""
    from transformers import get_linear_schedule_with_warmup

    from comodo.study.efficiency import MODELS
    from comodo.losses import comodo_loss
    from comodo.queue import EmbeddingQueue

    torch.manual_seed(0)
    student, make_input = MODELS["imu_student"]({"backbone": student_name})
    student.train()
    x = make_input(batch)  # (B, C, L)
    z_t = nn.functional.normalize(torch.randn(batch, D), dim=1)  # cached teacher embeddings (B, D)
    queue = EmbeddingQueue(k, D)
    queue.fill(nn.functional.normalize(torch.randn(k, D), dim=1))
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

    z_s = torch.randn(batch, D, requires_grad=True)

    def loss_only() -> None:
        comodo_loss(z_s, z_t, queue.keys(), 0.05, 0.1).backward()

    keys = torch.cat([queue.keys(), z_t])  # (K+B, D)
    queries = z_s.detach().clone()  # (B, D)
    grad_logits = torch.randn(batch, k + batch)  # (B, K+B)

    def products() -> None:
        queries @ keys.T  # teacher logits (B, K+B)
        queries @ keys.T  # student logits (B, K+B)
        grad_logits @ keys  # the student's gradient (B, D)

    fns: dict[str, Callable[[], None]] = {"bare": bare, "distill": step, "loss": loss_only, "products": products}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        fn()
    order = list(fns)
    for _ in range(repeats):
        # Bare and distill swap places every round: the first big step after the others can pay for
        # memory the allocator gave back (Mantis: gigabytes of activations), and that must not always be
        # the same one.
        order[0], order[1] = order[1], order[0]
        for name in order:
            fn = fns[name]
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


if __name__ == "__main__":
    main()
