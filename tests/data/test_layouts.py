"""Dataset layouts end to end on tiny datasets built in tmp_path with real mp4 files.

Scale: IMU at 20 Hz, 1-s windows (W = 20 samples), 32×32 video at 5 fps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from comodo.data import (
    LAYOUTS,
    DataSpec,
    frame_range,
    load_split,
    probe_video,
    read_frames,
    read_imu,
    write_video,
)
from comodo.data.imu import STANDARD_GRAVITY
from comodo.errors import ComodoError

RATE, WIN, FPS = 20.0, 1.0, 5


def _video(path: Path, seconds: float) -> Path:
    n = int(round(seconds * FPS))
    frames = np.stack([np.full((32, 32, 3), 8 * i, np.uint8) for i in range(n)])
    write_video(path, frames, FPS)
    return path


def _imu(n: int, channels: int = 6) -> np.ndarray:
    """(channels, n): channel c at sample k holds 100·c + k, so a window's position is visible."""
    return (100.0 * np.arange(channels)[:, None] + np.arange(n)[None, :]).astype(np.float64)


def _ego(root: Path, recordings: dict[str, tuple[int, float | None]], split: str = "train") -> Path:
    """recordings: uid -> (IMU samples, video seconds or None for no video)."""
    (root / "processed_imu").mkdir(parents=True, exist_ok=True)
    (root / "processed_video").mkdir(parents=True, exist_ok=True)
    lines = []
    for uid, (n, seconds) in recordings.items():
        np.save(root / "processed_imu" / f"{uid}.npy", _imu(n))
        if seconds is not None:
            _video(root / "processed_video" / f"{uid}.mp4", seconds)
        lines.append(f"{uid}\tcleaning / laundry")
    (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def _spec(layout: str, root: Path, **kw) -> DataSpec:
    kw.setdefault("imu_rate", RATE)
    kw.setdefault("window_s", WIN)
    return DataSpec(layout, root, **kw)


# ---------------------------------------------------------------- ego4d / egoexo4d


def test_layouts_registered():
    assert LAYOUTS.names() == ["ego4d", "egoexo4d", "generic", "mmea"]


def test_ego4d_windows_by_index(tmp_path):
    root = _ego(tmp_path, {"a": (70, 2.6), "b": (40, 4.0), "c": (65, None)})
    spec = _spec("ego4d", root)
    samples = load_split(spec, "train")
    # a: 3 IMU windows, 2 whole video windows; b: 2 IMU, 4 video; c: no video -> IMU alone
    assert [(s.uid, s.window) for s in samples] == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1), ("c", 2)]
    a1 = samples[1]
    assert (a1.label, a1.start_s, a1.end_s) == ("cleaning / laundry", 1.0, 2.0)
    assert a1.video_path == root / "processed_video" / "a.mp4"
    x = read_imu(spec, a1)
    assert x.shape == (6, 20) and x.dtype == np.float32
    np.testing.assert_array_equal(x, _imu(70)[:, 20:40])
    # the paired video span holds frames 5..9 of a.mp4
    info = probe_video(a1.video_path)
    first, stop = frame_range(info.fps, a1.start_s, a1.end_s, info.n_frames)
    assert (first, stop) == (5, 10)
    frames = read_frames(a1.video_path, range(first, stop))
    np.testing.assert_allclose(frames.reshape(5, -1).mean(1) / 8, np.arange(5, 10), atol=0.5)
    with pytest.raises(ComodoError, match=r"c\.mp4: file not found"):
        read_frames(samples[4].video_path)


def test_ego4d_v2_folder_and_egoexo4d(tmp_path):
    _ego(tmp_path / "v2", {"a": (40, 2.0)})
    (tmp_path / "v2" / "train.txt").rename(tmp_path / "train.txt")
    assert len(load_split(_spec("ego4d", tmp_path), "train")) == 2
    root = _ego(tmp_path / "exo", {"take_1": (60, 3.0)})
    spec = _spec("egoexo4d", root)
    assert spec.pairing == "index"
    assert [s.window for s in load_split(spec, "train")] == [0, 1, 2]


def test_ego4d_windows_by_timestamps(tmp_path):
    root = _ego(tmp_path, {"c": (80, 5.0)})
    t_ms = 500.0 + 50.0 * np.arange(80)  # Ego4D-style ms on the video clock: IMU starts 0.5 s late
    np.save(root / "processed_imu" / "c_timestamps.npy", t_ms)
    spec = _spec("ego4d", root)
    samples = load_split(spec, "train")
    # windows 0 and 4 are only half covered (0.5-1.0 s, 4.0-4.45 s) and are dropped
    assert [s.window for s in samples] == [1, 2, 3]
    np.testing.assert_allclose(read_imu(spec, samples[0]), _imu(80)[:, 10:30])  # 1.0 s is sample 10
    np.testing.assert_allclose(read_imu(spec, samples[2]), _imu(80)[:, 50:70])
    # the same data paired by index ignores the offset: 4 IMU windows from sample 0
    by_index = _spec("ego4d", root, pairing="index")
    idx = load_split(by_index, "train")
    assert [s.window for s in idx] == [0, 1, 2, 3]
    np.testing.assert_array_equal(read_imu(by_index, idx[1]), _imu(80)[:, 20:40])
    # seconds and nanoseconds are recognised too
    np.save(root / "processed_imu" / "c_timestamps.npy", t_ms / 1e3)
    assert [s.window for s in load_split(spec, "train")] == [1, 2, 3]
    np.save(root / "processed_imu" / "c_timestamps.npy", t_ms * 1e6 + 1.7e15)  # device clock, ns
    with pytest.raises(ComodoError, match="c_timestamps.npy.*video clock"):
        load_split(spec, "train")
    np.save(root / "processed_imu" / "c_timestamps.npy", t_ms[:-1])
    with pytest.raises(ComodoError, match=r"c_timestamps.npy: expected \(80,\)"):
        load_split(spec, "train")


def test_timestamps_required_when_asked(tmp_path):
    root = _ego(tmp_path, {"a": (40, 2.0)})
    with pytest.raises(ComodoError, match=r"a_timestamps\.npy: not found"):
        load_split(_spec("ego4d", root, pairing="timestamps"), "train")


def test_ego4d_errors(tmp_path):
    with pytest.raises(ComodoError, match="nowhere: folder not found"):
        load_split(_spec("ego4d", tmp_path / "nowhere"), "train")
    root = _ego(tmp_path / "d", {"a": (40, 2.0)})
    spec = _spec("ego4d", root)
    with pytest.raises(ComodoError, match=r"val\.txt: not found"):
        load_split(spec, "val")
    (root / "test.txt").write_text("\n  \n")
    with pytest.raises(ComodoError, match=r"test\.txt: empty"):
        load_split(spec, "test")
    (root / "bad.txt").write_text("a\tx\nb only-spaces\n")
    with pytest.raises(ComodoError, match=r"bad\.txt: line 2 is not 'uid<TAB>label'"):
        load_split(spec, "bad")
    (root / "dup.txt").write_text("a\tx\na\tx\n")
    with pytest.raises(ComodoError, match="line 2 repeats 'a' from line 1"):
        load_split(spec, "dup")
    (root / "ghost.txt").write_text("ghost\tx\n")
    with pytest.raises(ComodoError, match=r"ghost\.npy: file not found"):
        load_split(spec, "ghost")
    np.save(root / "processed_imu" / "five.npy", _imu(40, channels=5))
    (root / "five.txt").write_text("five\tx\n")
    with pytest.raises(ComodoError, match=r"five\.npy: expected \(6, T\).*\(5, 40\)"):
        load_split(spec, "five")
    np.save(root / "processed_imu" / "short.npy", _imu(15))
    (root / "short.txt").write_text("short\tx\n")
    with pytest.raises(ComodoError, match=r"short\.npy: 15 samples.*shorter than one 1 s window"):
        load_split(spec, "short")
    (root / "processed_imu" / "junk.npy").write_bytes(b"not an array")
    (root / "junk.txt").write_text("junk\tx\n")
    with pytest.raises(ComodoError, match=r"junk\.npy: not a readable \.npy"):
        load_split(spec, "junk")
    with pytest.raises(ComodoError, match="split"):
        load_split(spec, "../train")


def test_ego4d_nan_and_inf(tmp_path):
    root = _ego(tmp_path, {"a": (60, 3.0)})
    x = _imu(60)
    x[4, 25] = np.nan
    x[1, 45] = np.inf
    np.save(root / "processed_imu" / "a.npy", x)
    spec = _spec("ego4d", root)
    samples = load_split(spec, "train")
    read_imu(spec, samples[0])  # window 0 is clean
    with pytest.raises(ComodoError, match=r"a\.npy: NaN reading at sample 25"):
        read_imu(spec, samples[1])
    with pytest.raises(ComodoError, match=r"a\.npy: infinite reading at sample 45"):
        read_imu(spec, samples[2])


def test_corrupt_and_truncated_video(tmp_path):
    root = _ego(tmp_path, {"a": (40, 2.0)})
    video = root / "processed_video" / "a.mp4"
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    spec = _spec("ego4d", root)
    with pytest.raises(ComodoError, match=r"a\.mp4: corrupt or truncated"):
        load_split(spec, "train")
    video.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(ComodoError, match=r"a\.mp4: corrupt or truncated"):
        load_split(spec, "train")
    _video(video, 0.6)
    with pytest.raises(ComodoError, match=r"a\.mp4: 0\.60 s, shorter than one 1 s window"):
        load_split(spec, "train")


# ---------------------------------------------------------------- mmea


def _mmea(root: Path, clips: dict[str, np.ndarray], header: bool = False) -> Path:
    """clips: '<N_label>/<clip>' -> (T, K) counts; split lines in the shipped format, CRLF."""
    lines = []
    for i, (rel, rows) in enumerate(clips.items()):
        folder, clip = rel.split("/")
        (root / "sensor" / folder).mkdir(parents=True, exist_ok=True)
        text = "\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n"
        if header:
            text = ",".join(f"c{k}" for k in range(rows.shape[1])) + "\n" + text
        (root / "sensor" / folder / f"{clip}.csv").write_text(text)
        if i == 0:
            _video(root / "video" / folder / f"{clip}.mp4", len(rows) / 25)  # as long as its sensor at 25 Hz
        n = int(folder.split("_")[0])
        lines.append(f"yourdataset_path/data/{rel} {len(rows)} {len(rows)} {n - 1}")
    (root / "train.txt").write_bytes("\r\n".join(lines).encode())
    return root


def _counts(t: int, k: int = 6) -> np.ndarray:
    rows = np.tile(np.array([16384.0, 0.0, -16384.0, 16.4, -32.8, 0.0]), (t, 1))
    return np.hstack([rows, np.zeros((t, k - 6))]) if k > 6 else rows[:, :k]


def test_mmea_labels_and_raw_count_scaling(tmp_path):
    root = _mmea(tmp_path, {"3_drinking/3_drinking_2022_04_21_10_00_00": _counts(50), "12_standing/s_1": _counts(30)})
    spec = DataSpec("mmea", root)
    assert (spec.imu_rate, spec.raw_counts, spec.video_fps) == (25.0, True, 25.0)
    samples = load_split(spec, "train")
    assert [(s.uid, s.label, s.window, s.start_s, s.end_s) for s in samples] == [
        ("3_drinking/3_drinking_2022_04_21_10_00_00", "drinking", 0, 0.0, 2.0),
        ("12_standing/s_1", "standing", 0, 0.0, 1.2),
    ]
    assert samples[0].video_path == root / "video" / "3_drinking" / "3_drinking_2022_04_21_10_00_00.mp4"
    assert probe_video(samples[0].video_path).n_frames == 10
    x = read_imu(spec, samples[0])
    assert x.shape == (6, 50) and x.dtype == np.float32  # no row lost: the CSVs have no header
    expected = [STANDARD_GRAVITY, 0, -STANDARD_GRAVITY, math.pi / 180, -2 * math.pi / 180, 0]
    np.testing.assert_allclose(x[:, 7], expected, rtol=1e-6)
    raw = read_imu(DataSpec("mmea", root, raw_counts=False), samples[0])
    np.testing.assert_allclose(raw[:, 0], [16384, 0, -16384, 16.4, -32.8, 0], rtol=1e-6)
    half = read_imu(DataSpec("mmea", root, accel_counts_per_g=8192.0), samples[0])
    np.testing.assert_allclose(half[0, 0], 2 * STANDARD_GRAVITY, rtol=1e-6)
    with pytest.raises(ComodoError, match=r"12_standing/s_1\.mp4: file not found"):
        read_frames(samples[1].video_path)


def test_imu_and_video_of_other_lengths_are_refused_naming_the_file(tmp_path):
    """Index pairing takes IMU and video as one recording: a stub sensor file or a wrong rate is an error,
    not an IMU stretched over the clip or windows paired with the wrong seconds."""
    root = _mmea(tmp_path / "mmea", {"1_upstairs/u": _counts(50)})
    assert len(load_split(DataSpec("mmea", root), "train")) == 1  # 2.0 s of sensor, a 2.0 s video
    for rate in (10.0, 100.0):  # 5.0 s and 0.5 s of sensor against the 2.0 s video
        with pytest.raises(ComodoError, match=rf"u\.csv: 50 samples at {rate:g} Hz last .* but its video "
                                              rf".*u\.mp4 lasts 2\.00 s; expected the same recording") as e:
            load_split(DataSpec("mmea", root, imu_rate=rate), "train")
        assert "\n" not in str(e.value)
    (root / "sensor" / "1_upstairs" / "u.csv").write_text("16384,0,0,0,0,0\n")  # one row: 0.04 s
    with pytest.raises(ComodoError, match=r"u\.csv: 1 samples at 25 Hz last 0\.04 s"):
        load_split(DataSpec("mmea", root), "train")
    ego = _ego(tmp_path / "ego", {"a": (80, 4.0)})  # 4.0 s of IMU at 20 Hz, a 4.0 s video
    assert len(load_split(_spec("ego4d", ego), "train")) == 4
    with pytest.raises(ComodoError, match=r"a\.npy: 80 samples at 5 Hz last 16\.00 s but its video"):
        load_split(_spec("ego4d", ego, imu_rate=5.0), "train")


def test_mmea_header_and_extra_columns(tmp_path):
    root = _mmea(tmp_path, {"1_upstairs/u": _counts(20, k=8)}, header=True)
    spec = DataSpec("mmea", root)
    (sample,) = load_split(spec, "train")
    x = read_imu(spec, sample)
    assert x.shape == (6, 20)
    np.testing.assert_allclose(x[0], STANDARD_GRAVITY, rtol=1e-6)


def test_mmea_errors(tmp_path):
    root = _mmea(tmp_path, {"1_upstairs/u": _counts(20, k=5)})
    spec = DataSpec("mmea", root)
    with pytest.raises(ComodoError, match=r"u\.csv: 5 columns, expected 6"):
        load_split(spec, "train")
    (root / "val.txt").write_text("data/1_upstairs/u 20 20 0\nupstairs/v 3 3 0\n")
    with pytest.raises(ComodoError, match=r"val\.txt: line 2 is not '<\.\.\.>/<N_label>/<clip>"):
        load_split(spec, "val")
    (root / "test.txt").write_text("data/1_upstairs/missing 20 20 0\n")
    with pytest.raises(ComodoError, match=r"missing\.csv: file not found"):
        load_split(spec, "test")
    (root / "sensor" / "1_upstairs" / "n.csv").write_text("1,2,3,4,5,6\n1,2,nan,4,5,6\n")
    (root / "nan.txt").write_text("1_upstairs/n.csv\n")
    (sample,) = load_split(spec, "nan")
    with pytest.raises(ComodoError, match=r"n\.csv: NaN reading at sample 1"):
        read_imu(spec, sample)


# ---------------------------------------------------------------- generic


def _generic(root: Path, cfg: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "comodo.json").write_text(json.dumps(cfg))
    return root


def test_generic_npy_csv_and_video(tmp_path):
    root = _generic(tmp_path, {"imu_rate": RATE, "channels": 3, "units": "si"})
    (root / "imu").mkdir()
    np.save(root / "imu" / "long.npy", _imu(50, channels=3))  # 2 whole windows
    short = _imu(12, channels=3).T
    (root / "imu" / "short.csv").write_text("x,y,z\n" + "\n".join(",".join(map(str, r)) for r in short))
    (root / "imu" / "vid.csv").write_text("\n".join(",".join(map(str, r)) for r in _imu(60, channels=3).T))
    _video(root / "clips" / "vid.mp4", 2.2)
    (root / "train.txt").write_text(
        "# my recordings\nimu/long.npy\twalk\nimu/short.csv\tsit\n\nimu/vid.csv\trun\tclips/vid.mp4\n"
    )
    spec = DataSpec("generic", root, window_s=WIN)
    assert (spec.imu_rate, spec.channels, spec.raw_counts) == (RATE, 3, False)
    samples = load_split(spec, "train")
    assert [(s.uid, s.label, s.window) for s in samples] == [
        ("imu/long.npy", "walk", 0), ("imu/long.npy", "walk", 1), ("imu/short.csv", "sit", 0),
        ("imu/vid.csv", "run", 0), ("imu/vid.csv", "run", 1),  # 3 IMU windows, 2 whole video windows
    ]
    np.testing.assert_array_equal(read_imu(spec, samples[1]), _imu(50, channels=3)[:, 20:40])
    whole = read_imu(spec, samples[2])
    assert whole.shape == (3, 12) and samples[2].end_s == pytest.approx(0.6)
    np.testing.assert_array_equal(whole, _imu(12, channels=3))
    np.testing.assert_array_equal(read_imu(spec, samples[4]), _imu(60, channels=3)[:, 20:40])
    assert samples[4].video_path == root / "clips" / "vid.mp4" and samples[0].video_path is None


def test_generic_counts(tmp_path):
    root = _generic(tmp_path, {"imu_rate": 10, "channels": 6, "units": "counts"})
    np.save(root / "r.npy", _counts(5).T)
    (root / "train.txt").write_text("r.npy\tx\n")
    spec = DataSpec("generic", root)
    assert spec.raw_counts is True
    (sample,) = load_split(spec, "train")
    np.testing.assert_allclose(read_imu(spec, sample)[2], -STANDARD_GRAVITY, rtol=1e-6)


def test_generic_errors(tmp_path):
    with pytest.raises(ComodoError, match=r"comodo\.json: not found"):
        DataSpec("generic", tmp_path)
    root = _generic(tmp_path / "g", {"imu_rate": 50, "channels": 3})
    with pytest.raises(ComodoError, match=r"imu_rate=100 contradicts .*comodo\.json \(50\.0\)"):
        DataSpec("generic", root, imu_rate=100)
    _generic(root, {"imu_rate": 50, "channels": 3, "rate": 2})
    with pytest.raises(ComodoError, match="unknown key 'rate'"):
        DataSpec("generic", root)
    _generic(root, {"imu_rate": 50, "channels": 3, "units": "counts"})
    with pytest.raises(ComodoError, match="raw_counts needs 6 channels"):
        DataSpec("generic", root)
    (root / "comodo.json").write_text("{imu_rate: 50")
    with pytest.raises(ComodoError, match="not valid JSON"):
        DataSpec("generic", root)
    _generic(root, {"imu_rate": 50, "channels": 3})
    spec = DataSpec("generic", root)
    (root / "train.txt").write_text("a.npy\n")
    with pytest.raises(ComodoError, match=r"train\.txt: line 1 is not 'imu_path<TAB>label"):
        load_split(spec, "train")
    (root / "train.txt").write_text("a.parquet\tx\n")
    with pytest.raises(ComodoError, match=r"a\.parquet: expected a \.npy or \.csv"):
        load_split(spec, "train")
    (root / "w.csv").write_text("1,2\n3,4\n")
    (root / "train.txt").write_text("w.csv\tx\n")
    with pytest.raises(ComodoError, match=r"w\.csv: 2 columns, expected 3 channels"):
        load_split(spec, "train")


def test_spec_validation(tmp_path):
    for bad in ({"imu_rate": 0}, {"window_s": -1.0}, {"imu_rate": float("nan")}, {"channels": 0}):
        with pytest.raises(ComodoError):
            DataSpec("ego4d", tmp_path, **bad)
    with pytest.raises(ComodoError, match="pairing 'nearest'"):
        DataSpec("ego4d", tmp_path, pairing="nearest")
    with pytest.raises(ComodoError, match="unknown dataset layout 'ego5d'"):
        DataSpec("ego5d", tmp_path)
    spec = DataSpec("ego4d", str(tmp_path))
    assert spec.root == tmp_path and spec.window_samples == 1000 and spec.pairing == "auto"
