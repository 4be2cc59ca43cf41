"""The figures of notebooks 10 and 11 on hand-made tables (no training): panels, series, labels, the paper's in grey."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from comodo.egodistill.clips import FRAME_RULES  # noqa: E402
from comodo.study import plotting  # noqa: E402
from comodo.study.egodistill import experiments as ex, plots  # noqa: E402

DOMAINS = ("ego4d_verbs", "mmea_verbs")
FLOPS = {"egodistill_n1": 3.7, "egodistill_n2": 7.3, "egodistill_n4": 14.6, "visonly_n1": 3.6, "visonly_n2": 7.2,
         "visonly_n4": 14.5, "videomae": 360.7, "timesformer": 391.7}
GREY = to_rgba(plotting.AUTHORS_COLOR)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _cost_tables():
    rows = []
    for d in DOMAINS:
        for k, v in enumerate(ex.COST_VARIANTS):
            for n in (1, 2, 4):
                model = f"{'egodistill' if v in ('egodistill', 'visimu') else 'visonly'}_n{n}"
                rows.append({"domain": d, "variant": v, "frames": n, "model": model, "video_top1_mean": 0.3 + 0.02 * k,
                             "video_top1_std": 0.01, "n": 3, "gflops": FLOPS[model]})
    teacher = pd.DataFrame([{"domain": d, "teacher": "embedded", "teacher_video_top1": 0.6, "teacher_clip_top1": 0.5,
                             "model": "videomae", "gflops": FLOPS["videomae"]} for d in DOMAINS])
    return pd.DataFrame(rows), teacher, ex.paper_cost_points(FLOPS)


def test_cost_says_how_many_seeds_each_n_has():
    summary, teacher, paper = _cost_tables()
    summary.loc[summary["frames"] > 1, "n"] = 1
    labels = _legend_texts(plots.cost(summary, teacher, paper))
    assert "EgoDistill (embedded world, 3/1/1 seeds at N = 1/2/4)" in labels


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_cost_draws_each_variant_the_teacher_and_the_paper_s_points():
    summary, teacher, paper = _cost_tables()
    fig = plots.cost(summary, teacher, paper)
    assert isinstance(fig, Figure) and len(fig.axes) == len(DOMAINS) + 1
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    labels = _legend_texts(fig)
    for name in ("EgoDistill", "VisOnly-Distill", "VisIMU", "VisOnly"):
        assert f"{name} (embedded world, 3 seeds)" in labels
    for name in ("EgoDistill", "VisOnly-Distill", "VisIMU"):  # the paper publishes no VisOnly number
        assert f"{name} (theirs)" in labels
    assert "MotionFormer (theirs)" in labels and any(label.startswith("video teacher") for label in labels)
    ours = fig.axes[0]
    lines = [line for line in ours.get_lines() if len(line.get_xdata()) == 3 and line.get_marker() != "_"]  # not caps
    assert len(lines) == len(ex.COST_VARIANTS)  # one line through N = 1, 2, 4 per variant
    ego = next(line for line in lines if to_rgba(line.get_color()) == to_rgba(plots.VARIANT_COLORS["egodistill"]))
    assert list(ego.get_ydata()) == pytest.approx([30.0] * 3)  # percent
    assert list(ego.get_xdata()) == pytest.approx([FLOPS[f"egodistill_n{n}"] * plots.X_OFFSET["egodistill"]
                                                   for n in (1, 2, 4)])
    star = [line for line in ours.get_lines() if line.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == FLOPS["videomae"] and star[0].get_ydata()[0] == 60.0
    theirs = fig.axes[-1]
    assert theirs.get_lines() and all(to_rgba(line.get_color()) == GREY for line in theirs.get_lines())
    assert "the paper's" in theirs.get_title() and "Fig. 3" in fig.get_suptitle()
    ys = {round(float(y), 2) for line in theirs.get_lines() for y in line.get_ydata()}
    assert {46.38, 37.95, 34.32, 34.15, 38.46, 77.28, 52.43} <= ys  # Tables 1, 2, 4 in percent


def _teacher_tables():
    ours = pd.DataFrame([{"domain": d, "teacher": t, "video": 0.6, "egodistill": 0.4, "visonly_distill": 0.35,
                          "gain_points": 5.0, "seeds": 1} for d in DOMAINS for t in ex.TEACHERS])
    return ours, ex.paper_table2()


def test_teachers_draws_ours_and_the_paper_s_table_2():
    ours, paper = _teacher_tables()
    fig = plots.teachers(ours, paper)
    assert len(fig.axes) == len(DOMAINS) + 2
    for ax in fig.axes[:len(DOMAINS)]:
        assert len(ax.patches) == len(ex.TEACHERS) * 3
        assert [t.get_text() for t in ax.get_xticklabels()] == ["embedded\nVideoMAE", "embedded\nTimeSformer"]
        assert sum(t.get_text() == "gain +5.0 pts" for t in ax.texts) == len(ex.TEACHERS)
    epic = fig.axes[-1]
    assert len(epic.patches) == 4 * 3 and "EPIC" in epic.get_title() and "paper" in epic.get_title()
    assert all(p.get_facecolor()[:3] == to_rgba(plots.PAPER_GREYS[h])[:3] for p, h in
               zip(epic.patches, [h for h in ("video", "egodistill", "visonly_distill") for _ in range(4)]))
    assert "gain +7.8 pts" in [t.get_text() for t in epic.texts]  # MotionFormer on EPIC: 44.95 − 37.20
    labels = _legend_texts(fig)
    assert "EgoDistill (embedded world, 1 seed)" in labels and "EgoDistill (theirs)" in labels


def _delta_tables(key: str, names, reference: str, paper):
    rows = [{"domain": d, key: name, "video_top1_mean": 0.5 + 0.01 * i, "n": 1,
             "delta_points": 100 * ((0.5 + 0.01 * i) - (0.5 + 0.01 * list(names).index(reference)))}
            for d in DOMAINS for i, name in enumerate(names)]
    noise = pd.DataFrame([{"domain": d, "n_videos": 50, "one_video_points": 2.0, "seed_std_points": 3.0,
                           "seeds": 3, "noise_points": 3.0} for d in DOMAINS])
    return pd.DataFrame(rows), paper, noise


def test_ablations_band_hatches_the_rows_inside_the_noise():
    summary, paper, noise = _delta_tables("row", ex.ABLATION_ROWS, ex.FULL_ROW, ex.paper_table1())
    fig = plots.ablations(summary, paper, noise)
    assert len(fig.axes) == len(DOMAINS) + 2
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(ex.ABLATION_ROWS)
    ours = fig.axes[0]
    bars = [p for p in ours.patches if p.get_height() == pytest.approx(0.7)]
    band = [p for p in ours.patches if p not in bars]
    assert len(bars) == len(ex.ABLATION_ROWS) and len(band) == 1
    x0, x1 = band[0].get_x(), band[0].get_x() + band[0].get_width()
    assert (x0, x1) == pytest.approx((-3.0, 3.0))
    deltas = [b.get_width() for b in bars]
    assert deltas == pytest.approx(list(summary[summary["domain"] == DOMAINS[0]]["delta_points"]))
    hatched = [bool(b.get_hatch()) for b in bars]  # |Δ| ≤ 3 points, not the reference row itself
    assert hatched == [abs(d) <= 3 and n != ex.FULL_ROW for d, n in zip(deltas, ex.ABLATION_ROWS)]
    assert any(hatched) and not all(hatched)
    epic = fig.axes[-1]
    assert len(epic.patches) == len(ex.ABLATION_ROWS) and all(p.get_facecolor()[:3] == GREY[:3] for p in epic.patches)
    assert [p.get_width() for p in epic.patches][0] == pytest.approx(35.04 - 44.95)  # VisIMU on EPIC
    assert "theirs" in epic.get_title() and any("within noise, ± 3.0 pts" in t for t in _legend_texts(fig))


def test_frame_rules_and_no_band_without_a_noise_table():
    summary, paper, _ = _delta_tables("rule", FRAME_RULES, ex.REFERENCE_RULE, ex.paper_table4())
    fig = plots.frame_rules(summary, paper)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(FRAME_RULES)
    assert len(fig.axes[0].patches) == len(FRAME_RULES) and not any(p.get_hatch() for p in fig.axes[0].patches)
    ego4d = fig.axes[len(DOMAINS)]
    assert [p.get_width() for p in ego4d.patches] == pytest.approx([0.0, 36.85 - 38.46, 38.68 - 38.46,
                                                                    35.46 - 38.46, 37.04 - 38.46])
    assert "Table 4" in fig.get_suptitle()


def test_save_is_the_shared_one_and_domain_labels():
    assert plots.save is plotting.save
    assert plots.domain_label("ego4d_verbs") == "Ego4D-like verbs (embedded world)"
    assert plots.domain_label("mmea") == "MMEA-like (embedded world)"
