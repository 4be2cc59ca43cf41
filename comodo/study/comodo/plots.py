"""COMODO's figures (notebooks 01–07), one plotting function per figure; each takes results and returns
a matplotlib Figure.

The inputs are tidy tables from :mod:`comodo.study.comodo.experiments` / :mod:`comodo.study.comodo.runs`,
the authors' rows from :mod:`comodo.study.paper` and the arrays of :mod:`comodo.study.comodo.analysis`.
The style, :func:`save` (re-exported here for the notebooks) and the shared helpers are
:mod:`comodo.study.plotting`'s; the authors' numbers (real datasets, Mantis-8M / MOMENT students) are
drawn in grey and labelled as theirs.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from comodo.study.plotting import (AUTHORS_COLOR, DOMAIN_LABELS, HUE_COLORS, METHOD_COLORS, METHOD_LABELS,  # noqa: F401
                                   WORLD, domain_label, grouped_bars, group_stats, heatmap, label_colors, save,
                                   styled)


# --------------------------------------------------------------------------------------- 1. tour
@styled
def tour_batch(t: dict, n: int = 6) -> Figure:
    """A few clips of the batch: a video frame (what the teacher sees) and the IMU (what the student sees)."""
    n = min(n, len(t["labels"]))
    fig, axes = plt.subplots(3, n, figsize=(1.7 * n, 4.6), squeeze=False,
                             gridspec_kw={"height_ratios": [1.3, 1, 1]}, layout="constrained")
    time = np.arange(t["imu"].shape[-1]) / t["imu_rate"]
    for i in range(n):
        axes[0, i].imshow(t["frames"][i])
        axes[0, i].set_axis_off()
        axes[0, i].set_title(str(t["labels"][i]), fontsize=8)
        for row, (lo, name, unit) in enumerate(((0, "accel", "m/s²"), (3, "gyro", "rad/s")), start=1):
            ax = axes[row, i]
            for k, axis in enumerate("xyz"):
                ax.plot(time, t["imu"][i, lo + k], lw=0.6, color=HUE_COLORS[k], label=axis)
            if i == 0:
                ax.set_ylabel(f"{name} ({unit})")
            else:
                ax.set_yticklabels([])
            if row == 2:
                ax.set_xlabel("time (s)")
            else:
                ax.set_xticklabels([])
    axes[1, 0].legend(loc="upper right", ncol=3, frameon=False, fontsize=6, handlelength=1)
    fig.suptitle(f"One batch of training clips ({domain_label(t['dataset'])}): video frame and head IMU")
    return fig


@styled
def tour_embeddings(t: dict, dims: int = 32) -> Figure:
    """Teacher and student embeddings of the batch, and student·teacher cosines before and after training."""
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), layout="constrained")
    b = len(t["labels"])
    for ax, key, title in zip(axes[0], ("z_video", "z_before", "z_after"),
                              ("teacher (video) z_v", "student (IMU) z_x before", "student (IMU) z_x after")):
        im = ax.imshow(t[key][:, :dims], cmap="RdBu_r", vmin=-0.35, vmax=0.35, aspect="auto")
        ax.set_title(f"{title}\n(first {dims} of {t[key].shape[1]} dims)")
        ax.set_xlabel("embedding dimension")
        ax.set_yticks(range(b), [str(x) for x in t["labels"]] if ax is axes[0, 0] else [""] * b)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="value (unit-length rows)")
    keys = ("cos_teacher", "cos_before", "cos_after")
    lo = min(float(np.min(t[k])) for k in keys)
    hi = max(float(np.max(t[k])) for k in keys)
    for ax, key, title in zip(axes[1], keys,
                              ("teacher · teacher", "student before · teacher", "student after · teacher")):
        im = ax.imshow(t[key], cmap="magma", vmin=lo, vmax=hi)
        ax.set_xlabel("teacher embedding of clip j")
        ax.set_ylabel("clip i")
        diag = float(np.mean(np.diag(t[key])))
        ax.set_title(f"cosine: {title}\n(mean diagonal {diag:.2f})")
    fig.colorbar(im, ax=axes[1].tolist(), shrink=0.8, label="cosine")
    fig.suptitle("Embeddings of the batch (rows = clips). Training should make a clip's IMU embedding most similar "
                 "to its own video's (the diagonal)\nand to the videos the teacher finds similar (compare the bottom "
                 "row with the teacher's own similarities, bottom left).", fontsize=9)
    return fig


@styled
def tour_queue(timeline: np.ndarray, batch_size: int) -> Figure:
    """The FIFO queue step by step: each cell is a slot (oldest left), coloured by the batch that filled it."""
    steps, size = timeline.shape
    fig, ax = plt.subplots(figsize=(max(5.0, 0.3 * size + 1.5), 0.32 * steps + 1.6), layout="constrained")
    n_colors = int(timeline.max())
    cmap = plt.get_cmap("tab10")
    rgb = np.ones((steps, size, 3))
    for s in range(steps):
        for k in range(size):
            if timeline[s, k] >= 1:
                rgb[s, k] = cmap((timeline[s, k] - 1) % 10)[:3]
    ax.imshow(rgb, aspect="auto")
    for s in range(steps):
        for k in range(size):
            if timeline[s, k] >= 1:
                ax.text(k, s, str(timeline[s, k]), ha="center", va="center", fontsize=6, color="white")
    ax.set_xticks(range(size), [str(i) for i in range(size)], fontsize=6)
    ax.set_yticks(range(steps), [f"after step {s}" for s in range(steps)])
    ax.set_xlabel("queue rows, oldest → newest\n(number: the step whose teacher embeddings the row holds)")
    ax.set_title(f"Queue of K = {size} teacher embeddings, batches of B = {batch_size}:\nit fills, then the "
                 f"oldest rows are evicted first ({n_colors} steps)")
    ax.spines[:].set_visible(False)
    ax.set_xticks(np.arange(size + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(steps + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="minor", length=0)
    return fig


@styled
def tour_distributions(t: dict, anchor: int = 0) -> Figure:
    """For one clip: the teacher's and the student's distributions over the keys, before and after."""
    p_t = t["p_teacher"][anchor]
    order = np.argsort(-p_t, kind="stable")
    k = t["queue"].shape[0]
    same = (t["key_labels"] == t["labels"][anchor])[order]
    own = order == k + anchor  # the clip's own teacher embedding (its positive)
    colors = np.where(own, "#d6452e", np.where(same, "#2f6fb0", "0.7"))
    rows = (("p_teacher", f"teacher p_v (τ_t = {t['teacher_temp']:g}): the target"),
            ("p_before", f"student p_x before training (τ_s = {t['student_temp']:g})"),
            ("p_after", f"student p_x after training (τ_s = {t['student_temp']:g})"))
    fig, axes = plt.subplots(3, 1, figsize=(8, 5.4), sharex=True, layout="constrained")
    x = np.arange(len(order))
    for ax, (key, title) in zip(axes, rows):
        ax.bar(x, t[key][anchor][order], 1.0, color=colors, edgecolor="none")
        ax.set_title(title, loc="left")
        ax.set_ylabel("probability")
    axes[-1].set_xlabel(f"the K + B = {len(order)} keys (queue, then this batch), sorted by the teacher's "
                        "probability")
    from matplotlib.patches import Patch

    axes[0].legend(handles=[Patch(color="#d6452e", label="the clip's own video (its pair)"),
                            Patch(color="#2f6fb0", label=f"other clips labelled '{t['labels'][anchor]}'"),
                            Patch(color="0.7", label="other clips")], frameon=False, loc="upper right")
    ce = {s: float(-(t["p_teacher"][anchor] * np.log(np.clip(t[f"p_{s}"][anchor], 1e-30, None))).sum())
          for s in ("before", "after")}
    fig.suptitle(f"The two similarity distributions for clip '{t['labels'][anchor]}': the loss is their "
                 f"cross-entropy ({ce['before']:.2f} before → {ce['after']:.2f} after)", fontsize=9)
    return fig


@styled
def tour_temperatures(e: dict, top: int = 40) -> Figure:
    """What the temperature does: one clip's distribution over the keys at several τ (the ``top`` most
    similar keys), and its entropy over all keys."""
    temps = e["temperatures"]
    fig, axes = plt.subplots(1, len(temps) + 1, figsize=(2.2 * (len(temps) + 1), 2.6),
                             gridspec_kw={"width_ratios": [1] * len(temps) + [1.2]}, layout="constrained")
    n = min(top, e["probs"].shape[1])
    x = np.arange(n)
    colors = np.where(e["own"], "#d6452e", np.where(e["same_label"], "#2f6fb0", "0.7"))[:n]
    for ax, tau, p in zip(axes, temps, e["probs"]):
        ax.bar(x, p[:n], 1.0, color=colors, edgecolor="none")
        ax.set_title(f"τ = {tau:g}")
        ax.set_xlabel(f"the {n} most similar of {e['probs'].shape[1]} keys", fontsize=7)
        ax.set_ylim(0, max(1e-3, float(e["probs"].max())) * 1.05)
    axes[0].set_ylabel("probability")
    ax = axes[-1]
    ax.plot(temps, e["entropy"], "o-", color="#d6452e")
    ax.axhline(e["max_entropy"], ls=":", color="0.4", lw=0.8)
    ax.text(temps[0], e["max_entropy"], " uniform", va="bottom", fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_xlabel("temperature τ")
    ax.set_ylabel("entropy (nats)")
    ax.set_title("sharp ← → flat")
    fig.suptitle("softmax(similarity / τ): a small τ puts the mass on the few most similar keys, a large τ "
                 "spreads it (red: the clip's own video; blue: other clips of its class)", fontsize=9)
    return fig


# ------------------------------------------------------------------------------------- 2. distill
@styled
def distill_curves(history, result: dict, teacher: dict | None = None) -> Figure:
    """One run: training loss (and learning rate) per epoch, validation accuracy per epoch, SVM acc@1/3/5."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    ax = axes[0]
    ax.plot(history["epoch"], history["loss"], "o-", ms=3, color="#d6452e")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{result.get('method', '')} loss")
    ax.set_title("training loss")
    lr = ax.twinx()
    lr.plot(history["epoch"], history["lr"], color="0.6", lw=0.8, ls="--")
    lr.set_ylabel("learning rate (dashed)", color="0.5")
    lr.spines["right"].set_visible(True)
    ax = axes[1]
    metric = history["val_metric"].iloc[0] if "val_metric" in history and len(history) else "prototype"
    ax.plot(history["epoch"], history["val_acc"], "o-", ms=3, color="#2f6fb0")
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (val split)")
    ax.set_title("prototype accuracy per epoch" if metric == "prototype" else "classifier accuracy per epoch")
    if "n_classes" in result:
        ax.axhline(1 / result["n_classes"], ls=":", color="0.5", lw=0.8)
        ax.text(history["epoch"].iloc[0], 1 / result["n_classes"], " chance", va="bottom", fontsize=7,
                color="0.5")
    ax = axes[2]
    ks = ["acc1", "acc3", "acc5"]
    x = np.arange(3)
    ax.bar(x - 0.2 if teacher else x, [result[k] for k in ks], 0.4, color=METHOD_COLORS.get(result.get("method"),
           "#d6452e"), label=f"IMU student ({METHOD_LABELS.get(result.get('method'), result.get('method'))})")
    if teacher:
        ax.bar(x + 0.2, [teacher[k] for k in ks], 0.4, color="white", edgecolor="black", hatch="//",
               label="video teacher")
    for i, k in enumerate(ks):
        ax.text(i - (0.2 if teacher else 0), result[k] + 0.01, f"{result[k]:.2f}", ha="center", fontsize=7)
    ax.set_xticks(x, ["acc@1", "acc@3", "acc@5"])
    ax.set_ylim(0, 1.08)
    ax.set_title("SVM protocol on the test split")
    fig.legend(frameon=False, loc="outside lower right", ncol=2)
    fig.suptitle(f"One run on {domain_label(result.get('train_dataset', ''))}", fontsize=10)
    return fig


# ----------------------------------------------------------------------------------- 3. queue size
@styled
def queue_size(df, authors=None, authors_label: str = "authors") -> Figure:
    """acc@1 against the queue size K per domain: ours (mean ± std over seeds, seeds as dots) and the
    authors' published points on the same axes."""
    domains = [d for d in ("ego4d", "egoexo4d", "mmea") if d in set(df["train_dataset"])] or \
        sorted(set(df["train_dataset"]))
    fig, axes = plt.subplots(1, len(domains), figsize=(3.6 * len(domains), 3.4), squeeze=False, layout="constrained")
    for ax, d in zip(axes[0], domains):
        sub = df[df["train_dataset"] == d]
        st = group_stats(sub, ["queue_size"])
        ks = np.array(sorted(k[0] for k in st), dtype=float)
        m = np.array([st[(k,)][0] for k in ks])
        s = np.array([st[(k,)][1] for k in ks])
        ax.plot(ks, m, "o-", color=METHOD_COLORS["comodo"], label=f"ours ({WORLD}, CNN student)", ms=4)
        ax.fill_between(ks, m - s, m + s, color=METHOD_COLORS["comodo"], alpha=0.2, lw=0)
        for k in ks:
            v = st[(k,)][2]
            if len(v) > 1:
                ax.plot(np.full(len(v), k), v, "o", ms=2, color="black", alpha=0.5)
        ticks = list(ks)
        if authors is not None and len(authors):
            a = authors[authors["eval_dataset"] == d].sort_values("queue_size")
            if len(a):
                ax.plot(a["queue_size"], a["acc1"], "s--", color=AUTHORS_COLOR, mfc="white", ms=4, lw=0.9,
                        label=authors_label)
                ticks += list(a["queue_size"].astype(float))
        ax.set_xscale("log", base=2)
        ticks = sorted(set(ticks))
        ax.set_xticks(ticks, [f"{int(k)}" for k in ticks], rotation=60)
        ax.minorticks_off()
        ax.set_ylim(0, 1)
        ax.set_xlabel("queue size K")
        ax.set_title(domain_label(d))
        if "n_classes" in sub and len(sub):
            ax.axhline(1 / float(sub["n_classes"].iloc[0]), ls=":", color="0.5", lw=0.8)
    axes[0, 0].set_ylabel("acc@1 (SVM on frozen student features)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), frameon=False, loc="outside lower center", ncol=2)
    fig.suptitle("COMODO accuracy vs queue size (paper Fig. 3). Ours: mean ± std over seeds; grey squares: the "
                 "authors' published points (real data) — compare trends, not levels", fontsize=9)
    return fig


# -------------------------------------------------------------------------------------- 4. methods
@styled
def methods(df, teacher=None, authors=None, authors_label: str = "authors") -> Figure:
    """acc@1 per method and domain: ours (mean ± std over seeds, teacher's accuracy as a line) beside
    the authors' numbers for the same comparison."""
    order = [m for m in METHOD_LABELS if m in set(df["method"])]
    domains = [d for d in ("ego4d", "egoexo4d", "mmea") if d in set(df["eval_dataset"])]
    panels = 2 if authors is not None and len(authors) else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 3.6), squeeze=False, layout="constrained")
    ax = axes[0, 0]
    grouped_bars(ax, domains, order, group_stats(df, ["eval_dataset", "method"]), METHOD_COLORS, METHOD_LABELS)
    ax.set_xticklabels([DOMAIN_LABELS.get(d, d) for d in domains])
    if teacher is not None and len(teacher):
        for i, d in enumerate(domains):
            row = teacher[teacher["eval_dataset"] == d]
            if len(row):
                ax.hlines(float(row["acc1"].iloc[0]), i - 0.45, i + 0.45, colors="black", linestyles="--", lw=1,
                          label="video teacher" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("acc@1 (SVM on frozen features)")
    ax.set_title(f"ours: {WORLD}, dilated-CNN student, {int(df['seed'].nunique())} seed(s)")
    fig.legend(*ax.get_legend_handles_labels(), frameon=False, loc="outside lower center", ncol=6)
    if panels == 2:
        ax = axes[0, 1]
        a_order = [m for m in METHOD_LABELS if m in set(authors["method"])]
        st = {(r.eval_dataset, r.method): (float(r.acc1), 0.0, np.array([r.acc1]))
              for r in authors.itertuples()}
        grouped_bars(ax, domains, a_order, st, METHOD_COLORS, METHOD_LABELS, points=False, hatch="///")
        ax.set_xticklabels([DOMAIN_LABELS.get(d, d) for d in domains])
        ax.set_ylim(0, 1)
        ax.set_title(f"{authors_label}\n('untrained' = their pretrained student without distillation;\n"
                     "supervised = fine-tuned end to end)", fontsize=8)
    fig.suptitle("Methods (paper Fig. 4): distillation vs baselines, in-domain", fontsize=10)
    return fig


# -------------------------------------------------------------------------------- 5. cross-dataset
def _matrix(df, rows: Sequence[str], cols: Sequence[str], std: bool = True):
    mat = np.full((len(rows), len(cols)), np.nan)
    text = [["n/a"] * len(cols) for _ in rows]
    st = group_stats(df, ["train_dataset", "eval_dataset"]) if len(df) else {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if (r, c) in st:
                m, s, v = st[(r, c)]
                mat[i, j] = m
                text[i][j] = f"{m:.2f}" + (f"\n±{s:.2f}" if std and len(v) > 1 else "")
    return mat, text


@styled
def cross_dataset(df, authors=None, authors_label: str = "authors") -> Figure:
    """acc@1 of students distilled (or trained) on A (rows) and evaluated on B (columns)."""
    domains = [d for d in ("ego4d", "egoexo4d", "mmea") if d in set(df["eval_dataset"])]
    names = [DOMAIN_LABELS.get(d, d) for d in domains]
    panels = [(m, f"ours: {METHOD_LABELS[m]}") for m in ("comodo", "supervised", "none") if m in set(df["method"])]
    extra = int(authors is not None and len(authors) > 0)
    fig, axes = plt.subplots(1, len(panels) + extra, figsize=(3.4 * (len(panels) + extra), 3.4), squeeze=False,
                             layout="constrained")
    mats = [_matrix(df[df["method"] == m], domains, domains) for m, _ in panels]
    finite = np.concatenate([m[np.isfinite(m)] for m, _ in mats]) if mats else np.zeros(0)
    lo, hi = (float(finite.min()) - 0.02, float(finite.max()) + 0.02) if finite.size else (0.0, 1.0)
    for ax, (m, title), (mat, text) in zip(axes[0], panels, mats):
        im = heatmap(ax, mat, names, names, text, title, vmin=lo, vmax=hi)
        ax.set_xlabel("evaluated on (SVM)")
    axes[0, 0].set_ylabel("distilled / trained on")
    fig.colorbar(im, ax=axes[0, :len(panels)].tolist(), shrink=0.8, label=f"acc@1 ({WORLD})")
    if extra:
        mat, text = _matrix(authors, domains, domains, std=False)
        im = heatmap(axes[0, -1], mat, names, names, text, authors_label.replace("authors ", "authors: COMODO\n"),
                      cmap="Greys", vmin=0.0, vmax=1.0)
        axes[0, -1].set_xlabel("evaluated on (SVM)")
        fig.colorbar(im, ax=axes[0, -1], shrink=0.8, label="acc@1 (authors)")
    fig.suptitle(f"Cross-dataset generalisation ({WORLD}): rows = training domain, columns = evaluation "
                 "domain; the diagonal is in-domain", fontsize=9)
    return fig


# ------------------------------------------------------------------------------------------ 6. UMAP
@styled
def umap_embeddings(coords: dict, labels: Sequence[str], n_links: int = 60, seed: int = 0) -> Figure:
    """Teacher (circles) and student (triangles) embeddings, coloured by class, before and after
    distillation; thin lines link a clip's two embeddings. Top row: one UMAP fitted on everything;
    bottom row: a UMAP of the video embeddings with the IMU embeddings placed into it (see
    :func:`comodo.study.comodo.analysis.umap_coordinates`)."""
    labels = np.asarray([str(x) for x in labels])
    colors = label_colors(labels)
    c = np.array([colors[x] for x in labels])
    rng = np.random.default_rng(seed)
    links = np.sort(rng.choice(len(labels), min(n_links, len(labels)), replace=False))
    rows = [(k, t) for k, t in (("joint", "one UMAP of video and IMU embeddings"),
                                ("placed", "UMAP of the video embeddings, IMU placed into it"))
            if k in coords]
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 4.3 * len(rows)), squeeze=False, layout="constrained")
    for (kind, row_title), row in zip(rows, axes):
        xy = coords[kind]
        for ax, stage, title in zip(row, ("before", "after"), ("before distillation (untrained student)",
                                                              "after COMODO distillation")):
            segs = np.stack([xy["video"][links], xy[stage][links]], axis=1)  # (n, 2, 2)
            ax.add_collection(LineCollection(segs, colors="0.6", linewidths=0.4, alpha=0.6, zorder=1))
            ax.scatter(xy["video"][:, 0], xy["video"][:, 1], s=14, c=c, marker="o", edgecolors="none", zorder=2)
            ax.scatter(xy[stage][:, 0], xy[stage][:, 1], s=18, facecolors="none", edgecolors=c, marker="^",
                       linewidths=0.8, zorder=3)
            ax.set_title(f"{row_title}:\n{title}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        row[1].sharex(row[0])
        row[1].sharey(row[0])
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="s", color=colors[n], label=n) for n in colors]
    handles += [Line2D([], [], ls="", marker="o", color="0.3", label="video teacher"),
                Line2D([], [], ls="", marker="^", mfc="none", color="0.3", label="IMU student"),
                Line2D([], [], color="0.6", lw=0.6, label="same clip")]
    fig.legend(handles=handles, frameon=False, loc="outside right center")
    fig.suptitle(f"Teacher and student embeddings of the test split ({WORLD})", fontsize=10)
    return fig


ALIGNMENT_LABELS = {"paired_cosine": "cosine to own\nvideo", "unpaired_cosine": "cosine to other\nvideos",
                    "retrieval_at_1": "IMU→video\nretrieval@1", "cross_modal_knn": "cross-modal\nkNN accuracy",
                    "neighbour_overlap": "kNN overlap\nIMU vs video"}


@styled
def alignment(metrics: dict) -> Figure:
    """Alignment of IMU and video embeddings before and after distillation (see
    :func:`comodo.study.comodo.analysis.alignment`)."""
    names = list(ALIGNMENT_LABELS)
    fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    st = {(n, s): (metrics[s][n], 0.0, np.array([metrics[s][n]])) for n in names for s in ("before", "after")}
    grouped_bars(ax, names, ["before", "after"], st, {"before": METHOD_COLORS["none"],
                                                       "after": METHOD_COLORS["comodo"]},
                  {"before": "before (untrained)", "after": "after COMODO"}, points=False)
    ax.set_xticklabels([ALIGNMENT_LABELS[n] for n in names])
    for i, n in enumerate(names):
        for j, s in enumerate(("before", "after")):
            v = metrics[s][n]
            ax.text(i - 0.2 + 0.4 * j, max(v, 0) + 0.02, f"{v:.2f}", ha="center", fontsize=7)
    ax.hlines(metrics.get("chance_retrieval", 0), 1.55, 2.45, colors="0.3", linestyles=":", lw=0.8)
    ax.axhline(0, color="0.3", lw=0.6)
    ax.set_ylim(min(-0.1, min(metrics[s][n] for s in ("before", "after") for n in names) - 0.05), 1.05)
    fig.legend(frameon=False, loc="outside lower center", ncol=2)
    ax.set_title(f"How well the two modalities line up (test split; k = {metrics.get('k')}; dotted: chance "
                 "retrieval)")
    return fig


# ------------------------------------------------------------------------------------- 7. ablations
@styled
def temperature_grid(df, default: tuple[float, float] = (0.05, 0.1)) -> Figure:
    """Mean acc@1 over seeds on the (τ_s, τ_t) grid; the paper's setting is outlined."""
    ss = sorted(set(df["student_temp"]))
    ts = sorted(set(df["teacher_temp"]))
    st = group_stats(df, ["student_temp", "teacher_temp"])
    mat = np.full((len(ss), len(ts)), np.nan)
    text = [["n/a"] * len(ts) for _ in ss]
    for (a, b), (m, s, v) in st.items():
        i, j = ss.index(a), ts.index(b)
        mat[i, j] = m
        text[i][j] = f"{m:.2f}" + (f"\n±{s:.2f}" if len(v) > 1 else "")
    fig, ax = plt.subplots(figsize=(1.2 * len(ts) + 2.6, 1.0 * len(ss) + 1.6), layout="constrained")
    finite = mat[np.isfinite(mat)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    im = heatmap(ax, mat, [f"{x:g}" for x in ss], [f"{x:g}" for x in ts], text, "", vmin=lo - 0.02,
                  vmax=hi + 0.02)
    if default[0] in ss and default[1] in ts:
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((ts.index(default[1]) - 0.5, ss.index(default[0]) - 0.5), 1, 1, fill=False,
                               ec="#d6452e", lw=2))
    ax.set_xlabel("teacher temperature τ_t")
    ax.set_ylabel("student temperature τ_s")
    d = df["train_dataset"].iloc[0] if len(df) else ""
    ax.set_title(f"COMODO acc@1 on {DOMAIN_LABELS.get(d, d)}-like ({WORLD});\nred box: the paper's τ_s = "
                 f"{default[0]:g}, τ_t = {default[1]:g}", fontsize=9)
    fig.colorbar(im, ax=ax, label="acc@1")
    return fig


@styled
def projection_ablation(df) -> Figure:
    """COMODO with the reference's random never-trained teacher head vs the raw pooled teacher features."""
    domains = [d for d in ("ego4d", "egoexo4d", "mmea") if d in set(df["train_dataset"])]
    hues = [h for h in ("random_mlp", "none") if h in set(df["projection"])]
    fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    grouped_bars(ax, domains, hues, group_stats(df, ["train_dataset", "projection"]),
                  {"random_mlp": HUE_COLORS[1], "none": HUE_COLORS[0]},
                  {"random_mlp": "random_mlp (reference: random, never trained)", "none": "none (pooled features)"})
    ax.set_xticklabels([DOMAIN_LABELS.get(d, d) for d in domains])
    ax.set_ylim(0, 1)
    ax.set_ylabel("acc@1")
    fig.legend(frameon=False, loc="outside lower center", ncol=2)
    ax.set_title(f"Teacher projection head ({WORLD}; mean ± std over seeds)")
    return fig


@styled
def reduction_ablation(df, authors=None, authors_label: str = "authors") -> Figure:
    """Per-channel student: channel tokens concatenated vs averaged; beside it the authors' MOMENT rows."""
    domains = [d for d in ("ego4d", "egoexo4d", "mmea") if d in set(df["train_dataset"])]
    colors = {"concat": HUE_COLORS[1], "mean": HUE_COLORS[0]}
    labels = {"concat": "concat (C × d)", "mean": "mean (d)"}
    panels = 2 if authors is not None and len(authors) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.2), squeeze=False, layout="constrained")
    ax = axes[0, 0]
    grouped_bars(ax, domains, ["concat", "mean"], group_stats(df, ["train_dataset", "reduction"]), colors, labels)
    ax.set_xticklabels([DOMAIN_LABELS.get(d, d) for d in domains])
    ax.set_ylim(0, 1)
    ax.set_ylabel("acc@1")
    fig.legend(*ax.get_legend_handles_labels(), frameon=False, loc="outside lower center", ncol=2)
    ax.set_title(f"ours: per-channel dilated CNN ({WORLD})")
    if panels == 2:
        ax = axes[0, 1]
        st = {(r.eval_dataset, r.reduction): (float(r.acc1), 0.0, np.array([r.acc1])) for r in authors.itertuples()}
        grouped_bars(ax, domains, ["concat", "mean"], st, colors, labels, points=False, hatch="///")
        ax.set_xticklabels([DOMAIN_LABELS.get(d, d) for d in domains])
        ax.set_ylim(0, 1)
        ax.set_title(authors_label)
    fig.suptitle("Channel reduction of a per-channel student", fontsize=10)
    return fig
