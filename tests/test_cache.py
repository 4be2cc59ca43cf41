"""The teacher-embedding cache: encoded once, keyed by what changes the embeddings, self-repairing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comodo import cache
from comodo.data import load_split
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
