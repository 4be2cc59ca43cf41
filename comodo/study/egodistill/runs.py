"""Cached EgoDistill runs: a run is trained once and evaluated once, then only read (as :mod:`comodo.study.comodo.runs`).

A run lives in ``<cache>/egodistill/runs/<key>/``, where ``key`` hashes the resolved
:class:`~comodo.egodistill.config.EgoDistillConfig` (without ``init`` and ``device``) together with the
key of the world domain it reads (or the identity of a user's dataset files), the teacher's folder
(the embedded one fine-tuned on the dataset: its cache folder, keyed by content) and the image
encoder's. The folder is what ``comodo egodistill train --out`` writes, plus ``key.json`` and
``results_<split>.json``. A stage-1 run that starts from stage 0 reads the *shared* cached stage-0 run
of its settings (:meth:`~comodo.egodistill.config.EgoDistillConfig.stage0`), so every stage-1 variant of
the same data and pre-training reuses one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from comodo.egodistill.config import EgoDistillConfig
from comodo.egodistill.teacher import EMBEDDED_BASES
from comodo.errors import ComodoError, check
from comodo.io import stable_hash, write_json
from comodo.paths import cache_root
from comodo.threads import one_thread


@functools.lru_cache(maxsize=64)
def _teacher_name(dataset: str, dataset_path: str | None, layout: str | None, world_size: str, world_seed: int,
                  clip_s: float, base: str) -> str:
    from comodo.egodistill.teacher import TeacherFinetuneConfig, teacher_dir

    return teacher_dir(TeacherFinetuneConfig(dataset=dataset, dataset_path=dataset_path, layout=layout,
                                             world_size=world_size, world_seed=world_seed, clip_s=clip_s,
                                             base=base)).name


def _checkpoint(name: str) -> object:
    """A local folder by its files' stats; a hub id by its name (a snapshot is named by revision)."""
    from comodo.study.comodo.runs import checkpoint_identity

    return checkpoint_identity(name) or name


def run_key_inputs(config: EgoDistillConfig) -> dict:
    from comodo.study.comodo import runs

    c = dataclasses.replace(config.resolved(), init=None, device="auto")
    inputs: dict = {"config": c.to_dict()}
    if c.dataset_path is None:
        inputs["world"] = runs.world_keys(c.world_size, c.world_seed, domains=[c.dataset, "teacher"])
    else:
        from comodo.data import samples_identity
        from comodo.egodistill.clips import load_clips
        from comodo.egodistill.data import spec_of

        spec = spec_of(c)
        inputs["dataset"] = {s: samples_identity(load_clips(spec, s, c.clip_s), spec.root, imu=True)
                             for s in ("train", "val", "test") if (spec.root / f"{s}.txt").exists()}
    inputs["teacher"] = (_teacher_name(c.dataset, c.dataset_path, c.layout, c.world_size, c.world_seed, c.clip_s,
                                       c.teacher) if c.teacher in EMBEDDED_BASES else _checkpoint(c.teacher))
    if c.image_ckpt == "embedded":
        from comodo.egodistill.image import image_encoder_dir, pretrain_config

        inputs["image"] = image_encoder_dir(pretrain_config(c.world_size, c.world_seed)).name
    else:
        inputs["image"] = _checkpoint(c.image_ckpt)
    return inputs


def run_dir(config: EgoDistillConfig) -> Path:
    return cache_root() / "egodistill" / "runs" / stable_hash(run_key_inputs(config))


def run(config: EgoDistillConfig, progress: bool = False) -> Path:
    """The folder of ``config``'s finished run: reused if there, resumed if half-done, else trained."""
    from comodo.egodistill.train import train

    config = config.resolved()
    out = run_dir(config)
    if (out / "student.pt").exists():
        return out
    stage0 = stage0_of(config)
    if stage0 is not None:
        config = dataclasses.replace(config, init=str(run(stage0, progress)))
    resume = (out / "checkpoints" / "last.pt").exists()
    if out.exists() and not resume:
        shutil.rmtree(out)  # a run that died before its first epoch: start clean
    from comodo.study.comodo.runs import CHECKPOINT_EVERY_S

    with one_thread():
        try:
            train(config, out, resume=resume, progress=progress, checkpoint_every_s=CHECKPOINT_EVERY_S)
        except ComodoError:
            if not resume:
                raise
            shutil.rmtree(out)
            train(config, out, resume=False, progress=progress, checkpoint_every_s=CHECKPOINT_EVERY_S)
    write_json(out / "key.json", run_key_inputs(config))
    (out / "checkpoints" / "last.pt").unlink(missing_ok=True)  # a finished run is read, never resumed
    return out


def stage0_of(config: EgoDistillConfig) -> EgoDistillConfig | None:
    """The stage-0 run a resolved stage-1 ``config`` trains first and starts from (None: it starts from
    scratch, or from the ``init`` it names)."""
    if config.stage == "train" and config.pretrain != "none" and config.init is None:
        return config.stage0()
    return None


def result(config: EgoDistillConfig, split: str = "test") -> dict:
    """:func:`~comodo.egodistill.evaluate.evaluate_run` of ``config``'s run on ``split``, computed once."""
    out = run(config)
    path = out / f"results_{split}.json"
    if not path.exists():
        from comodo.egodistill.evaluate import evaluate_run

        with one_thread():
            write_json(path, evaluate_run(out, split=split))
    return json.loads(path.read_text())


def _job(config: dict) -> float:
    """Worker: one run trained and evaluated on its test split; its student's clip top-1."""
    return result(EgoDistillConfig.from_dict(config))["student"]["clip_top1"]


def _run_job(config: dict) -> None:
    """Worker: one run trained (a stage 0 that runs start from: nothing to evaluate)."""
    run(EgoDistillConfig.from_dict(config))


def _shared_job(config) -> None:
    """Worker: one model several runs read, built once (on one thread, as always): the embedded image
    encoder f_I of an ``ImagePretrainConfig``, or the embedded teacher base of a ``TeacherPretrainConfig``."""
    from comodo.egodistill.image import ImagePretrainConfig, pretrain_image_encoder
    from comodo.teacher.pretrain import pretrain_teacher

    if isinstance(config, ImagePretrainConfig):
        pretrain_image_encoder(config, verbose=False)
    else:
        pretrain_teacher(config, verbose=False)


def _shared_of(c: EgoDistillConfig) -> dict:
    """``{pre-training config: folder}`` of the embedded models run ``c`` reads that several runs share:
    the embedded image encoder f_I and the embedded teacher base (the TimeSformer one; the VideoMAE one
    is COMODO's teacher, there before any EgoDistill run)."""
    from comodo.egodistill.image import image_encoder_dir, pretrain_config
    from comodo.teacher.pretrain import embedded_config, teacher_dir

    folders: dict = {}
    if c.image_ckpt == "embedded":
        image = pretrain_config(c.world_size, c.world_seed)
        folders[image] = image_encoder_dir(image)
    if c.teacher in EMBEDDED_BASES:
        base = embedded_config(c.world_size, c.world_seed, architecture=EMBEDDED_BASES[c.teacher])
        folders[base] = teacher_dir(base)
    return folders


def _shared_models(configs: Sequence[EgoDistillConfig]) -> dict:
    """``{pre-training config: folder}`` of what :func:`_shared_job` has to build for ``configs``: each
    missing model of :func:`_shared_of`, once."""
    folders = {k: v for c in configs for k, v in _shared_of(c).items()}
    return {config: folder for config, folder in folders.items() if not (folder / "pretrain.json").exists()}


def _plan(todo: Sequence[EgoDistillConfig], shared: dict | None = None) -> list[tuple[Path, Callable, object, set[Path]]]:
    """The jobs of ``todo``'s runs, (folder, job, config, the folders it waits for), in the order they
    are started when several are ready: the shared models to build (``shared``, default
    :func:`_shared_models` of ``todo``: ``{pre-training config: folder}``); one run per dataset and
    teacher (:func:`_spread`), which fine-tunes that teacher and fills the caches of frame features and
    teacher outputs the others read, and trains its own stage 0; then every stage-0 run the others start
    from; then the rest. The first run of a dataset and teacher waits for the shared models it reads
    (so the VideoMAE teacher's runs start while the TimeSformer base pre-trains); every other run waits
    for that first run and for its stage 0; each folder is one job."""
    def group(c: EgoDistillConfig) -> tuple:
        return c.dataset, c.dataset_path, c.world_size, c.world_seed, c.teacher, c.image_ckpt

    def needs_stage0(c: EgoDistillConfig) -> bool:
        return c.stage == "train" and c.pretrain != "none" and c.init is None

    unique = list({run_dir(c): c for c in todo}.items())
    first: dict[tuple, Path] = {}
    for d, c in unique:
        first.setdefault(group(c), d)
    firsts = [c for c in _spread([c for d, c in unique if first[group(c)] == d])]
    trained_by = {run_dir(c.stage0()): run_dir(c) for c in firsts if needs_stage0(c)}  # stage 0 → its trainer
    wanted = dict(unique)
    stage0: dict[Path, tuple] = {}
    rest = []
    for d, c in unique:
        if first[group(c)] == d:
            continue
        waits = {first[group(c)]}
        if needs_stage0(c):
            s0 = c.stage0()
            s0_dir = run_dir(s0)
            if s0_dir in trained_by:
                waits.add(trained_by[s0_dir])
            elif not (s0_dir / "student.pt").exists():
                waits.add(s0_dir)
                if s0_dir not in wanted:  # trained only, not evaluated: a job of its own
                    stage0.setdefault(s0_dir, (s0_dir, _run_job, s0, {first[group(c)]}))
        rest.append((d, _job, c, waits))
    needed = {w for *_, waits in rest for w in waits}
    shared = _shared_models(todo) if shared is None else shared
    building = set(shared.values())
    return ([(folder, _shared_job, config, set()) for config, folder in shared.items()]
            + [(run_dir(c), _job, c, set(_shared_of(c).values()) & building) for c in firsts] + list(stage0.values())
            + [j for j in rest if j[0] in needed] + [j for j in rest if j[0] not in needed])


def describe(c: EgoDistillConfig) -> str:
    """One run in a few words, for progress lines: ``visimu, ego4d_verbs, 1 frame, seed 0`` (a teacher other
    than the embedded VideoMAE is named; a stage-0 run says so and names its pre-training losses); a shared
    model by what it is: ``embedded image encoder f_I (resnet, default world)``."""
    if not isinstance(c, EgoDistillConfig):
        from comodo.egodistill.image import ImagePretrainConfig

        what = "image encoder f_I (resnet" if isinstance(c, ImagePretrainConfig) else f"teacher base ({c.architecture}"
        return f"embedded {what}, {c.size} world), pre-trained once for the runs that read it"
    name = f"stage-0 pre-training ({c.pretrain})" if c.stage == "pretrain" else f"{c.variant or 'custom'}"
    data = c.dataset_path or c.dataset
    teacher = "" if c.teacher == "embedded" else f", teacher {c.teacher}"
    return f"{name}, {data}, {c.frames} frame{'s' if c.frames > 1 else ''}{teacher}, seed {c.seed}"


def _schedule(jobs: list[tuple[Path, Callable, object, set[Path]]], pool, n_workers: int,
              progress: bool) -> None:
    """Run :func:`_plan`'s jobs: on every free worker the first job in the list whose runs are done (in
    this process, in the list's order, if ``pool`` is None); with ``progress``, a bar on stderr and a
    line per finished run (its student's clip top-1 on the test split, its seconds from start to end)."""
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="egodistill runs", disable=not progress, file=sys.stderr) as bar:
        _run_jobs(jobs, pool, n_workers, bar)


def _run_jobs(jobs: list[tuple[Path, Callable, object, set[Path]]], pool, n_workers: int, bar) -> None:
    """:func:`_schedule`'s loop, reporting each finished job on ``bar`` (a line each unless it is disabled)."""
    def report(c, top1: float | None, seconds: float) -> None:
        bar.update(1)
        if not bar.disable:
            what = "" if top1 is None else f": clip top-1 {top1:.3f}"
            bar.write(f"  {describe(c)}{what} ({seconds:.1f} s)", file=sys.stdout)

    if pool is None:
        for _, fn, c, _ in jobs:
            t = time.time()
            report(c, fn(_argument(c)), time.time() - t)
        return
    from concurrent.futures import FIRST_COMPLETED, wait

    done: set[Path] = set()
    waiting = list(jobs)
    running: dict = {}
    while waiting or running:
        for job in [j for j in waiting if j[3] <= done][:max(0, n_workers - len(running))]:
            waiting.remove(job)
            running[pool.submit(job[1], _argument(job[2]))] = (job, time.time())
        check(bool(running), "egodistill sweep: runs wait for runs that are not planned")  # (a bug, not input)
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for f in finished:
            top1 = f.result()  # a worker's error is raised here
            (d, _, c, _), t = running.pop(f)
            done.add(d)
            report(c, top1, time.time() - t)


def _argument(c):
    """What a job is passed: a run's config as a dict, a shared model's pre-training config as it is."""
    return c.to_dict() if isinstance(c, EgoDistillConfig) else c


def _spread(configs: list[EgoDistillConfig]) -> list[EgoDistillConfig]:
    """``configs`` reordered round-robin over their datasets, so that runs started together read different
    datasets (and do not both encode one dataset's frames); the order within a dataset is kept."""
    by_data: dict[tuple, list[EgoDistillConfig]] = {}
    for c in configs:
        by_data.setdefault((c.dataset, c.dataset_path), []).append(c)
    queues = list(by_data.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def sweep(configs: Sequence[EgoDistillConfig], progress: bool = True, n_workers: int | None = None,
          pool=None) -> list[dict]:
    """Every config trained (or read) and evaluated; results in order.

    First the worlds the configs read (each generated by its own two processes), then, over
    :func:`comodo.study.comodo.runs.workers` processes, every job as soon as what it reads is there
    (:func:`_plan`): the models several runs share (the embedded image encoder, the embedded teacher
    bases), one run per dataset and teacher (it fine-tunes the teacher and fills the frame and
    teacher-output caches the others read; spread so that runs started together read different
    datasets; it waits only for the shared models it reads), then every stage-0 run the others start
    from (each once), then the rest. Everything trains on one thread whichever process runs it, so the bytes do not depend on
    the order or the number of processes. ``pool``: a :func:`comodo.study.comodo.runs.worker_pool` of
    ``n_workers`` processes to use instead of starting one.
    """
    from comodo.study.comodo import runs
    from comodo.train.data import resolve_spec

    n_workers = n_workers or runs.workers()
    configs = [c.resolved() for c in configs]
    for key in dict.fromkeys((c.dataset, c.world_size, c.world_seed) for c in configs if c.dataset_path is None):
        resolve_spec(key[0], world_size=key[1], world_seed=key[2])  # generated if missing
    with contextlib.nullcontext(pool) if pool is not None else runs.worker_pool(n_workers) as pool:
        _schedule(_plan([c for c in configs if not (run_dir(c) / "results_test.json").exists()]), pool, n_workers,
                  progress)
    return [result(c) for c in configs]
