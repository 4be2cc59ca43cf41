"""The figures of EgoDistill's walk-through (notebook 09) and of what the IMU adds (notebook 12, the paper's
Figs. 4–6): one function per figure, each taking :mod:`comodo.study.egodistill.analysis` results and
returning a matplotlib Figure; :func:`save` (PNG + PDF) re-exported for the notebooks.

Colours as the study's EgoDistill figures: EgoDistill red, VisOnly-Distill blue, the video teacher
dark grey; IMU axes x, y, z blue, red, green. Everything is the embedded world's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from comodo.study.plotting import HUE_COLORS, METHOD_COLORS, WORLD, save, styled  # noqa: F401

LABELS = {"egodistill": "EgoDistill", "visonly_distill": "VisOnly-Distill", "teacher": "video teacher Ω"}
COLORS = {"egodistill": METHOD_COLORS["comodo"], "visonly_distill": HUE_COLORS[0], "teacher": "0.3"}
TEACHER_MARK, STUDENT_MARK = HUE_COLORS[4], METHOD_COLORS["comodo"]


def _imu_axes(ax_acc, ax_gyr, imu: np.ndarray, rate: float, legend: bool = True, labels: bool = True) -> None:
    """Accel (rows 0–2, m/s²) and gyro (rows 3–5, rad/s) traces of one (C, L) clip."""
    time = np.arange(imu.shape[-1]) / rate
    for ax, lo, name, unit in ((ax_acc, 0, "accel", "m/s²"), (ax_gyr, 3, "gyro", "rad/s")):
        for k, axis in enumerate("xyz"):
            ax.plot(time, imu[lo + k], lw=0.6, color=HUE_COLORS[k], label=axis)
        if labels:
            ax.set_ylabel(f"{name}\n({unit})")
        ax.tick_params(labelsize=6)
    if labels:
        ax_gyr.set_xlabel("time in the clip (s)")
    ax_acc.tick_params(labelbottom=False)
    if legend:
        ax_acc.legend(loc="upper right", ncol=3, frameon=False, fontsize=6, handlelength=1)


def _image(ax, image: np.ndarray, title: str | None = None, color: str | None = None, fontsize: float = 7) -> None:
    ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    if color is not None:
        for s in ax.spines.values():
            s.set_visible(True)
            s.set_edgecolor(color)
            s.set_linewidth(2.5)
    else:
        ax.spines[:].set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize)


# ----------------------------------------------------------------------------------- 09: the tour
@styled
def tour_clip(t: dict, per_row: int = 10) -> Figure:
    """Every frame of the clip (the teacher's marked orange, the student's red) and its IMU."""
    frames = t["clip_frames"]
    rows = int(np.ceil(len(frames) / per_row))
    fig = plt.figure(figsize=(1.0 * per_row + 0.6, 1.05 * rows + 2.6), layout="constrained")
    grid = fig.add_gridspec(rows + 2, per_row, height_ratios=[1.0] * rows + [0.9, 0.9])
    teacher, student = set(t["teacher_positions"].tolist()), set(t["student_positions"].tolist())
    for i, f in enumerate(frames):
        ax = fig.add_subplot(grid[i // per_row, i % per_row])
        mark = "Ω" * (i in teacher) + (" Φ" if i in student else "")
        _image(ax, f, f"{i}{'  ' + mark.strip() if mark else ''}",
               STUDENT_MARK if i in student else TEACHER_MARK if i in teacher else None)
    ax_acc = fig.add_subplot(grid[rows, :])
    ax_gyr = fig.add_subplot(grid[rows + 1, :], sharex=ax_acc)
    _imu_axes(ax_acc, ax_gyr, t["imu"], t["imu_rate"])
    c = t["clip"]
    fig.suptitle(f"One test clip, '{c['label']}' ({c['uid']}, {c['start_s']:.1f}–{c['end_s']:.1f} s; {WORLD}): "
                 f"its {len(frames)} frames.\nThe teacher Ω reads the {len(teacher)} marked orange (Ω), the "
                 f"student Φ the one marked red (Φ) and the head IMU below\n({t['imu'].shape[0]} × "
                 f"{t['imu'].shape[1]}, each channel's clip mean removed: what f_M reads)", fontsize=9)
    return fig


@styled
def tour_features(t: dict) -> Figure:
    """The student's inputs (one frame, the IMU) and its output z_Φ beside the teacher's z_V."""
    fig = plt.figure(figsize=(11, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=[0.8, 1.4, 1.1])
    _image(fig.add_subplot(grid[0, 0]), t["student_frame"], "f_I reads one frame\n(z_I: "
           f"{len(t['z_image'])} numbers)", STUDENT_MARK, fontsize=8)
    sub = grid[1, 0].subgridspec(2, 1)
    ax_acc = fig.add_subplot(sub[0])
    ax_gyr = fig.add_subplot(sub[1], sharex=ax_acc)
    _imu_axes(ax_acc, ax_gyr, t["imu"], t["imu_rate"])
    dims = f"{len(t['z_imu'])} numbers" if t["z_imu"] is not None else "no f_M"
    ax_acc.set_title(f"f_M reads the IMU\n(z_M: {dims})", fontsize=8)
    ax = fig.add_subplot(grid[:, 1])
    order = np.argsort(t["z_video"])
    x = np.arange(len(order))
    ax.plot(x, t["z_video"][order], lw=1.6, color=COLORS["teacher"], label="z_V (teacher, from the whole clip)")
    cos = _cos(t["z_student"], t["z_video"])
    ax.plot(x, t["z_student"][order], "o", ms=2.2, color=COLORS["egodistill"],
            label=f"z_Φ EgoDistill (frame + IMU): cos {cos:.2f}")
    if t["visonly_z"] is not None:
        ax.plot(x, t["visonly_z"][order], "s", ms=1.8, color=COLORS["visonly_distill"], alpha=0.8,
                label=f"z_Φ VisOnly-Distill (frame only): cos {_cos(t['visonly_z'], t['z_video']):.2f}")
    ax.set_xlabel("feature dimension (sorted by z_V)")
    ax.set_ylabel("value")
    ax.set_title(f"Π(z_I, z_M) = z_Φ, trained to reconstruct the teacher's clip feature z_V\n({len(order)} "
                 f"dimensions, sorted by z_V)", fontsize=9)
    ax.legend(frameon=False, loc="upper left")
    ax = fig.add_subplot(grid[:, 2])
    lim = [float(min(t["z_video"].min(), t["z_student"].min())), float(max(t["z_video"].max(), t["z_student"].max()))]
    ax.plot(lim, lim, lw=0.8, color="0.6", ls="--", label="z_Φ = z_V")
    ax.scatter(t["z_video"], t["z_student"], s=6, color=COLORS["egodistill"], label="EgoDistill")
    if t["visonly_z"] is not None:
        ax.scatter(t["z_video"], t["visonly_z"], s=5, marker="s", color=COLORS["visonly_distill"], alpha=0.6,
                   label="VisOnly-Distill")
    ax.set_xlabel("z_V (teacher)")
    ax.set_ylabel("z_Φ (student)")
    top = lambda logits: t["classes"][int(np.argmax(logits))]  # noqa: E731
    ax.set_title(f"per dimension. Top class: teacher '{top(t['teacher_logits'])}',\nEgoDistill "
                 f"'{top(t['student_logits'])}'" + (f", VisOnly-Distill '{top(t['visonly_logits'])}'"
                                                    if t["visonly_logits"] is not None else ""), fontsize=8)
    ax.legend(frameon=False, loc="upper left")
    fig.suptitle(f"The student Φ on the clip '{t['clip']['label']}': one frame and the IMU in, the teacher's clip "
                 f"feature out ({WORLD})")
    return fig


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


@styled
def tour_losses(t: dict) -> Figure:
    """The three loss terms on one batch (before and after stage 1), each clip's terms, and the class
    distributions L_KD compares on the tour clip."""
    c = t["config"]
    weights = {"kd": c.alpha, "gt": 1 - c.alpha, "l1": c.beta} if set(c.losses) != {"gt"} else {"gt": 1.0}
    names = {"kd": "L_KD", "gt": "L_GT", "l1": "L_1"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained", gridspec_kw={"width_ratios": [1, 1.3, 1.5]})
    ax = axes[0]
    terms = [k for k in ("kd", "gt", "l1") if k in c.losses]
    for j, stage in enumerate(("start", "trained")):
        b = t["losses"][stage]["batch"]
        bottom = 0.0
        for k, name in enumerate(terms):
            v = weights[name] * b[name]
            ax.bar(j, v, 0.6, bottom=bottom, color=HUE_COLORS[k],
                   label=f"{_w(weights[name])}{names[name]}" if j == 0 else None)
            bottom += v
        ax.text(j, bottom, f"L = {b['total']:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks([0, 1], ["start of stage 1", "trained"])
    ax.set_xlim(-0.6, 2.4)  # room for the legend on the right
    ax.set_ylabel("weighted term (stacked = L)")
    ax.set_title(f"L = α L_KD + (1 − α) L_GT + β L_1 on a batch of {len(t['batch']['index'])}\n"
                 f"(α = {c.alpha:g}, β = {c.beta:g}, τ = {c.tau:g}{', × τ²' if c.kd_t2 else ''})", fontsize=8)
    ax.legend(frameon=False, fontsize=7, loc="center right")
    ax = axes[1]
    per = t["losses"]["trained"]["per_clip"]
    x = np.arange(len(t["batch"]["index"]))
    w = 0.8 / len(terms)
    for k, name in enumerate(terms):
        ax.bar(x - 0.4 + w * (k + 0.5), per[name], w, color=HUE_COLORS[k], label=names[name])
    ax.set_xticks(x, [str(s) for s in t["batch"]["labels"]], rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("term (unweighted)")
    ax.set_ylim(0, 1.25 * max(float(np.max(per[name])) for name in terms))
    ax.set_title("each clip's terms, trained student (the batch's are their means;\nthe tour clip is the first)",
                 fontsize=8)
    ax.legend(frameon=False, fontsize=7, ncol=len(terms), loc="upper center")
    ax = axes[2]
    k = len(t["classes"])
    dists = [("teacher", t["p_teacher"]), ("egodistill", t["p_student"])]
    dists += [("visonly_distill", t["p_visonly"])] if t["p_visonly"] is not None else []
    w = 0.8 / len(dists)
    for j, (name, p) in enumerate(dists):
        ax.bar(np.arange(k) - 0.4 + w * (j + 0.5), p, w, color=COLORS[name], label=LABELS[name])
    truth = t["classes"].index(t["clip"]["label"])
    ax.axvspan(truth - 0.5, truth + 0.5, color="0.9", zorder=0, label="true class")
    ax.set_xticks(range(k), t["classes"], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"softmax(logits / τ), τ = {c.tau:g}")
    ax.set_title("the tour clip's class distributions: L_KD = KL(teacher ‖ student)", fontsize=8)
    ax.legend(frameon=False, fontsize=7)
    fig.suptitle(f"EgoDistill's losses on held-out test clips ({WORLD}), computed by comodo.egodistill.losses."
                 f"distill_loss")
    return fig


def _w(x: float) -> str:
    return "" if x == 1 else f"{x:g} × "


# ---------------------------------------------------------------------------------- 12: the IMU
def _domain_panels(n: int, width: float, height: float):
    """One row of ``n`` panels (one per domain), ``width`` inches each (at least 6.5 in all)."""
    return plt.subplots(1, n, figsize=(max(6.5, width * n + 0.6), height), squeeze=False, layout="constrained")


@styled
def per_class(gains: dict) -> Figure:
    """The paper's Fig. 4: per-class gain of EgoDistill over VisOnly-Distill, sorted, one panel per domain."""
    domains = list(gains)
    fig, axes = _domain_panels(len(domains), 3.6, 3.8)
    for ax, d in zip(axes[0], domains):
        rows = gains[d]
        g = np.array([r["gain"] for r in rows])
        colors = [COLORS["egodistill"] if v >= 0 else COLORS["visonly_distill"] for v in g]
        ax.bar(range(len(rows)), g, 0.75, color=colors)
        ax.axhline(0, lw=0.8, color="0.3")
        ax.set_xticks(range(len(rows)), [r["class"] for r in rows], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{d}\nmean over classes {g.mean():+.1f} points", fontsize=9)
    axes[0, 0].set_ylabel("per-video top-1 gain (points)\nEgoDistill − VisOnly-Distill")
    fig.suptitle(f"What the IMU adds, per verb (the paper's Fig. 4; {WORLD}, mean over seeds)\nred: EgoDistill "
                 f"better than VisOnly-Distill, blue: worse", fontsize=9)
    return fig


@styled
def reconstruction(e: dict) -> Figure:
    """The paper's Fig. 5: the best and worst reconstructed test clips, each its frame and its IMU, with
    the head motion of each."""
    k = len(e["best"]["index"])
    fig = plt.figure(figsize=(2.3 * k + 0.8, 7.6), layout="constrained")
    grid = fig.add_gridspec(6, k, height_ratios=[1.4, 0.55, 0.55, 1.4, 0.55, 0.55])
    for r0, side in ((0, "best"), (3, "worst")):
        s = e[side]
        for j in range(k):
            _image(fig.add_subplot(grid[r0, j]), s["images"][j],
                   f"{side} {j + 1}: {s['labels'][j]}\nL1 {s['l1'][j]:.3f}, cos {s['cosine'][j]:.2f}\n"
                   f"|ω| {s['gyro'][j]:.2f} rad/s, |Δa| {s['accel'][j]:.2f} m/s²", fontsize=6.5)
            ax_acc = fig.add_subplot(grid[r0 + 1, j])
            ax_gyr = fig.add_subplot(grid[r0 + 2, j], sharex=ax_acc)
            _imu_axes(ax_acc, ax_gyr, s["imu"][j], e["imu_rate"], legend=j == 0, labels=j == 0)
    fig.suptitle(f"The best (top) and worst (bottom) reconstructed test clips of {e['dataset']} "
                 f"({LABELS.get(e['variant'], e['variant'])}, by L1 of z_Φ to z_V; {WORLD})\n|ω|: mean gyro "
                 f"norm; |Δa|: mean deviation of the accelerometer from its clip mean", fontsize=9)
    return fig


@styled
def motion(study: dict) -> Figure:
    """Reconstruction error against head motion: every test clip, and the means per motion bin, per domain."""
    domains = list(study)
    fig, axes = _domain_panels(len(domains), 3.8, 3.9)
    for ax, d in zip(axes[0], domains):
        m = study[d]
        for v in ("egodistill", "visonly_distill"):
            if v not in m["error"]:
                continue
            s = m["summary"][v]["by_gyro"]
            ax.scatter(m["gyro"], m["error"][v], s=5, color=COLORS[v], alpha=0.25, lw=0)
            ax.errorbar(s["bin_motion"], s["bin_error"], yerr=s["bin_sem"], color=COLORS[v], marker="o", ms=4,
                        capsize=2, lw=1.2, label=f"{LABELS[v]}: ρ = {s['spearman']:+.2f}")
        best = m["summary"]["egodistill"]["by_gyro"]
        ax.set_title(f"{d} ({m['summary']['n_clips']} clips, {best['bins']} bins)\nEgoDistill's best bin: "
                     f"{best['best_bin'] + 1} of {best['bins']}", fontsize=9)
        ax.set_xlabel("head motion: mean gyro norm |ω| (rad/s)")
        ax.legend(frameon=False, fontsize=7)
    axes[0, 0].set_ylabel("reconstruction error\nL1(z_Φ, z_V), mean over seeds")
    fig.suptitle(f"Does moderate head motion reconstruct best? ({WORLD})\nerror per test clip (dots) and per "
                 f"equal-count motion bin (± s.e.m.)", fontsize=9)
    return fig


@styled
def retrieval(r: dict) -> Figure:
    """The paper's Fig. 6: one query frame with different IMU segments; each student's z_Φ retrieves its
    nearest test clip (cosine to the teacher's z_V)."""
    s = len(r["segments"])
    fig = plt.figure(figsize=(1.9 * (s + 1) + 0.4, 5.6), layout="constrained")
    grid = fig.add_gridspec(4, s + 1, height_ratios=[0.55, 0.55, 1.2, 1.2])
    _image(fig.add_subplot(grid[:2, 0]), r["query_image"], f"query frame\n'{r['query_label']}'", "0.1", fontsize=8)
    for j in range(s):
        ax_acc = fig.add_subplot(grid[0, j + 1])
        ax_gyr = fig.add_subplot(grid[1, j + 1], sharex=ax_acc)
        _imu_axes(ax_acc, ax_gyr, r["imu"][j], r["imu_rate"], legend=j == 0, labels=False)
        ax_acc.set_title(("own IMU" if j == 0 else f"IMU {j}") + f"\nfrom '{r['segment_labels'][j]}'", fontsize=7)
    for row, v in ((2, "egodistill"), (3, "visonly_distill")):
        ax = fig.add_subplot(grid[row, 0])
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"{LABELS[v]}\nretrieves\n({r[v]['distinct']} distinct\nof {s})", ha="center", va="center",
                fontsize=8, color=COLORS[v], transform=ax.transAxes)
        for j in range(s):
            _image(fig.add_subplot(grid[row, j + 1]), r[v]["images"][j], f"'{r[v]['labels'][j]}'", COLORS[v])
    fig.suptitle(f"One frame, different head motion ({r['dataset']}, {WORLD}): the nearest test clip to z_Φ among "
                 f"the teacher's clip features z_V", fontsize=9)
    return fig


__all__ = ["motion", "per_class", "reconstruction", "retrieval", "save", "tour_clip", "tour_features", "tour_losses"]
