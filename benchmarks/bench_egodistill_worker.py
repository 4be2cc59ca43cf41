"""What a sweep worker's EgoDistill runs cost before and after session 12's changes, phase by phase.

A worker of ``comodo study`` trains dozens of EgoDistill runs on the same three verb domains. Each run
(stage 0, stage 1, its evaluation) used to list its clips a dozen times (every listing opens every
video of a split for its length), read every clip's IMU again, load the teacher and f_I again, stat
every file again for the caches' keys, write a resume checkpoint after every epoch and step AdamW
tensor by tensor. Now a worker keeps what it read (:func:`comodo.data.reuse.reuse`), a run writes
its checkpoint once a minute (as COMODO's), and AdamW takes ``foreach=True`` (the same bits, tested).

This benchmark trains, in one process on one torch thread, the study's runs a worker trains after
the first of a dataset (the caches of the world, the fine-tuned teacher, f_I, the frame features and
the teacher outputs are built first, untimed): an EgoDistill run (stage 0, stage 1, evaluation) and a
VisIMU run (no stage 0), at N = 1, on ``--dataset``, into a temporary folder (the study's cache of
runs is not written), the *before* way and the *after* way, alternating which goes first, round by
round. It prints the seconds per run of each phase in both and the ratio, then checks that both
ways trained the same weights.

    python benchmarks/bench_egodistill_worker.py [--dataset ego4d_verbs] [--rounds 2]
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

WAYS = ("before", "after")
WORKER: dict = {}  # the worker's kept values (comodo.data.reuse), filled by the untimed warm-up
VARIANTS = ("egodistill", "visimu")


@contextlib.contextmanager
def instrumented(clock: Clock):
    """Wrap what a run calls with ``clock``'s phases; undone on exit."""
    import torch

    from comodo import data
    from comodo.data import identity
    from comodo.egodistill import clips, data as ego_data, evaluate, frame_cache, train

    OWNS = True
    phases = [
        (clips, "load_clips", "clips listed (each video opened)", OWNS),
        (ego_data, "clip_imus", "the clips' IMU read", OWNS),
        *[(m, "load_models", "teacher and f_I loaded") for m in (train, evaluate)],  # (imported by name)
        *[(m, "samples_identity", "files stat'ed for the caches' keys", OWNS) for m in (data, identity, frame_cache)],
        (frame_cache, "frame_ranges", "frame ranges (each video opened)", OWNS),
        (torch.Tensor, "backward", "backward"),
        (torch.optim.AdamW, "step", "optimizer step"),
        (train, "validate", "validation (per epoch)", OWNS),
        (train, "save_state", "checkpoint", OWNS),
        (evaluate, "evaluate_run", "evaluation (test split)"),
    ]
    with clock.wrapped(phases):
        yield


@contextlib.contextmanager
def way(name: str):
    """``before``: nothing kept, a checkpoint per epoch, AdamW per tensor; ``after``: the study's worker,
    with what it kept from its earlier runs (:data:`WORKER`)."""
    import torch

    from comodo.data import reuse

    if name == "after":  # what a worker has kept since its first run (the warm-up's reads)
        reuse._REUSED = WORKER
        try:
            yield 60.0
        finally:
            reuse._REUSED = None
        return
    adamw = torch.optim.AdamW

    class PerTensor(adamw):  # what the runs' AdamW was: the per-tensor loop (torch's CPU default)
        def __init__(self, params, **kw):
            super().__init__(params, **{**kw, "foreach": False})

    torch.optim.AdamW = PerTensor
    try:
        yield 0.0
    finally:
        torch.optim.AdamW = adamw


def configs(dataset: str, variant: str):
    """The study's run of ``variant`` on ``dataset`` at N = 1, seed 1 (a worker's later run)."""
    from comodo.study.egodistill import experiments as ego

    return ego.config(ego.settings(), variant, dataset, seed=1).resolved()


def one_run(config, folder: Path, every_s: float) -> None:
    """What the study's job does for a run: stage 0 (if any), stage 1, evaluation on the test split."""
    from comodo.egodistill.evaluate import evaluate_run
    from comodo.egodistill.train import train

    if config.pretrain != "none":
        train(config.stage0(), folder / "s0", progress=False, checkpoint_every_s=every_s)
        config = dataclasses.replace(config, init=str(folder / "s0"))
    train(config, folder / "s1", progress=False, checkpoint_every_s=every_s)
    evaluate_run(folder / "s1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ego4d_verbs")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import torch

    from comodo.egodistill.evaluate import evaluate_run
    from comodo.egodistill.train import train
    from comodo.threads import one_thread

    print(machine())
    clock = Clock()
    walls: dict[tuple[str, str], float] = defaultdict(float)
    folders: dict[tuple[str, str], Path] = {}
    with tempfile.TemporaryDirectory() as tmp, one_thread():
        first = configs(args.dataset, "egodistill")
        t = time.perf_counter()
        warm = dataclasses.replace(configs(args.dataset, "visimu"), num_epochs=1)  # the caches, untimed
        with way("after"):  # as a worker's first run: it fills the caches and what the worker keeps
            evaluate_run(train(warm, Path(tmp) / "warm", progress=False))
        print(f"caches ready in {time.perf_counter() - t:.0f} s (world, teacher, f_I, frame features, teacher outputs)")
        for r in range(args.rounds):
            for name in (WAYS if r % 2 == 0 else WAYS[::-1]):
                for variant in VARIANTS:
                    folder = folders[(name, variant)] = Path(tmp) / f"r{r}-{name}-{variant}"
                    clock.context = f"{name}|{variant}"
                    t = time.perf_counter()
                    with way(name) as every_s, instrumented(clock):
                        one_run(configs(args.dataset, variant), folder, every_s)
                    walls[(name, variant)] += time.perf_counter() - t
                print(f"  round {r + 1}, {name}: " + ", ".join(f"{v} {walls[(name, v)] / (r + 1):.1f} s"
                                                              for v in VARIANTS), flush=True)
        same = all(_same_weights(folders[("before", v)] / "s1", folders[("after", v)] / "s1") for v in VARIANTS)
    print(f"\na worker's later runs ({args.dataset}, N = 1, seed 1, {first.pretrain_epochs} + {first.num_epochs} "
          f"epochs, batch {first.batch_size}), {args.rounds} round(s), torch {torch.__version__} on 1 thread")
    phases = list(dict.fromkeys(name for (_, name) in clock.seconds))
    for variant in VARIANTS:
        print(f"\n{variant}: seconds per run (share of the run)")
        print(f"  {'phase':<48}" + "".join(f"{w:>18}" for w in WAYS) + f"{'before / after':>16}")
        rest = "the rest (forward, losses, data indexing, log)"
        for phase in phases + [rest, "the run"]:
            values, cells = [], []
            for w in WAYS:
                total = walls[(w, variant)] / args.rounds
                timed = sum(v for (c, _), v in clock.seconds.items() if c == f"{w}|{variant}") / args.rounds
                v = {"the run": total, rest: total - timed}.get(
                    phase, clock.seconds.get((f"{w}|{variant}", phase), 0.0) / args.rounds)
                values.append(v)
                cells.append(f"{v:8.2f} s ({v / total:5.1%})")
            ratio = f"{values[0] / values[1]:15.2f}x" if values[1] > 1e-3 else f"{'–':>16}"
            print(f"  {phase:<48}" + "".join(f"{c:>18}" for c in cells) + ratio)
    both = {w: sum(walls[(w, v)] for v in VARIANTS) / args.rounds for w in WAYS}
    print(f"\nboth runs: before {both['before']:.1f} s, after {both['after']:.1f} s: "
          f"{both['before'] / both['after']:.2f}x; the same student weights both ways: {same}")
    return 0 if same else 1


def _same_weights(a: Path, b: Path) -> bool:
    import torch

    x, y = (torch.load(p / "student.pt", weights_only=True)["student"] for p in (a, b))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


if __name__ == "__main__":
    sys.exit(main())
