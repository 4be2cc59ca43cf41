"""Where one EgoDistill IMU run of the study spends its time, at f_M width 32 and 16, share by share.

The study's most frequent expensive run: EgoDistill on ``ego4d_verbs`` at N = 1 and the study's budget
(:func:`comodo.study.egodistill.experiments.settings`: 20 + 20 epochs, lr 1e-3, batch 64), stage 0 then
stage 1 from it, trained with :func:`comodo.egodistill.train.train` into a temporary folder on one torch
thread, as a sweep's worker does. f_M has 32 channels (the study's until 2026-12-03) or 16 (the
study's since); both are timed in this one process, round by round, alternating which goes first, and
the ratio 32 ÷ 16 is printed per phase. The caches the run reads (the world domain, the fine-tuned
teacher, the frame features, the teacher outputs) are built before anything is timed; the runs
themselves go to a temporary folder, so the study's cache is not written.

Printed shares, per stage, in seconds and as a fraction of the run:

- data: the clips, their cached frame features and teacher outputs; the models' load (teacher, f_I);
- the student's build (and stage 1's load of the stage-0 weights);
- the epochs: f_M's forward, h's (stage 0), the GRU's and Π's, the losses, backward,
  the optimizer step, validation and the checkpoint per epoch, and the rest (batch indexing,
  ``zero_grad``, the scheduler, logging, the classifier's forward).

The phases are timed by wrapping the functions ``train`` calls (the real code runs; the wrappers only
read the clock: :class:`bench_run.Clock`).

    python benchmarks/bench_egodistill_run.py [--dataset ego4d_verbs] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import Clock, machine  # noqa: E402

WIDTHS = (32, 16)
STAGES = ("stage 0", "stage 1")


@contextlib.contextmanager
def instrumented(clock: Clock):
    """Wrap what :func:`comodo.egodistill.train.train` calls with ``clock``'s phases; undone on exit."""
    import torch

    from comodo.egodistill import student, train

    OWNS = True
    phases = [
        (train, "clip_set", "data: clips, frame features, teacher outputs", OWNS),
        (train, "load_models", "data: teacher and f_I load", OWNS),
        (train, "build_student", "student build", OWNS),
        (train, "_init_from", "stage-0 weights load", OWNS),
        (student.EgoDistillStudent, "imu_feature", "f_M forward"),
        (student.EgoDistillStudent, "predict_imu", "h forward (stage 0)"),
        (student.EgoDistillStudent, "fuse", "GRU and Π forward"),
        (train, "distill_loss", "losses"),
        (train, "pretrain_loss", "losses"),
        (torch.Tensor, "backward", "backward"),
        (torch.optim.AdamW, "step", "optimizer step"),
        (train, "validate", "validation (per epoch)", OWNS),
        (train, "save_state", "checkpoint (per epoch)", OWNS),
    ]
    with clock.wrapped(phases):
        yield


def configs(dataset: str, width: int):
    """(stage 0, stage 1 without its init) of the study's EgoDistill run at f_M ``width``."""
    from comodo.study.egodistill import experiments as ego

    c = ego.config(ego.settings(imu_width=width), "egodistill", dataset, seed=0).resolved()
    return c.stage0(), c


def timed_run(dataset: str, width: int, clock: Clock, folder: Path) -> dict[str, float]:
    """Both stages of one run, phase by phase; returns each stage's wall seconds."""
    from comodo.egodistill.train import train

    s0, s1 = configs(dataset, width)
    walls = {}
    for stage, config, out in (("stage 0", s0, folder / "s0"), ("stage 1", None, folder / "s1")):
        config = config or dataclasses.replace(s1, init=str(folder / "s0"))
        clock.context = f"{width}|{stage}"
        t = time.perf_counter()
        with instrumented(clock):
            train(config, out, progress=False)
        walls[stage] = time.perf_counter() - t
    return walls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ego4d_verbs")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import torch

    from comodo.egodistill.train import train
    from comodo.threads import one_thread

    print(machine())
    clock = Clock()
    walls: dict[tuple[int, str], float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp, one_thread():
        threads = torch.get_num_threads()
        s0, _ = configs(args.dataset, WIDTHS[0])
        t = time.perf_counter()
        train(dataclasses.replace(s0, num_epochs=1), Path(tmp) / "warm", progress=False)  # the caches, untimed
        print(f"caches ready in {time.perf_counter() - t:.0f} s (world, teacher, frame features, teacher outputs)")
        for r in range(args.rounds):
            for width in (WIDTHS if r % 2 == 0 else WIDTHS[::-1]):
                folder = Path(tmp) / f"r{r}-w{width}"
                for stage, s in timed_run(args.dataset, width, clock, folder).items():
                    walls[(width, stage)] += s
                print(f"  round {r + 1}, width {width}: {sum(walls[(width, st)] for st in STAGES):.1f} s so far",
                      flush=True)
    print(f"\none EgoDistill run ({args.dataset}, N = 1, {s0.num_epochs} + {s0.num_epochs} epochs, batch "
          f"{s0.batch_size}), {args.rounds} round(s), torch {torch.__version__} on {threads} thread(s)")
    phases = list(dict.fromkeys(name for (_, name) in clock.seconds))
    for stage in STAGES:
        print(f"\n{stage}: seconds per run (share of the run)")
        print(f"  {'phase':<48}" + "".join(f"{'width ' + str(w):>18}" for w in WIDTHS) + f"{'32 / 16':>10}")
        rows = phases + ["the rest (classifier, indexing, zero_grad, log)", "the run"]
        for name in rows:
            cells, values = [], []
            for w in WIDTHS:
                total = walls[(w, stage)] / args.rounds
                timed = sum(v for (c, _), v in clock.seconds.items() if c == f"{w}|{stage}") / args.rounds
                v = {"the run": total, rows[-2]: total - timed}.get(name, clock.seconds.get((f"{w}|{stage}", name), 0.0)
                                                                    / args.rounds)
                values.append(v)
                cells.append(f"{v:8.2f} s ({v / total:5.1%})")
            ratio = f"{values[0] / values[1]:9.2f}x" if values[1] > 1e-3 else f"{'–':>10}"
            print(f"  {name:<48}" + "".join(f"{c:>18}" for c in cells) + ratio)
    total = {w: sum(walls[(w, st)] for st in STAGES) / args.rounds for w in WIDTHS}
    print(f"\nboth stages: width 32 {total[32]:.1f} s, width 16 {total[16]:.1f} s: {total[32] / total[16]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
