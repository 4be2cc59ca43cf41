"""comodo.study.egodistill.analysis: the pure functions on hand-made arrays (known answers), and the
loaders (run_arrays, tour) on one tiny quick-world run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comodo.egodistill.config import variant
from comodo.errors import ComodoError
from comodo.study.egodistill import analysis as A


# ------------------------------------------------------------------------------- pure functions
def test_head_motion_of_a_known_signal():
    rate, seconds, amp = 200.0, 2.0, 1.5
    t = np.arange(int(rate * seconds)) / rate
    imu = np.zeros((6, len(t)))
    imu[0] = amp * np.sin(2 * np.pi * 2.0 * t)  # 2 Hz sway along x, whole periods
    imu[2] = 9.81  # gravity: constant, so no deviation from the clip mean
    imu[3], imu[4] = 0.3, 0.4  # a constant turn of 0.5 rad/s
    m = A.head_motion(imu)
    assert m["gyro"] == pytest.approx(0.5)  # rad/s
    assert m["accel"] == pytest.approx(2 * amp / np.pi, rel=1e-3)  # mean |A sin| = 2A/π, m/s²
    batch = A.head_motion(np.stack([imu, np.zeros_like(imu)]))
    assert batch["gyro"].tolist() == pytest.approx([0.5, 0.0]) and batch["accel"][1] == 0
    with pytest.raises(ComodoError, match="head_motion"):
        A.head_motion(np.zeros((3, 10)))


def test_reconstruction_per_clip():
    z_v = np.array([[1.0, 0.0], [0.0, 2.0]])
    z = np.array([[2.0, 0.0], [1.0, 0.0]])
    r = A.reconstruction(z, z_v)
    assert r["l1"].tolist() == pytest.approx([0.5, 1.5]) and r["cosine"].tolist() == pytest.approx([1.0, 0.0])
    with pytest.raises(ComodoError):
        A.reconstruction(z, z_v[:1])


def test_quantile_bins_and_motion_bins():
    assert A.quantile_bins(np.array([5.0, 1.0, 3.0, 2.0, 4.0, 0.0]), 3).tolist() == [2, 0, 1, 1, 2, 0]
    motion = np.arange(9.0)
    u = A.motion_bins(motion, (motion - 4.0) ** 2, bins=3)  # U-shaped: the middle bin is best
    assert u["counts"] == [3, 3, 3] and u["bin_motion"] == pytest.approx([1.0, 4.0, 7.0])
    assert u["bin_error"] == pytest.approx([29 / 3, 2 / 3, 29 / 3]) and u["best_bin"] == 1 and u["moderate_best"]
    assert u["interior_gap"] == pytest.approx(9.0) and u["interior_gap_sem"] == pytest.approx(
        np.hypot(np.std([16, 9, 4], ddof=1) / np.sqrt(3), np.std([1, 0, 1], ddof=1) / np.sqrt(3)))
    rising = A.motion_bins(motion, motion * 2, bins=3)
    assert rising["spearman"] == pytest.approx(1.0) and rising["best_bin"] == 0 and not rising["moderate_best"]
    assert rising["interior_gap"] == pytest.approx(2 - 8)  # the low-motion end beats the middle by 6
    assert rising["bin_sem"][0] == pytest.approx(np.std([0, 2, 4], ddof=1) / np.sqrt(3))
    assert not A.motion_bins(motion, -motion, bins=2)["moderate_best"]  # two bins have no middle
    assert A.rank_correlation(motion, -motion ** 3)[0] == pytest.approx(-1.0)
    assert np.isnan(A.rank_correlation(motion, np.ones(9))[0])  # constant: undefined
    assert np.isnan(A.rank_correlation(motion[:2], motion[:2])[1])  # too few
    with pytest.raises(ComodoError, match="bins"):
        A.motion_bins(motion[:2], motion[:2], bins=3)


def test_class_gain_arithmetic():
    ours = [{"put": {"video_top1": 0.5, "videos": 4}, "take": {"video_top1": 1.0, "videos": 2}},
            {"put": {"video_top1": 1.0, "videos": 4}, "take": {"video_top1": 0.5, "videos": 2}}]
    base = [{"put": {"video_top1": 0.25, "videos": 4}, "take": {"video_top1": 1.0, "videos": 2},
             "open": {"video_top1": 1.0, "videos": 1}}] * 2
    rows = A.class_gain(ours, base)
    assert [r["class"] for r in rows] == ["put", "take"]  # "open" is missing from ours: left out
    assert rows[0]["ours"] == pytest.approx(0.75) and rows[0]["gain"] == pytest.approx(50.0)
    assert rows[1]["gain"] == pytest.approx(-25.0) and rows[0]["videos"] == 4


def test_per_class_gains_per_domain():
    cs = [variant(v, dataset=d, seed=s) for d in ("a", "b") for v in A.VARIANTS for s in (0, 1)]
    res = [{"student": {"per_class": {"x": {"video_top1": 0.8 if c.variant == "egodistill" else 0.2 + 0.1 * c.seed,
                                            "videos": 3}}}} for c in cs]
    g = A.per_class_gains(cs, res)
    assert list(g) == ["a", "b"] and g["a"][0]["gain"] == pytest.approx(100 * (0.8 - 0.25))


def test_extremes_index_and_nearest():
    best, worst = A.extremes_index(np.array([0.3, 0.1, 0.9, 0.5]), 2)
    assert best.tolist() == [1, 0] and worst.tolist() == [2, 3]
    db = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert A.nearest(np.array([[5.0, 0.1], [0.0, 3.0], [2.0, 2.1], [1.0, 0.0]]), db).tolist() == [0, 1, 2, 0]


def test_donors_other_videos_distinct_labels_own_label_last():
    labels = np.array(["a", "a", "b", "b", "c", "a", "c"])
    video = np.array([0, 0, 1, 1, 2, 3, 4])
    d = A.donors(labels, video, query=0, n=3, seed=0)
    assert len(d) == 3 and not set(d.tolist()) & {0, 1}  # never the query's video
    assert [labels[i] for i in d][:2] in (["b", "c"], ["c", "b"]) and labels[d[2]] == "a"  # own label last
    assert len(A.donors(labels, video, 0, 10, 0)) == 5  # every clip of another video, no more
    assert A.donors(labels, video, 0, 3, 0).tolist() == d.tolist()  # deterministic


class _Toy(torch.nn.Module):
    """z_Φ = frame feature + the mean of each IMU channel: the IMU moves the feature."""

    def __init__(self, use_imu: bool) -> None:
        super().__init__()
        self.use_imu = use_imu

    def forward(self, frames, imu=None):
        z = frames[:, 0].clone()
        if self.use_imu:
            z = z + imu.mean(-1)
        return z, z


def test_retrieval_the_imu_changes_the_nearest_clip():
    n, d = 4, 4
    eye = np.eye(d, dtype=np.float32)
    imu = (10 * eye)[:, :, None].repeat(5, axis=2)  # clip i's IMU pushes z_Φ towards axis i: (n, C=d, L)
    frames = np.full((n, 1, d), 0.1, np.float32)
    frames[:, 0, 0] = 1.0  # every frame looks most like clip 0
    base = {"labels": np.array(["a", "b", "c", "d"]), "video": np.arange(n), "imu": imu, "frames": frames,
            "z_video": eye, "uids": list("0123")}
    ego, vis = {**base, "student": _Toy(True)}, {**base, "student": _Toy(False)}
    r = A.retrieve(ego, vis, query=0, n_segments=3, seed=0)
    assert r["segments"][0] == 0 and sorted(r["segments"].tolist()) == [0, 1, 2, 3]
    assert r["egodistill"].tolist() == r["segments"].tolist()  # each IMU retrieves its own clip
    assert r["visonly_distill"].tolist() == [0, 0, 0, 0]  # the frame alone: always clip 0
    s = A.retrieval_summary(ego, vis, n_segments=3, seed=0)
    assert s["queries"] == 4 and s["segments"] == 4
    assert s["egodistill"]["distinct"] == 4 and s["egodistill"]["donor_label"] == 1.0
    assert s["visonly_distill"]["distinct"] == 1 and s["visonly_distill"]["donor_label"] == pytest.approx(1 / 4)
    assert s["chance_donor_label"] == pytest.approx(1 / 4)  # one clip of each label among four


def test_swapped_features_a_real_student():
    from comodo.egodistill.student import EgoDistillStudent

    torch.manual_seed(0)
    kw = dict(image_dim=8, frames=1, feature_dim=6, n_classes=3, imu_length=32, imu_options=dict(width=8, dim=8),
              gru_hidden=8, fusion_hidden=16)
    imus = np.random.default_rng(0).normal(size=(3, 6, 32)).astype(np.float32)
    frame = np.ones((1, 8), np.float32)
    ego = A.swapped_features(EgoDistillStudent(use_imu=True, **kw).eval(), frame, imus)
    vis = A.swapped_features(EgoDistillStudent(use_imu=False, **kw).eval(), frame, imus)
    assert ego.shape == vis.shape == (3, 6)
    assert not np.allclose(ego[0], ego[1]) and np.allclose(vis, vis[:1])


def test_batch_losses_are_the_means_of_the_clips_terms():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    z, zv = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0])
    c = variant("egodistill", alpha=0.9, beta=0.5, tau=2.0).resolved()
    out = A.batch_losses(s, t, z, zv, y, c)
    b, per = out["batch"], out["per_clip"]
    for k in ("kd", "gt", "l1", "total"):
        assert b[k] == pytest.approx(float(per[k].mean()), rel=1e-5)
    assert b["total"] == pytest.approx(0.9 * b["kd"] + 0.1 * b["gt"] + 0.5 * b["l1"], rel=1e-5)
    assert per["l1"][1] == pytest.approx(float(np.abs(z[1] - zv[1]).mean()), rel=1e-5)
    p = A.distributions(t, 2.0)
    assert np.allclose(p.sum(1), 1) and (A.distributions(t, 100.0).std(1) < p.std(1)).all()  # a high τ flattens


def test_motion_study_pools_seeds_per_clip():
    cs = [variant(v, dataset="a", seed=s) for v in A.VARIANTS for s in (0, 1)]
    n = 6
    raw = np.zeros((n, 6, 10))
    raw[:, 3] = np.arange(n)[:, None] * 0.1  # gyro |ω| = 0, 0.1, … rad/s
    zv = np.ones((n, 2))

    def arrays(err):
        return {"uids": [str(i) for i in range(n)], "imu_raw": raw, "labels": np.array(list("xyzxyz")),
                "z_video": zv, "z_student": zv + np.asarray(err)[:, None]}

    u = np.array([3.0, 2.0, 1.0, 1.0, 2.0, 3.0])  # least error at moderate motion
    m = A.motion_study(cs, [arrays(u - 1), arrays(u + 1), arrays(np.arange(n)), arrays(np.arange(n))], bins=3)
    s = m["a"]["summary"]
    assert m["a"]["error"]["egodistill"] == pytest.approx(u)  # the mean over both seeds
    assert s["egodistill"]["by_gyro"]["moderate_best"] and s["egodistill"]["seeds"] == 2 and s["n_clips"] == n
    assert s["gyro_rad_s"]["max"] == pytest.approx(0.5)
    assert "holds" in A.motion_reading(m) and A.motion_numbers(m)["a"] is s
    with pytest.raises(ComodoError, match="differ"):
        A.motion_study(cs, [arrays(u), {**arrays(u), "uids": list("abcdef")}, arrays(u), arrays(u)])


def test_text_claims_are_the_papers():
    claims = A.text_claims()
    assert claims and all(isinstance(c, str) for c in claims) and any("VisOnly-Distill" in c for c in claims)


# -------------------------------------------------------------------------------- the loaders
TINY = dict(world_size="quick", imu_length=64, imu_options=dict(width=8, dim=16), gru_hidden=16, fusion_hidden=32,
            num_epochs=1, pretrain_epochs=1, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def tiny_runs(quick_world, tmp_path_factory):
    """EgoDistill and VisOnly-Distill on the quick ego4d_verbs world, with tiny teacher and image encoder."""
    from checkpoints import tiny_resnet, tiny_video_classifier
    from comodo.egodistill.teacher import TeacherFinetuneConfig, finetune_teacher
    from comodo.world.verbs import VERBS

    quick_world("ego4d_verbs")
    root = tmp_path_factory.mktemp("ckpts")
    base = tiny_video_classifier("videomae", root / "vm", labels=sorted(VERBS))
    teacher = finetune_teacher(TeacherFinetuneConfig(base=str(base), dataset="ego4d_verbs", world_size="quick",
                                                     epochs=1, device="cpu"), progress=False)
    models = dict(teacher=str(teacher), image_ckpt=str(tiny_resnet(root / "resnet")))
    return [variant(v, dataset="ego4d_verbs", **TINY, **models) for v in A.VARIANTS]


def test_run_arrays_reproduce_the_runs_evaluation(tiny_runs):
    from comodo.study.egodistill import runs

    ego_c, vis_c = tiny_runs
    a = A.run_arrays(ego_c)
    n = len(a["clips"])
    assert n > 0 and a["variant"] == "egodistill" and a["imu"].shape == a["imu_raw"].shape == (n, 6, 64)
    assert a["frames"].shape[:2] == (n, 1) and a["z_student"].shape == a["z_video"].shape
    assert a["student_logits"].shape == a["teacher_logits"].shape == (n, len(a["classes"]))
    assert np.allclose(a["imu"].mean(-1), 0, atol=1e-4)  # what f_M reads: each channel's mean removed
    assert np.allclose(a["imu_raw"] - a["imu_raw"].mean(-1, keepdims=True), a["imu"], atol=1e-4)
    assert a["imu_rate"] == pytest.approx(64 / 2.0)
    rec = runs.result(ego_c)["student"]["reconstruction"]
    mine = A.reconstruction(a["z_student"], a["z_video"])
    assert float(mine["cosine"].mean()) == pytest.approx(rec["cosine"], abs=1e-5)
    assert float(mine["l1"].mean()) == pytest.approx(rec["l1"], abs=1e-5)
    assert A.frame_images(a["clips"], a["frame_index"], [0, n - 1]).shape[0] == 2
    v = A.run_arrays(vis_c)
    assert v["uids"] == a["uids"] and v["imu"].shape == a["imu"].shape  # the IMU even without f_M
    r = A.retrieval(a, v, query=0, n_segments=3, seed=0)
    assert r["visonly_distill"]["distinct"] == 1 and len(r["segments"]) == 4
    assert r["query_image"].ndim == 3 and r["egodistill"]["images"].shape[0] == 4
    numbers = A.retrieval_numbers(r)
    assert numbers["all_queries"]["queries"] == n and numbers["visonly_distill"]["distinct"] == 1
    e = A.extremes(a, k=2)
    assert e["best"]["l1"][0] <= e["best"]["l1"][1] <= e["worst"]["l1"][1] <= e["worst"]["l1"][0]
    assert e["best"]["images"].shape[0] == 2 and len(A.extremes_numbers(e)["worst"]["uids"]) == 2


def test_tour_walks_one_clip(tiny_runs):
    ego_c, vis_c = tiny_runs
    t = A.tour(ego_c, vis_c, clip=1, batch_size=4)
    assert t["clip"]["index"] == 1 and t["teacher_cache_ok"] and t["image_cache_ok"]
    assert t["z_student"].shape == t["z_video"].shape == t["visonly_z"].shape
    assert t["z_imu"].shape == (16,) and t["imu"].shape == (6, 64)
    f = len(t["clip_frames"])
    assert f > t["student_positions"][0] >= 0 and t["teacher_positions"].max() < f
    assert t["batch"]["index"][0] == 1 and len(t["batch"]["index"]) == 4
    assert np.allclose(t["p_teacher"].sum(), 1) and set(t["losses"]) == {"start", "trained"}
    n = A.tour_numbers(t)
    assert n["losses"]["trained"]["batch"]["total"] == pytest.approx(n["losses"]["trained"]["per_clip_mean"]["total"],
                                                                     rel=1e-5)
    assert n["student_top"] in n["classes"] and -1 <= n["cosine"] <= 1 and "visonly" in n
    with pytest.raises(ComodoError, match="tour clip"):
        A.tour(ego_c, clip=10_000)
    typical = A.tour(ego_c, batch_size=2)  # clip None: the clip of median L1
    l1 = A.reconstruction(A.run_arrays(ego_c)["z_student"], A.run_arrays(ego_c)["z_video"])["l1"]
    assert np.sum(l1 < l1[typical["clip"]["index"]]) == len(l1) // 2 and typical["visonly_z"] is None
