"""Cached experiments for the notebooks: a run is trained once, evaluated once, then only read.

A run lives in ``<cache>/runs/<key>/`` (``<cache>`` = :func:`comodo.paths.cache_root`), where ``key``
hashes the resolved :class:`~comodo.train.config.DistillConfig` together with the keys of the world
it reads and of the embedded teacher, so a regenerated world or a re-trained teacher gets new runs
instead of stale ones. A run on your own dataset (``dataset_path``) is keyed by its files instead:
the split files and every sample's IMU file (and timestamps file), video (when the method uses the
teacher) and the dataset root, one stat each (:func:`dataset_identity`); a teacher from a local
folder adds its files' stats. A changed file gives a new run; a missing one is an error. The folder
is what ``comodo distill --out`` writes (``config.json``, ``log.jsonl``, ``checkpoints/last.pt``,
``student.pt``) plus:

    key.json                 what the key was computed from
    results_<dataset>.json   the SVM protocol of the student on <dataset> (cross-dataset if it differs)

Once a run has finished its ``checkpoints/last.pt`` (optimizer state, ~10 MB) is deleted: a
finished run is read, never resumed.

``run(config)`` reuses a finished run, resumes a half-finished one from its last epoch and otherwise
trains it; ``result(config, eval_dataset)`` evaluates once. ``sweep(configs)`` does both for a list
of configurations, two at a time in worker processes on a multi-core CPU (``COMODO_WORKERS`` sets
how many; 1 runs everything in this process), with a progress bar and one line per finished run.
Every run trains with one torch thread, so its numbers do not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

from comodo.errors import ComodoError, check
from comodo.io import stable_hash, write_json
from comodo.paths import cache_root
from comodo.threads import one_thread
from comodo.train.config import DistillConfig

# Columns of the tidy results table (one row per run and evaluation dataset).
COLUMNS = ("method", "train_dataset", "eval_dataset", "seed", "queue_size", "student_temp", "teacher_temp",
           "projection", "reduction", "student", "per_channel", "num_epochs", "batch_size", "world_size",
           "n_classes", "acc1", "acc3", "acc5", "run")


# --------------------------------------------------------------------------------------------- keys
def world_keys(world_size: str, world_seed: int = 0, domains: Iterable[str] | None = None) -> dict[str, str]:
    """The key of each domain a COMODO run can read (the targets and the teacher's; default) or of
    ``domains``, at this size and seed (it changes with the world)."""
    from comodo.world.domains import DOMAINS, VERB_DOMAINS
    from comodo.world.generate import world_key

    names = sorted(domains if domains is not None else set(DOMAINS) - set(VERB_DOMAINS))
    return {name: world_key(DOMAINS[name], world_size, world_seed) for name in names}


def teacher_key(world_size: str, world_seed: int = 0) -> str:
    """The folder name of the embedded teacher that :func:`comodo.train.data.load_teacher` trains."""
    from comodo.teacher.pretrain import embedded_config, teacher_dir

    return teacher_dir(embedded_config(world_size, world_seed)).name


def canonical(config: DistillConfig) -> DistillConfig:
    """``config`` resolved, with the settings its method ignores reset to their defaults.

    So the untrained student of seed 0 is one run whatever queue size or temperatures the sweep that
    asked for it carried.
    """
    c = config.resolved()
    default = DistillConfig()
    reset: dict = {}
    if c.method != "comodo":
        reset.update(queue_size=default.queue_size, queue_init=default.queue_init,
                     student_temp=default.student_temp, teacher_temp=default.teacher_temp)
    if c.method != "infonce":
        reset.update(infonce_temp=default.infonce_temp)
    if c.method in ("none", "supervised"):  # no teacher
        reset.update(video_ckpt=default.video_ckpt, projection=default.projection,
                     projection_seed=default.projection_seed)
    if c.method == "none":  # no optimisation
        reset.update(learning_rate=None, batch_size=None, weight_decay=default.weight_decay,
                     warmup_frac=default.warmup_frac)
    return dataclasses.replace(c, **reset).resolved()


# A cached run writes its resume checkpoint once a minute, not after every epoch (a study run takes
# seconds; the checkpoint per epoch was 3 % of its time): an interrupted run resumes from it bit for bit.
CHECKPOINT_EVERY_S = 60.0
TEACHER_METHODS = ("comodo", "infonce", "l2")  # the methods that read teacher embeddings (and so videos)
SPLITS = ("train", "val", "test")  # what training (train, val) and evaluation (train, test) read


def dataset_identity(config: DistillConfig) -> dict:
    """What a run on the user's dataset (``config.dataset_path``) reads from it, one stat per file.

    The resolved :class:`~comodo.data.DataSpec` (values from ``comodo.json`` included) and, for each
    of train/val/test that exists, the split file's :func:`~comodo.data.file_identity` and the
    :func:`~comodo.data.samples_identity` of its samples: their IMU files, their videos when the
    method uses the teacher, and the dataset root; plus the ``<imu stem>_timestamps.npy`` files the
    ego4d and generic layouts pair by. Listing the splits reads the split files and probes the
    videos, as training does. A missing file is a :class:`~comodo.errors.ComodoError`.
    """
    from comodo.data import file_identity, load_split, samples_identity
    from comodo.data.layout import split_file
    from comodo.train.data import spec_of

    c = config.resolved()
    spec = spec_of(c)
    fields = {k: v for k, v in dataclasses.asdict(spec).items() if k != "root"}
    out: dict = {"spec": fields, "splits": {}}
    for split in SPLITS:
        path = split_file(spec, split)
        if not path.is_file():
            continue
        samples = load_split(spec, split)
        timestamps = sorted({s.imu_path.with_name(f"{s.imu_path.stem}_timestamps.npy") for s in samples})
        out["splits"][split] = {
            "file": file_identity(path, spec.root, "split file"),
            "samples": samples_identity(samples, spec.root, video=c.method in TEACHER_METHODS, imu=True),
            "timestamps": [file_identity(t, spec.root, "IMU timestamps") for t in timestamps if t.is_file()],
        }
    return out


def checkpoint_identity(video_ckpt: str) -> list[dict] | None:
    """The stats of every file of a teacher given as a local folder (``None``: a hub id or ``embedded``)."""
    from comodo.data import folder_identity

    folder = Path(video_ckpt)
    if video_ckpt == "embedded" or not folder.is_dir():
        return None  # the embedded teacher is named by teacher_key, a hub snapshot by its revision
    return folder_identity(folder, "teacher file")


def run_key_inputs(config: DistillConfig) -> dict:
    """What a run's key hashes: the canonical config, the world it reads (or, on a user's dataset,
    :func:`dataset_identity`) and the teacher (the embedded one's key, or a local folder's files)."""
    c = canonical(config)
    inputs: dict = {"config": c.to_dict()}
    if c.dataset_path is None:
        inputs["world"] = world_keys(c.world_size, c.world_seed)
    else:
        inputs["dataset"] = dataset_identity(c)
    if c.method in TEACHER_METHODS:
        if c.video_ckpt == "embedded":
            inputs["teacher"] = teacher_key(c.world_size, c.world_seed)
        elif (files := checkpoint_identity(c.video_ckpt)) is not None:
            inputs["teacher_files"] = files
    return inputs


def run_dir(config: DistillConfig) -> Path:
    """The cache folder of ``config``'s run (it may not exist yet)."""
    return _dir_of(run_key_inputs(config))


def _dir_of(inputs: dict) -> Path:
    return cache_root() / "runs" / stable_hash(inputs)


# ------------------------------------------------------------------------------------ one run
def is_done(config: DistillConfig) -> bool:
    return (run_dir(config) / "student.pt").exists()


def run(config: DistillConfig, progress: bool = False) -> Path:
    """The folder of ``config``'s finished run: reused if there, resumed if half-done, else trained."""
    from comodo.train.loop import distill

    config = canonical(config)
    inputs = run_key_inputs(config)  # once: a run on a user's dataset stats its files for it
    out = _dir_of(inputs)
    if (out / "student.pt").exists():
        return out
    resume = (out / "checkpoints" / "last.pt").exists()
    if out.exists() and not resume:
        shutil.rmtree(out)  # a run that died before its first checkpoint: start clean
    with one_thread():
        try:
            distill(config, out, resume=resume, progress=progress, checkpoint_every_s=CHECKPOINT_EVERY_S)
        except ComodoError:
            if not resume:
                raise
            print(f"comodo: cannot resume {out}; training it again from the start", file=sys.stderr)
            shutil.rmtree(out)
            distill(config, out, resume=False, progress=progress, checkpoint_every_s=CHECKPOINT_EVERY_S)
    write_json(out / "key.json", inputs)
    # A finished run is never resumed: drop its optimizer checkpoint (~10 MB; student.pt stays).
    (out / "checkpoints" / "last.pt").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (out / "checkpoints").rmdir()
    return out


def result(config: DistillConfig, eval_dataset: str | None = None) -> dict:
    """SVM acc@1/3/5 of ``config``'s student on ``eval_dataset`` (default: its own), computed once.

    Cached as ``results_<eval_dataset>.json`` in the run folder.
    """
    out = run(config)
    name = eval_dataset or config.dataset
    path = out / f"results_{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    from comodo.evaluation.run import evaluate_run

    with one_thread():
        r = evaluate_run(out, dataset=None if name == config.dataset else name)
    r["eval_dataset"] = name
    write_json(path, r)
    return json.loads(path.read_text())  # the same value a cache hit returns (lists, not tuples)


def read_log(folder: str | Path):
    """A run folder's ``log.jsonl`` as a DataFrame: one row per epoch (loss, lr, val_acc, seconds);
    empty for a run without epochs."""
    import pandas as pd

    path = Path(folder) / "log.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return pd.DataFrame([json.loads(line) for line in lines if line.strip()])


def history(config: DistillConfig):
    """The run's ``log.jsonl`` as a DataFrame: one row per epoch (loss, lr, val_acc, seconds)."""
    return read_log(run(config))


def teacher_result(dataset: str, world_size: str = "default", world_seed: int = 0, seed: int = 0,
                   video_ckpt: str = "embedded") -> dict:
    """The video teacher's own SVM accuracy on ``dataset`` (pooled features), computed once.

    Cached as ``<cache>/results/teacher-<dataset>-<key>.json``.
    """
    path = teacher_result_path(dataset, world_size, world_seed, seed, video_ckpt)
    if path.exists():
        return json.loads(path.read_text())
    from comodo.evaluation.run import evaluate_teacher

    with one_thread():
        r = evaluate_teacher(dataset, video_ckpt=video_ckpt, world_size=world_size, world_seed=world_seed,
                             seed=seed)
    r["world_size"] = world_size
    write_json(path, r)
    return json.loads(path.read_text())


def teacher_result_path(dataset: str, world_size: str = "default", world_seed: int = 0, seed: int = 0,
                        video_ckpt: str = "embedded") -> Path:
    """Where :func:`teacher_result` keeps its result (it may not exist yet)."""
    inputs = {"dataset": dataset, "world": world_keys(world_size, world_seed), "world_size": world_size,
              "seed": seed, "video_ckpt": video_ckpt}
    if video_ckpt == "embedded":
        inputs["teacher"] = teacher_key(world_size, world_seed)
    elif (files := checkpoint_identity(video_ckpt)) is not None:
        inputs["teacher_files"] = files
    return cache_root() / "results" / f"teacher-{dataset}-{stable_hash(inputs)}.json"


def teacher_dim(config: DistillConfig, projection: str | None = None) -> int:
    """Dimension of ``config``'s teacher embeddings with ``projection`` (default: the config's).

    The random head's output width, or the teacher's hidden size: for the embedded teacher read from
    its saved ``config.json`` (no need to import transformers for a number), else from the loaded teacher.
    """
    from comodo.train.data import teacher_of

    c = config.resolved()
    projection = projection or c.projection
    if projection == "random_mlp":
        return int(c.mlp_output_dim)
    if projection == "none" and c.video_ckpt == "embedded":
        from comodo.teacher.pretrain import embedded_config, teacher_dir

        saved = teacher_dir(embedded_config(c.world_size, c.world_seed)) / "config.json"
        if saved.exists():
            return int(json.loads(saved.read_text())["hidden_size"])
    return int(teacher_of(c, projection).dim)


# ----------------------------------------------------------------------------------- the world
_N_TRAIN: dict[str, int] = {}  # world domain folder -> training windows (a generated folder never changes)


def n_train(dataset: str, world_size: str = "default", world_seed: int = 0) -> int:
    """Number of training windows of a world domain (generated if missing).

    Counted once per domain folder and process: listing a split probes every video, and the study's
    configurations ask for it once per figure and domain (a domain's folder, named by its key, is
    written once and never changed).
    """
    from comodo.data import load_split
    from comodo.train.data import resolve_spec

    spec = resolve_spec(dataset, world_size=world_size, world_seed=world_seed)
    root = str(spec.root.resolve())
    if root not in _N_TRAIN:
        _N_TRAIN[root] = len(load_split(spec, "train"))
    return _N_TRAIN[root]


def queue_sizes(dataset: str, candidates: Iterable[int], world_size: str = "default",
                world_seed: int = 0) -> list[int]:
    """The candidate queue sizes K that the reference initialisation allows (K < training windows)."""
    n = n_train(dataset, world_size, world_seed)
    return sorted(int(k) for k in set(candidates) if 0 < k < n)


def cap_queue(dataset: str, queue_size: int, world_size: str = "default", world_seed: int = 0) -> int:
    """``queue_size``, or the largest power of two below the number of training windows if smaller."""
    n = n_train(dataset, world_size, world_seed)
    if queue_size < n:
        return int(queue_size)
    return 1 << ((n - 1).bit_length() - 1)


def prepare(world_size: str = "default", world_seed: int = 0, domains: Sequence[str] | None = None,
            teacher: bool = True) -> None:
    """Generate the world's domains and pre-train the embedded teacher if they are missing.

    When both the teacher and some target domains are missing on a machine with more than one core,
    the teacher domain is generated first, then the teacher is pre-trained in a second process (on
    one thread, as always: the same bytes) while the target domains are generated beside it, so the
    core the one-thread training leaves free is not idle. The world's bytes do not depend on how many
    processes generate it.
    """
    from comodo.teacher.pretrain import embedded_config, teacher_dir
    from comodo.train.data import load_teacher, resolve_spec
    from comodo.world.domains import TARGET_DOMAINS
    from comodo.world.generate import generate, world_dir

    targets = list(domains or TARGET_DOMAINS)
    need_teacher = teacher and not (teacher_dir(embedded_config(world_size, world_seed))
                                    / "pretrain.json").exists()
    missing = [d for d in targets if not (world_dir(d, world_size, world_seed) / "world.json").exists()]
    if need_teacher and missing and (os.cpu_count() or 1) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        generate("teacher", world_size, world_seed)
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            pretraining = pool.submit(_pretrain_teacher, world_size, world_seed)
            for d in targets:
                resolve_spec(d, world_size=world_size, world_seed=world_seed)
            pretraining.result()
        need_teacher = False  # pre-trained and saved by the worker: nothing left to load here
    for d in targets:
        resolve_spec(d, world_size=world_size, world_seed=world_seed)
    if need_teacher:  # (else it is there: nothing to load, nor transformers to import, for a warm study)
        with one_thread():
            load_teacher("embedded", "none", world_size=world_size, world_seed=world_seed)


def _pretrain_teacher(world_size: str, world_seed: int) -> None:
    """Worker: pre-train the embedded teacher of this world (it trains on one thread whoever calls it)."""
    from comodo.train.data import load_teacher

    load_teacher("embedded", "none", world_size=world_size, world_seed=world_seed)


# --------------------------------------------------------------------------------------- sweeps
def grid(base: DistillConfig, **axes: Sequence) -> list[DistillConfig]:
    """Every combination of the given field values, on top of ``base``.

    ``grid(base, dataset=["ego4d", "mmea"], seed=[0, 1, 2])`` → 6 configs (the last axis varies fastest).
    """
    names = list(axes)
    values = [list(v) for v in axes.values()]
    return [dataclasses.replace(base, **dict(zip(names, combo))) for combo in itertools.product(*values)]


def _job(config: dict, eval_datasets: list[str | None]) -> tuple[list[dict], float]:
    """Worker: train (or reuse) one run and evaluate it on each dataset."""
    t0 = time.time()
    c = DistillConfig.from_dict(config)
    run(c)
    return [result(c, e) for e in eval_datasets], time.time() - t0


def _teacher_job(dataset: str, world_size: str, world_seed: int) -> tuple[dict, float]:
    """Worker: the video teacher's own SVM result on ``dataset`` (:func:`teacher_result`)."""
    t0 = time.time()
    return teacher_result(dataset, world_size, world_seed), time.time() - t0


def _warm_teacher(config: dict) -> None:
    """Worker: compute the teacher embeddings a run of ``config`` reads (its train and val splits)."""
    from comodo.cache import teacher_embeddings
    from comodo.train.data import keep_clips, samples_of, spec_of, teacher_of

    c = DistillConfig.from_dict(config).resolved()
    spec = spec_of(c)
    teacher = teacher_of(c)
    for samples in (keep_clips(samples_of(spec, "train"), c.num_clips, c.seed), samples_of(spec, "val")):
        teacher_embeddings(teacher, samples, progress=False, dataset_root=spec.root)


def _init_worker() -> None:
    import warnings

    import torch

    from comodo.train import data

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    data.reuse_in_process()  # a worker trains many runs on the same few datasets: read each split once


@contextlib.contextmanager
def worker_pool(n_workers: int | None = None):
    """``n_workers`` (default :func:`workers`) spawned worker processes, one torch thread each, keeping
    the splits they read (:func:`_init_worker`), for one sweep or several (``comodo study`` passes one
    pool to COMODO's and then EgoDistill's, so each worker imports torch and transformers once); None
    with one worker (the work runs in this process)."""
    n_workers = n_workers or workers()
    if n_workers <= 1:
        yield None
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
        yield pool


def _describe(c: DistillConfig) -> str:
    parts = [c.method, c.dataset, f"seed {c.seed}"]
    if c.method == "comodo":
        parts.append(f"K {c.queue_size}")
        parts.append(f"τs {c.student_temp:g} τt {c.teacher_temp:g}")
    if c.projection != "random_mlp" and c.method in ("comodo", "infonce", "l2"):
        parts.append(f"projection {c.projection}")
    if c.student_options.get("per_channel"):
        parts.append(f"per-channel {c.reduction}")
    return ", ".join(parts)


# Runs on the quick world take about a second, a worker's start-up about five: fewer than this many
# stay in the calling process (the quick study's 31 runs and 3 teacher results go to the workers).
QUICK_POOL_MIN = 16


def workers() -> int:
    """Worker processes for sweeps: ``$COMODO_WORKERS`` or min(2, CPU count)."""
    env = os.environ.get("COMODO_WORKERS")
    if env:
        check(env.isdigit() and int(env) >= 1, f"COMODO_WORKERS={env!r}: expected a positive integer")
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


def _teacher_setting(c: DistillConfig) -> tuple:
    """What a run's teacher embeddings depend on, besides the teacher's own files."""
    return (c.dataset, c.dataset_path, c.world_size, c.world_seed, c.video_ckpt, c.projection, c.projection_seed,
            c.mlp_hidden_dim, c.mlp_output_dim, c.num_clips, c.seed if c.num_clips else 0)


def sweep(configs: Sequence[DistillConfig], eval_datasets: Sequence[str | None] = (None,),
          desc: str = "runs", progress: bool = True, n_workers: int | None = None, pool=None) -> list[dict]:
    """Train and evaluate every config (cached ones are only read); one result per config and dataset.

    Args:
        configs: the runs.
        eval_datasets: datasets each run is evaluated on (``None`` = its own).
        desc: label of the progress bar.
        progress: show the bar and print one line per run trained.
        n_workers: worker processes; pending runs are spread over them. Default: :func:`workers`,
            except for fewer than :data:`QUICK_POOL_MIN` runs on the quick world, which stay in this
            process (each takes less than a worker's start-up).
        pool: a :func:`worker_pool` of ``n_workers`` processes to use instead of starting one.

    Returns:
        Result dicts (see :func:`comodo.evaluation.run.evaluate_run`) in the order of
        ``configs × eval_datasets``.
    """
    eval_datasets = list(eval_datasets)
    return [r for rs in sweep_jobs([(c, eval_datasets) for c in configs], desc=desc, progress=progress,
                                   n_workers=n_workers, pool=pool) for r in rs]


def sweep_jobs(jobs: Sequence[tuple[DistillConfig, Sequence[str | None]]], desc: str = "runs",
               progress: bool = True, n_workers: int | None = None,
               teacher_results: Sequence[tuple[str, str, int]] = (), pool=None) -> list[list[dict]]:
    """:func:`sweep` for runs evaluated on different datasets, plus teacher results, in one pool.

    Args:
        jobs: ``(config, eval_datasets)`` pairs (``None`` = the run's own dataset); a run listed
            twice is trained once and evaluated on the union of its datasets.
        desc, progress, n_workers: as :func:`sweep` (``n_workers``: the size of ``pool`` when given).
        teacher_results: ``(dataset, world_size, world_seed)`` of :func:`teacher_result`\ s computed
            in the same pool (the notebooks then only read them).
        pool: a :func:`worker_pool` to use instead of starting one.

    In the worker processes, the teacher embeddings of every teacher setting are computed first (in
    parallel across settings, so no two workers encode the same split), while the runs that need no
    teacher (``none``, ``supervised``) and the teacher results fill the other worker; then the
    remaining runs. A worker keeps the splits and IMU windows it read for its next runs
    (:func:`comodo.data.reuse.reuse`).

    Returns:
        Per job, its result dicts in the order of its ``eval_datasets``.
    """
    from tqdm import tqdm

    from comodo.data.reuse import reuse

    jobs = [(c, [e or c.dataset for e in evals]) for c, evals in ((canonical(c), evals) for c, evals in jobs)]
    dirs = [run_dir(c) for c, _ in jobs]  # once each: a run on a user's dataset stats its files for it
    unique: dict[Path, tuple[DistillConfig, list[str]]] = {}
    for d, (c, evals) in zip(dirs, jobs):
        _, known = unique.setdefault(d, (c, []))
        known += [e for e in evals if e not in known]
    cached = {d for d, (c, evals) in unique.items()
              if (d / "student.pt").exists() and all((d / f"results_{e}.json").exists() for e in evals)}
    pending = {d: ce for d, ce in unique.items() if d not in cached}
    teachers = [t for t in dict.fromkeys(tuple(t) for t in teacher_results)
                if not teacher_result_path(*t).exists()]
    done: dict[Path, dict[str, dict]] = {d: {e: result(unique[d][0], e) for e in unique[d][1]} for d in cached}
    auto = n_workers is None
    n_workers = n_workers or workers()
    bar = tqdm(total=len(unique) + len(teachers), initial=len(cached), desc=desc, disable=not progress,
               file=sys.stderr)

    def finished(d: Path, res: list[dict], seconds: float) -> None:
        c, evals = pending[d]
        done[d] = dict(zip(evals, res))
        bar.update(1)
        if progress:
            accs = " ".join(f"{r['eval_dataset']} {r['acc1']:.3f}" for r in res)
            bar.write(f"  {_describe(c)}: acc@1 {accs} ({seconds:.1f} s)", file=sys.stdout)

    def teacher_finished(t: tuple, r: dict, seconds: float) -> None:
        bar.update(1)
        if progress:
            bar.write(f"  video teacher, {t[0]}: acc@1 {r['acc1']:.3f} ({seconds:.1f} s)", file=sys.stdout)

    if pending or teachers:
        # The world and teacher are built once here, never by two workers at the same time.
        worlds = {(c.world_size, c.world_seed) for c, _ in pending.values() if c.dataset_path is None}
        for ws, seed in sorted(worlds | {(t[1], t[2]) for t in teachers}):
            prepare(ws, seed, teacher=bool(teachers) or any(
                c.method in TEACHER_METHODS and c.video_ckpt == "embedded" for c, _ in pending.values()))
        # Worker processes cost seconds to start (torch, transformers): by default, runs on the quick
        # world (about a second each) go to them only when there are many.
        small = auto and all(c.world_size == "quick" for c, _ in pending.values()) and all(
            t[1] == "quick" for t in teachers) and len(pending) + len(teachers) < QUICK_POOL_MIN
        if n_workers > 1 and len(pending) + len(teachers) >= 2 * n_workers and not small:
            with contextlib.nullcontext(pool) if pool is not None else worker_pool(n_workers) as p:
                _pool(pending, teachers, p, finished, teacher_finished)
        else:
            with reuse():
                for t in teachers:
                    teacher_finished(t, *_teacher_job(*t))
                for d, (c, evals) in pending.items():
                    finished(d, *_job(c.to_dict(), evals))
    bar.close()
    return [[done[d][e] for e in evals] for d, (_, evals) in zip(dirs, jobs)]


def _pool(pending: dict, teachers: list[tuple], pool, finished, teacher_finished) -> None:
    """Run ``pending`` runs and ``teachers`` results in the processes of ``pool`` (see :func:`sweep_jobs`)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    settings: dict[tuple, DistillConfig] = {}
    for c, _ in pending.values():
        if c.method in TEACHER_METHODS:
            settings.setdefault(_teacher_setting(c), c)
    # Run first come, first served: the embeddings of every teacher setting, then what reads none
    # (teacher results, runs without a teacher); the runs that read them once all are cached.
    warming = {pool.submit(_warm_teacher, c.to_dict()) for c in settings.values()}
    futures: dict = {pool.submit(_teacher_job, *t): ("teacher", t) for t in teachers}
    later = []
    for d, (c, evals) in pending.items():
        if c.method in TEACHER_METHODS:
            later.append(d)
        else:
            futures[pool.submit(_job, c.to_dict(), evals)] = ("run", d)
    waiting = set(futures) | warming
    while waiting:
        ready, waiting = wait(waiting, return_when=FIRST_COMPLETED)
        for f in ready:
            value = f.result()  # a worker's error is raised here
            if f in warming:
                warming.discard(f)
                if not warming:  # every teacher setting is cached: the runs that read them
                    for d in later:
                        c, evals = pending[d]
                        g = pool.submit(_job, c.to_dict(), evals)
                        futures[g] = ("run", d)
                        waiting.add(g)
                continue
            kind, what = futures[f]
            if kind == "teacher":
                teacher_finished(what, *value)
            else:
                finished(what, *value)


# ---------------------------------------------------------------------------------------- tables
def table(results: Sequence[dict]):
    """A tidy DataFrame, one row per result, with the settings that tell runs apart (see ``COLUMNS``).

    ``run`` is the run's key: its folder is ``<cache>/runs/<key>`` (:func:`run_dir`).
    """
    import pandas as pd

    rows = []
    for r in results:
        c = r.get("config") or {}
        rows.append({
            "method": r.get("method"), "train_dataset": r.get("train_dataset", r.get("eval_dataset")),
            "eval_dataset": r.get("eval_dataset"), "seed": r.get("seed"),
            "queue_size": c.get("queue_size") if r.get("method") == "comodo" else None,
            "student_temp": c.get("student_temp"), "teacher_temp": c.get("teacher_temp"),
            "projection": c.get("projection"), "reduction": c.get("reduction"), "student": c.get("student"),
            "per_channel": bool((c.get("student_options") or {}).get("per_channel", False)),
            "num_epochs": c.get("num_epochs"), "batch_size": c.get("batch_size"),
            "world_size": c.get("world_size", r.get("world_size")),
            "n_classes": r.get("n_classes"), "acc1": r["acc1"], "acc3": r["acc3"], "acc5": r["acc5"],
            "run": Path(r["run"]).name if r.get("run") else None,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summarize(df, by: Sequence[str], metrics: Sequence[str] = ("acc1", "acc3", "acc5")):
    """Mean, standard deviation (ddof 1; 0 for one seed), min, max and count of ``metrics`` per group."""
    import pandas as pd

    g = df.groupby(list(by), sort=True, dropna=False)
    parts = {}
    for m in metrics:
        parts[f"{m}_mean"] = g[m].mean()
        parts[f"{m}_std"] = g[m].std(ddof=1).fillna(0.0)
        parts[f"{m}_min"] = g[m].min()
        parts[f"{m}_max"] = g[m].max()
    parts["n"] = g[metrics[0]].count()
    return pd.DataFrame(parts).reset_index()


def records(df) -> list[dict]:
    """A DataFrame as JSON-ready records (NaN → None), for the notebooks' number files."""
    import math

    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else
                        v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    return out
