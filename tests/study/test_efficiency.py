"""comodo.study.efficiency: exact FLOP and parameter counts, the ratio table, the measurement protocol.

No full-size video model is built here: the video teachers go through the same ``measure`` path with tiny
configs (``config_overrides``); MOMENT-1-small is built at its real size (19 M parameters, fast on CPU).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from comodo.study.efficiency import (COMODO_ORDER, EGODISTILL_ORDER, MAX_REPEATS, MODELS, ORDER, QUICK_TEACHER_CONFIGS,
                                     STUDENT, TEACHER, ModelSpec, StudyPlan, count_flops, count_model_flops, markdown,
                                     measure,
                                     measure_table, register_models, study_plan, study_table, table)
from comodo.errors import ComodoError

TINY_VIDEOMAE = {"image_size": 32, "patch_size": 16, "num_frames": 4, "tubelet_size": 2, "hidden_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
TINY_TIMESFORMER = {"image_size": 32, "patch_size": 16, "num_frames": 2, "hidden_size": 32,
                    "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
FAST = {"repeats": 1, "warmup": 0, "threads": 1}


@pytest.fixture
def linear_model(monkeypatch):
    """Registers ``test_linear``: one nn.Linear(64, 32) on (B, 64) inputs."""

    def build(overrides):
        return nn.Linear(64, 32), lambda b: torch.randn(b, 64)

    monkeypatch.setitem(MODELS, "test_linear", ModelSpec(STUDENT, "Linear", "nn.Linear(64, 32)", "x", build))
    return "test_linear"


def test_linear_flops_and_params_are_exact(linear_model):
    r = measure(linear_model, batch_sizes=(1, 4), **FAST)
    assert r["flops_per_clip"] == 2 * 64 * 32
    assert r["gflops_per_clip"] == pytest.approx(2 * 64 * 32 / 1e9)
    assert r["gmacs_per_clip"] == pytest.approx(64 * 32 / 1e9)
    assert r["params"] == 64 * 32 + 32
    assert r["input"] == "x (B, 64) float32"
    assert r["uncounted_compute_ops"] == []
    assert set(r["latency_ms_per_clip"]) == {"1", "4"}
    assert r["latency"]["4"]["runs"] == 1 and r["latency"]["4"]["warmup_runs"] == 0
    assert r["latency"]["4"]["ms_per_clip"] == pytest.approx(r["latency"]["4"]["ms_per_batch_median"] / 4)
    assert r["cpu_time_ms_per_clip"]["4"] == pytest.approx(r["latency"]["4"]["cpu_times_ms"][0] / 4, abs=1e-3)
    assert count_flops(nn.Linear(64, 32), torch.randn(5, 64))["flops"] == 5 * 2 * 64 * 32


def test_videomae_flops_count_cpu_attention_exactly():
    """conv patch embedding + per layer 4 projections, MLP and SDPA (torch has no formula for the CPU
    SDPA kernel: without comodo's it would be missing)."""
    c = TINY_VIDEOMAE
    r = measure("videomae", batch_sizes=(), config_overrides=c)
    n = (c["num_frames"] // c["tubelet_size"]) * (c["image_size"] // c["patch_size"]) ** 2  # tokens
    h, i = c["hidden_size"], c["intermediate_size"]
    conv = 2 * n * h * 3 * c["tubelet_size"] * c["patch_size"] ** 2
    per_layer = 2 * n * h * h * 4 + 2 * n * h * i * 2 + 2 * 2 * n * n * h
    assert r["flops_per_clip"] == conv + c["num_hidden_layers"] * per_layer
    assert r["flops_by_op"]["aten._scaled_dot_product_flash_attention_for_cpu"] == \
        c["num_hidden_layers"] * 4 * n * n * h
    assert r["uncounted_compute_ops"] == []
    assert r["role"] == TEACHER and r["label"] == "VideoMAE-base [custom config]"
    assert r["input"] == "pixel_values (B, 4, 3, 32, 32) float32"


TINY_PHI = {"resnet": {"embedding_size": 8, "hidden_sizes": [8, 8, 8, 8], "depths": [1, 1, 1, 1]}, "image_size": 32,
            "feature_dim": 16, "n_classes": 4, "fusion_hidden": 16, "gru_hidden": 8,
            "imu_options": {"width": 4, "dim": 8}}


@pytest.mark.parametrize("name, overrides", [
    ("videomae", TINY_VIDEOMAE), ("timesformer", TINY_TIMESFORMER), ("dilated_cnn", None), ("imu_student", None),
    ("moment", {"t5_config": {"num_layers": 1}}), ("mantis", None),
    ("egodistill_n2", TINY_PHI), ("visonly_n1", {k: v for k, v in TINY_PHI.items() if k != "imu_options"})])
def test_counting_on_the_meta_device_gives_measure_s_total(name, overrides):
    """Built without weights (or, for MOMENT and Mantis, which read values, with them): the same FLOPs."""
    import comodo.study.egodistill.efficiency  # noqa: F401  (registers egodistill_n*, visonly_n*)

    counted = count_model_flops(name, overrides)
    measured = measure(name, batch_sizes=(), config_overrides=overrides)
    assert counted["flops"] == measured["flops_per_clip"] > 0
    assert counted["uncounted_compute_ops"] == [] == measured["uncounted_compute_ops"]


def test_counting_an_unknown_model_is_an_error():
    with pytest.raises(ComodoError, match="unknown model 'nope'"):
        count_model_flops("nope")


def test_flops_are_per_clip_and_linear_in_batch():
    from transformers import VideoMAEConfig, VideoMAEModel

    torch.manual_seed(0)
    model = VideoMAEModel(VideoMAEConfig(**TINY_VIDEOMAE)).eval()
    one = count_flops(lambda x: model(pixel_values=x), torch.randn(1, 4, 3, 32, 32))["flops"]
    three = count_flops(lambda x: model(pixel_values=x), torch.randn(3, 4, 3, 32, 32))["flops"]
    assert three == 3 * one


def test_tiny_timesformer_goes_through_the_same_path():
    r = measure("timesformer", batch_sizes=(1, 2), config_overrides=TINY_TIMESFORMER, **FAST)
    assert r["flops_per_clip"] > 0 and r["uncounted_compute_ops"] == []
    assert r["params"] == sum(p.numel() for p in MODELS["timesformer"](TINY_TIMESFORMER)[0].parameters())
    assert set(r["latency_ms_per_clip"]) == {"1", "2"}


@pytest.mark.parametrize("name, overrides", [("timesformer", TINY_TIMESFORMER), ("videomae", TINY_VIDEOMAE)])
def test_video_teachers_are_built_with_random_weights_of_a_trained_scale(name, overrides):
    """transformers' initialisation is skipped (most of a video teacher's build): every parameter must still be
    set, not left as uninitialised memory — matrices N(0, 0.02²), biases 0, norm weights 1 — and seeded."""
    def build():
        torch.manual_seed(0)
        return MODELS[name](overrides)[0]

    model, again = build(), build()
    matrices = torch.cat([p.flatten() for p in model.parameters() if p.ndim >= 2])
    assert torch.isfinite(matrices).all() and abs(matrices.std().item() - 0.02) < 0.002
    for n, p in model.named_parameters():
        if p.ndim == 1:
            assert torch.equal(p, torch.zeros_like(p) if n.endswith("bias") else torch.ones_like(p)), n
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    assert torch.isfinite(model(MODELS[name](overrides)[1](1))).all()


def test_moment_1_small_real_size():
    """T5-small encoder (d 512, 8 layers, 6 heads × 64, d_ff 1024 gated) over 64 patches × 6 channels."""
    r = measure("moment", batch_sizes=())
    d, inner, ff, layers, buckets, heads, patch = 512, 6 * 64, 1024, 8, 32, 6, 8
    per_layer = 4 * d * inner + 2 * d + 3 * d * ff
    assert r["params"] == layers * per_layer + buckets * heads + d + patch * d + d
    n = 64
    flops = 2 * n * patch * d + layers * (2 * n * d * inner * 4 + 2 * n * 3 * d * ff + 2 * 2 * heads * n * n * 64)
    assert r["flops_per_clip"] == 6 * flops
    assert r["input"] == "imu (B, 6, 512) float32"


def test_params_of_the_default_cnn_and_student():
    cnn = measure("dilated_cnn", batch_sizes=(1,), **FAST)
    stem = 6 * 32 * 7 + 32 + 2 * 32
    blocks = 5 * (32 * 32 * 5 + 32 + 2 * 32)
    out = 64 * 256 + 256
    assert cnn["params"] == stem + blocks + out == 44160
    student = measure("imu_student", batch_sizes=(), flops=False)
    projector = 256 * 2048 + 2048 + 2 * 2048 + 2048 * 128 + 128
    assert student["params"] == cnn["params"] + projector
    assert "flops_per_clip" not in student


def test_student_with_another_backbone_is_labelled():
    tiny_t5 = {"t5_config": {"d_model": 16, "d_kv": 4, "d_ff": 32, "num_layers": 1, "num_heads": 4}}
    r = measure("imu_student", batch_sizes=(), config_overrides={"backbone": "moment", "backbone_options": tiny_t5})
    assert r["label"] == "IMUStudent (MOMENT-1-small + projector) [custom config]"
    assert r["input"] == "imu (B, 6, 512) float32"
    with pytest.raises(ComodoError, match="backbone"):
        measure("imu_student", batch_sizes=(), config_overrides={"backbone": "resnet"})


def test_measure_records_threads_and_restores_them(linear_model):
    before = torch.get_num_threads()
    r = measure(linear_model, batch_sizes=(1,), repeats={1: 2}, warmup={1: 1}, threads=1,
                not_measured={1: "ignored: it was measured", 32: "too slow"})
    assert r["threads"] == 1 and torch.get_num_threads() == before
    assert r["latency"]["1"]["runs"] == 2 and r["latency"]["1"]["warmup_runs"] == 1
    assert r["not_measured"] == {"32": "too slow"}


def test_no_warmup_times_a_slow_model_once_after_its_flop_count(linear_model):
    """The study plan's teachers (warm-up 0): the FLOP count's forward is the warm-up and the prediction, so a
    run longer than the budget is timed once; without the count (nothing predicts it) three times."""
    r = measure(linear_model, batch_sizes=(1,), threads=1, warmup=0, time_budget_s=0.0)
    assert r["latency"]["1"]["warmup_runs"] == 0 and r["latency"]["1"]["runs"] == 1
    r = measure(linear_model, batch_sizes=(1,), threads=1, warmup=0, time_budget_s=0.0, flops=False)
    assert r["latency"]["1"]["warmup_runs"] == 0 and r["latency"]["1"]["runs"] == 3
    r = measure(linear_model, batch_sizes=(1,), threads=1, warmup=0, time_budget_s=60.0)  # fast: the budget's runs
    assert r["latency"]["1"]["runs"] == MAX_REPEATS


def test_adaptive_protocol_skips_warmup_and_repeats_for_slow_runs(linear_model):
    r = measure(linear_model, batch_sizes=(1, 8), threads=1, time_budget_s=0.0)  # every run is "slow"
    assert r["latency"]["1"]["warmup_runs"] == 1 and r["latency"]["1"]["runs"] == 1
    assert r["latency"]["8"]["warmup_runs"] == 0 and r["latency"]["8"]["runs"] == 1
    r = measure(linear_model, batch_sizes=(1, 8), threads=1, time_budget_s=0.0, warmup=1, min_repeats=2)
    assert [(r["latency"][b]["warmup_runs"], r["latency"][b]["runs"]) for b in ("1", "8")] == [(1, 2), (1, 2)]
    r = measure(linear_model, batch_sizes=(1,), threads=1, time_budget_s=60.0)  # fast runs: up to the cap
    assert r["latency"]["1"]["warmup_runs"] == 1 and r["latency"]["1"]["runs"] == MAX_REPEATS


def test_bad_arguments(linear_model):
    with pytest.raises(ComodoError, match="unknown model"):
        measure("resnet50")
    with pytest.raises(ComodoError, match="batch sizes"):
        measure(linear_model, batch_sizes=(0,))
    with pytest.raises(ComodoError, match="repeats"):
        measure(linear_model, batch_sizes=(1,), repeats=0)


def _result(model, role, params, gflops, ms, not_measured=None):
    return {"model": model, "label": model.upper(), "role": role, "params": params, "gflops_per_clip": gflops,
            "latency_ms_per_clip": {str(b): v for b, v in ms.items()}, "not_measured": not_measured or {}}


def test_table_ratios():
    results = [
        _result("big", TEACHER, 100e6, 400.0, {1: 1000.0, 32: 900.0}),
        _result("other", TEACHER, 50e6, 200.0, {1: 500.0}, {"32": "too slow"}),
        _result("small", STUDENT, 1e6, 2.0, {1: 10.0, 32: 1.0}),
    ]
    rows = {r["model"]: r for r in table(results, (1, 32))}
    s = rows["small"]
    assert s["params_m"] == pytest.approx(1.0)
    assert s["gmacs_per_clip"] == pytest.approx(1.0)
    assert s["params_ratio_vs_big"] == pytest.approx(100.0)
    assert s["gflops_ratio_vs_big"] == pytest.approx(200.0)
    assert s["gflops_ratio_vs_other"] == pytest.approx(100.0)
    assert s["latency_ratio_vs_big_b1"] == pytest.approx(100.0)
    assert s["latency_ratio_vs_big_b32"] == pytest.approx(900.0)
    assert s["latency_ratio_vs_other_b1"] == pytest.approx(50.0)
    assert s["latency_ratio_vs_other_b32"] is None
    assert rows["big"]["gflops_ratio_vs_big"] == pytest.approx(1.0)
    assert rows["big"]["gflops_ratio_vs_other"] == pytest.approx(0.5)  # other teacher ÷ this one
    assert rows["other"]["ms_per_clip_b32"] is None and rows["other"]["not_measured_b32"] == "too slow"
    assert "not_measured_b32" not in s
    text = markdown(list(rows.values()), (1, 32))
    assert "| SMALL | student | 1.00 | 2.00 | 10.0 | 1.00 | 200× | 100× | 100× | 50.0× | 900× | n/a |" in text
    assert "not measured [1]" in text and "[1] OTHER, batch 32: too slow" in text


def test_table_marks_missing_batches_and_lower_bounds():
    r = _result("small", STUDENT, 1e6, 2.0, {1: 10.0})
    r["uncounted_compute_ops"] = ["aten.some_matmul"]
    (row,) = table([r], (1, 32))
    assert row["not_measured_b32"] == "not requested" and row["flops_lower_bound"]
    text = markdown([row], (1, 32))
    assert "≥ 2.00" in text and "not requested" in text


def test_study_plans():
    full, quick = study_plan(), study_plan(quick=True)
    assert full.models == quick.models == ORDER and not full.quick and quick.quick
    assert ORDER == ("timesformer", "videomae", "mantis", "moment", "dilated_cnn", "imu_student",
                     "egodistill_n1", "egodistill_n2", "egodistill_n4", "visonly_n1")
    assert full.config_overrides == {} and full.student_batch_sizes == (1, 32) and full.teacher_batch_sizes == (1,)
    assert quick.config_overrides == QUICK_TEACHER_CONFIGS and quick.student_batch_sizes == (1,)
    assert full.batch_sizes("videomae") == (1,) and full.batch_sizes("moment") == (1, 32)
    assert full.warmup("timesformer") == 0 and full.warmup("mantis") == 1  # teachers: the FLOP count warms them
    assert full.time_budget_s < StudyPlan().time_budget_s and StudyPlan().warmup("videomae") is None
    assert quick.to_dict()["config_overrides"]["videomae"]["hidden_size"] == 32


def test_study_plans_time_egodistill_at_batch_1_only():
    """Φ is a student, at real size in both plans (no config override), timed at batch 1 only: in full by the
    plan's per-model batch sizes (a batch-32 forward of Φ is 32–128 ResNet-18 passes), in quick like every student."""
    register_models()
    full, quick = study_plan(), study_plan(quick=True)
    assert dict(full.model_batch_sizes) == {m: (1,) for m in EGODISTILL_ORDER} and quick.model_batch_sizes == {}
    for name in EGODISTILL_ORDER:
        assert MODELS[name].role == STUDENT and name not in full.config_overrides and name not in quick.config_overrides
        assert full.batch_sizes(name) == quick.batch_sizes(name) == (1,)
        assert full.warmup(name) == quick.warmup(name) == 1
    assert [full.batch_sizes(m) for m in COMODO_ORDER] == [(1,), (1,), (1, 32), (1, 32), (1, 32), (1, 32)]
    assert full.to_dict()["model_batch_sizes"]["egodistill_n4"] == (1,)
    assert {MODELS[m].input_name for m in EGODISTILL_ORDER} == {"frames+imu", "frames"}
    assert {MODELS[m].input_name for m in COMODO_ORDER} == {"pixel_values", "imu"}


def test_register_models_adds_egodistill_to_the_registry():
    from comodo.study.egodistill.efficiency import EGODISTILL_MODELS

    models = register_models()
    assert models is MODELS and set(EGODISTILL_ORDER) <= set(EGODISTILL_MODELS) and set(ORDER) <= set(MODELS)


@pytest.fixture
def teacher_and_student(monkeypatch):
    """``test_teacher``: Linear(64, 256); ``test_student``: Linear(64, 2), both on (B, 64)."""
    for name, role, out in (("test_teacher", TEACHER, 256), ("test_student", STUDENT, 2)):
        build = lambda overrides, out=out: (nn.Linear(64, out), lambda b: torch.randn(b, 64))  # noqa: E731
        monkeypatch.setitem(MODELS, name, ModelSpec(role, name.upper(), f"nn.Linear(64, {out})", "x", build))
    return StudyPlan(models=("test_teacher", "test_student"), time_budget_s=0.0)  # adaptive: no warm-up at 32


def test_study_table_times_the_plan_and_says_why_not(teacher_and_student):
    e = measure_table(teacher_and_student)
    teacher, student = e["results"]
    assert set(teacher["latency"]) == {"1"} and set(student["latency"]) == {"1", "32"}
    assert teacher["latency"]["1"]["warmup_runs"] == 1  # the adaptive default at the first batch
    assert [student["latency"][b]["warmup_runs"] for b in ("1", "32")] == [1, 1]  # the plan's student warm-up
    assert all(r["threads"] == 1 for r in e["results"]) and e["threads"] == 1
    reason = teacher["not_measured"]["32"]
    assert reason.startswith("not timed: one batch-32 forward ≈ 32 × ") and "--teacher-batch-sizes 1,32" in reason
    rows = {r["model"]: r for r in e["rows"]}
    assert rows["test_student"]["gflops_ratio_vs_test_teacher"] == pytest.approx(256 / 2)
    assert rows["test_student"]["ms_per_clip_b32"] > 0 and rows["test_teacher"]["ms_per_clip_b32"] is None
    assert e["markdown"] == markdown(e["rows"], (1, 32)) and "TEST_TEACHER, batch 32: not timed" in e["markdown"]
    assert e["plan"]["models"] == ("test_teacher", "test_student") and e["seconds"] > 0
    assert [r["input_name"] for r in e["rows"]] == ["x", "x"]  # each row says what its model reads


def test_study_table_times_a_model_at_its_own_batch_sizes(teacher_and_student):
    """``model_batch_sizes`` replaces a model's role batch sizes (the full plan's Φ rows); the skipped batch
    says what it would have cost and how to time it."""
    from dataclasses import replace

    e = measure_table(replace(teacher_and_student, model_batch_sizes={"test_student": (1,)}))
    teacher, student = e["results"]
    assert set(student["latency"]) == {"1"} and student["latency"]["1"]["warmup_runs"] == 1
    reason = student["not_measured"]["32"]
    assert reason.startswith("not timed: one batch-32 forward ≈ 32 × ")
    assert reason.endswith("(`python benchmarks/bench_efficiency.py --student-batch-sizes 1,32` times it)")
    assert "--teacher-batch-sizes 1,32" in teacher["not_measured"]["32"]
    assert e["plan"]["model_batch_sizes"] == {"test_student": (1,)}
    assert {r["model"]: r["ms_per_clip_b32"] for r in e["rows"]} == {"test_teacher": None, "test_student": None}


def test_quick_study_table_says_quick(teacher_and_student):
    from dataclasses import replace

    e = measure_table(replace(teacher_and_student, quick=True, student_batch_sizes=(1,)))
    assert [r["not_measured"] for r in e["results"]] == [{"32": "not timed (quick=True)"}] * 2


def test_study_table_is_measured_once_per_machine_plan_and_code(teacher_and_student, tmp_path, monkeypatch, capsys):
    """The first call measures and writes ``<cache>/efficiency/table_<key>.json``; the next reads it (the same
    object); ``remeasure`` measures again; another plan is another key; a corrupt file is measured again."""
    from dataclasses import replace

    import comodo.study.efficiency as efficiency

    monkeypatch.setenv("COMODO_DATA", str(tmp_path))
    calls = []
    real = efficiency.measure_table
    monkeypatch.setattr(efficiency, "measure_table", lambda plan, progress=False: calls.append(plan) or real(plan))
    first = study_table(plan=teacher_and_student)
    files = list((tmp_path / "cache" / "efficiency").glob("table_*.json"))
    assert len(calls) == 1 and len(files) == 1
    assert study_table(plan=teacher_and_student, progress=True) == first and len(calls) == 1
    assert "read from" in capsys.readouterr().out
    assert first["plan"]["models"] == ["test_teacher", "test_student"]  # as the notebook's JSON holds it
    study_table(plan=teacher_and_student, remeasure=True)
    assert len(calls) == 2
    study_table(plan=replace(teacher_and_student, time_budget_s=0.01))
    assert len(calls) == 3 and len(list(files[0].parent.glob("table_*.json"))) == 2
    for n, corrupt in enumerate(('{"key": ', "[1, 2]"), start=4):
        files[0].write_text(corrupt)
        study_table(plan=teacher_and_student)
        assert len(calls) == n and "not a table of measurements" in capsys.readouterr().out
    key = efficiency.measurements_key(teacher_and_student)
    assert {"machine", "torch", "transformers", "plan"} <= set(key) and "study/efficiency.py" in key["code"]
