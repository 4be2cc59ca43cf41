"""What a sweep's worker keeps between runs (``comodo.data.reuse``): videos' probes and samples' identities."""

from __future__ import annotations

import numpy as np
import pytest

from comodo.data import identity, probe_video, samples_identity, video, write_video
from comodo.data.reuse import reuse
from comodo.data.spec import Sample
from comodo.errors import ComodoError


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, np.zeros((6, 16, 16, 3), np.uint8), 10.0)
    return path


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_a_video_is_probed_once_inside_reuse_and_every_time_outside(clip, monkeypatch):
    opened = _counting(monkeypatch, video.av, "open")
    first = probe_video(clip)
    probe_video(clip)
    assert len(opened) == 2 and first.n_frames == 6
    with reuse():
        assert probe_video(clip) == probe_video(str(clip)) == probe_video(clip) == first
        assert len(opened) == 3  # once (a path and its string are one key)
    probe_video(clip)
    assert len(opened) == 4


def test_a_failed_probe_is_not_kept(tmp_path, clip):
    missing = tmp_path / "later.mp4"
    with reuse():
        with pytest.raises(ComodoError, match="later.mp4"):
            probe_video(missing)
        missing.write_bytes(clip.read_bytes())
        assert probe_video(missing).n_frames == 6


def test_samples_identity_is_computed_once_inside_reuse(clip, monkeypatch):
    samples = [Sample(uid="v", label="a", imu_path=clip, video_path=clip, window=i, start_s=0.2 * i,
                      end_s=0.2 * i + 0.2) for i in range(3)]
    stats = _counting(monkeypatch, identity, "file_identity")
    plain = samples_identity(samples, clip.parent)
    with reuse():
        assert samples_identity(samples, clip.parent) == samples_identity(samples, clip.parent) == plain
        assert len(stats) == 2  # the file stat'ed once outside, once inside
        assert samples_identity(samples[:2], clip.parent) != plain  # other samples: computed again
        assert samples_identity(samples, clip.parent, imu=True) != plain  # (one file: stat'ed once)
        assert samples_identity(samples, clip.parent, imu=True) != plain
    assert len(stats) == 4
