"""What runs read, and what a sweep's worker keeps of it between runs (``comodo.data.reuse``)."""

import numpy as np
import pytest

import comodo.data
import comodo.data.reuse
from comodo.train import data
from comodo.train.data import imu_windows, resolve_spec, reuse, samples_of


@pytest.fixture
def spec(quick_world):
    quick_world("mmea")
    return resolve_spec("mmea", world_size="quick")


@pytest.fixture
def counted(monkeypatch):
    """Calls of comodo.data.load_split and comodo.train.data.read_imu, by split / count."""
    calls = {"split": [], "imu": 0}
    load_split, read_imu = comodo.data.load_split, data.read_imu

    def split(spec, name):
        calls["split"].append(name)
        return load_split(spec, name)

    def imu(spec, sample):
        calls["imu"] += 1
        return read_imu(spec, sample)

    monkeypatch.setattr(comodo.data, "load_split", split)
    monkeypatch.setattr(data, "read_imu", imu)
    return calls


def test_outside_reuse_every_call_reads_the_files(spec, counted):
    first, again = samples_of(spec, "train"), samples_of(spec, "train")
    assert first == again and counted["split"] == ["train", "train"]
    imu_windows(spec, first, 64)
    imu_windows(spec, first, 64)
    assert counted["imu"] == 2 * len(first)


def test_inside_reuse_each_split_and_window_set_is_read_once(spec, counted):
    plain_train = samples_of(spec, "train")
    plain = imu_windows(spec, plain_train, 64)
    counted["split"].clear()
    counted["imu"] = 0
    with reuse():
        train = samples_of(spec, "train")
        assert samples_of(spec, "train") == train == plain_train and samples_of(spec, "train") is not train
        samples_of(spec, "test")
        assert counted["split"] == ["train", "test"]
        x = imu_windows(spec, train, 64)
        x[:] = 0  # a caller's copy: what is kept stays as read
        y = imu_windows(spec, train, 64)
        assert counted["imu"] == len(train) and np.array_equal(y, plain) and y.dtype == np.float32
        imu_windows(spec, train, 32)  # another length: read again
        imu_windows(spec, train[:3], 64)  # other samples: read again
        assert counted["imu"] == 2 * len(train) + 3
        with reuse():  # nested: the same kept values
            samples_of(spec, "train")
        assert counted["split"] == ["train", "test"]
    samples_of(spec, "train")  # after the block: from disk again
    assert counted["split"] == ["train", "test", "train"]
    assert comodo.data.reuse._REUSED is None
