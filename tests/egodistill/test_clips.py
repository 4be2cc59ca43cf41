"""Clips from every layout: whole clips only, frames by rule, the clip's IMU mean-subtracted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from comodo.data import DataSpec, write_video
from comodo.egodistill.clips import (
    FRAME_RULES,
    clip_frames_range,
    clip_imu,
    clip_imus,
    clip_spec,
    load_clips,
    select_frames,
    video_index,
)
from comodo.errors import ComodoError

RATE, FPS = 20.0, 5


def _video(path: Path, seconds: float) -> None:
    n = int(round(seconds * FPS))
    write_video(path, np.stack([np.full((16, 16, 3), (8 * i) % 256, np.uint8) for i in range(n)]), FPS)


def _ramp(n: int, channels: int = 6) -> np.ndarray:
    """(channels, n): channel c holds 100·c + k + a constant offset, so means and positions are visible."""
    return 100.0 * np.arange(channels)[:, None] + np.arange(n)[None, :] + 7.0


def _ego(root: Path, recordings: dict[str, tuple[int, float | None]]) -> Path:
    (root / "processed_imu").mkdir(parents=True)
    (root / "processed_video").mkdir(parents=True)
    for uid, (n, seconds) in recordings.items():
        np.save(root / "processed_imu" / f"{uid}.npy", _ramp(n))
        if seconds is not None:
            _video(root / "processed_video" / f"{uid}.mp4", seconds)
    (root / "train.txt").write_text("".join(f"{uid}\twalk\n" for uid in recordings))
    return root


def test_ego4d_layout_gives_every_whole_clip(tmp_path):
    root = _ego(tmp_path, {"a": (130, 7.0), "b": (90, 4.4)})  # a: 3 whole 2-s clips; b: 2 (4.4 s of video)
    spec = DataSpec("ego4d", root, imu_rate=RATE)
    clips = load_clips(spec, "train", 2.0)
    assert [(c.uid, c.window, c.start_s, c.end_s) for c in clips] == [
        ("a", 0, 0.0, 2.0), ("a", 1, 2.0, 4.0), ("a", 2, 4.0, 6.0), ("b", 0, 0.0, 2.0), ("b", 1, 2.0, 4.0)]
    x = clip_imu(clip_spec(spec, 2.0), clips[1], length=40)
    assert x.shape == (6, 40) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(1), 0.0, atol=1e-4)  # each channel mean-subtracted within the clip
    np.testing.assert_allclose(x[0], np.arange(40) - 19.5, atol=1e-4)  # samples 40..79, centred
    assert clip_frames_range(clips[1], FPS, 35) == (10, 20)
    videos, index = video_index(clips)
    assert videos == ["a", "b"] and index.tolist() == [0, 0, 0, 1, 1]


def test_mmea_recordings_are_cut_into_clips(tmp_path):
    folder = tmp_path / "sensor" / "3_drinking"
    folder.mkdir(parents=True)
    rows = _ramp(25 * 5).T  # 5 s at 25 Hz
    (folder / "c1.csv").write_text("\n".join(",".join(f"{v:g}" for v in r) for r in rows))
    (tmp_path / "video" / "3_drinking").mkdir(parents=True)
    _video(tmp_path / "video" / "3_drinking" / "c1.mp4", 5.0)
    (tmp_path / "train.txt").write_text("data/3_drinking/c1 125 125 2\n")
    spec = DataSpec("mmea", tmp_path, raw_counts=False)
    clips = load_clips(spec, "train", 2.0)
    assert [(c.uid, c.window, c.start_s, c.end_s, c.label) for c in clips] == [
        ("3_drinking/c1", 0, 0.0, 2.0, "drinking"), ("3_drinking/c1", 1, 2.0, 4.0, "drinking")]
    x = clip_imu(clip_spec(spec, 2.0), clips[1], length=50)
    np.testing.assert_allclose(x[0], np.arange(50) - 24.5, atol=1e-3)  # rows 50..99 of the recording


def test_generic_layout_with_video(tmp_path):
    (tmp_path / "comodo.json").write_text(json.dumps({"imu_rate": RATE, "channels": 6}))
    (tmp_path / "imu").mkdir()
    np.save(tmp_path / "imu" / "r.npy", _ramp(85))
    _video(tmp_path / "r.mp4", 4.2)
    (tmp_path / "train.txt").write_text("imu/r.npy\tsit\tr.mp4\n")
    clips = load_clips(DataSpec("generic", tmp_path), "train", 2.0)
    assert [(c.uid, c.window) for c in clips] == [("imu/r.npy", 0), ("imu/r.npy", 1)]


def test_the_world_domains(quick_world):
    from comodo.train.data import resolve_spec

    quick_world("ego4d")
    spec = resolve_spec("ego4d", world_size="quick")
    clips = load_clips(spec, "val", 2.0)
    assert clips and all(abs(c.end_s - c.start_s - 2.0) < 1e-9 for c in clips)
    assert len(clips) == 5 * len({c.uid for c in clips})  # 10-s videos: 5 clips each


def test_a_workers_clips_and_imus_are_read_once(quick_world, monkeypatch):
    """Inside ``reuse`` (a sweep's worker) a split's clips and their IMU are read once, equal to a fresh
    read, and handed out as copies; outside it every call reads the files again."""
    from comodo.egodistill import clips as module
    from comodo.train.data import resolve_spec, reuse

    quick_world("ego4d")
    spec = resolve_spec("ego4d", world_size="quick")
    fresh = load_clips(spec, "val", 2.0)
    fresh_imu = clip_imus(clip_spec(spec, 2.0), fresh, 64)
    probes = []
    real = module.probe_video
    monkeypatch.setattr(module, "probe_video", lambda path: probes.append(path) or real(path))
    load_clips(spec, "val", 2.0)
    assert len(probes) == len(fresh)  # outside reuse: every clip's video opened, every call
    probes.clear()
    with reuse():
        first, again = load_clips(spec, "val", 2.0), load_clips(spec, "val", 2.0)
        assert first == again == fresh and first is not again
        assert len(probes) == len(fresh)  # the second call opened no video
        imu = clip_imus(clip_spec(spec, 2.0), first, 64)
        imu[:] = 0  # a copy: the kept array is untouched
        assert np.array_equal(clip_imus(clip_spec(spec, 2.0), again, 64), fresh_imu)
        assert load_clips(spec, "val", 1.0) != fresh  # another clip length: other clips


def test_bad_inputs_are_one_line_errors(tmp_path):
    root = _ego(tmp_path / "short", {"a": (30, 1.5)})  # 1.5 s: shorter than one 2-s clip
    with pytest.raises(ComodoError, match="shorter than one"):
        load_clips(DataSpec("ego4d", root, imu_rate=RATE), "train", 2.0)
    root = _ego(tmp_path / "novideo", {"a": (60, None)})
    with pytest.raises(ComodoError, match=r"a\.mp4: file not found"):
        load_clips(DataSpec("ego4d", root, imu_rate=RATE), "train", 2.0)
    root = _ego(tmp_path / "corrupt", {"a": (60, 3.0)})
    (root / "processed_video" / "a.mp4").write_bytes(b"\x00" * 64)
    with pytest.raises(ComodoError, match=r"a\.mp4") as e:
        load_clips(DataSpec("ego4d", root, imu_rate=RATE), "train", 2.0)
    assert "\n" not in str(e.value)
    spec = DataSpec("ego4d", tmp_path / "short", imu_rate=RATE)
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(ComodoError, match="clip_s"):
            load_clips(spec, "train", bad)
    with pytest.raises(ComodoError, match="frames 0"):
        select_frames(10, 0)
    with pytest.raises(ComodoError, match="frame selection 'best'"):
        select_frames(10, 2, "best")


@pytest.mark.parametrize("rule", FRAME_RULES)
def test_frame_rules(rule):
    rng = np.random.default_rng(0)
    for n, k in ((20, 1), (20, 4), (3, 4)):
        pos = select_frames(n, k, rule, rng)
        assert pos.shape == (k,) and pos.dtype == np.int64
        assert (0 <= pos).all() and (pos < n).all() and (np.diff(pos) >= 0).all()
        if n >= k:
            assert len(set(pos.tolist())) == k  # distinct when the clip has enough frames
    expected = {"uniform": [2, 7, 12, 17], "first": [0, 1, 2, 3], "last": [16, 17, 18, 19], "center": [8, 9, 10, 11]}
    if rule in expected:
        assert select_frames(20, 4, rule).tolist() == expected[rule]
    assert select_frames(20, 1, "uniform").tolist() == [10]  # N = 1: the centre frame
