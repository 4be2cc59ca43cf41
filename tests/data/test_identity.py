"""comodo.data.identity: a file is known by its path under the root, size and mtime — one stat each."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from comodo.data import DataSpec, file_identity, load_split, samples_identity
from comodo.data import identity as identity_module
from comodo.errors import ComodoError


@pytest.fixture
def dataset(quick_world, tmp_path) -> Path:
    """A copy of the quick world's ego4d domain (copytree keeps every file's size and mtime)."""
    root = tmp_path / "A"
    shutil.copytree(quick_world("ego4d"), root)
    return root


def _val(root: Path):
    return load_split(DataSpec(layout="ego4d", root=root), "val")


def _later(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10**9))


def test_file_identity_is_relative_path_size_and_mtime(dataset):
    video = next((dataset / "processed_video").glob("*.mp4"))
    st = video.stat()
    ident = file_identity(video, dataset)
    assert ident == {"path": f"processed_video/{video.name}", "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    assert file_identity(video, dataset) == ident  # nothing that changes between two calls
    _later(video)
    assert file_identity(video, dataset)["mtime_ns"] == st.st_mtime_ns + 10**10


def test_file_outside_the_root_is_named_by_its_absolute_path(dataset, tmp_path):
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(b"12345")
    ident = file_identity(outside, dataset)
    assert ident["path"] == outside.resolve().as_posix() and ident["size"] == 5


def test_missing_file_is_an_error_naming_it(dataset):
    with pytest.raises(ComodoError, match=r"^video .*train-002\.mp4: file not found$"):
        file_identity(dataset / "processed_video" / "train-002.mp4", dataset)
    with pytest.raises(ComodoError, match=r"^IMU .*x\.npy: file not found"):
        file_identity(dataset / "x.npy", dataset, what="IMU")
    with pytest.raises(ComodoError, match="file not found"):
        file_identity(dataset / "processed_video", dataset)  # a folder is not a video


def test_samples_identity_is_stable_and_follows_each_video(dataset):
    samples = _val(dataset)
    key = samples_identity(samples, dataset)
    assert len(key) == 16 and samples_identity(samples, dataset) == key
    assert samples_identity(samples[:-1], dataset) != key  # the split's contents
    _later(samples[0].video_path)
    touched = samples_identity(samples, dataset)
    assert touched != key
    assert samples_identity(samples, dataset, video=False, imu=True) == \
        samples_identity(_val(dataset), dataset, video=False, imu=True)  # the IMU side did not change


def test_imu_files_only_when_asked(dataset):
    samples = _val(dataset)
    videos_only = samples_identity(samples, dataset)
    both = samples_identity(samples, dataset, imu=True)
    imu_only = samples_identity(samples, dataset, video=False, imu=True)
    _later(samples[0].imu_path)
    assert samples_identity(samples, dataset) == videos_only
    assert samples_identity(samples, dataset, imu=True) != both
    assert samples_identity(samples, dataset, video=False, imu=True) != imu_only
    samples[0].video_path.unlink()
    assert samples_identity(samples, dataset, video=False, imu=True) != imu_only  # videos not looked at
    with pytest.raises(ComodoError, match="video .*: file not found"):
        samples_identity(samples, dataset)


def test_another_root_is_another_identity(dataset, tmp_path):
    copy = tmp_path / "B"
    shutil.copytree(dataset, copy)  # same relative paths, sizes and mtimes
    assert samples_identity(_val(copy), copy) != samples_identity(_val(dataset), dataset)


def test_independent_of_the_current_directory(dataset, tmp_path, monkeypatch):
    absolute = samples_identity(_val(dataset), dataset)
    monkeypatch.chdir(tmp_path)
    relative = Path("A")
    assert samples_identity(_val(relative), relative) == absolute
    monkeypatch.chdir(dataset / "processed_video")
    assert samples_identity(_val(dataset), dataset) == absolute


def test_each_file_is_stat_once(dataset, monkeypatch):
    samples = _val(dataset)
    assert len({s.video_path for s in samples}) < len(samples)  # several windows share a video
    calls: list[str] = []
    real = os.stat

    def counting(path, *args, **kwargs):
        calls.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(identity_module.os, "stat", counting)
    samples_identity(samples, dataset, imu=True)
    files = [os.fspath(p) for p in {s.video_path for s in samples} | {s.imu_path for s in samples}]
    assert sorted(c for c in calls if c in files) == sorted(files)


def test_a_sample_without_video_is_named(dataset):
    import dataclasses

    samples = _val(dataset)
    samples[1] = dataclasses.replace(samples[1], video_path=None)
    with pytest.raises(ComodoError, match=f"sample {samples[1].key} .*no video"):
        samples_identity(samples, dataset)
    assert samples_identity(samples, dataset, video=False, imu=True)
