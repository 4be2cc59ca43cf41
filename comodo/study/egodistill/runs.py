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


def _pool_map(fn, configs: list[EgoDistillConfig], n_workers: int, progress: bool) -> None:
    """``fn(config.to_dict())`` for every config, over ``n_workers`` processes (in this one if 1)."""
    def done(c: EgoDistillConfig) -> None:
        if progress:
            print(f"egodistill: {c.stage} {c.variant or ''} {c.dataset} seed {c.seed} done", flush=True)

    if n_workers <= 1 or len(configs) <= 1:
        for c in configs:
            fn(c.to_dict())
            done(c)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
        for c, _ in zip(configs, pool.map(fn, [c.to_dict() for c in configs])):
            done(c)


def _run_job(config: dict) -> None:
    run(EgoDistillConfig.from_dict(config))


def sweep(configs: Sequence[EgoDistillConfig], progress: bool = True, n_workers: int | None = None) -> list[dict]:
    """Every config trained (or read) and evaluated; results in order.

    In three waves: one run per dataset in this process (it fine-tunes the teacher and fills the frame
    and teacher-output caches the others read), then every stage-0 run the rest need (each once), then
    the rest; the last two over :func:`comodo.study.comodo.runs.workers` processes.
    """
    from comodo.study.comodo import runs

    n_workers = n_workers or runs.workers()
    configs = [c.resolved() for c in configs]
    todo = [c for c in configs if not (run_dir(c) / "results_test.json").exists()]
    first: dict[tuple, EgoDistillConfig] = {}
    for c in todo:
        first.setdefault((c.dataset, c.dataset_path, c.world_size, c.world_seed, c.teacher, c.image_ckpt), c)
    _pool_map(_job, list(first.values()), 1, progress)
    stage0: dict[Path, EgoDistillConfig] = {}
    for c in todo:
        if c.stage == "train" and c.pretrain != "none" and c.init is None:
            s0 = c.stage0()
            if not (run_dir(s0) / "student.pt").exists():
                stage0.setdefault(run_dir(s0), s0)
    _pool_map(_run_job, list(stage0.values()), n_workers, progress)
    _pool_map(_job, [c for c in todo if not (run_dir(c) / "results_test.json").exists()], n_workers, progress)
    return [result(c) for c in configs]
