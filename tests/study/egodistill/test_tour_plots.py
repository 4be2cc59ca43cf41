"""comodo.study.egodistill.tour_plots: every figure function on hand-made inputs returns a Figure with its
panels; save() writes PNG and PDF."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from comodo.egodistill.config import variant  # noqa: E402
from comodo.study.egodistill import analysis as A  # noqa: E402
from comodo.study.egodistill import tour_plots as P  # noqa: E402

RNG = np.random.default_rng(0)
CLASSES = ["crouch", "look_up", "turn_left"]


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _images(n: int) -> np.ndarray:
    return RNG.integers(0, 255, size=(n, 8, 8, 3), dtype=np.uint8)


def _imu(*shape: int) -> np.ndarray:
    return RNG.normal(size=(*shape, 6, 40)).astype(np.float32)


def _tour(visonly: bool = True) -> dict:
    d, b = 12, 4
    per = {k: RNG.uniform(0, 2, size=b) for k in ("kd", "gt", "l1", "total")}
    losses = {s: {"batch": {k: float(v.mean()) for k, v in per.items()}, "per_clip": per} for s in ("start", "trained")}
    logits = RNG.normal(size=(3, 3))
    return {"config": variant("egodistill").resolved(), "classes": CLASSES, "dataset": "ego4d_verbs",
            "clip": {"uid": "v-1", "window": 0, "label": "look_up", "start_s": 0.0, "end_s": 2.0, "index": 0},
            "clip_frames": _images(13), "teacher_positions": np.array([0, 4, 8, 12]),
            "student_positions": np.array([6]),
            "z_video": RNG.normal(size=d), "z_student": RNG.normal(size=d), "z_image": RNG.normal(size=5),
            "z_imu": RNG.normal(size=7), "student_frame": _images(1)[0], "imu": _imu(), "imu_rate": 20.0,
            "teacher_logits": logits[0], "student_logits": logits[1],
            "visonly_z": RNG.normal(size=d) if visonly else None, "visonly_logits": logits[2] if visonly else None,
            "p_teacher": A.distributions(logits[0], 1.0), "p_student": A.distributions(logits[1], 1.0),
            "p_visonly": A.distributions(logits[2], 1.0) if visonly else None, "tau": 1.0,
            "batch": {"index": np.arange(b), "labels": np.array(CLASSES + CLASSES[:1]), "uids": list("abcd")},
            "losses": losses}


def test_tour_clip_draws_every_frame_and_the_imu():
    fig = P.tour_clip(_tour(), per_row=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 13 + 2  # 13 frames, accel, gyro
    titles = [ax.get_title() for ax in fig.axes[:13]]
    assert titles[0] == "0  Ω" and titles[6] == "6  Φ" and titles[1] == "1"
    assert fig.axes[-1].get_ylabel().startswith("gyro") and len(fig.axes[-1].lines) == 3


def test_tour_features_with_and_without_visonly():
    fig = P.tour_features(_tour())
    assert len(fig.axes) == 5  # frame, accel, gyro, z over dims, scatter
    assert len(fig.axes[3].lines) == 3 and "cos" in fig.axes[3].get_legend().get_texts()[1].get_text()
    assert len(P.tour_features(_tour(visonly=False)).axes[3].lines) == 2


def test_tour_losses_three_panels():
    fig = P.tour_losses(_tour())
    assert len(fig.axes) == 3
    stacked, per_clip, dists = fig.axes
    assert len(stacked.patches) == 2 * 3 and "α = 0.95" in stacked.get_title()  # two stages × three terms
    assert len(per_clip.patches) == 4 * 3 and len(dists.patches) == 3 * 3 + 1  # + the true class band
    assert [t.get_text() for t in dists.get_xticklabels()] == CLASSES


def _gains() -> dict:
    rows = A.class_gain([{k: {"video_top1": v, "videos": 2} for k, v in zip(CLASSES, (1.0, 0.5, 0.0))}],
                        [{k: {"video_top1": 0.5, "videos": 2} for k in CLASSES}])
    return {"ego4d_verbs": rows, "mmea_verbs": rows[::-1]}


def test_per_class_one_panel_per_domain_sorted_bars():
    fig = P.per_class(_gains())
    assert len(fig.axes) == 2 and "ego4d_verbs" in fig.axes[0].get_title()
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == pytest.approx([50.0, 0.0, -50.0])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["crouch", "look_up", "turn_left"]


def _side(k: int) -> dict:
    return {"index": np.arange(k), "images": _images(k), "imu": _imu(k), "labels": np.array(CLASSES[:k]),
            "uids": list("abc")[:k], "l1": RNG.uniform(size=k), "cosine": RNG.uniform(size=k),
            "gyro": RNG.uniform(size=k), "accel": RNG.uniform(size=k)}


def _extremes(k: int = 3) -> dict:
    return {"best": _side(k), "worst": _side(k), "imu_rate": 20.0, "variant": "egodistill", "dataset": "ego4d_verbs"}


def test_reconstruction_best_and_worst_with_their_imu():
    fig = P.reconstruction(_extremes(3))
    assert len(fig.axes) == 2 * 3 * 3  # best / worst × k clips × (frame, accel, gyro)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("best 1: crouch") and any(t.startswith("worst 3") for t in titles)
    assert all("rad/s" in t for t in titles)


def test_motion_one_panel_per_domain_both_variants():
    cs = [variant(v, dataset=d, seed=0) for d in ("ego4d_verbs", "mmea_verbs") for v in A.VARIANTS]
    n = 12

    def arrays(scale):
        raw = RNG.normal(size=(n, 6, 20))
        return {"uids": [str(i) for i in range(n)], "imu_raw": raw, "labels": np.array(["x"] * n),
                "z_video": np.ones((n, 3)), "z_student": 1 + scale * RNG.uniform(size=(n, 3))}

    study = A.motion_study(cs, [arrays(1.0), arrays(2.0), arrays(1.0), arrays(2.0)], bins=3)
    fig = P.motion(study)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].collections) >= 2 and len(fig.axes[0].get_legend().get_texts()) == 2


def test_retrieval_query_segments_and_both_variants():
    s = 4
    r = {"query": 0, "query_label": "look_up", "query_uid": "v#0", "segments": np.arange(s),
         "segment_labels": np.array(CLASSES + CLASSES[:1]), "imu": _imu(s), "imu_rate": 20.0, "dataset": "ego4d_verbs",
         "query_image": _images(1)[0]}
    for v, distinct in (("egodistill", 3), ("visonly_distill", 1)):
        r[v] = {"retrieved": np.arange(s), "labels": np.array(CLASSES + CLASSES[:1]), "distinct": distinct,
                "images": _images(s)}
    fig = P.retrieval(r)
    assert len(fig.axes) == 1 + 2 * s + 2 * (1 + s)  # query, IMU (accel + gyro) per segment, a row per variant
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("3 distinct" in t for t in texts) and any("1 distinct" in t for t in texts)


def test_save_writes_png_and_pdf(tmp_path):
    paths = P.save(P.per_class(_gains()), "x", tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
