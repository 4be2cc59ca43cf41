"""The GFLOPs cache of the accuracy-against-cost figure: counted once, read after, keyed by model and versions."""

from __future__ import annotations

import json

import pytest

from comodo.errors import ComodoError
from comodo.study import efficiency
from comodo.study.egodistill import cost

TINY = {"resnet": {"embedding_size": 8, "hidden_sizes": [8, 8, 8, 8], "depths": [1, 1, 1, 1]}, "image_size": 32,
        "feature_dim": 16, "n_classes": 4, "fusion_hidden": 16, "gru_hidden": 8}
OVERRIDES = {"visonly_n1": TINY, "egodistill_n1": {**TINY, "imu_options": {"width": 4, "dim": 8}}}


def _no_count(*args, **kwargs):
    raise AssertionError("counted again although the count is cached")


def test_a_count_is_cached_and_read_back(monkeypatch):
    first = cost.gflops(["visonly_n1"], OVERRIDES)
    path = cost.cache_path("visonly_n1", TINY)
    assert path.exists() and path.parent.name == "efficiency"
    stored = json.loads(path.read_text())
    assert stored["gflops_per_clip"] == first["visonly_n1"] > 0
    assert stored["key"] == cost.cache_key("visonly_n1", TINY) and "torch" in stored["key"]
    monkeypatch.setattr(efficiency, "count_model_flops", _no_count)
    monkeypatch.setattr(efficiency, "measure", _no_count)
    assert cost.gflops(["visonly_n1"], OVERRIDES) == first  # read from the file, not counted


def test_the_count_is_measure_s_and_the_imu_costs_something():
    got = cost.gflops(["visonly_n1", "egodistill_n1"], OVERRIDES)
    direct = efficiency.measure("egodistill_n1", batch_sizes=(), config_overrides=OVERRIDES["egodistill_n1"])
    assert got["egodistill_n1"] == pytest.approx(direct["gflops_per_clip"])
    assert got["egodistill_n1"] > got["visonly_n1"]  # f_M and a wider fusion input


def test_a_corrupt_cache_file_is_counted_again_and_rewritten():
    good = cost.gflops(["visonly_n1"], OVERRIDES)["visonly_n1"]
    path = cost.cache_path("visonly_n1", TINY)
    for broken in ('{"key": ', json.dumps({"key": {"model": "other"}, "gflops_per_clip": 1.0}), "[]"):
        path.write_text(broken)
        assert cost.gflops(["visonly_n1"], OVERRIDES)["visonly_n1"] == good
        assert json.loads(path.read_text())["gflops_per_clip"] == good


def test_the_key_changes_with_the_model_and_its_overrides():
    assert cost.cache_path("visonly_n1", TINY) != cost.cache_path("visonly_n2", TINY)
    assert cost.cache_path("visonly_n1", TINY) != cost.cache_path("visonly_n1")
    assert cost.cache_key("videomae")["model"] == "videomae" and "transformers" in cost.cache_key("videomae")


def test_the_key_changes_with_the_code_that_builds_the_models(monkeypatch):
    """Φ's sizes live in the code (ResNet-18's widths, z_V's 768, f_M's defaults): an edit there counts again."""
    before = cost.cache_path("egodistill_n1")
    assert {"study/egodistill/efficiency.py", "egodistill/student.py", "egodistill/clips.py",
            "encoders/cnn.py"} <= set(cost.cache_key("egodistill_n1")["code"])
    code = {**efficiency.models_code(), "egodistill/student.py": "edited"}
    monkeypatch.setattr(efficiency, "models_code", lambda: code)
    assert cost.cache_path("egodistill_n1") != before


def test_model_names():
    assert cost.student_model("visimu", 2) == "egodistill_n2"
    assert cost.student_model("visonly_distill", 4) == "visonly_n4"
    assert cost.teacher_model("embedded-timesformer") == "timesformer"
    assert cost.models(["egodistill", "visonly"], [1, 4]) == ["egodistill_n1", "egodistill_n4", "videomae",
                                                             "visonly_n1", "visonly_n4"]
    for bad in (lambda: cost.student_model("comodo", 1), lambda: cost.student_model("egodistill", 3),
                lambda: cost.teacher_model("motionformer"), lambda: cost.gflops(["nope"])):
        with pytest.raises(ComodoError):
            bad()
