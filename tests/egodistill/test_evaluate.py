"""Per-video accuracy, per-class scores and the reconstruction numbers of an EgoDistill evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from comodo.egodistill.clips import video_index
from comodo.egodistill.evaluate import reconstruction, scores, video_top1


def test_video_top1_averages_clip_probabilities_per_video():
    from comodo.data import Sample

    clips = [Sample(uid=u, label="x", imu_path=Path("i"), video_path=None, window=w, start_s=0, end_s=1)
             for u, w in [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]]
    # video a: clips vote 1, 1, 0 but the mean is class 0 (0.9 confident); video b: mean class 1
    probs = np.array([[0.4, 0.6], [0.4, 0.6], [0.95, 0.05], [0.2, 0.8], [0.6, 0.4]])
    assert video_index(clips)[1].tolist() == [0, 0, 0, 1, 1]
    assert video_top1(probs, np.array([0, 0, 0, 1, 1]), video_index(clips)[1]) == 1.0
    assert video_top1(probs, np.array([1, 1, 1, 1, 1]), video_index(clips)[1]) == 0.5


def test_scores_per_class_and_reconstruction():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y, video = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])
    s = scores(probs, y, video, ["a", "b"])
    # clips: 2 of 4 right; videos (mean of their clips): 0 → a (0.55), 1 → b (0.55), both right
    assert s["clip_top1"] == 0.5 and s["video_top1"] == 1.0 and (s["n_clips"], s["n_videos"]) == (4, 2)
    assert s["per_class"] == {"a": {"video_top1": 1.0, "videos": 1}, "b": {"video_top1": 1.0, "videos": 1}}
    z = np.array([[1.0, 0.0], [0.0, 2.0]])
    r = reconstruction(z, np.array([[2.0, 0.0], [0.0, -1.0]]))
    assert r["cosine"] == pytest.approx(0.0) and r["l1"] == pytest.approx((1 + 0 + 0 + 3) / 4)
