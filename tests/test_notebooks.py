"""Every study notebook, executed by papermill with ``quick=True``, writes sane numbers and its figures.

The notebooks run once per session into a temporary folder: the committed ``figures/`` are never
touched, and the caches start empty (``COMODO_DATA`` is a temporary folder, see ``conftest.py``). As in
``comodo study --quick``, the quick study's runs are trained first, in its pool of worker processes
(:func:`comodo.study.cli.prepare_and_train`: both cores busy, where a notebook trains on one), then
the notebooks are executed as the study executes them (:class:`comodo.study.cli.Notebooks`: two worker
processes side by side, the notebooks of one sharing its kernel; ``08_efficiency`` and ``00_explore``
alone, last), reading those runs; one notebook again by plain papermill in a kernel of its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from comodo.study.comodo import experiments
from comodo.study.cli import ROOT, Notebooks, notebooks, prepare_and_train

NOTEBOOKS = [p.stem for p in notebooks()]
FIGURES = {
    "01_tour": ["01_tour_batch", "01_tour_embeddings", "01_tour_queue", "01_tour_distributions",
                "01_tour_temperatures"],
    "02_distill": ["02_distill"],
    "03_queue_size": ["03_queue_size"],
    "04_methods": ["04_methods"],
    "05_cross_dataset": ["05_cross_dataset"],
    "06_umap": ["06_umap", "06_alignment"],
    "07_ablations": ["07_temperatures", "07_projection", "07_reduction"],
    "08_efficiency": ["08_efficiency"],
    "09_egodistill_tour": ["09_egodistill_tour_clip", "09_egodistill_tour_features", "09_egodistill_tour_losses"],
    "10_egodistill_cost": ["10_egodistill_cost", "10_egodistill_teachers"],
    "11_egodistill_ablations": ["11_egodistill_ablations", "11_egodistill_frame_rules"],
    "12_egodistill_imu": ["12_egodistill_per_class", "12_egodistill_reconstruction", "12_egodistill_motion",
                          "12_egodistill_retrieval"],
    "00_explore": ["00_explore_metric", "00_explore_curve"],  # last: it reads every run the others trained
}
Q = experiments.settings(quick=True)


def test_the_study_has_its_notebooks_in_order_and_the_explorer_last():
    assert NOTEBOOKS == list(FIGURES) and NOTEBOOKS[-1] == "00_explore"


# A command's output the README cites, committed beside the figures: file -> its settings' overrides
COMMAND_OUTPUTS = {"egodistill_claims_ego4d_scenarios.json": dict(domains=("ego4d",), seeds=(0,))}


def test_the_committed_figures_are_what_the_study_writes_and_nothing_stale():
    """figures/ holds each notebook's figures and numbers, and the commands' outputs the README cites,
    computed at the study's settings of today (a file left from an older budget fails here)."""
    from comodo.study.egodistill import experiments as ego

    written = {f"{n}.json" for n in NOTEBOOKS} | {f"{f}.{ext}" for figs in FIGURES.values() for f in figs
                                                  for ext in ("png", "pdf")}
    committed = {p.name for p in (ROOT / "figures").iterdir()}
    assert committed - written == set(COMMAND_OUTPUTS) and written <= committed
    readme = (ROOT / "README.md").read_text()
    for name, overrides in COMMAND_OUTPUTS.items():
        assert f"figures/{name}" in readme, name
        stored = json.loads((ROOT / "figures" / name).read_text())["settings"]
        assert stored == json.loads(json.dumps(ego.settings(**overrides).to_dict())), name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_source_is_clean(name):
    """Parameters cell with quick/figures_dir, kernel python3, no outputs, no logic defined inside."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert "quick = False" in params[0].source and 'figures_dir = "figures"' in params[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    for c in code:
        lines = c.source.splitlines()
        assert not any(line.lstrip().startswith(("def ", "class ", "lambda", "for ", "while ", "if "))
                       for line in lines), f"{name}: logic inside a notebook cell:\n{c.source}"
    assert f'{{figures_dir}}/{name}.json' in code[-1].source  # the last cell writes the numbers
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.parametrize("name", ["10_egodistill_cost", "11_egodistill_ablations", "12_egodistill_imu"])
def test_egodistill_notebooks_take_the_budget(name):
    """Each budget parameter is a field of the study's settings, documented with its default, and passed on."""
    import re

    from comodo.study.egodistill import experiments as ego

    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    params = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    code = "".join(c.source for c in nb.cells if c.cell_type == "code")
    full, quick = ego.settings(), ego.settings(quick=True)
    for field in ("num_epochs", "pretrain_epochs", "imu_width"):
        m = re.search(rf"^{field} = None +# None: (\d+)(?: \(quick: (\d+)\))?:", params, re.M)
        assert m, f"{name}: no documented parameter {field}"
        assert int(m[1]) == getattr(full, field)
        assert int(m[2] or m[1]) == getattr(quick, field)
        assert f"{field}={field}" in code and "experiments.notebook_settings(" in code


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """Run all notebooks with quick=True once; returns (figures folder, executed notebooks folder)."""
    figures = tmp_path_factory.mktemp("figures")
    out = tmp_path_factory.mktemp("executed")
    assert os.environ.get("COMODO_DATA"), "conftest.py must point COMODO_DATA at a temporary folder"
    prepare_and_train(quick=True)
    books = [ROOT / "notebooks" / f"{name}.ipynb" for name in NOTEBOOKS]
    with Notebooks(out, quick=True, figures=str(figures), side_by_side=True) as execute:
        seconds = execute(books)
    assert set(seconds) == set(books)
    return figures, out


@pytest.mark.slow
def test_a_notebook_runs_under_plain_papermill(executed, tmp_path):
    """The README's plain papermill call, a kernel of its own (the study shares one kernel per worker)."""
    import papermill

    papermill.execute_notebook(str(ROOT / "notebooks" / "02_distill.ipynb"), str(tmp_path / "02_distill.ipynb"),
                               parameters={"quick": True, "figures_dir": str(tmp_path)},
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    figures, _ = executed
    assert (tmp_path / "02_distill.json").read_bytes() == (figures / "02_distill.json").read_bytes()
    assert (tmp_path / "02_distill.png").stat().st_size > 1000


@pytest.mark.slow
def test_the_costs_find_every_figures_runs_in_the_quick_studys_cache(executed):
    """`comodo study --costs --quick` after the quick study: every folder of every figure is there."""
    from comodo.study import costs

    groups = costs.costs(quick=True)
    assert all(g.missing == 0 and g.folders for g in groups), [(g.name, g.missing) for g in groups]
    assert all(g.seconds > 0 for g in groups)


def _numbers(executed, name: str) -> dict:
    figures, _ = executed
    return json.loads((figures / f"{name}.json").read_text())


def _acc(x) -> bool:
    return isinstance(x, float) and 0.0 <= x <= 1.0


def _accs_ok(rows: list[dict], prefix: str = "acc") -> bool:
    keys = [k for k in rows[0] if k.startswith(prefix) and not k.endswith(("_std", "_n"))]
    return bool(keys) and all(_acc(float(r[k])) for r in rows for k in keys if r[k] is not None)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_figures_written(executed, name):
    figures, out = executed
    assert (out / f"{name}.ipynb").exists()
    for fig in FIGURES[name]:
        for ext in ("png", "pdf"):
            path = figures / f"{fig}.{ext}"
            assert path.exists() and path.stat().st_size > 1000, path
    assert not list(Path(ROOT / "figures").glob("*.tmp"))


@pytest.mark.slow
def test_tour_numbers(executed):
    n = _numbers(executed, "01_tour")
    assert len(n["batch_labels"]) == 8 and n["config"]["world_size"] == "quick"
    for stage in ("before", "after"):
        assert n[stage]["loss"] > 0 and -1 <= n[stage]["paired_cosine"] <= 1
    assert len(n["temperatures"]["tau"]) == len(n["temperatures"]["entropy"]) == 5
    assert 0 < n["temperatures"]["entropy"][0] < n["temperatures"]["entropy"][-1] <= n["temperatures"]["max_entropy"]


@pytest.mark.slow
def test_distill_numbers(executed):
    n = _numbers(executed, "02_distill")
    assert len(n["history"]) == n["config"]["num_epochs"] == Q.num_epochs
    assert all(_acc(float(r["val_acc"])) for r in n["history"])
    svm = n["svm"]
    assert _acc(svm["acc1"]) and svm["acc1"] <= svm["acc3"] <= svm["acc5"] <= 1.0
    assert all(_acc(v) for v in n["teacher_svm"].values())


@pytest.mark.slow
def test_queue_size_numbers(executed):
    from comodo.study.comodo import runs

    n = _numbers(executed, "03_queue_size")
    expected = {(d, k) for d in Q.domains for k in runs.queue_sizes(d, Q.queue_sizes, Q.world_size)}
    assert {(r["train_dataset"], r["queue_size"]) for r in n["summary"]} == expected
    assert all(r["n"] == len(Q.seeds) for r in n["summary"])
    assert len(n["runs"]) == len(expected) * len(Q.seeds) and _accs_ok(n["runs"])
    assert _accs_ok(n["summary"]) and n["authors"] and n["authors_label"].startswith("authors")


@pytest.mark.slow
def test_methods_numbers(executed):
    n = _numbers(executed, "04_methods")
    assert {(r["eval_dataset"], r["method"]) for r in n["summary"]} == {(d, m) for d in Q.domains for m in Q.methods}
    assert _accs_ok(n["summary"]) and _accs_ok(n["teacher"])
    assert {r["eval_dataset"] for r in n["teacher"]} == set(Q.domains)
    assert len(n["authors"]) == 15
    summary = {(r["eval_dataset"], r["method"]): r["acc1_mean"] for r in n["summary"]}
    for g in n["comodo_vs_none"]:
        d = g["eval_dataset"]
        assert g["gain"] == pytest.approx(summary[(d, "comodo")] - summary[(d, "none")])
        assert g["meets_threshold"] == (g["gain"] >= 0.05) and g["n_seeds"] == len(Q.seeds)
    assert [g["eval_dataset"] for g in n["comodo_vs_none"]] == list(Q.domains)


@pytest.mark.slow
def test_report_prints_every_table_from_the_numbers(executed):
    from comodo.study.report import report

    figures, _ = executed
    text = report(figures)
    methods = _numbers(executed, "04_methods")
    comodo_ego4d = next(r for r in methods["summary"] if r["method"] == "comodo" and r["eval_dataset"] == "ego4d")
    assert f"{comodo_ego4d['acc1_mean']:.3f} ± {comodo_ego4d['acc1_std']:.3f}" in text
    for title in ("Methods", "untrained student", "Queue size", "Cross-dataset", "Ablations", "temperatures",
                  "EgoDistill: the paper's two claims", "number of frames N", "two embedded teachers",
                  "Table 1's rows", "what the IMU adds"):
        assert title in text
    claims = _numbers(executed, "10_egodistill_cost")["claims"][0]
    assert f"| {claims['domain']} | {claims['egodistill']:.3f} ± {claims['std']['egodistill']:.3f} |" in text
    assert "nan" not in text.lower()


@pytest.mark.slow
def test_cross_dataset_numbers(executed):
    n = _numbers(executed, "05_cross_dataset")
    assert len(n["table"]) == len(Q.domains) ** 2
    assert {(r["method"], r["train_dataset"], r["eval_dataset"]) for r in n["summary"]} == {
        (m, a, b) for m in ("comodo", "supervised", "none") for a in Q.domains for b in Q.domains}
    assert _accs_ok(n["summary"])
    for r in n["table"]:
        assert all(_acc(r[k]) for k in ("comodo", "comodo_in_domain", "supervised", "untrained"))
        if r["train_dataset"] == r["eval_dataset"]:
            assert r["gap_to_in_domain"] == 0.0


@pytest.mark.slow
def test_umap_numbers(executed):
    n = _numbers(executed, "06_umap")
    assert n["n_points"] > 0 and n["n_classes"] >= 2
    for stage in ("before", "after"):
        m = n["alignment"][stage]
        assert -1 <= m["paired_cosine"] <= 1 and -1 <= m["unpaired_cosine"] <= 1
        assert all(_acc(m[k]) for k in ("retrieval_at_1", "cross_modal_knn", "neighbour_overlap"))


@pytest.mark.slow
def test_ablation_numbers(executed):
    n = _numbers(executed, "07_ablations")
    assert {(r["student_temp"], r["teacher_temp"]) for r in n["temperatures"]} == {
        (a, b) for a in Q.student_temps for b in Q.teacher_temps}
    assert {(r["train_dataset"], r["projection"]) for r in n["projection"]} == {
        (d, p) for d in Q.domains for p in ("random_mlp", "none")}
    assert {(r["train_dataset"], r["reduction"]) for r in n["reduction"]} == {
        (d, p) for d in Q.domains for p in ("concat", "mean")}
    for key in ("temperatures", "projection", "reduction"):
        assert _accs_ok(n[key])
    assert len(n["authors_reduction"]) == 6


@pytest.mark.slow
def test_efficiency_numbers(executed):
    """quick: shrunk teachers, students at real size (exact counts) timed at batch 1, batch 32 said not timed."""
    from comodo.study.efficiency import (EGODISTILL_GFLOPS_RATIO, EGODISTILL_ORDER, MAX_REPEATS, ORDER,
                                         QUICK_TEACHER_CONFIGS)

    n = _numbers(executed, "08_efficiency")
    assert n["plan"]["quick"] and n["egodistill_gflops_ratio"] == EGODISTILL_GFLOPS_RATIO == 200.0
    rows = {r["model"]: r for r in n["rows"]}
    assert [r["model"] for r in n["rows"]] == list(ORDER)
    real = {"mantis": (8103936, 3384957696), "moment": (18887872, 14800650240), "dilated_cnn": (44160, 6930432),
            "imu_student": (836864, 8503296), "egodistill_n1": (13257886, 3675415296),
            "egodistill_n2": (14833822, 7308829440), "egodistill_n4": (14833822, 14569366272),
            "visonly_n1": (12561310, 3629888512)}
    for r in n["results"]:
        if r["model"] in QUICK_TEACHER_CONFIGS:
            assert r["label"].endswith("[custom config]") and r["config_overrides"] == QUICK_TEACHER_CONFIGS[r["model"]]
        else:
            assert (r["params"], r["flops_per_clip"]) == real[r["model"]] and r["threads"] == 1
            lat, budget_ms = r["latency"]["1"], 1000 * n["plan"]["time_budget_s"]
            # the adaptive protocol: at least 3 timed runs, or 1 when the warm-up run alone took longer than
            # the budget (MOMENT on a loaded core), and runs until the budget is spent
            assert lat["warmup_runs"] == 1 and (lat["runs"] >= 3 or lat["warmup_ms"][0] > budget_ms)
            assert sum(lat["times_ms"]) >= budget_ms or lat["runs"] == MAX_REPEATS
        assert r["uncounted_compute_ops"] == [] and r["latency_ms_per_clip"]["1"] > 0
    for row in rows.values():
        assert row["ms_per_clip_b32"] is None and row["not_measured_b32"] == "not timed (quick=True)"
        assert row["gflops_ratio_vs_timesformer"] == pytest.approx(
            rows["timesformer"]["gflops_per_clip"] / row["gflops_per_clip"])
    assert "not measured [1]" in n["markdown"] and "| Mantis-8M | student | 8.10 | 3.38 |" in n["markdown"]
    assert "| EgoDistill Φ (N=1) | student | 13.3 | 3.68 |" in n["markdown"]
    assert {m: r["input_name"] for m, r in rows.items()} == {
        "timesformer": "pixel_values", "videomae": "pixel_values", "mantis": "imu", "moment": "imu",
        "dilated_cnn": "imu", "imu_student": "imu", "egodistill_n1": "frames+imu", "egodistill_n2": "frames+imu",
        "egodistill_n4": "frames+imu", "visonly_n1": "frames"}
    t3 = n["egodistill_table3"]  # the paper's Table 3 beside our Φ rows
    assert [r["model"] for r in t3] == ["Video (MotionFormer)", "AdaFuse", "STTS", "ListenToLook", "EgoDistill",
                                        "timesformer", "videomae", *EGODISTILL_ORDER]
    phi = {r["model"]: r for r in t3}["egodistill_n1"]
    assert phi["counterpart"] == "EgoDistill" and phi["gmacs_per_clip"] == pytest.approx(1.837707648)
    assert phi["ratio_vs_paper_video"] == pytest.approx(369.51 / 1.837707648)
    assert phi["ratio_vs_video"] == pytest.approx(rows["egodistill_n1"]["gflops_ratio_vs_videomae"])
    assert "| EgoDistill | paper, Table 3 | 20.6 | 3.82 | 1.91 |" in n["egodistill_table3_markdown"]


@pytest.mark.slow
def test_egodistill_tour_numbers(executed):
    n = _numbers(executed, "09_egodistill_tour")
    assert n["config"]["world_size"] == "quick" and n["config"]["use_imu"] and not n["visonly_config"]["use_imu"]
    assert n["teacher_cache_ok"] and n["image_cache_ok"] and n["clip"]["label"] in n["classes"]
    assert n["teacher_top"] in n["classes"] and n["student_top"] in n["classes"] and -1 <= n["cosine"] <= 1
    assert len(n["batch"]["uids"]) == 16 and n["batch"]["uids"][0] == f"{n['clip']['uid']}#{n['clip']['window']}"
    for stage in ("start", "trained"):
        b = n["losses"][stage]["batch"]
        assert b["total"] == pytest.approx(n["alpha"] * b["kd"] + (1 - n["alpha"]) * b["gt"] + n["beta"] * b["l1"],
                                          rel=1e-5)
        assert b["total"] == pytest.approx(n["losses"][stage]["per_clip_mean"]["total"], rel=1e-5)


@pytest.mark.slow
def test_egodistill_imu_numbers(executed):
    from comodo.study.egodistill import experiments as ego

    n = _numbers(executed, "12_egodistill_imu")
    q = ego.settings(quick=True)
    assert list(n["per_class_gain"]) == list(q.domains) and len(n["configs"]) == 2 * len(q.domains) * len(q.seeds)
    for rows in n["per_class_gain"].values():
        assert all(r["gain"] == pytest.approx(100 * (r["ours"] - r["base"])) for r in rows)
        assert [r["gain"] for r in rows] == sorted((r["gain"] for r in rows), reverse=True)
    for m in n["motion"].values():
        for v in ("egodistill", "visonly_distill"):
            b = m[v]["by_gyro"]
            assert sum(b["counts"]) == m["n_clips"] and b["moderate_best"] == (0 < b["best_bin"] < b["bins"] - 1)
        assert 0 < m["gyro_rad_s"]["min"] <= m["gyro_rad_s"]["median"] <= m["gyro_rad_s"]["max"]
    r = n["retrieval"]
    assert r["visonly_distill"]["distinct"] == 1 <= r["egodistill"]["distinct"] <= len(r["segment_labels"])
    assert all(s["visonly_distill"]["distinct"] == 1.0 for s in n["retrieval_per_domain"].values())
    assert n["paper"]["per_class_gain"] and len(n["best_worst"]["best"]["uids"]) == 4


def _no_absolute_paths(numbers: dict) -> bool:
    text = json.dumps(numbers)
    return str(ROOT) not in text and os.environ["COMODO_DATA"] not in text


@pytest.mark.slow
def test_egodistill_cost_numbers(executed):
    from comodo.study.egodistill import experiments as ego

    q = ego.settings(quick=True)
    n = _numbers(executed, "10_egodistill_cost")
    assert n["settings"]["domains"] == list(q.domains) and n["settings"]["quick"] and _no_absolute_paths(n)
    g = n["gflops_per_clip"]
    assert 0 < g["visonly_n1"] < g["egodistill_n1"] < g["egodistill_n2"] < g["egodistill_n4"] < g["videomae"]
    summary = n["cost"]["summary"]
    assert ({(r["domain"], r["variant"], r["frames"]) for r in summary}
            == {(d, v, f) for d in q.domains for v in ego.COST_VARIANTS for f in q.frames})
    assert all(r["n"] == len(q.seeds if r["frames"] == 1 else q.multi_frame_seeds) and r["gflops"] == g[r["model"]]
               for r in summary)
    assert _accs_ok(summary, "video_top1") and _accs_ok(n["cost"]["teacher"], "teacher_video_top1")
    assert len(n["cost"]["runs"]) == len(ego.cost_configs(q))
    assert all(r["config"]["world_size"] == "quick" and r["config"]["init"] is None for r in n["cost"]["runs"])
    # the claims table (experiments.claims): consistent in itself and with the cost sweep's N = 1 runs
    assert [r["domain"] for r in n["claims"]] == list(q.domains) and n["claims_threshold_points"] == ego.THRESHOLD
    assert len(n["claims_runs"]) == len(ego.claim_configs(q))
    for r in n["claims"]:
        assert r["seeds"] == len(q.seeds) and all(_acc(r[v]) for v in ego.CLAIM_VARIANTS)
        assert r["gain_over_visonly_distill"] == pytest.approx(100 * (r["egodistill"] - r["visonly_distill"]))
        assert r["gain_over_visimu"] == pytest.approx(100 * (r["egodistill"] - r["visimu"]))
        assert r["a_holds"] == (r["gain_over_visonly_distill"] >= ego.THRESHOLD)
        assert r["b_holds"] == (r["gain_over_visimu"] >= ego.THRESHOLD)
        at_1 = {s["variant"]: s["video_top1_mean"] for s in summary if s["domain"] == r["domain"] and s["frames"] == 1}
        assert all(r[v] == pytest.approx(at_1[v]) for v in ego.CLAIM_VARIANTS)
    teachers = n["teachers"]["summary"]
    assert {(r["domain"], r["teacher"]) for r in teachers} == {(d, t) for d in q.domains for t in ego.TEACHERS}
    assert all(r["gain_points"] == pytest.approx(100 * (r["egodistill"] - r["visonly_distill"])) for r in teachers)
    assert all(_acc(r["video"]) and r["seeds"] == len(q.ablation_seeds) for r in teachers)
    paper = n["paper"]
    assert len(paper["table2_teachers_N1"]) == 8 and len(paper["cost_points"]) == 10
    assert {r["table"] for r in paper["cost_points"]} == {"Table 1", "Table 2", "Table 4"}
    assert all(r["source"] == "paper" for r in paper["cost_points"] + paper["table2_teachers_N1"])


@pytest.mark.slow
def test_egodistill_ablation_numbers(executed):
    from comodo.egodistill.clips import FRAME_RULES
    from comodo.study.egodistill import experiments as ego

    q = ego.settings(quick=True)
    n = _numbers(executed, "11_egodistill_ablations")
    assert _no_absolute_paths(n)
    t1, t4 = n["table1"], n["table4"]
    assert [r["row"] for r in t1["summary"]] == list(ego.ABLATION_ROWS) * len(q.domains)
    assert [r["rule"] for r in t4["summary"]] == list(FRAME_RULES) * len(q.domains)
    for table, key, ref, names in ((t1, "row", ego.FULL_ROW, list(ego.ABLATION_ROWS)),
                                   (t4, "rule", ego.REFERENCE_RULE, list(FRAME_RULES))):
        assert table["reference"] == ref and _accs_ok(table["summary"], "video_top1")
        assert all(r["n"] == len(q.ablation_seeds) for r in table["summary"])
        assert len(table["runs"]) == len(names) * len(q.domains) * len(q.ablation_seeds)
        for d in q.domains:
            rows = {r[key]: r for r in table["summary"] if r["domain"] == d}
            assert rows[ref]["delta_points"] == 0
            for r in rows.values():
                assert r["delta_points"] == pytest.approx(100 * (r["video_top1_mean"] - rows[ref]["video_top1_mean"]))
        beside = table["beside_paper"]
        assert [r[key] for r in beside] == names
        assert all(_acc(r["paper_ego4d"]) and _acc(r["paper_epic_kitchens"]) for r in beside)
    assert {r["row"]: r["paper_epic_kitchens"] for r in t1["beside_paper"]}[ego.FULL_ROW] == pytest.approx(0.4495)
    assert [r["domain"] for r in n["noise"]] == list(q.domains)
    for r in n["noise"]:
        assert r["one_video_points"] == pytest.approx(100 / r["n_videos"]) and r["seeds"] == len(q.seeds)
        assert r["noise_points"] == pytest.approx(max(r["one_video_points"], r["seed_std_points"] or 0.0))
    # the same runs as notebook 10's: Table 1's VisIMU row is VisIMU at N = 1, uniform at N = 4 EgoDistill at N = 4
    cost = {(r["domain"], r["variant"], r["frames"]): r["video_top1_mean"]
            for r in _numbers(executed, "10_egodistill_cost")["cost"]["summary"]}
    for d in q.domains:
        rows = {r["row"]: r["video_top1_mean"] for r in t1["summary"] if r["domain"] == d}
        assert rows[ego.VISIMU_ROW] == pytest.approx(cost[(d, "visimu", 1)])
        assert rows[ego.FULL_ROW] == pytest.approx(cost[(d, "egodistill", 1)])
        uniform = next(r for r in t4["summary"] if r["domain"] == d and r["rule"] == ego.REFERENCE_RULE)
        assert uniform["video_top1_mean"] == pytest.approx(cost[(d, "egodistill", 4)])
