"""Where one study run spends its time, share by share.

One representative run of the study (default: COMODO on the default world's ego4d at the study's
settings, :func:`comodo.study.comodo.experiments.settings`: 20 epochs, batch 32, K 128, seed 0), trained with
:func:`comodo.train.loop.distill` into a temporary folder and evaluated with the SVM protocol
(:func:`comodo.evaluation.run.evaluate_run`) on one torch thread, as a sweep's worker does. The
study's caches are read (world, embedded teacher, teacher embeddings: built on first use, before
anything is timed) and never written: the run goes to a temporary folder.

Printed shares, in seconds and as a fraction of the run:

- process start + imports: a fresh interpreter importing what a worker imports (paid once per worker
  process, not per run: its per-run share is divided by the runs a worker does in the study);
- the run's key (the world's and teacher's keys, hashed);
- data: the splits (each video probed), the IMU windows, the teacher and its embeddings from the cache;
- the student's build;
- the epochs: student forward, loss, backward, optimizer step, queue update, validation, checkpoint
  per epoch, and the rest (per-step Python: batch indexing, ``zero_grad``, the scheduler, ``.item()``);
- the SVM protocol: the student reloaded, the evaluation splits and windows, features, the grid
  search, the refit with Platt scaling;
- writing (``student.pt``, ``summary.json``).

Before and after the optimisations, in this one process, round by round (alternating which goes
first), with the ratio per phase: :func:`variant` switches the optimised pieces back to their old
code paths (AdamW's per-tensor loop, a checkpoint per epoch, every split and window read from disk
by every run). ``--compile`` also times ``torch.compile`` (which comodo does not use) against eager.

The phases inside ``distill`` and ``evaluate_run`` are timed by wrapping the functions they call (the
real code runs; the wrappers only read the clock).

    python benchmarks/bench_run.py [--dataset ego4d] [--method comodo] [--rounds 2] [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

IMPORTS = ("import torch, transformers, sklearn.svm, sklearn.model_selection, comodo.study.comodo.runs, comodo.train.loop, "
           "comodo.evaluation.run, comodo.cache, comodo.encoders.video")


def machine() -> str:
    """CPU model, torch's CPU capability, cores, load: printed beside every timing."""
    import torch

    from comodo.study.cli import machine as cpu

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu()}, torch {torch.__version__}, load average {load}"


class Clock:
    """Seconds per phase, accumulated by wrapped functions.

    A phase's time excludes the phases timed inside it, unless it ``owns`` them (validation owns
    its forward passes). Phases are recorded under the current ``context`` (``train`` or ``eval``).
    """

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.stack: list[list] = []  # [name, start, seconds of nested phases, owns]
        self.context = ""

    @contextlib.contextmanager
    def phase(self, name: str, owns: bool = False):
        if self.stack and self.stack[-1][3]:  # inside a phase that owns what it calls
            yield
            return
        frame = [name, time.perf_counter(), 0.0, owns]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            spent = time.perf_counter() - frame[1]
            self.seconds[(self.context, name)] += spent - frame[2]
            if self.stack:
                self.stack[-1][2] += spent

    def wrap(self, owner, attr: str, name: str, patches: list, owns: bool = False) -> None:
        original = owner.__dict__.get(attr, getattr(owner, attr))
        inherited = attr not in owner.__dict__

        def timed(*args, **kwargs):
            with self.phase(name, owns):
                return original(*args, **kwargs)

        patches.append((owner, attr, original, inherited))
        setattr(owner, attr, timed)

    @contextlib.contextmanager
    def wrapped(self, phases: list[tuple]):
        """Every ``(owner, attr, name[, owns])`` of ``phases`` timed (:meth:`wrap`) inside the block, undone on exit."""
        patches: list = []
        try:
            for owner, attr, name, *owns in phases:
                self.wrap(owner, attr, name, patches, owns=bool(owns and owns[0]))
            yield
        finally:
            restore(patches)

    def total(self, context: str) -> float:
        return sum(v for (c, _), v in self.seconds.items() if c == context)


@contextlib.contextmanager
def instrumented(clock: Clock):
    """Wrap what ``distill`` and ``evaluate_run`` call with ``clock``'s phases; undone on exit."""
    import torch
    from sklearn import model_selection

    import comodo.data
    from comodo import cache, queue
    from comodo.encoders import student
    from comodo.evaluation import run as evaluation
    from comodo.train import data, loop

    patches: list = []
    w = clock.wrap
    w(comodo.data, "load_split", "splits (each video probed)", patches)
    for module in (data, evaluation):
        w(module, "imu_windows", "IMU windows", patches)
    w(data, "teacher_of", "teacher load", patches)
    w(cache, "teacher_embeddings", "teacher embeddings (cache read)", patches)
    w(loop, "build_student", "student build", patches)
    w(student.IMUStudent, "forward", "forward", patches)
    w(loop, "comodo_loss", "loss", patches)
    w(torch.Tensor, "backward", "backward", patches)
    w(torch.optim.AdamW, "step", "optimizer step", patches)
    w(queue.EmbeddingQueue, "enqueue", "queue update", patches)
    w(loop, "_validate", "validation (per epoch)", patches, owns=True)
    w(loop, "_save_checkpoint", "checkpoint (per epoch)", patches, owns=True)
    w(evaluation, "load_student", "student reload", patches, owns=True)
    w(evaluation, "features_of", "features", patches, owns=True)
    w(model_selection.GridSearchCV, "fit", "grid search (5 folds x 9 C)", patches, owns=True)
    w(evaluation, "svm_protocol", "refit with Platt scaling, scoring", patches)
    try:
        yield
    finally:
        restore(patches)


def restore(patches: list) -> None:
    """Undo :meth:`Clock.wrap`'s patches, the last first."""
    for owner, attr, original, inherited in reversed(patches):
        if inherited:
            delattr(owner, attr)
        else:
            setattr(owner, attr, original)


def time_imports(repeats: int = 2) -> float:
    """Median wall seconds of a fresh interpreter importing what a worker imports."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], check=True)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


@contextlib.contextmanager
def variant(after: bool, kept: dict):
    """The code paths of ``after`` (this version) or of before the optimisations, in this process.

    Before: AdamW's per-tensor loop, a checkpoint after every epoch, every split and IMU window read
    from disk by every run. After: AdamW ``foreach``, a checkpoint once a minute
    (:data:`comodo.study.comodo.runs.CHECKPOINT_EVERY_S`), the splits and windows a worker has read kept for its
    next runs (``kept``: what the previous runs of the worker read).
    """
    from comodo.train import data, loop

    saved = loop.ADAMW_FOREACH, data._REUSED
    loop.ADAMW_FOREACH = after
    data._REUSED = kept if after else None
    try:
        yield
    finally:
        loop.ADAMW_FOREACH, data._REUSED = saved


def profile_run(config, clock: Clock, after: bool, kept: dict) -> dict[str, float]:
    """Train and evaluate ``config`` once into a temporary folder; returns the top-level phases (s)."""
    from comodo.study.comodo import runs
    from comodo.evaluation.run import evaluate_run
    from comodo.threads import one_thread
    from comodo.train.loop import distill

    top: dict[str, float] = {}
    every = runs.CHECKPOINT_EVERY_S if after else 0.0
    with tempfile.TemporaryDirectory() as tmp, one_thread(), variant(after, kept), instrumented(clock):
        t = time.perf_counter()
        runs.run_key_inputs(config)
        top["key"] = time.perf_counter() - t
        clock.context = "train"
        t = time.perf_counter()
        distill(config, Path(tmp) / "run", progress=False, checkpoint_every_s=every)
        top["train"] = time.perf_counter() - t
        clock.context = "eval"
        t = time.perf_counter()
        evaluate_run(Path(tmp) / "run")
        top["eval"] = time.perf_counter() - t
    return top


TRAIN_ORDER = ("splits (each video probed)", "IMU windows", "teacher load", "teacher embeddings (cache read)",
               "student build", "forward", "loss", "backward", "optimizer step", "queue update",
               "validation (per epoch)", "checkpoint (per epoch)")
OPTIMISED = ("splits", "IMU windows", "optimizer step", "checkpoint", "the rest")
EVAL_ORDER = ("student reload", "splits (each video probed)", "IMU windows", "features",
              "grid search (5 folds x 9 C)", "refit with Platt scaling, scoring")


def rows_of(clock: Clock, tops: list[dict], imports: float, runs_per_worker: float) -> list[tuple[str, float]]:
    """(phase, mean seconds per run) from a clock that timed ``len(tops)`` runs."""
    n = len(tops)
    top = {k: sum(t[k] for t in tops) / n for k in tops[0]}
    s = {k: v / n for k, v in clock.seconds.items()}
    rows = [(f"process start + imports ({imports:.1f} s a worker / {runs_per_worker:g} runs)",
             imports / runs_per_worker), ("run key (world and teacher keys, hashed)", top["key"])]
    rows += [(f"train: {name}", s.get(("train", name), 0.0)) for name in TRAIN_ORDER]
    rows.append(("train: the rest (per-step Python: indexing, zero_grad, scheduler; logs, student.pt)",
                 top["train"] - clock.total("train") / n))
    rows += [(f"svm: {name}", s.get(("eval", name), 0.0)) for name in EVAL_ORDER]
    rows.append(("svm: the rest (result dict)", top["eval"] - clock.total("eval") / n))
    return rows


def compare(config, rounds: int, runs_per_worker: float, imports: float) -> None:
    """Before and after, alternating (before first in even rounds, after first in odd ones)."""
    clocks = {False: Clock(), True: Clock()}
    tops: dict[bool, list] = {False: [], True: []}
    kept: dict = {}
    profile_run(config, Clock(), True, kept)  # a worker's first run fills what its next runs reuse
    for r in range(rounds):
        for after in ((False, True) if r % 2 == 0 else (True, False)):
            tops[after].append(profile_run(config, clocks[after], after, kept))
    before = rows_of(clocks[False], tops[False], imports, runs_per_worker)
    after = rows_of(clocks[True], tops[True], imports, runs_per_worker)
    total_b, total_a = sum(v for _, v in before), sum(v for _, v in after)
    width = max(len(name) for name, _ in before)
    print(f"  {'phase':<{width}}  {'before':>8} {'share':>6}  {'after':>8} {'share':>6}  after/before")
    for (name, b), (_, a) in zip(before, after):
        ratio = f"{a / b:6.2f}" if b > 1e-3 else "     –"
        print(f"  {name:<{width}}  {b:7.2f}s {100 * b / total_b:5.1f}%  {a:7.2f}s {100 * a / total_a:5.1f}%  {ratio}")
    print(f"  {'one run':<{width}}  {total_b:7.2f}s {'':>6}  {total_a:7.2f}s {'':>6}  {total_a / total_b:6.2f}")
    per_round = [sum(a.values()) / sum(b.values()) for b, a in zip(tops[False], tops[True])]
    print(f"  after/before per round (train + evaluate, same round): {', '.join(f'{x:.3f}' for x in per_round)}")
    # The phases whose code changed; the others run the same code, so their ratios show the machine's noise.
    changed = [i for i, (name, _) in enumerate(before) if any(k in name for k in OPTIMISED)]
    b_sum, a_sum = sum(before[i][1] for i in changed), sum(after[i][1] for i in changed)
    rest = total_b - b_sum
    print(f"  the optimised phases ({', '.join(OPTIMISED)}): {b_sum:.2f} s -> {a_sum:.2f} s, "
          f"{100 * (b_sum - a_sum) / total_b:.1f} % of a run; with the other phases at their before-times: "
          f"after/before = {(rest + a_sum) / total_b:.3f}")


def compile_trial(config, steps: int = 236) -> None:
    """torch.compile (not used by comodo): its compile time against what it saves on a run's steps."""
    import torch

    from comodo.losses import comodo_loss
    from comodo.threads import one_thread
    from comodo.train.loop import build_student

    def step(model, opt, x, z, q):
        loss = comodo_loss(model(x), z, q, config.student_temp, config.teacher_temp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with one_thread():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(config.batch_size, 6, 256, generator=g)
        z = torch.nn.functional.normalize(torch.randn(config.batch_size, config.mlp_output_dim, generator=g), dim=1)
        q = torch.nn.functional.normalize(torch.randn(config.queue_size, config.mlp_output_dim, generator=g), dim=1)
        eager = build_student(config, 6)
        compiled_model = build_student(config, 6)
        compiled = torch.compile(compiled_model)
        opts = {m: torch.optim.AdamW(m.parameters(), lr=1e-3, foreach=True) for m in (eager, compiled_model)}
        t = time.perf_counter()
        step(compiled, opts[compiled_model], x, z, q)
        first = time.perf_counter() - t
        times: dict[str, list[float]] = {"eager": [], "compiled": []}
        for i in range(40):
            for name, model, opt in ((("eager", eager, opts[eager]), ("compiled", compiled, opts[compiled_model]))
                                     if i % 2 == 0 else
                                     (("compiled", compiled, opts[compiled_model]), ("eager", eager, opts[eager]))):
                t = time.perf_counter()
                step(model, opt, x, z, q)
                times[name].append(time.perf_counter() - t)
    e = sorted(times["eager"])[len(times["eager"]) // 2]
    c = sorted(times["compiled"])[len(times["compiled"]) // 2]
    saved = (e - c) * steps
    print(f"  torch.compile: first step {first:.1f} s (compiling), then {1000 * c:.1f} ms a step against eager "
          f"{1000 * e:.1f} ms (compiled/eager {c / e:.2f}); over a run's {steps} steps it saves {saved:.1f} s, "
          f"{'more' if saved > first else 'less'} than its compile time (once per worker process and shape, "
          "plus the validation's and the last batch's shapes; a cold inductor cache compiles for minutes; "
          "and its kernels change the last bits)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ego4d")
    ap.add_argument("--method", default="comodo")
    ap.add_argument("--rounds", type=int, default=2, help="before/after pairs, alternating which goes first")
    ap.add_argument("--runs-per-worker", type=float, default=56,
                    help="runs one worker process trains in the study (112 runs / 2 workers)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile against eager (minutes)")
    args = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    from comodo.study.comodo import runs
    from comodo.study.comodo.experiments import base_config, settings
    from comodo.threads import one_thread

    config = runs.canonical(base_config(settings(), args.dataset, method=args.method))
    with one_thread():  # what the run reads exists before anything is timed (built on first use)
        runs.prepare(config.world_size, config.world_seed, domains=[config.dataset])
        if config.method in runs.TEACHER_METHODS:
            runs._warm_teacher(config.to_dict())
    print(machine())
    imports = time_imports()
    print(f"\none run: {config.method} on {config.dataset} ({config.world_size} world), {config.num_epochs} "
          f"epochs, batch {config.batch_size}, K {config.queue_size}, seed {config.seed}, 1 thread; mean of "
          f"{args.rounds} round(s) each")
    compare(config, args.rounds, args.runs_per_worker, imports)
    if args.compile:
        compile_trial(config)
    print(machine())


if __name__ == "__main__":
    main()
