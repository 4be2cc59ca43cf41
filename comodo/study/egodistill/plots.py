"""EgoDistill's figures of notebooks 10 and 11, one plotting function per figure; each takes tables and
returns a matplotlib Figure.

The inputs are the tidy tables of :mod:`comodo.study.egodistill.experiments` (our runs on the embedded
world, averaged over seeds) and its ``paper_*`` tables (the paper's numbers: real Ego4D / EPIC-Kitchens,
a MotionFormer teacher unless stated). The style, :func:`save` (re-exported for the notebooks) and the
bar helper are :mod:`comodo.study.plotting`'s; our numbers are labelled "embedded world", the paper's are
drawn in grey (:data:`~comodo.study.plotting.AUTHORS_COLOR`) and labelled as theirs. Accuracies are drawn
in percent (per-video top-1 × 100); differences in points.

- :func:`cost`: the paper's Fig. 3, per-video top-1 against GFLOPs per clip for N = 1, 2, 4;
- :func:`teachers`: the paper's Table 2, the same students under two teachers;
- :func:`ablations`: the paper's Table 1, each row's difference to the full EgoDistill;
- :func:`frame_rules`: the paper's Table 4, each frame-selection rule's difference to uniform.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from comodo.study.plotting import (AUTHORS_COLOR, HUE_COLORS, METHOD_COLORS, WORLD, grouped_bars, save,  # noqa: F401
                                   styled)

VARIANT_LABELS = {"egodistill": "EgoDistill", "visonly_distill": "VisOnly-Distill", "visimu": "VisIMU",
                  "visonly": "VisOnly", "video": "video teacher"}
VARIANT_COLORS = {"egodistill": METHOD_COLORS["comodo"], "visonly_distill": HUE_COLORS[0], "visimu": HUE_COLORS[2],
                  "visonly": HUE_COLORS[3], "video": "0.1"}
TEACHER_LABELS = {"embedded": "embedded VideoMAE", "embedded-timesformer": "embedded TimeSformer"}
PAPER_LABELS = {"ego4d": "Ego4D", "epic_kitchens": "EPIC-Kitchens-100"}
PAPER_MARKERS = {"ego4d": "o", "epic_kitchens": "s"}
PAPER_GREYS = {"video": "0.25", "egodistill": AUTHORS_COLOR, "visonly_distill": "0.75"}
THEIRS = "the paper's (real data; theirs)"
NOISE_COLOR = "#e69f00"


def domain_label(d: str) -> str:
    """``ego4d_verbs`` → "Ego4D-like verbs (embedded world)"."""
    base = d.removesuffix("_verbs")
    name = {"ego4d": "Ego4D", "egoexo4d": "EgoExo4D", "mmea": "MMEA"}.get(base, base)
    return f"{name}-like{' verbs' if d.endswith('_verbs') else ''} ({WORLD})"


def _records(table) -> list[dict]:
    return table.to_dict(orient="records") if hasattr(table, "to_dict") else [dict(r) for r in table]


# ------------------------------------------------------------------------------- 10. accuracy vs cost
VARIANT_MARKERS = {"egodistill": "o", "visonly_distill": "s", "visimu": "^", "visonly": "D", "video": "*"}
# Variants on the same architecture share an x (EgoDistill/VisIMU, VisOnly/VisOnly-Distill): each is drawn a
# little to the side, by this factor of x, so that neither hides the other.
X_OFFSET = {"egodistill": 0.97, "visimu": 1.03, "visonly_distill": 0.97, "visonly": 1.03, "video": 1.0}


def _frames_text(frames) -> str:
    return "" if frames is None or frames != frames else f" N={int(frames)}"  # None or NaN: no N (a video model)


def _seeds_text(line: Sequence[dict]) -> str:
    """"3 seeds", or "3/1/1 seeds at N = 1/2/4" when the N differ in seed count."""
    counts = [int(r["n"]) for r in line]
    if len(set(counts)) == 1:
        return f"{counts[0]} seed{'s' * (counts[0] > 1)}"
    return f"{'/'.join(map(str, counts))} seeds at N = {'/'.join(str(r['frames']) for r in line)}"


def _legend_below(fig: Figure, axes, ncol: int = 4) -> None:
    """One legend for the figure, below the panels: every labelled artist of ``axes``, each label once."""
    handles: dict = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=ncol, frameon=False)


@styled
def cost(summary, teacher, paper) -> Figure:
    """Per-video top-1 against GFLOPs per clip (log x), one panel per domain of ours and one of the paper's.

    Args:
        summary: :func:`~comodo.study.egodistill.experiments.cost_summary` rows (domain, variant, frames,
            video_top1_mean, video_top1_std, n, gflops): one line per variant through N = 1, 2, 4 (error bars:
            std over seeds, where there are several; the legend gives the seed count per N; variants of one
            architecture drawn ±3 % apart in x, :data:`X_OFFSET`).
        teacher: :func:`~comodo.study.egodistill.experiments.teacher_reference` rows (domain, teacher,
            teacher_video_top1, model, gflops): the video teacher as a star at its real-size GFLOPs and a
            dashed line.
        paper: :func:`~comodo.study.egodistill.experiments.paper_cost_points` rows (dataset, variant, frames,
            video_top1, gflops), in grey in the last panel: filled markers Ego4D, open EPIC-Kitchens.
    """
    rows, teachers, theirs = _records(summary), _records(teacher), _records(paper)
    domains = sorted({r["domain"] for r in rows})
    fig, axes = plt.subplots(1, len(domains) + 1, figsize=(max(11.0, 4.3 * (len(domains) + 1)), 4.6),
                             layout="constrained", squeeze=False)
    axes = axes[0]
    for ax, d in zip(axes, domains):
        mine = [r for r in rows if r["domain"] == d]
        for v in [v for v in VARIANT_LABELS if any(r["variant"] == v for r in mine)]:
            line = sorted((r for r in mine if r["variant"] == v), key=lambda r: (r["gflops"], r["frames"]))
            x = [r["gflops"] * X_OFFSET[v] for r in line]
            y = [100 * r["video_top1_mean"] for r in line]
            err = [100 * r["video_top1_std"] for r in line]
            ax.errorbar(x, y, yerr=err if any(err) else None, marker=VARIANT_MARKERS[v], ms=4, lw=1.3, capsize=2,
                        color=VARIANT_COLORS[v], label=f"{VARIANT_LABELS[v]} ({WORLD}, {_seeds_text(line)})")
            for r, xi, yi in zip(line, x, y):
                if v == "egodistill":
                    ax.annotate(f"N={r['frames']}", (xi, yi), textcoords="offset points", xytext=(-4, 5),
                                fontsize=6, ha="right", color="0.3")
        for t in (t for t in teachers if t["domain"] == d):
            y = 100 * t["teacher_video_top1"]
            label = f"video teacher ({TEACHER_LABELS.get(t['teacher'], t['teacher'])}; x: {t['model']}-base)"
            ax.axhline(y, ls="--", lw=1, color=VARIANT_COLORS["video"], zorder=0)
            if t.get("gflops") is not None:
                ax.plot([t["gflops"]], [y], "*", ms=9, color=VARIANT_COLORS["video"], label=label)
        ax.set_xscale("log")
        ax.set_title(domain_label(d))
        ax.set_ylabel("per-video top-1 (%), test split")
    ax = axes[-1]
    for ds in PAPER_LABELS:
        pts = [r for r in theirs if r["dataset"] == ds]
        if not pts:
            continue
        face = AUTHORS_COLOR if ds == "ego4d" else "white"
        ego = sorted((r for r in pts if r["variant"] == "egodistill"), key=lambda r: r["frames"])
        style = "filled markers, solid" if ds == "ego4d" else "open markers, dotted"
        ax.plot([r["gflops"] * X_OFFSET["egodistill"] for r in ego], [r["video_top1"] * 100 for r in ego], lw=1,
                color=AUTHORS_COLOR, ls="-" if ds == "ego4d" else ":", label=f"{PAPER_LABELS[ds]} (theirs): {style}")
        for r in pts:
            v = r["variant"]
            ax.plot([r["gflops"] * X_OFFSET.get(v, 1.0)], [r["video_top1"] * 100], ls="none",
                    marker=VARIANT_MARKERS.get(v, "o"), ms=9 if v == "video" else 5, color=AUTHORS_COLOR, mfc=face,
                    label=f"{'MotionFormer' if v == 'video' else VARIANT_LABELS.get(v, v)} (theirs)")
            if v == "video":
                ax.axhline(r["video_top1"] * 100, ls="--", lw=0.8, color=AUTHORS_COLOR, zorder=0)
            if v == "egodistill":
                ax.annotate(_frames_text(r["frames"]).strip(), (r["gflops"] * X_OFFSET[v], r["video_top1"] * 100),
                            textcoords="offset points", xytext=(-4, 5), fontsize=6, ha="right", color=AUTHORS_COLOR)
    ax.set_xscale("log")
    ax.set_title("the paper's numbers (Tables 1, 2, 4: real Ego4D / EPIC)", color=AUTHORS_COLOR)
    ax.set_ylabel("per-video top-1 (%), theirs")
    for ax in axes:
        ax.set_xlabel("GFLOPs per clip at real size (multiply-add = 2; log)")
    _legend_below(fig, axes, ncol=3)
    fig.suptitle("Accuracy against cost (the paper's Fig. 3). Ours: small students on the embedded world, x = their "
                 "architectures at the paper's size;\nthe paper's: its published points (Fig. 3's curves are not "
                 "published as numbers). Compare trends, not values.")
    return fig


# ---------------------------------------------------------------------------------- 10. two teachers
@styled
def teachers(summary, paper) -> Figure:
    """The same students under different teachers (the paper's Table 2, N = 1): per domain (ours) and per
    dataset (the paper's, grey), bars of the teacher's own per-video top-1, EgoDistill and VisOnly-Distill,
    EgoDistill's gain over VisOnly-Distill written above each group.

    Args:
        summary: :func:`~comodo.study.egodistill.experiments.teacher_summary` rows (domain, teacher, video,
            egodistill, visonly_distill, gain_points, seeds).
        paper: :func:`~comodo.study.egodistill.experiments.paper_table2` rows (dataset, teacher, video,
            egodistill, visonly_distill, gain_points).
    """
    rows, theirs = _records(summary), _records(paper)
    domains = sorted({r["domain"] for r in rows})
    datasets = [ds for ds in PAPER_LABELS if any(r["dataset"] == ds for r in theirs)]
    hues = ("video", "egodistill", "visonly_distill")
    n = len(domains) + len(datasets)
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n + 0.5, 3.8), layout="constrained", squeeze=False,
                             gridspec_kw={"width_ratios": [1] * len(domains) + [1.6] * len(datasets)})
    axes = axes[0]
    panels = [(ax, [r for r in rows if r["domain"] == d], "teacher", domain_label(d), False)
              for ax, d in zip(axes, domains)]
    panels += [(ax, [r for r in theirs if r["dataset"] == ds], "teacher", f"{PAPER_LABELS[ds]} (the paper's)", True)
               for ax, ds in zip(axes[len(domains):], datasets)]
    for ax, group_rows, key, title, is_paper in panels:
        groups = list(dict.fromkeys(r[key] for r in group_rows))
        stats = {(r[key], h): (100 * r[h], 0.0, np.array([100 * r[h]])) for r in group_rows for h in hues}
        if is_paper:
            colors = PAPER_GREYS
            labels = {h: f"{VARIANT_LABELS[h].replace('video teacher', 'video model')} (theirs)" for h in hues}
        else:
            seeds = max(r["seeds"] for r in group_rows)
            colors = VARIANT_COLORS
            labels = {h: f"{VARIANT_LABELS[h]} ({WORLD}{'' if h == 'video' else f', {seeds} seed' + 's' * (seeds > 1)})"
                      for h in hues}
        grouped_bars(ax, groups, hues, stats, colors, labels, points=False)
        ax.set_xticks(range(len(groups)), [TEACHER_LABELS.get(g, g).replace(" ", "\n", 1) for g in groups])
        top = max(100 * max(r[h] for h in hues) for r in group_rows)
        for i, r in enumerate(group_rows):
            ax.text(i, top * 1.04, f"gain {r['gain_points']:+.1f} pts", ha="center", fontsize=6.5,
                    color=AUTHORS_COLOR if is_paper else VARIANT_COLORS["egodistill"])
        ax.set_ylim(0, top * 1.22)
        ax.set_title(title, color=AUTHORS_COLOR if is_paper else "black")
        ax.set_ylabel("per-video top-1 (%)" + (", theirs" if is_paper else ""))
    _legend_below(fig, axes, ncol=3)
    fig.suptitle("Versatility across teachers (the paper's Table 2, N = 1): the teacher's own accuracy and what "
                 "each student keeps of it;\ngain = EgoDistill − VisOnly-Distill (points). Ours: embedded world; "
                 "grey: the paper's (theirs)")
    return fig


# ------------------------------------------------------------------------------ 11. ablations, rules
def _delta_figure(summary, paper, key: str, order: Sequence[str], reference: str, noise, title: str) -> Figure:
    """Horizontal bars of ``delta_points`` (a row − ``reference``) per ``key`` in ``order``: one panel per
    domain of ours, then one per dataset of the paper's (grey). Our panels shade ± the domain's noise
    (:func:`~comodo.study.egodistill.experiments.noise`) and hatch the bars inside it."""
    rows, theirs = _records(summary), _records(paper)
    levels = {r["domain"]: r for r in _records(noise)} if noise is not None else {}
    domains = sorted({r["domain"] for r in rows})
    datasets = [ds for ds in PAPER_LABELS if any(r["dataset"] == ds for r in theirs)]
    n = len(domains) + len(datasets)
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n + 2.6, 0.36 * len(order) + 1.9), sharey=True,
                             layout="constrained", squeeze=False)
    axes = axes[0]
    y = np.arange(len(order))
    for ax, d in zip(axes, domains):
        mine = {r[key]: r for r in rows if r["domain"] == d}
        level = levels.get(d, {}).get("noise_points")
        if level is not None:
            lv = levels[d]
            std = lv.get("seed_std_points")
            std = None if std is None or std != std else std
            ax.axvspan(-level, level, color=NOISE_COLOR, alpha=0.18, lw=0,
                       label=f"{domain_label(d)}: within noise, ± {level:.1f} pts (one test video = "
                             f"{lv['one_video_points']:.1f} pts" + (f"; one run's std over {lv['seeds']} seeds = "
                                                                    f"{std:.1f} pts)" if std is not None else ")"))
        for i, name in enumerate(order):
            if name not in mine:
                continue
            r = mine[name]
            delta = r["delta_points"]
            inside = level is not None and abs(delta) <= level and name != reference
            ax.barh(i, delta, 0.7, color=VARIANT_COLORS["egodistill"], alpha=0.45 if inside else 1.0,
                    hatch="///" if inside else None, edgecolor="white" if inside else "none")
            ax.text(0.99, i, f"{100 * r['video_top1_mean']:.1f}%", transform=ax.get_yaxis_transform(), ha="right",
                    va="center", fontsize=6.5)
        seeds = max((r["n"] for r in mine.values()), default=0)
        ax.set_title(f"{domain_label(d)}\n{seeds} seed{'s' * (seeds > 1)} per row", fontsize=8.5)
    for ax, ds in zip(axes[len(domains):], datasets):
        theirs_ds = {r[key]: r for r in theirs if r["dataset"] == ds}
        for i, name in enumerate(order):
            if name in theirs_ds:
                ax.barh(i, theirs_ds[name]["delta_points"], 0.7, color=AUTHORS_COLOR)
                ax.text(0.99, i, f"{100 * theirs_ds[name]['video_top1']:.1f}%", transform=ax.get_yaxis_transform(),
                        ha="right", va="center", fontsize=6.5, color=AUTHORS_COLOR)
        ax.set_title(f"{PAPER_LABELS[ds]}\n(the paper's; theirs)", fontsize=8.5, color=AUTHORS_COLOR)
    for ax in axes:
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"points vs {reference}")
        lo, hi = ax.get_xlim()
        ax.set_xlim(min(lo, -1.0), max(hi, 1.0) + 0.35 * (max(hi, 1.0) - min(lo, -1.0)))  # room for the labels
    axes[0].set_yticks(y, list(order))
    axes[0].invert_yaxis()
    _legend_below(fig, axes, ncol=max(1, len(domains)))
    fig.suptitle(title)
    return fig


@styled
def ablations(summary, paper, noise=None) -> Figure:
    """The paper's Table 1 (N = 1): each row's per-video top-1 minus the full EgoDistill's, in points (right:
    the row's own accuracy), ours per domain with its noise band, the paper's per dataset in grey.

    Args:
        summary: :func:`~comodo.study.egodistill.experiments.ablation_summary` rows (domain, row,
            video_top1_mean, n, delta_points).
        paper: :func:`~comodo.study.egodistill.experiments.paper_table1` rows (row, dataset, video_top1,
            delta_points).
        noise: :func:`~comodo.study.egodistill.experiments.noise` rows (domain, noise_points, one_video_points,
            seed_std_points, seeds), or None (no band).
    """
    from comodo.study.egodistill.experiments import ABLATION_ROWS, FULL_ROW

    return _delta_figure(summary, paper, "row", list(ABLATION_ROWS), FULL_ROW, noise,
                         "Ablations (the paper's Table 1, N = 1): which loss and which pre-training matter. "
                         "Hatched: inside our noise band")


@styled
def frame_rules(summary, paper, noise=None) -> Figure:
    """The paper's Table 4 (EgoDistill, N = 4): each frame-selection rule's per-video top-1 minus uniform's, in
    points, ours per domain with its noise band, the paper's per dataset in grey (arguments as :func:`ablations`,
    with :func:`~comodo.study.egodistill.experiments.frame_rule_summary` / ``paper_table4`` rows keyed by ``rule``)."""
    from comodo.egodistill.clips import FRAME_RULES
    from comodo.study.egodistill.experiments import REFERENCE_RULE

    return _delta_figure(summary, paper, "rule", list(FRAME_RULES), REFERENCE_RULE, noise,
                         "Which 4 frames (the paper's Table 4, N = 4). Hatched: inside our noise band")


__all__ = ["ablations", "cost", "domain_label", "frame_rules", "save", "teachers"]
