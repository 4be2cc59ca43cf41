"""Generate a domain of the world on disk, in its real dataset layout, once.

A domain is keyed by the generator version, its :class:`~comodo.world.domains.DomainSpec`, the size
and the seed; it is written into a temporary folder that becomes
``<cache>/world/<domain>-<size>-s<seed>-<key>`` in one rename, with ``world.json`` (the resolved
configuration) inside. A second call with the same key returns the folder at once.

Every clip draws from its own generator seeded by ``(seed, domain, clip index)``, so the bytes do not
depend on the number of worker processes.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import time
import zlib
from pathlib import Path

import numpy as np

from comodo.data.video import write_video
from comodo.errors import check, check_seed, is_integer
from comodo.io import atomic_dir, stable_hash, write_json
from comodo.paths import cache_root
from comodo.world.activities import ACTIVITIES
from comodo.world.domains import DOMAINS, SIZES, DomainSpec
from comodo.world.imu import simulate_imu
from comodo.world.motion import GRAVITY, head_trajectory
from comodo.world.render import render
from comodo.world.scenes import build_scene
from comodo.world.verbs import Verb, apply_verb

GENERATOR_VERSION = 3
SIM_RATE = 200.0  # Hz: trajectories are simulated at this rate, then decimated to a domain's IMU rate
ACCEL_COUNTS_PER_G = 16384.0  # MMEA raw accelerometer counts per g
GYRO_COUNTS_PER_DPS = 16.4  # MMEA raw gyroscope counts per °/s


@dataclasses.dataclass(frozen=True)
class Clip:
    """One video of a domain (an Ego4D uid or an MMEA clip) before it is generated."""

    index: int
    uid: str
    label: str
    label_index: int
    split: str
    duration_s: float


def world_key(spec: DomainSpec, size: str, seed: int) -> str:
    return stable_hash({"version": GENERATOR_VERSION, "spec": dataclasses.asdict(spec), "size": size,
                        "seed": seed})


def world_dir(domain: str, size: str = "default", seed: int = 0, root: Path | None = None) -> Path:
    """Where ``domain`` of ``size`` and ``seed`` lives (generated or not)."""
    spec = _spec(domain, size)
    base = (root or cache_root() / "world")
    return base / f"{domain}-{size}-s{seed}-{world_key(spec, size, seed)}"


def generate(domain: str, size: str = "default", seed: int = 0, root: Path | None = None,
             workers: int | None = None, verbose: bool = True) -> Path:
    """Generate ``domain`` (or return it if already there); returns its folder."""
    check_seed("world seed", seed)
    check(workers is None or (is_integer(workers) and workers >= 1), f"workers {workers!r}: expected ≥ 1")
    spec = _spec(domain, size)
    out = world_dir(domain, size, seed, root)
    if (out / "world.json").exists():
        return out
    clips = plan(spec, size, seed)
    workers = workers or min(2, os.cpu_count() or 1)
    t0 = time.time()
    with atomic_dir(out) as tmp:
        jobs = [(spec, clip, seed, str(tmp)) for clip in clips]
        if workers > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for _ in pool.imap_unordered(_make_clip, jobs, chunksize=2):
                    pass
        else:
            for job in jobs:
                _make_clip(job)
        _write_splits(spec, clips, tmp)
        write_json(tmp / "world.json", {"domain": domain, "size": size, "seed": seed,
                                        "generator_version": GENERATOR_VERSION, "key": world_key(spec, size, seed),
                                        "spec": dataclasses.asdict(spec), "n_clips": len(clips),
                                        "labels": sorted(spec.labels)})
    if verbose:
        print(f"world: {domain} ({size}, seed {seed}): {len(clips)} clips in {time.time() - t0:.1f} s -> {out}",
              flush=True)
    return out


def _spec(domain: str, size: str) -> DomainSpec:
    check(domain in DOMAINS, f"unknown world domain {domain!r}; expected one of: {', '.join(DOMAINS)}")
    check(size in SIZES, f"unknown world size {size!r}; expected one of: {', '.join(SIZES)}")
    return DOMAINS[domain]


def plan(spec: DomainSpec, size: str, seed: int) -> list[Clip]:
    """The clips of a domain: per label, ``clips_per_label`` videos split train/val/test."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 0])
    n = spec.clips_per_label[size]
    lo, hi = spec.duration_s[size]
    clips: list[Clip] = []
    for li, label in enumerate(sorted(spec.labels)):
        n_train = max(1, int(round(n * spec.splits[0])))
        n_val = max(1, int(round(n * spec.splits[1]))) if spec.splits[2] > 0 else n - n_train
        n_test = n - n_train - n_val
        assert n_test >= (1 if spec.splits[2] > 0 else 0), f"{spec.name}: too few clips per label for 3 splits"
        splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
        for k, split in enumerate(rng.permutation(splits)):
            duration = float(np.round(rng.uniform(lo, hi), 1))
            if spec.layout == "mmea":
                uid = f"{li + 1}_{label}/{li + 1}_{label}_{k:03d}"
            else:
                uid = f"{spec.name}-{label}-{k:03d}"
            clips.append(Clip(len(clips), uid, label, li, str(split), duration))
    return clips


def _make_clip(job: tuple[DomainSpec, Clip, int, str]) -> None:
    spec, clip, seed, root = job
    imu, scene, position, euler, fov = clip_content(spec, clip, seed)
    frames = render(scene, position, euler, spec.size_px, spec.size_px, fov)
    _write_clip(spec, clip, Path(root), imu, frames)


def clip_content(spec: DomainSpec, clip: Clip, seed: int):
    """What a clip is made of before it is rendered: ``(imu (6, T), scene, camera positions (F, 3),
    camera euler angles (F, 3), field of view in degrees)``, all drawn from the clip's own generator."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 1, clip.index])
    names = spec.labels[clip.label]
    activity = ACTIVITIES[names[int(rng.integers(len(names)))]]
    place = activity.places[int(rng.integers(len(activity.places)))]
    traj = head_trajectory(activity.motion.jittered(rng), clip.duration_s, SIM_RATE, rng)
    if "verbs" in spec.extra:  # a verb domain: the label is a head movement laid over the activity
        traj = apply_verb(traj, Verb(*spec.extra["verbs"][clip.label]), rng)
    imu = simulate_imu(traj, spec.sensor, rng)  # (6, T) m/s², rad/s at SIM_RATE
    if spec.imu_rate != SIM_RATE:  # a slower sensor: block-average (its anti-alias filter) and decimate
        step = int(round(SIM_RATE / spec.imu_rate))
        imu = imu[:, : imu.shape[1] // step * step].reshape(6, -1, step).mean(-1)
    n_frames = int(round(clip.duration_s * spec.video_fps))
    cam = traj.at(np.arange(n_frames) / spec.video_fps)
    scene, local = build_scene(activity, place, cam, spec.palette, rng)
    fov = float(rng.uniform(*spec.fov_deg))
    return imu, scene, local.position, local.euler, fov


def _write_clip(spec: DomainSpec, clip: Clip, root: Path, imu: np.ndarray, frames: np.ndarray) -> None:
    from comodo.io import atomic_path

    if spec.layout == "mmea":
        video = root / "video" / f"{clip.uid}.mp4"
        sensor = root / "sensor" / f"{clip.uid}.csv"
        counts = np.concatenate([imu[:3] / GRAVITY * ACCEL_COUNTS_PER_G,
                                 np.rad2deg(imu[3:]) * GYRO_COUNTS_PER_DPS]).T  # (T, 6)
        sensor.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(sensor) as tmp:
            np.savetxt(tmp, np.round(counts).astype(np.int64), fmt="%d", delimiter=",")
    else:
        video = root / "processed_video" / f"{clip.uid}.mp4"
        npy = root / "processed_imu" / f"{clip.uid}.npy"
        npy.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(npy) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, imu)
    video.parent.mkdir(parents=True, exist_ok=True)
    write_video(video, frames, spec.video_fps)


def _write_splits(spec: DomainSpec, clips: list[Clip], root: Path) -> None:
    for split in ("train", "val", "test"):
        rows = [c for c in clips if c.split == split]
        if not rows and split == "test":
            continue
        if spec.layout == "mmea":  # as shipped: path, RGB frames, sensor rows, class id (N - 1)
            text = "".join(f"data/{c.uid} {int(round(c.duration_s * spec.video_fps))} "
                           f"{int(round(c.duration_s * spec.imu_rate))} {c.label_index}\r\n" for c in rows)
        else:
            text = "".join(f"{c.uid}\t{c.label}\n" for c in rows)
        (root / f"{split}.txt").write_text(text)


def load_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "world.json").read_text())
