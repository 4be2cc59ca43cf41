"""What each model of the accuracy-against-cost figure costs per clip: GFLOPs at its real size, counted once.

The paper's Fig. 3 puts accuracy against GFLOPs per clip. Our students and teachers are small stand-ins
trained on the embedded world; the x-axis is what their *architectures* cost at the paper's size, counted
by :func:`comodo.study.efficiency.count_model_flops` (the model built on the meta device: shapes, no
weights; the same total as :func:`~comodo.study.efficiency.measure`'s; a multiply-add = 2 FLOPs):

- EgoDistill and VisIMU at N frames: ``egodistill_n{N}`` (ResNet-18 f_I per frame, the GRU for N > 1, the
  dilated-CNN f_M on the IMU, the fusion Π, the classifier);
- VisOnly and VisOnly-Distill: ``visonly_n{N}`` (the same without f_M);
- the video teachers: ``videomae`` (VideoMAE-base, for the embedded VideoMAE) and ``timesformer``.

Counting with real weights took VideoMAE-base ~16 s and TimeSformer-base ~18 s on a 2-core AMD EPYC; on the
meta device a count is under a second, and :func:`gflops` still keeps
each count in ``<cache>/efficiency/gflops_<model>_<key>.json``, keyed by the model name, its config
overrides, the torch and transformers versions and the sources that build the models (FLOP counts are
deterministic given those), written
atomically. A cache file that cannot be read (truncated, edited, another key) is counted again and
rewritten: the count is cheap to redo and always the same.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

from comodo.errors import check
from comodo.io import stable_hash, write_json
from comodo.paths import cache_root

IMU_VARIANTS = ("egodistill", "visimu")  # Φ with f_M
IMAGE_VARIANTS = ("visonly", "visonly_distill")  # Φ without it
TEACHER_MODELS = {"embedded": "videomae", "embedded-timesformer": "timesformer"}  # our teacher → its real size


def student_model(variant: str, frames: int) -> str:
    """The efficiency model of ``variant`` at N = ``frames`` (``egodistill_n1`` … ``visonly_n4``)."""
    check(variant in IMU_VARIANTS + IMAGE_VARIANTS,
          f"variant {variant!r}: expected one of {', '.join(IMU_VARIANTS + IMAGE_VARIANTS)}")
    check(frames in (1, 2, 4), f"frames {frames!r}: the efficiency registry has Φ at N = 1, 2, 4")
    return f"{'egodistill' if variant in IMU_VARIANTS else 'visonly'}_n{frames}"


def teacher_model(teacher: str) -> str:
    """The efficiency model of an embedded teacher's architecture (``videomae``, ``timesformer``)."""
    check(teacher in TEACHER_MODELS, f"teacher {teacher!r}: expected one of {', '.join(TEACHER_MODELS)}")
    return TEACHER_MODELS[teacher]


def models(variants: Iterable[str], frames: Iterable[int], teachers: Iterable[str] = ("embedded",)) -> list[str]:
    """Every efficiency model a figure of ``variants`` × ``frames`` and ``teachers`` needs, each once, sorted."""
    names = {student_model(v, n) for v in variants for n in frames} | {teacher_model(t) for t in teachers}
    return sorted(names)


def cache_key(name: str, overrides: Mapping[str, Any] | None = None) -> dict:
    """What a count depends on: the model, its config overrides, torch's and transformers' versions and the
    code that builds the models (:func:`comodo.study.efficiency.models_code`: Φ's sizes, the encoders)."""
    from comodo.study.efficiency import models_code

    return {"model": name, "overrides": dict(overrides or {}), "torch": metadata.version("torch"),
            "transformers": metadata.version("transformers"), "code": models_code()}


def cache_path(name: str, overrides: Mapping[str, Any] | None = None) -> Path:
    return cache_root() / "efficiency" / f"gflops_{name}_{stable_hash(cache_key(name, overrides))}.json"


def _read(path: Path, key: dict) -> float | None:
    """The cached count at ``path`` if it is a readable file of ``key``, else None."""
    try:
        stored = json.loads(path.read_text())
        if stored["key"] == key:
            return float(stored["gflops_per_clip"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def gflops(names: Iterable[str], overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, float]:
    """GFLOPs per clip (a multiply-add = 2) of each efficiency model in ``names``: ``{name: gflops}``.

    ``overrides``: model name → ``config_overrides`` of :func:`~comodo.study.efficiency.measure` (tests shrink
    the models with them). Read from the cache, else counted (batch 1, on the meta device) and cached.
    """
    overrides = dict(overrides or {})
    out: dict[str, float] = {}
    for name in names:
        key = cache_key(name, overrides.get(name))
        path = cache_path(name, overrides.get(name))
        value = _read(path, key)
        if value is None:
            import comodo.study.egodistill.efficiency  # noqa: F401  (registers egodistill_n*, visonly_n*)
            from comodo.study.efficiency import count_model_flops

            value = count_model_flops(name, overrides.get(name))["flops"] / 1e9
            write_json(path, {"key": key, "gflops_per_clip": value})
        out[name] = value
    return out


__all__ = ["TEACHER_MODELS", "cache_key", "cache_path", "gflops", "models", "student_model", "teacher_model"]
