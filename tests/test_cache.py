"""The teacher-embedding cache: encoded once, keyed by what changes the embeddings, self-repairing."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from comodo import cache
from comodo.data import DataSpec, load_split, probe_video, read_frames, write_video
from comodo.errors import ComodoError
from comodo.train.data import load_teacher, resolve_spec


@pytest.fixture(scope="module")
def setup(quick_world):
    quick_world("ego4d")
    spec = resolve_spec("ego4d", world_size="quick")
    samples = load_split(spec, "val")
    teacher = load_teacher("embedded", world_size="quick")
    return teacher, samples


def _no_encoding(*args, **kwargs):
    raise AssertionError("encoded although the cache holds these embeddings")


def test_encoded_once_then_read(setup, tmp_path, monkeypatch):
    teacher, samples = setup
    first = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    assert first.shape == (len(samples), 128) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)  # L2-normalised
    files = list(tmp_path.glob("*.safetensors"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp*"))
    monkeypatch.setattr(cache, "encode", _no_encoding)
    np.testing.assert_array_equal(cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False), first)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_file_is_rebuilt_with_a_message(setup, tmp_path, capsys, damage):
    teacher, samples = setup
    good = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    path = next(tmp_path.glob("*.safetensors"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a safetensors file")
    again = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    assert "corrupt teacher-embedding cache" in capsys.readouterr().err
    np.testing.assert_array_equal(again, good)
    reread = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    np.testing.assert_array_equal(reread, good)  # rewritten whole: read back without a message
    assert capsys.readouterr().err == ""


def test_stale_key_is_rebuilt_with_a_message(setup, tmp_path, capsys):
    from safetensors.torch import save_file

    teacher, samples = setup
    good = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    path = next(tmp_path.glob("*.safetensors"))
    save_file({"embeddings": torch.zeros(len(samples), 128)}, str(path), metadata={"key": "other"})
    again = cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    assert "stale teacher-embedding cache" in capsys.readouterr().err
    np.testing.assert_array_equal(again, good)


def test_key_follows_what_changes_the_embeddings(setup):
    teacher, samples = setup
    key = cache.embedding_key(teacher, samples)
    assert cache.embedding_key(teacher, samples) == key
    assert cache.embedding_key(teacher, samples[:-1]) != key  # the split's contents
    assert cache.embedding_key(teacher, samples, {"pooled": True}) != key
    other_seed = load_teacher("embedded", projection_seed=1, world_size="quick")
    assert cache.embedding_key(other_seed, samples) != key  # the random head's seed
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)  # other CPU thread counts sum in another order
        assert cache.embedding_key(teacher, samples) != key
    finally:
        torch.set_num_threads(threads)


def test_a_failed_encoding_leaves_no_file(setup, tmp_path, monkeypatch):
    teacher, samples = setup

    def broken(*args, **kwargs):
        raise RuntimeError("decoder died")

    monkeypatch.setattr(cache, "encode", broken)
    with pytest.raises(RuntimeError, match="decoder died"):
        cache.teacher_embeddings(teacher, samples, root=tmp_path, progress=False)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------- the videos behind the embeddings
@pytest.fixture
def dataset_a(quick_world, tmp_path) -> Path:
    """A user's ego4d-layout dataset: a copy of the quick world's (copytree keeps sizes and mtimes)."""
    root = tmp_path / "A"
    shutil.copytree(quick_world("ego4d"), root)
    return root


def _val(root: Path):
    return load_split(DataSpec(layout="ego4d", root=root), "val")


def _reencode_flipped(video: Path) -> None:
    """Re-encode ``video`` with its frames upside down; its size or mtime is sure to change."""
    before = video.stat()
    write_video(video, read_frames(video)[:, ::-1].copy(), probe_video(video).fps)
    after = video.stat()
    if after.st_mtime_ns <= before.st_mtime_ns:  # a coarse file-system clock
        os.utime(video, ns=(after.st_atime_ns, before.st_mtime_ns + 10**9))
    assert (video.stat().st_size, video.stat().st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def test_a_reencoded_video_is_encoded_again(setup, dataset_a, tmp_path):
    teacher, _ = setup
    cache_dir = tmp_path / "cache"
    samples = _val(dataset_a)
    first = cache.teacher_embeddings(teacher, samples, root=cache_dir, progress=False, dataset_root=dataset_a)
    video = samples[0].video_path
    _reencode_flipped(video)
    again = cache.teacher_embeddings(teacher, _val(dataset_a), root=cache_dir, progress=False,
                                     dataset_root=dataset_a)
    assert len(list(cache_dir.glob("*.safetensors"))) == 2  # a new key, not the old file
    np.testing.assert_allclose(again, cache.encode(teacher, samples, progress=False), atol=1e-6)
    changed = np.array([s.video_path == video for s in samples])
    assert not np.allclose(again[changed], first[changed], atol=1e-3)  # the flipped clips
    np.testing.assert_allclose(again[~changed], first[~changed], atol=1e-6)  # the others


def test_a_deleted_video_is_an_error_whatever_the_cache_holds(setup, dataset_a, tmp_path):
    teacher, _ = setup
    cache_dir = tmp_path / "cache"
    cache.teacher_embeddings(teacher, _val(dataset_a), root=cache_dir, progress=False, dataset_root=dataset_a)
    copy = tmp_path / "B"
    shutil.copytree(dataset_a, copy)  # the same files under another root
    samples = _val(copy)
    samples[2].video_path.unlink()
    for root in (copy, None):  # with the dataset root, and with the one derived from the videos
        with pytest.raises(ComodoError, match=rf"^video {re.escape(str(samples[2].video_path))}: file not found$"):
            cache.teacher_embeddings(teacher, samples, root=cache_dir, progress=False, dataset_root=root)
    samples_a = _val(dataset_a)
    samples_a[2].video_path.unlink()  # and where the cache does hold its embeddings
    with pytest.raises(ComodoError, match="file not found"):
        cache.teacher_embeddings(teacher, samples_a, root=cache_dir, progress=False, dataset_root=dataset_a)


def test_same_split_files_under_another_root_with_other_videos(setup, dataset_a, tmp_path):
    teacher, _ = setup
    cache_dir = tmp_path / "cache"
    samples_a = _val(dataset_a)
    first = cache.teacher_embeddings(teacher, samples_a, root=cache_dir, progress=False, dataset_root=dataset_a)
    other = tmp_path / "B"
    shutil.copytree(dataset_a, other)
    for video in sorted({s.video_path for s in _val(other)}):  # other videos, with the old mtimes
        st = video.stat()
        write_video(video, read_frames(video)[:, ::-1].copy(), probe_video(video).fps)
        os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
    samples_b = _val(other)
    assert [(s.uid, s.window, s.label) for s in samples_b] == [(s.uid, s.window, s.label) for s in samples_a]
    for root in (other, None):
        b = cache.teacher_embeddings(teacher, samples_b, root=cache_dir, progress=False, dataset_root=root)
        assert not np.allclose(b, first, atol=1e-3)
        np.testing.assert_allclose(b, cache.encode(teacher, samples_b, progress=False), atol=1e-6)


def test_keys_stay_put_for_files_left_alone(setup, dataset_a, tmp_path, monkeypatch):
    teacher, _ = setup
    key = cache.embedding_key(teacher, _val(dataset_a), dataset_root=dataset_a)
    for video in {s.video_path for s in _val(dataset_a)}:
        video.read_bytes()  # reading changes the access time, never the key
    monkeypatch.chdir(tmp_path)
    assert cache.embedding_key(teacher, _val(Path("A")), dataset_root=Path("A")) == key
    assert cache.embedding_key(teacher, _val(dataset_a)) == cache.embedding_key(teacher, _val(dataset_a))
