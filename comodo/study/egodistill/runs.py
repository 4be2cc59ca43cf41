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
from pathlib import Path
from typing import Sequence

from comodo.egodistill.config import EgoDistillConfig
from comodo.egodistill.teacher import EMBEDDED_BASES
from comodo.errors import ComodoError
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
    if config.stage == "train" and config.pretrain != "none" and config.init is None:
        config = dataclasses.replace(config, init=str(run(config.stage0(), progress)))
    resume = (out / "checkpoints" / "last.pt").exists()
    if out.exists() and not resume:
        shutil.rmtree(out)  # a run that died before its first epoch: start clean
    with one_thread():
        try:
            train(config, out, resume=resume, progress=progress)
        except ComodoError:
            if not resume:
                raise
            shutil.rmtree(out)
            train(config, out, resume=False, progress=progress)
    write_json(out / "key.json", run_key_inputs(config))
    (out / "checkpoints" / "last.pt").unlink(missing_ok=True)  # a finished run is read, never resumed
    return out


def result(config: EgoDistillConfig, split: str = "test") -> dict:
    """:func:`~comodo.egodistill.evaluate.evaluate_run` of ``config``'s run on ``split``, computed once."""
    out = run(config)
    path = out / f"results_{split}.json"
    if not path.exists():
        from comodo.egodistill.evaluate import evaluate_run

        with one_thread():
            write_json(path, evaluate_run(out, split=split))
    return json.loads(path.read_text())


def _init_worker() -> None:
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")


def _job(config: dict) -> None:
    result(EgoDistillConfig.from_dict(config))


@contextlib.contextmanager
def _workers(n_workers: int):
    """A pool of ``n_workers`` spawned processes (one torch thread each), or None for this process alone:
    one pool for every wave of a sweep, so each worker imports torch and transformers once."""
    if n_workers <= 1:
        yield None
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
        yield pool


def _map(fn, items: list, pool):
    """``fn(item)`` for every item, in order, in ``pool`` (in this process if None)."""
    return map(fn, items) if pool is None else pool.map(fn, items)


def _pool_map(fn, configs: list[EgoDistillConfig], pool, progress: bool) -> None:
    """``fn(config.to_dict())`` for every config, in ``pool`` (in this process if None)."""
    for c, _ in zip(configs, _map(fn, [c.to_dict() for c in configs], pool)):
        if progress:
            print(f"egodistill: {c.stage} {c.variant or ''} {c.dataset} seed {c.seed} done", flush=True)


def _run_job(config: dict) -> None:
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


def _shared_models(configs: Sequence[EgoDistillConfig]) -> list:
    """The pre-training configs of what :func:`_shared_job` has to build for ``configs``: each missing
    embedded image encoder and embedded teacher base (the TimeSformer one; the VideoMAE one is COMODO's
    teacher), once."""
    from comodo.egodistill.image import image_encoder_dir, pretrain_config
    from comodo.teacher.pretrain import embedded_config, teacher_dir

    folders: dict = {}
    for c in configs:
        if c.image_ckpt == "embedded":
            image = pretrain_config(c.world_size, c.world_seed)
            folders[image] = image_encoder_dir(image)
        if c.teacher in EMBEDDED_BASES:
            base = embedded_config(c.world_size, c.world_seed, architecture=EMBEDDED_BASES[c.teacher])
            folders[base] = teacher_dir(base)
    return [config for config, folder in folders.items() if not (folder / "pretrain.json").exists()]


def _spread(configs: list[EgoDistillConfig]) -> list[EgoDistillConfig]:
    """``configs`` reordered round-robin over their datasets, so that runs started together read different
    datasets (and do not both encode one dataset's frames); the order within a dataset is kept."""
    by_data: dict[tuple, list[EgoDistillConfig]] = {}
    for c in configs:
        by_data.setdefault((c.dataset, c.dataset_path), []).append(c)
    queues = list(by_data.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def sweep(configs: Sequence[EgoDistillConfig], progress: bool = True, n_workers: int | None = None) -> list[dict]:
    """Every config trained (or read) and evaluated; results in order.

    First the worlds the configs read (each generated by its own two processes), then, side by side
    over :func:`comodo.study.comodo.runs.workers` processes, the models several runs share (the embedded
    image encoder, the embedded teacher bases); then three waves over the same processes: one run per
    dataset and teacher (it fine-tunes the teacher and fills the frame and teacher-output caches the
    others read; spread so that runs started together read different datasets), every stage-0 run the
    rest need (each once), then the rest. Everything trains on one thread whichever process runs it,
    so the bytes do not depend on the order or the number of processes.
    """
    from comodo.study.comodo import runs
    from comodo.train.data import resolve_spec

    n_workers = n_workers or runs.workers()
    configs = [c.resolved() for c in configs]
    for key in dict.fromkeys((c.dataset, c.world_size, c.world_seed) for c in configs if c.dataset_path is None):
        resolve_spec(key[0], world_size=key[1], world_seed=key[2])  # generated if missing
    with _workers(n_workers) as pool:
        list(_map(_shared_job, _shared_models(configs), pool))
        todo = [c for c in configs if not (run_dir(c) / "results_test.json").exists()]
        first: dict[tuple, EgoDistillConfig] = {}
        for c in todo:
            first.setdefault((c.dataset, c.dataset_path, c.world_size, c.world_seed, c.teacher, c.image_ckpt), c)
        _pool_map(_job, _spread(list(first.values())), pool, progress)
        stage0: dict[Path, EgoDistillConfig] = {}
        for c in todo:
            if c.stage == "train" and c.pretrain != "none" and c.init is None:
                s0 = c.stage0()
                if not (run_dir(s0) / "student.pt").exists():
                    stage0.setdefault(run_dir(s0), s0)
        _pool_map(_run_job, list(stage0.values()), pool, progress)
        _pool_map(_job, [c for c in todo if not (run_dir(c) / "results_test.json").exists()], pool, progress)
    return [result(c) for c in configs]
