"""The tables of notebooks 10 and 11 on the quick settings: one sweep trains every run once, the tables read it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from comodo.egodistill.clips import FRAME_RULES
from comodo.egodistill.config import variant
from comodo.study.egodistill import cost, experiments as ex, runs

S = ex.settings(quick=True)
FLOPS = {m: float(i + 1) for i, m in enumerate(cost.models(ex.COST_VARIANTS, S.frames, ex.TEACHERS))}


@pytest.fixture(scope="module")
def trained(monkeypatch_module):
    """Every run of the study's quick settings trained once (the one sweep of this module); then training is
    forbidden, so every table below only reads the cached runs."""
    runs.sweep(ex.study_configs(S), progress=False)
    from comodo.egodistill import train

    def boom(*args, **kwargs):
        raise AssertionError("a table trained a run again although the sweep had trained it")

    monkeypatch_module.setattr(train, "train", boom)
    return S


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _accuracies_ok(df: pd.DataFrame) -> bool:
    cols = [c for c in df.columns if c.endswith(("top1", "top1_mean", "top1_std"))]
    return bool(cols) and all(((df[c] >= 0) & (df[c] <= 1)).all() for c in cols)


def _no_absolute_paths(obj) -> bool:
    text = json.dumps(obj, default=str)
    return "/tmp" not in text and '"/' not in text


def test_cost_table_and_its_summary(trained):
    df = ex.cost_table(trained, progress=False)
    assert list(df.columns[:4]) == ["domain", "variant", "frames", "model"] and set(ex.RUN_COLUMNS) <= set(df.columns)
    per_domain = sum(4 * len(S.seeds if n == 1 else S.multi_frame_seeds) for n in S.frames)
    assert len(df) == len(ex.cost_configs(trained)) == len(S.domains) * per_domain
    assert set(zip(df["variant"], df["frames"])) == {(v, n) for v in ex.COST_VARIANTS for n in S.frames}
    assert list(df["model"]) == [cost.student_model(v, n) for v, n in zip(df["variant"], df["frames"])]
    assert _accuracies_ok(df) and (df["n_videos"] > 0).all() and (df["n_clips"] >= df["n_videos"]).all()
    assert all(_no_absolute_paths(c) and c["world_size"] == "quick" for c in df["config"])
    summary = ex.cost_summary(df, FLOPS)
    assert len(summary) == len(S.domains) * len(S.frames) * 4
    assert list(summary["n"]) == [len(S.seeds if n == 1 else S.multi_frame_seeds) for n in summary["frames"]]
    assert list(summary["gflops"]) == [FLOPS[m] for m in summary["model"]] and _accuracies_ok(summary)
    one = summary[(summary["variant"] == "visonly") & (summary["frames"] == 2)].iloc[0]
    assert one["video_top1_mean"] == pytest.approx(
        df[(df["variant"] == "visonly") & (df["frames"] == 2)]["video_top1"].mean())
    assert (summary["video_top1_std"] == 0).all()  # one seed: std 0, not NaN
    teacher = ex.teacher_reference(df, FLOPS)
    assert list(teacher["domain"]) == list(S.domains) and list(teacher["teacher"]) == ["embedded"]
    assert list(teacher["gflops"]) == [FLOPS["videomae"]] and _accuracies_ok(teacher)


def test_teacher_table_and_the_gain(trained):
    df = ex.teacher_table(trained, progress=False)
    assert len(df) == len(S.domains) * len(ex.TEACHERS) * 2 * len(S.ablation_seeds) and _accuracies_ok(df)
    assert set(df["teacher"]) == set(ex.TEACHERS) and (df["frames"] == 1).all()
    summary = ex.teacher_summary(df)
    assert set(zip(summary["domain"], summary["teacher"])) == {(d, t) for d in S.domains for t in ex.TEACHERS}
    for r in summary.to_dict(orient="records"):
        runs_ = df[(df["domain"] == r["domain"]) & (df["teacher"] == r["teacher"])]
        assert r["video"] == pytest.approx(runs_["teacher_video_top1"].iloc[0])
        assert r["gain_points"] == pytest.approx(100 * (r["egodistill"] - r["visonly_distill"]))
        assert r["seeds"] == len(S.ablation_seeds)
    # the second teacher is another teacher: its own runs (keys), not the VideoMAE's
    assert len({json.dumps(c, sort_keys=True) for c in df["config"]}) == len(df)


def test_ablation_table_has_the_paper_s_rows(trained):
    df = ex.ablation_table(trained, progress=False)
    assert list(df["row"]) == [r for _ in S.domains for r in ex.ABLATION_ROWS for _ in S.ablation_seeds]
    assert _accuracies_ok(df) and (df["frames"] == 1).all()
    summary = ex.ablation_summary(df)
    assert list(summary["row"]) == list(ex.ABLATION_ROWS) * len(S.domains)
    full = summary.set_index("row").loc[ex.FULL_ROW, "video_top1_mean"]
    assert summary.set_index("row").loc[ex.FULL_ROW, "delta_points"] == 0
    assert list(summary["delta_points"]) == pytest.approx(list(100 * (summary["video_top1_mean"] - full)))
    beside = ex.beside_paper(summary, ex.paper_table1(), "row")
    assert list(beside["row"]) == list(ex.ABLATION_ROWS)
    d = S.domains[0]
    assert list(beside[f"ours_{d}"]) == pytest.approx(list(summary["video_top1_mean"]))
    assert beside.set_index("row").loc[ex.FULL_ROW, "paper_epic_kitchens"] == pytest.approx(0.4495)


def test_frame_rule_table(trained):
    df = ex.frame_rule_table(trained, progress=False)
    assert list(df["rule"]) == [r for _ in S.domains for r in FRAME_RULES for _ in S.ablation_seeds]
    assert (df["frames"] == 4).all() and (df["rule"] == df["frame_selection"]).all() and _accuracies_ok(df)
    summary = ex.frame_rule_summary(df)
    assert list(summary["rule"]) == list(FRAME_RULES) and summary["delta_points"].iloc[0] == 0
    # uniform at N = 4 is the cost sweep's EgoDistill at N = 4: the same run, the same number
    cost_df = ex.cost_table(trained, progress=False)
    same = cost_df[(cost_df["variant"] == "egodistill") & (cost_df["frames"] == 4)]["video_top1"].mean()
    assert summary["video_top1_mean"].iloc[0] == pytest.approx(same)


def test_claims_rows_and_the_noise_level(trained):
    table = ex.claims(trained, progress=False)
    runs_ = ex.claim_table(trained, progress=False)
    assert _no_absolute_paths(table)
    for row in table["claims"]:
        mine = runs_[runs_["domain"] == row["domain"]]
        for name in ex.CLAIM_VARIANTS:
            assert row[name] == pytest.approx(mine[mine["variant"] == name]["video_top1"].mean())
        assert row["gain_over_visonly_distill"] == pytest.approx(100 * (row["egodistill"] - row["visonly_distill"]))
        assert row["gain_over_visimu"] == pytest.approx(100 * (row["egodistill"] - row["visimu"]))
        assert row["a_holds"] == (row["gain_over_visonly_distill"] >= 3) and row["seeds"] == len(S.seeds)
        assert row["b_holds"] == (row["gain_over_visimu"] >= 3)
    noise = ex.noise(runs_)
    (level,) = noise.to_dict(orient="records")
    assert level["one_video_points"] == pytest.approx(100 / level["n_videos"])
    assert level["seeds"] == 1 and pd.isna(level["seed_std_points"])
    assert level["noise_points"] == level["one_video_points"]


def test_summarize_and_noise_on_a_hand_made_table():
    df = pd.DataFrame({"domain": ["a"] * 6 + ["b"], "variant": ["x", "x", "x", "y", "y", "y", "x"],
                       "seed": [0, 1, 2, 0, 1, 2, 0], "video_top1": [0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.4],
                       "n_videos": [20] * 6 + [50]})
    s = ex.summarize(df, ["domain", "variant"], metrics=("video_top1",))
    assert list(s["video_top1_mean"]) == pytest.approx([0.2, 0.5, 0.4])
    assert list(s["video_top1_std"]) == pytest.approx([0.1, 0.0, 0.0]) and list(s["n"]) == [3, 3, 1]
    n = ex.noise(df).set_index("domain")
    assert n.loc["a", "seed_std_points"] == pytest.approx(5.0)  # (10 + 0) / 2 points
    assert n.loc["a", "noise_points"] == pytest.approx(5.0) and n.loc["a", "one_video_points"] == pytest.approx(5.0)
    assert pd.isna(n.loc["b", "seed_std_points"]) and n.loc["b", "noise_points"] == pytest.approx(2.0)


def test_the_paper_s_tables():
    t1, t2, t4 = ex.paper_table1(), ex.paper_table2(), ex.paper_table4()
    assert len(t1) == 2 * len(ex.ABLATION_ROWS) and set(t1["row"]) == set(ex.ABLATION_ROWS)
    assert ((t1["video_top1"] > 0) & (t1["video_top1"] < 1)).all() and (t1["source"] == "paper").all()
    assert t1[(t1["row"] == ex.FULL_ROW)]["delta_points"].tolist() == [0, 0]
    assert t1[(t1["row"] == ex.VISIMU_ROW) & (t1["dataset"] == "ego4d")]["delta_points"].item() == pytest.approx(-3.8)
    mf = t2[(t2["teacher"] == "MotionFormer") & (t2["dataset"] == "epic_kitchens")].iloc[0]
    assert mf["video"] == pytest.approx(0.7728) and mf["gain_points"] == pytest.approx(44.95 - 37.2)
    assert list(t4["rule"][:5]) == list(FRAME_RULES) and t4["delta_points"].iloc[0] == 0
    pts = ex.paper_cost_points(FLOPS)
    assert len(pts) == 10 and set(pts["dataset"]) == set(ex.PAPER_DATASETS)
    video = pts[(pts["variant"] == "video") & (pts["dataset"] == "ego4d")].iloc[0]
    assert video["gflops"] == pytest.approx(2 * 369.51) and video["video_top1"] == pytest.approx(0.4638)
    n4 = pts[(pts["variant"] == "egodistill") & (pts["frames"] == 4) & (pts["dataset"] == "epic_kitchens")].iloc[0]
    assert n4["gflops"] == FLOPS["egodistill_n4"] and n4["video_top1"] == pytest.approx(0.5243)


def test_rows_names_and_notebook_settings():
    for name, row in ex.ABLATION_ROWS.items():
        assert ex.ablation_row(ex.config(S, "egodistill", "ego4d_verbs", 0, **row)) == name
    assert ex.ablation_row(variant("visonly_distill")) is None
    s = ex.notebook_settings(True, domains=["ego4d_verbs"], seeds=None, num_epochs=3)
    assert s.domains == ("ego4d_verbs",) and s.seeds == S.seeds and s.num_epochs == 3 and s.quick
    assert ex.notebook_settings(False) == ex.settings(False)
    records = ex.records(pd.DataFrame({"a": [1.0, float("nan")], "b": [1, 2]}))
    assert records == [{"a": 1.0, "b": 1}, {"a": None, "b": 2}] and type(records[0]["b"]) is int


def test_claims_cli_passes_the_budget_to_the_settings(monkeypatch, capsys):
    from comodo.cli import main

    seen = []
    monkeypatch.setattr(ex, "claims", lambda s: seen.append(s) or {"claims": []})
    assert main(["egodistill", "claims", "--quick", "--num-epochs", "3", "--pretrain-epochs", "4",
                 "--imu-width", "8", "--seed", "5"]) == 0
    (s,) = seen
    assert (s.num_epochs, s.pretrain_epochs, s.imu_width, s.seeds, s.world_size) == (3, 4, 8, (5,), "quick")
    assert main(["egodistill", "claims", "--quick"]) == 0
    assert (seen[1].num_epochs, seen[1].imu_width) == (ex.settings(quick=True).num_epochs, S.imu_width)


@pytest.mark.parametrize("flag", ["--num-epochs", "--pretrain-epochs", "--imu-width"])
def test_claims_cli_refuses_a_budget_below_one(flag, monkeypatch, capsys):
    from comodo.cli import main

    monkeypatch.setattr(ex, "claims", lambda s: pytest.fail("claims ran with a nonsense budget"))
    assert main(["egodistill", "claims", "--quick", flag, "0"]) == 2
    err = capsys.readouterr().err
    assert f"{flag} 0: expected an integer ≥ 1" in err and err.count("\n") == 1
