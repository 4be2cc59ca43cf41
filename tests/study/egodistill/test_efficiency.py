"""comodo.study.egodistill.efficiency: Φ in comodo.study.efficiency — exact FLOPs against hand formulas (small and real
size), what N and the IMU branch cost, parameters, the packed input, and the paper's Table 3 beside ours.

No timing assertions; the only timing is one run of a shrunken Φ. VideoMAE-base's FLOPs come from their
formula (the one tests/study/test_efficiency.py checks against ``measure("videomae")`` at a tiny size; at the real
size ``measure`` gives the same 360,689,172,480, as benchmarks/results/efficiency.json records).
"""

from __future__ import annotations

import math

import pytest
import torch

from comodo.study import paper
from comodo.study.efficiency import MODELS, STUDENT, TEACHER, count_params, measure
from comodo.study.egodistill.efficiency import (EGODISTILL_MODELS, RESNET_18, EgoDistillPhi, build_phi, pack,
                                          paper_table3, paper_table3_beside_ours, table3_markdown)
from comodo.egodistill.student import IMU_DEFAULTS, EgoDistillStudent
from comodo.errors import ComodoError

SMALL_RESNET = {"embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1]}
SMALL = {"resnet": SMALL_RESNET, "image_size": 32, "feature_dim": 12, "n_classes": 5, "imu_length": 40,
         "imu_options": {"width": 8, "dim": 16}, "gru_hidden": 16, "fusion_hidden": 24}
REAL = {"resnet": {}, "image_size": 224, "feature_dim": 768, "n_classes": 94, "imu_length": 422, "imu_options": {},
        "gru_hidden": 512, "fusion_hidden": 1024}


def resnet_macs(image_size: int, embedding_size: int, hidden_sizes: list[int], depths: list[int]) -> int:
    """Multiply-adds of a basic-block transformers ResNet: 7×7/2 stem, 3×3/2 max-pool, stages of 3×3 convs (the
    first stage at stride 1), a 1×1 shortcut where the width or the stride changes."""
    s = math.ceil(image_size / 2)
    macs = s * s * embedding_size * 3 * 49
    s = math.ceil(s / 2)
    c_in = embedding_size
    for i, (c, d) in enumerate(zip(hidden_sizes, depths)):
        stride = 1 if i == 0 else 2
        s = math.ceil(s / stride)
        macs += s * s * c * (c_in * 9 + c * 9 + (c_in if c_in != c or stride != 1 else 0))  # first block
        macs += (d - 1) * 2 * s * s * c * c * 9
        c_in = c
    return macs


def phi_flops(frames: int, use_imu: bool, o: dict) -> int:
    """FLOPs (multiply-add = 2) of Φ for one clip, from the sizes in ``o``."""
    r = {**RESNET_18, **o["resnet"]}
    d_i, h, f, d_v, k = r["hidden_sizes"][-1], o["gru_hidden"], o["fusion_hidden"], o["feature_dim"], o["n_classes"]
    cnn = {**IMU_DEFAULTS, **o["imu_options"]}
    w, length = cnn["width"], math.ceil(o["imu_length"] / 2)
    macs = frames * resnet_macs(o["image_size"], r["embedding_size"], r["hidden_sizes"], r["depths"])
    macs += frames * 3 * h * (d_i + h) if frames > 1 else 0  # GRU: input and hidden projections per step
    d_m = cnn["dim"] if use_imu else 0
    if use_imu:  # stem 7/2, dilated blocks, mean+max → Linear
        macs += length * w * 6 * 7 + cnn["depth"] * length * w * w * cnn["kernel"] + 2 * w * d_m
    macs += ((h if frames > 1 else d_i) + d_m) * f + f * d_v + d_v * k  # fusion and classifier
    return 2 * macs


def videomae_base_flops() -> int:
    n, hid, inter, layers = 8 * 14 * 14, 768, 3072, 12  # 16 frames / tubelet 2 × (224 / 16)² tokens
    conv = 2 * n * hid * 3 * 2 * 16 * 16
    return conv + layers * (2 * n * hid * hid * 4 + 2 * n * hid * inter * 2 + 2 * 2 * n * n * hid)


def test_registered_in_comodo_efficiency():
    labels = {name: MODELS[name].label for name in EGODISTILL_MODELS}
    assert labels == {"egodistill_n1": "EgoDistill Φ (N=1)", "egodistill_n2": "EgoDistill Φ (N=2)",
                      "egodistill_n4": "EgoDistill Φ (N=4)", "visonly_n1": "VisOnly Φ (N=1)"}
    assert all(MODELS[name].role == STUDENT for name in EGODISTILL_MODELS)
    assert MODELS["egodistill_n2"].input_name == "frames+imu" and MODELS["visonly_n1"].input_name == "frames"


def test_small_phi_is_measured_through_comodo_efficiency():
    r = measure("egodistill_n2", batch_sizes=(1, 3), repeats=1, warmup=0, threads=1, config_overrides=SMALL)
    assert r["label"] == "EgoDistill Φ (N=2) [custom config]"
    assert r["input"] == f"frames+imu (B, {2 * 3 * 32 * 32 + 6 * 40}) float32"
    assert set(r["latency_ms_per_clip"]) == {"1", "3"} and r["uncounted_compute_ops"] == []


def test_packed_input_unpacks_to_views():
    module, make_input = build_phi(2, True, SMALL)
    frames, imu = torch.randn(3, 2, 3, 32, 32), torch.randn(3, 6, 40)
    packed = pack(frames, imu)
    assert packed.shape == (3, module.packed_size) and make_input(4).shape == (4, module.packed_size)
    f, m = module.unpack(packed)
    assert torch.equal(f, frames) and torch.equal(m, imu)
    assert f.data_ptr() == packed.data_ptr()  # views of the packed tensor, not copies
    assert m.data_ptr() == packed.data_ptr() + 2 * 3 * 32 * 32 * packed.element_size()
    assert module.eval()(packed).shape == (3, 5)
    with torch.no_grad():  # the same logits as the parts run by hand
        z = module.backbone(pixel_values=frames.flatten(0, 1)).pooler_output.flatten(1).view(3, 2, 16)
        assert torch.allclose(module(packed), module.student(z, imu)[1], atol=1e-6)
    with pytest.raises(ComodoError, match=f"expected \\(B, {module.packed_size}\\) packed frames\\+imu"):
        module(packed[:, 1:])
    visonly, make_frames = build_phi(1, False, SMALL)
    assert visonly.unpack(make_frames(2))[1] is None and make_frames(2).shape == (2, 3 * 32 * 32)


def test_small_flops_match_the_formula_grow_with_n_and_the_imu_branch_costs():
    sizes = {"egodistill_n1": (1, True), "egodistill_n2": (2, True), "egodistill_n4": (4, True),
             "visonly_n1": (1, False)}
    f = {}
    for name, (frames, use_imu) in sizes.items():
        r = measure(name, batch_sizes=(), config_overrides=SMALL)
        assert r["flops_per_clip"] == phi_flops(frames, use_imu, SMALL)
        assert r["uncounted_compute_ops"] == []  # the GRU runs as matmuls: counted
        f[name] = r["flops_per_clip"]
    assert f["visonly_n1"] < f["egodistill_n1"] < f["egodistill_n2"] < f["egodistill_n4"]
    backbone = 2 * resnet_macs(32, 8, [8, 16], [1, 1])
    gru_step = 2 * 3 * 16 * (16 + 16)
    assert f["egodistill_n4"] - f["egodistill_n2"] == 2 * backbone + 2 * gru_step
    cnn = 2 * (20 * 8 * 6 * 7 + 5 * 20 * 8 * 8 * 5 + 2 * 8 * 16)
    assert f["egodistill_n1"] - f["visonly_n1"] == cnn + 2 * 16 * 24  # f_M + its 16 inputs to FC(24)


def test_params_are_backbone_and_student_without_the_predictor():
    from transformers import ResNetConfig, ResNetModel

    options = {k: SMALL[k] for k in ("feature_dim", "n_classes", "imu_length", "imu_options", "gru_hidden",
                                     "fusion_hidden")}
    for frames, use_imu in ((1, True), (4, True), (1, False)):
        module, _ = build_phi(frames, use_imu, SMALL)
        assert isinstance(module, EgoDistillPhi) and module.student.predictor is None
        student = EgoDistillStudent(16, frames, use_imu=use_imu, **options)
        h = count_params(student.predictor) if use_imu else 0
        backbone = count_params(ResNetModel(ResNetConfig(**{**RESNET_18, **SMALL_RESNET})))
        assert count_params(module) == backbone + count_params(student) - h
        assert not any(p.requires_grad for p in module.backbone.parameters())  # f_I frozen


def test_unknown_option_is_one_line():
    with pytest.raises(ComodoError, match=r"unknown option\(s\) \['width'\]"):
        build_phi(1, True, {"width": 3})


def test_real_size_flops_and_the_ratio_to_videomae_base():
    """ResNet-18 at 224²: 1.8136 GMACs; Φ(N=1) 1.8377 GMACs; VideoMAE-base 180.34 GMACs → 98.1×, under 100×
    (the paper's ~200× is against MotionFormer, 369.51 GMACs, twice VideoMAE-base)."""
    assert resnet_macs(224, 64, [64, 128, 256, 512], [2, 2, 2, 2]) == 1_813_561_344
    one = measure("egodistill_n1", batch_sizes=())
    assert one["flops_per_clip"] == phi_flops(1, True, REAL) == 3_675_415_296
    assert one["params"] == 13_257_886 and one["uncounted_compute_ops"] == []
    assert one["input"] == f"frames+imu (B, {3 * 224 * 224 + 6 * 422}) float32"
    four = measure("egodistill_n4", batch_sizes=())
    assert four["flops_per_clip"] == phi_flops(4, True, REAL)
    ratio = videomae_base_flops() / one["flops_per_clip"]
    assert videomae_base_flops() == 360_689_172_480
    assert ratio == pytest.approx(98.136, abs=1e-3) and ratio < 100
    assert videomae_base_flops() / four["flops_per_clip"] == pytest.approx(24.76, abs=0.01)


def _fake(model, role, params, gflops, ms):
    return {"model": model, "label": model.upper(), "role": role, "params": params, "gflops_per_clip": gflops,
            "latency_ms_per_clip": {str(b): v for b, v in ms.items()}, "threads": 1}


def test_paper_table3_beside_ours():
    results = [_fake("videomae", TEACHER, 86e6, 360.0, {1: 4000.0}),
               _fake("egodistill_n1", STUDENT, 13e6, 3.6, {1: 40.0, 32: 30.0}),
               _fake("mantis", STUDENT, 8e6, 3.4, {1: 50.0})]  # not a Table 3 model: left out
    rows = paper_table3_beside_ours(results)
    assert [r["source"] for r in rows] == ["paper"] * 5 + ["ours"] * 2
    theirs = {r["model"]: r for r in rows if r["source"] == "paper"}
    ego = theirs["EgoDistill"]
    assert ego["gmacs_per_clip"] == 1.91 and ego["gflops_per_clip"] == pytest.approx(3.82)
    assert ego["ratio_vs_video"] == pytest.approx(369.51 / 1.91) and ego["runtime_ms"] == 0.25
    assert theirs["Video (MotionFormer)"]["role"] == TEACHER and ego["params_m"] == 20.56
    video, phi = rows[-2:]
    assert video["model"] == "videomae" and video["ratio_vs_video"] == pytest.approx(1.0)
    assert phi["gmacs_per_clip"] == pytest.approx(1.8) and phi["ratio_vs_video"] == pytest.approx(100.0)
    assert phi["counterpart"] == "EgoDistill" and phi["gmacs_vs_counterpart"] == pytest.approx(1.8 / 1.91)
    assert phi["ratio_vs_paper_video"] == pytest.approx(369.51 / 1.8) and phi["params_m"] == pytest.approx(13.0)
    assert phi["ms_per_clip_b1"] == 40.0 and phi["ms_per_clip_b32"] == 30.0 and video["ms_per_clip_b32"] is None
    text = table3_markdown(rows)
    assert "| EGODISTILL_N1 | measured here | 13.0 | 3.60 | 1.80 | 40.0 | 30.0 | — | 100× | 205× |" in text
    assert "| EgoDistill | paper, Table 3 | 20.6 | 3.82 | 1.91 | — | — | 0.250 | — | 193× |" in text
    with pytest.raises(ComodoError, match="reference video model 'timesformer'"):
        paper_table3_beside_ours(results, reference="timesformer")


def test_paper_file_is_the_egodistill_transcription():
    assert paper.EGODISTILL_PATH.parts[-3:] == ("data", "paper", "egodistill_results.json")
    assert "EgoDistill" in paper.load_egodistill()["source"]
    assert [r["model"] for r in paper_table3()] == ["Video (MotionFormer)", "AdaFuse", "STTS", "ListenToLook",
                                                     "EgoDistill"]


# --------------------------------------------------------------------------------------------- notebook 8
TINY_VIDEOMAE = {"image_size": 32, "patch_size": 16, "num_frames": 4, "tubelet_size": 2, "hidden_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def test_study_table_with_phi_rows_feeds_table3_and_the_figure():
    """Notebook 8's chain on small models: the study table with a teacher and Φ rows (batch 1 only, as in the
    full plan), the paper's Table 3 beside them, and the figure coloured by what each model reads."""
    from comodo.study import plotting
    from comodo.study.efficiency import StudyPlan, study_table

    models = ("videomae", "egodistill_n1", "visonly_n1")
    plan = StudyPlan(models=models, time_budget_s=0.0, teacher_warmup=0,
                     config_overrides={"videomae": TINY_VIDEOMAE, "egodistill_n1": SMALL, "visonly_n1": SMALL},
                     model_batch_sizes={"egodistill_n1": (1,), "visonly_n1": (1,)})
    e = study_table(plan=plan)
    rows = {r["model"]: r for r in e["rows"]}
    assert [r["model"] for r in e["rows"]] == list(models)
    assert {m: r["input_name"] for m, r in rows.items()} == {"videomae": "pixel_values", "egodistill_n1": "frames+imu",
                                                             "visonly_n1": "frames"}
    phi = rows["egodistill_n1"]
    assert phi["gflops_per_clip"] == phi_flops(1, True, SMALL) / 1e9 and phi["ms_per_clip_b32"] is None
    assert phi["not_measured_b32"].startswith("not timed: one batch-32 forward ≈ 32 × ")
    assert phi["gflops_ratio_vs_videomae"] == pytest.approx(rows["videomae"]["gflops_per_clip"] / phi["gflops_per_clip"])
    table3 = paper_table3_beside_ours(e["results"], "videomae", (1, 32))
    ours = [r for r in table3 if r["source"] == "ours"]
    assert [r["model"] for r in ours] == ["videomae", "egodistill_n1", "visonly_n1"]
    assert ours[1]["ratio_vs_video"] == pytest.approx(phi["gflops_ratio_vs_videomae"])
    assert ours[1]["counterpart"] == "EgoDistill" and ours[1]["ms_per_clip_b1"] == phi["ms_per_clip_b1"]
    fig = plotting.efficiency(e["rows"], "videomae")
    ticks = [(t.get_text(), t.get_color()) for t in fig.axes[0].get_yticklabels()]
    assert ticks == [("VideoMAE-base [custom config]", plotting.INPUT_COLORS["pixel_values"]),
                     ("EgoDistill Φ (N=1) [custom config]", plotting.INPUT_COLORS["frames+imu"]),
                     ("VisOnly Φ (N=1) [custom config]", plotting.INPUT_COLORS["frames"])]


def _row(model, role, input_name, params_m, gflops, ms1, ratio=None):
    row = {"model": model, "label": model.upper(), "role": role, "input_name": input_name, "params_m": params_m,
           "gflops_per_clip": gflops, "ms_per_clip_b1": ms1, "ms_per_clip_b32": None, "threads": 1}
    if ratio is not None:
        row.update({"params_ratio_vs_teacher": ratio, "gflops_ratio_vs_teacher": ratio,
                    "latency_ratio_vs_teacher_b1": ratio})
    return row


def test_figure_colours_comodo_imu_students_apart_from_egodistill_phi():
    from matplotlib.colors import to_rgba

    from comodo.study import plotting

    rows = [_row("teacher", TEACHER, "pixel_values", 100.0, 400.0, 1000.0),
            _row("cnn", STUDENT, "imu", 1.0, 0.01, 5.0, 40000.0),
            _row("phi", STUDENT, "frames+imu", 10.0, 4.0, 100.0, 100.0),
            _row("visonly", STUDENT, "frames", 10.0, 3.9, 90.0, 102.5),
            _row("plain", STUDENT, None, 2.0, 1.0, 20.0, 400.0)]  # a table() row without input_name: by role
    fig = plotting.efficiency(rows)
    colors = plotting.INPUT_COLORS
    expected = [colors["pixel_values"], colors["imu"], colors["frames+imu"], colors["frames"],
                plotting.ROLE_COLORS["student"]]
    assert len({to_rgba(c) for c in expected[:4]}) == 4  # teachers, COMODO's students, Φ, VisOnly Φ: four colours
    params, flops, latency = fig.axes[:3]
    for ax in (params, flops):
        assert [p.get_facecolor() for p in ax.patches] == [to_rgba(c) for c in expected]
    assert [t.get_color() for t in params.get_yticklabels()] == expected
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "video teachers (the clip's frames)", "COMODO's IMU students (IMU only)", "EgoDistill's Φ (N frames + IMU)",
        "EgoDistill's VisOnly Φ (N frames, no IMU)", "students"]
    assert [to_rgba(h.get_facecolor()) for h in legend.legend_handles] == [to_rgba(c) for c in expected]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]  # the teacher ÷ student ratios
    assert "4.00  (100× fewer)" in texts and "10.0  (100× fewer)" in texts and "100  (100× faster)" in texts
    assert "0.0100  (40,000× fewer)" in texts and texts.count("batch 32: not measured") == 5
    assert [plotting.efficiency_kind(r) for r in rows] == ["pixel_values", "imu", "frames+imu", "frames", "student"]
