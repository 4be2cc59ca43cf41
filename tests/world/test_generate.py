"""The world on disk: layouts, determinism, caching, loaders, and clear errors for broken files."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from comodo.data import DataSpec, load_split, probe_video, read_frames, read_imu
from comodo.errors import ComodoError
from comodo.world.domains import DOMAINS, TARGET_DOMAINS
from comodo.world.generate import generate, plan
from comodo.world.motion import GRAVITY


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ego4d_layout_is_exact(quick_world):
    root = quick_world("ego4d")
    clips = plan(DOMAINS["ego4d"], "quick", 0)
    expected = {"train.txt", "val.txt", "test.txt", "world.json"}
    expected |= {f"processed_imu/{c.uid}.npy" for c in clips} | {f"processed_video/{c.uid}.mp4" for c in clips}
    assert set(_digest(root)) == expected
    line = (root / "train.txt").read_text().splitlines()[0]
    uid, label = line.split("\t")
    assert label in DOMAINS["ego4d"].labels
    imu = np.load(root / "processed_imu" / f"{uid}.npy")
    assert imu.dtype == np.float32 and imu.shape == (6, 200 * 10)  # 10 s at 200 Hz
    info = probe_video(root / "processed_video" / f"{uid}.mp4")
    assert (info.fps, info.n_frames, info.height, info.width) == (10.0, 100, 64, 64)


def test_mmea_layout_is_exact_and_in_raw_counts(quick_world):
    root = quick_world("mmea")
    clips = plan(DOMAINS["mmea"], "quick", 0)
    expected = {"train.txt", "val.txt", "test.txt", "world.json"}
    expected |= {f"video/{c.uid}.mp4" for c in clips} | {f"sensor/{c.uid}.csv" for c in clips}
    assert set(_digest(root)) == expected
    folders = {c.uid.split("/")[0] for c in clips}
    assert "1_downstairs" in folders and len(folders) == len(DOMAINS["mmea"].labels)
    first = (root / "train.txt").read_bytes().split(b"\r\n")[0].decode()
    path, n_rgb, n_sensor, class_id = first.split(" ")
    counts = np.loadtxt(root / f"sensor/{path.removeprefix('data/')}.csv", delimiter=",")
    assert counts.shape == (int(n_sensor), 6)
    assert int(n_rgb) == probe_video(root / f"video/{path.removeprefix('data/')}.mp4").n_frames
    # raw counts: |accel| ≈ 16384 per g on average
    assert 0.9 * 16384 < np.linalg.norm(counts[:, :3], axis=1).mean() < 1.2 * 16384


@pytest.mark.parametrize("domain", TARGET_DOMAINS)
def test_every_layout_reads_through_the_loaders(quick_world, domain):
    spec = DataSpec(layout=DOMAINS[domain].layout, root=quick_world(domain))
    for split in ("train", "val", "test"):
        samples = load_split(spec, split)
        assert samples and {s.label for s in samples} <= set(DOMAINS[domain].labels)
    s = samples[0]
    imu = read_imu(spec, s)
    assert imu.shape[0] == 6 and np.isfinite(imu).all()
    assert abs(np.linalg.norm(imu[:3], axis=0).mean() - GRAVITY) < 3.0  # SI units after loading
    frames = read_frames(s.video_path, [0, 1, 2])
    assert frames.shape == (3, 64, 64, 3) and frames.std() > 5  # a picture, not a blank


def test_ego4d_windows_are_paired_by_index(quick_world):
    spec = DataSpec(layout="ego4d", root=quick_world("ego4d"))
    samples = load_split(spec, "train")
    first = [s for s in samples if s.uid == samples[0].uid]
    assert [s.window for s in first] == [0, 1]  # 10-s videos → two 5-s windows
    assert [(s.start_s, s.end_s) for s in first] == [(0.0, 5.0), (5.0, 10.0)]


def test_same_seed_same_bytes_any_worker_count(tmp_path):
    import comodo.world.generate as gen

    a = generate("mmea", "quick", seed=3, root=tmp_path / "a", workers=1, verbose=False)
    b = generate("mmea", "quick", seed=3, root=tmp_path / "b", workers=2, verbose=False)
    assert _digest(a) == _digest(b)
    spec = gen._spec("mmea", "quick")  # another seed, other bytes: its first clip is enough to tell
    clip = gen.plan(spec, "quick", 4)[0]
    gen._make_clip((spec, clip, 4, str(tmp_path / "c")))
    sensor = Path("sensor") / f"{clip.uid}.csv"
    assert (tmp_path / "c" / sensor).read_bytes() != (a / sensor).read_bytes()


def test_second_generation_is_a_cache_hit(quick_world):
    root = quick_world("ego4d")
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert generate("ego4d", "quick", seed=0, verbose=False) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_no_half_written_world_on_failure(tmp_path, monkeypatch):
    import comodo.world.generate as gen

    def boom(job):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen, "_make_clip", boom)
    with pytest.raises(RuntimeError):
        gen.generate("ego4d", "quick", seed=0, root=tmp_path, workers=1, verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_files_give_clear_errors(quick_world, tmp_path):
    import shutil

    truncated, missing = tmp_path / "truncated", tmp_path / "missing"
    shutil.copytree(quick_world("ego4d"), truncated)
    shutil.copytree(quick_world("ego4d"), missing)
    sample = load_split(DataSpec(layout="ego4d", root=truncated), "test")[0]
    sample.video_path.write_bytes(sample.video_path.read_bytes()[:300])
    with pytest.raises(ComodoError, match=sample.video_path.name):
        load_split(DataSpec(layout="ego4d", root=truncated), "test")
    (missing / "processed_imu" / f"{sample.uid}.npy").unlink()
    with pytest.raises(ComodoError, match=f"{sample.uid}.npy"):
        load_split(DataSpec(layout="ego4d", root=missing), "test")


def test_unknown_domain_and_size_are_errors():
    with pytest.raises(ComodoError, match="unknown world domain 'kinetics'"):
        generate("kinetics", "quick")
    with pytest.raises(ComodoError, match="unknown world size 'huge'"):
        generate("ego4d", "huge")


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], r"world seed -1: expected an integer in \[0, 2\*\*32\)"),
    (["--workers", "0"], "workers 0: expected ≥ 1"),
])
def test_cli_bad_seed_or_workers_is_one_line_and_writes_nothing(tmp_path, args, message):
    out = subprocess.run([sys.executable, "-m", "comodo", "world", "--domain", "mmea", "--size", "quick",
                          "--out", str(tmp_path), *args], capture_output=True, text=True)
    assert out.returncode == 2
    assert re.fullmatch(f"comodo: error: {message}.*\n", out.stderr)
    assert list(tmp_path.iterdir()) == []


def test_cli_help_documents_domains_sizes_seed_and_output():
    out = subprocess.run([sys.executable, "-m", "comodo", "world", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for word in ("ego4d", "egoexo4d", "mmea", "teacher", "quick", "default", "--seed", "--out"):
        assert word in out.stdout


def test_cli_writes_into_the_output_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "comodo", "world", "--domain", "mmea", "--size", "quick",
                          "--out", str(tmp_path), "--workers", "1"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    folder = Path(out.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path and (folder / "world.json").exists()
