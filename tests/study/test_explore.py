"""comodo.study.explore: the table of every cached run (from folders on disk), filters, figures, controls."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from comodo.study import explore
from comodo.study.comodo import runs
from comodo.errors import ComodoError
from comodo.train.config import DistillConfig


def _run(root: Path, name: str, method: str = "comodo", dataset: str = "ego4d", seed: int = 0, K: int = 16,
         evals: dict[str, float] | None = None, losses: tuple[float, ...] = (2.0, 1.5, 1.0),
         finished: bool = True) -> Path:
    """A run folder as comodo.study.comodo.runs leaves it: config.json, log.jsonl, student.pt, results_<d>.json."""
    folder = root / "runs" / name
    folder.mkdir(parents=True)
    config = DistillConfig(dataset=dataset, method=method, seed=seed, queue_size=K, world_size="quick",
                           num_epochs=len(losses) or None, batch_size=16, learning_rate=3e-3).resolved().to_dict()
    (folder / "config.json").write_text(json.dumps({"config": config, "dataset": "/x"}))
    log = [{"epoch": i + 1, "loss": v, "lr": 1e-3, "val_acc": 0.1 * (i + 1), "seconds": 0.5}
           for i, v in enumerate(losses)]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    if finished:
        (folder / "student.pt").write_bytes(b"")
    for d, acc in (evals or {}).items():
        r = {"method": method, "train_dataset": dataset, "eval_dataset": d, "seed": seed, "config": config,
             "acc1": acc, "acc3": min(1.0, acc + 0.2), "acc5": min(1.0, acc + 0.3), "n_classes": 9,
             "run": str(folder)}
        (folder / f"results_{d}.json").write_text(json.dumps(r))
    return folder


@pytest.fixture
def root(tmp_path):
    _run(tmp_path, "a", "comodo", "ego4d", 0, 16, {"ego4d": 0.6, "mmea": 0.4})
    _run(tmp_path, "b", "comodo", "ego4d", 1, 16, {"ego4d": 0.8})
    _run(tmp_path, "c", "comodo", "ego4d", 0, 8, {"ego4d": 0.5})
    _run(tmp_path, "d", "none", "ego4d", 0, evals={"ego4d": 0.3}, losses=())
    _run(tmp_path, "e", "supervised", "mmea", 0, evals={})  # finished, never evaluated
    _run(tmp_path, "f", "comodo", "mmea", 0, 16, {"mmea": 0.9}, finished=False)  # still training
    return tmp_path


def test_load_reads_every_finished_run_from_disk(root):
    df = explore.load(root)
    assert list(df.columns) == list(runs.COLUMNS) + list(explore.EXTRA)
    assert sorted(df["run"]) == ["a", "a", "b", "c", "d", "e"]  # one row per evaluation; "f" unfinished
    assert list(df["method"].drop_duplicates()) == ["none", "supervised", "comodo"]  # the study's order
    a = df[(df["run"] == "a") & (df["eval_dataset"] == "mmea")].iloc[0]
    assert a["acc1"] == pytest.approx(0.4) and a["train_dataset"] == "ego4d" and a["queue_size"] == 16
    assert a["final_loss"] == pytest.approx(1.0) and a["final_val_acc"] == pytest.approx(0.3)
    assert a["train_seconds"] == pytest.approx(1.5) and a["learning_rate"] == pytest.approx(3e-3)
    assert a["config"]["method"] == "comodo" and a["reader"] == "comodo" and a["path"] == str(root / "runs" / "a")
    assert a["label"] == "comodo, ego4d, seed 0, K 16, τs 0.05 τt 0.1"
    e = df[df["run"] == "e"].iloc[0]
    assert math.isnan(e["acc1"]) and e["eval_dataset"] is None and e["final_loss"] == pytest.approx(1.0)
    d = df[df["run"] == "d"].iloc[0]
    assert math.isnan(d["final_loss"]) and math.isnan(d["train_seconds"])  # the untrained student: no log
    n = explore.summary(df)
    assert n["n_runs"] == 5 and n["n_rows"] == 6 and n["n_evaluated_rows"] == 5
    assert n["runs_by_method"] == {"comodo": 3, "none": 1, "supervised": 1}
    assert explore.describe(df, root).startswith("5 finished runs (comodo: 3, none: 1, supervised: 1; world quick: 5)")


def test_an_empty_cache_is_an_empty_table_and_says_how_to_fill_it(tmp_path):
    df = explore.load(tmp_path / "nothing")
    assert len(df) == 0 and list(df.columns) == list(runs.COLUMNS) + list(explore.EXTRA)
    assert explore.summary(df)["n_runs"] == 0
    assert "no finished runs" in explore.describe(df, tmp_path) and "make study" in explore.describe(df, tmp_path)
    assert explore.default_world(df, quick=True) is None
    view = explore.filter_runs(df, method="comodo", seed=3)  # no error: nothing to check against
    for fig in (explore.plot_metric(view), explore.plot_curve(view), explore.controls(df)):
        assert isinstance(fig, plt.Figure) and not fig.axes[0].lines
        plt.close(fig)


def test_egodistill_runs_are_read_too(tmp_path):
    from comodo.egodistill.config import variant

    stage1 = variant("egodistill", dataset="ego4d_verbs", world_size="quick", frames=2, seed=3).resolved()
    for name, c, top1 in (("s1", stage1, 0.4), ("s0", stage1.stage0(), None)):
        folder = tmp_path / "egodistill" / "runs" / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"config": c.to_dict()}))
        (folder / "log.jsonl").write_text(json.dumps({"epoch": 1, "loss": 2.5, "val_clip_top1": 0.3}) + "\n")
        (folder / "student.pt").write_bytes(b"")
        if top1 is not None:
            (folder / "results_test.json").write_text(json.dumps({"student": {"clip_top1": top1},
                                                                  "classes": ["a", "b", "c"]}))
    df = explore.load(tmp_path)
    assert list(df["method"]) == ["egodistill", "egodistill_pretrain"] and set(df["reader"]) == {"egodistill"}
    s1 = df[df["run"] == "s1"].iloc[0]
    assert s1["acc1"] == pytest.approx(0.4) and math.isnan(s1["acc3"]) and s1["n_classes"] == 3
    assert s1["eval_dataset"] == s1["train_dataset"] == "ego4d_verbs" and s1["seed"] == 3
    assert s1["final_loss"] == pytest.approx(2.5) and s1["final_val_acc"] == pytest.approx(0.3)
    assert s1["label"] == "egodistill, ego4d_verbs, 2 frames, seed 3"
    s0 = df[df["run"] == "s0"].iloc[0]
    assert math.isnan(s0["acc1"]) and s0["eval_dataset"] is None  # stage 0 has no classifier to evaluate
    fig = explore.plot_curve(df, s1["path"])
    assert [ax.get_title() for ax in fig.axes] == ["loss", "val_acc"]
    plt.close(fig)


def test_another_method_registers_a_reader(tmp_path):
    import pandas as pd

    folder = tmp_path / "other" / "r1"
    folder.mkdir(parents=True)

    def results(f: Path) -> list[dict]:
        return [{"method": "egodistill", "train_dataset": "ego4d", "eval_dataset": "ego4d", "seed": 2,
                 "config": {"num_frames": 4}, "acc1": 0.7, "acc3": 0.8, "acc5": 0.9, "label": f"egodistill {f.name}"}]

    explore.register_reader("test-egodistill", "other/*", results, log=lambda f: pd.DataFrame({"epoch": [1], "loss": [0.5]}))
    try:
        with pytest.raises(ValueError, match="registered twice"):
            explore.register_reader("test-egodistill", "other/*", results)
        df = explore.load(tmp_path)
        assert list(df["reader"]) == ["test-egodistill"] and list(df["label"]) == ["egodistill r1"]
        assert df["acc1"].iloc[0] == pytest.approx(0.7) and df["final_loss"].iloc[0] == pytest.approx(0.5)
        assert math.isnan(df["train_seconds"].iloc[0]) and df["config"].iloc[0] == {"num_frames": 4}
        assert len(explore.load(tmp_path, readers=["comodo"])) == 0
    finally:
        explore.READERS._items.pop("test-egodistill")


def test_filters(root):
    df = explore.load(root)
    assert sorted(explore.filter_runs(df)["run"]) == ["a", "b", "c", "d"]  # in-domain, evaluated ones
    assert sorted(explore.filter_runs(df, evaluated_on=None)["run"]) == ["a", "a", "b", "c", "d", "e"]
    assert list(explore.filter_runs(df, evaluated_on="mmea")["run"]) == ["a"]
    assert sorted(explore.filter_runs(df, method="comodo", queue_size=16)["run"]) == ["a", "b"]
    assert list(explore.filter_runs(df, method=["none", "comodo"], seed=1)["run"]) == ["b"]
    assert sorted(explore.filter_runs(df, domain="ego4d", method=explore.ALL)["run"]) == ["a", "b", "c", "d"]
    assert len(explore.filter_runs(df, domain="mmea")) == 0  # only "e", never evaluated
    with pytest.raises(ComodoError, match=r"method 'comodoo': no cached run has it \(have: comodo, none, supervised\)"):
        explore.filter_runs(df, method="comodoo")
    with pytest.raises(ComodoError, match="queue_size 99"):
        explore.filter_runs(df, queue_size=99)
    with pytest.raises(ComodoError, match=r"evaluated_on 'ego5d': no cached run has it \(have: ego4d, mmea\)"):
        explore.filter_runs(df, evaluated_on="ego5d")


def test_default_world(root):
    df = explore.load(root)
    assert explore.default_world(df, quick=True) == "quick"
    assert explore.default_world(df, quick=False) is None  # no run of the study's world: show them all
    assert explore.default_world(df, quick=False, world_size="default") == "default"


def test_plot_metric_draws_the_mean_and_every_result(root):
    df = explore.filter_runs(explore.load(root), method="comodo")
    fig = explore.plot_metric(df, "acc1", "queue_size", "method")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16"]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.5, 0.7])  # K 8: one run; K 16: mean of 2
    assert sorted(np.concatenate([line.get_ydata() for line in ax.lines])) == pytest.approx([0.5, 0.6, 0.8])
    plt.close(fig)
    fig = explore.plot_metric(explore.load(root), "final_loss", "method", "train_dataset")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["supervised", "comodo"]  # the untrained student has no loss; e (supervised) does
    plt.close(fig)
    fig = explore.plot_metric(explore.filter_runs(explore.load(root)), "acc1", "queue_size")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["8", "16", "–"]  # "–": a baseline has no K
    plt.close(fig)
    for bad in ({"metric": "loss"}, {"setting": "colour"}, {"hue": "nope"}):
        with pytest.raises(ComodoError, match=next(iter(bad.values()))):
            explore.plot_metric(df, **bad)


def test_plot_curve_draws_the_log(root):
    df = explore.load(root)
    fig = explore.plot_curve(df, str(root / "runs" / "c"))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "lr", "val_acc"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.5, 1.0]
    plt.close(fig)
    fig = explore.plot_curve(df)  # default: the first run that trained (not the untrained student)
    assert fig.get_suptitle().startswith("supervised, mmea, seed 0 · quick world · run e")
    plt.close(fig)
    fig = explore.plot_curve(df, str(root / "runs" / "d"))
    assert not fig.axes[0].lines and "no training epochs" in fig.axes[0].texts[0].get_text()
    plt.close(fig)
    with pytest.raises(ComodoError, match="not in this table"):
        explore.plot_curve(df, str(root / "runs" / "zzz"))


def test_controls_redraw_when_a_control_changes(root, monkeypatch):
    import ipywidgets

    df = explore.load(root)
    assert isinstance(explore.controls(df), plt.Figure)  # no IPython kernel here: the static figure
    plt.close("all")
    monkeypatch.setattr(explore, "live_kernel", lambda: True)
    box = explore.controls(df, method="comodo")
    assert isinstance(box, ipywidgets.VBox) and "comodo-explore" in box._dom_classes
    drops = {w.description: w for w in box.children if isinstance(w, ipywidgets.HBox) for w in w.children}
    count = next(w for w in box.children if isinstance(w, ipywidgets.HTML) and "runs" in w.value)
    run = next(w for w in box.children if isinstance(w, ipywidgets.Dropdown) and w.description == "run")
    assert drops["method"].value == "comodo" and count.value.startswith("<b>3</b> runs")
    assert [Path(p).name for _, p in run.options] == ["c", "a", "b"] and Path(run.value).name == "c"
    run.value = str(root / "runs" / "b")
    drops["seed"].value = 1
    assert Path(run.value).name == "b"  # still selected: it stays
    drops["seed"].value = explore.ALL
    drops["queue size"].value = 8
    assert count.value.startswith("<b>1</b> runs") and [Path(p).name for _, p in run.options] == ["c"]
    assert Path(run.value).name == "c"
    drops["method"].value = explore.ALL
    drops["queue size"].value = explore.ALL
    drops["evaluated on"].value = explore.ALL
    assert count.value.startswith("<b>5</b> runs, <b>6</b> results")
    assert set(drops) == {"method", "domain", "student", "queue size", "seed", "world size", "evaluated on",
                          "metric", "against", "colour by"}
    plt.close("all")


def test_records_for_the_json_name_runs_relative_to_the_cache_not_by_a_machines_path(root):
    rows = explore.records(explore.load(root), root)
    assert sorted({r["path"] for r in rows}) == ["runs/a", "runs/b", "runs/c", "runs/d", "runs/e"]
    assert all("config" not in r for r in rows) and str(root) not in json.dumps(rows)
    assert explore.records(explore.load(root), root / "elsewhere")[0]["path"] in {"a", "b", "c", "d", "e"}
