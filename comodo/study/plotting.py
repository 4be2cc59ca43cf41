"""What every figure of the study shares: the style, :func:`save`, colours and labels, the bar, heat-map
and label-colour helpers, and figure 8 (efficiency), which draws both methods' students.

Each method's figures are in its own module (:mod:`comodo.study.comodo.plots`,
:mod:`comodo.study.egodistill.plots`): one plotting function per figure, taking results and returning a
matplotlib Figure; nothing there trains, evaluates or computes embeddings. :func:`save` writes
``<dir>/<name>.png`` and ``.pdf`` with fixed dpi and without timestamps or version strings, so the same
figure gives the same bytes.

Numbers of the embedded world are labelled as such; the authors' numbers are drawn in grey and labelled
as theirs: compare trends, not absolute values.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

STYLE = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
    "legend.fontsize": 7.5, "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 150, "figure.facecolor": "white",
    "axes.facecolor": "white", "savefig.facecolor": "white", "image.interpolation": "nearest",
    "svg.hashsalt": "comodo", "pdf.compression": 6, "path.simplify": True,
}
DPI = 150
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}

WORLD = "embedded world"
AUTHORS_COLOR = "0.45"
METHOD_COLORS = {"none": "#a6a6a6", "supervised": "#7b4fa0", "l2": "#4a9a4a", "infonce": "#2f6fb0",
                 "comodo": "#d6452e"}
METHOD_LABELS = {"none": "untrained student", "supervised": "supervised student", "l2": "L2 regression",
                 "infonce": "InfoNCE (IMU2CLIP-style)", "comodo": "COMODO"}
DOMAIN_LABELS = {"ego4d": "Ego4D", "egoexo4d": "EgoExo4D", "mmea": "MMEA"}
HUE_COLORS = ("#2f6fb0", "#d6452e", "#4a9a4a", "#7b4fa0", "#e69f00", "#56b4e9")


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under :data:`STYLE` (fonts, sizes) whatever the caller's rcParams.

    In a Jupyter kernel the first figure starts the inline backend, which turns interactive mode on;
    leaving ``rc_context`` would turn it off again and no later figure would be shown in the notebook.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Figure:
        with plt.rc_context(STYLE):
            fig = fn(*args, **kwargs)
            interactive = plt.isinteractive()
        plt.interactive(interactive)
        return fig

    return wrapper


def save(fig: Figure, name: str, figures_dir: str | Path = "figures") -> list[Path]:
    """Write ``<figures_dir>/<name>.png`` and ``.pdf`` (fixed dpi, no timestamps); returns the paths."""
    from comodo.io import atomic_path

    folder = Path(figures_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with plt.rc_context(STYLE):
        for ext, meta in (("png", PNG_METADATA), ("pdf", PDF_METADATA)):
            path = folder / f"{name}.{ext}"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext, dpi=DPI, metadata=meta, facecolor="white")
            paths.append(path)
    return paths


def domain_label(d: str) -> str:
    return f"{DOMAIN_LABELS.get(d, d)}-like ({WORLD})"


# ------------------------------------------------------------------------------------------ helpers
def group_stats(df, by: Sequence[str], metric: str = "acc1") -> dict:
    """{group tuple: (mean, std, values)} of ``metric``; std 0 for one value."""
    out = {}
    for key, g in df.groupby(list(by), sort=True):
        v = g[metric].to_numpy(dtype=float)
        key = key if isinstance(key, tuple) else (key,)
        out[key] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, v)
    return out


def grouped_bars(ax, groups: Sequence, hues: Sequence, stats: dict, colors: dict, labels: dict,
                  width: float = 0.8, points: bool = True, hatch: str | None = None) -> None:
    """Bars at x = group index, one per hue; ``stats[(group, hue)] = (mean, std, values)``."""
    w = width / max(1, len(hues))
    for j, h in enumerate(hues):
        xs, ms, ss, pts = [], [], [], []
        for i, g in enumerate(groups):
            if (g, h) not in stats:
                continue
            m, s, v = stats[(g, h)]
            x = i - width / 2 + w * (j + 0.5)
            xs.append(x), ms.append(m), ss.append(s), pts.append((x, v))
        if not xs:
            continue
        ax.bar(xs, ms, w * 0.92, yerr=ss if any(ss) else None, color=colors[h], label=labels[h], capsize=2,
               edgecolor="white" if hatch else "none", hatch=hatch, error_kw={"lw": 0.8})
        if points:
            for x, v in pts:
                if len(v) > 1:
                    ax.plot(np.full(len(v), x), v, "o", ms=2.2, color="black", alpha=0.55, zorder=3)
    ax.set_xticks(range(len(groups)))


def heatmap(ax, matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], text: list[list[str]],
             title: str, vmin: float = 0.0, vmax: float = 1.0, cmap: str = "viridis"):
    m = np.ma.masked_invalid(matrix)
    cm = plt.get_cmap(cmap).with_extremes(bad="0.9")
    im = ax.imshow(m, vmin=vmin, vmax=vmax, cmap=cm, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = matrix[i, j]
            r, g, b, _ = cm((v - vmin) / (vmax - vmin)) if np.isfinite(v) else (0.9, 0.9, 0.9, 1)
            color = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7, color=color)
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    return im


def label_colors(labels: Sequence[str]) -> dict:
    names = sorted(set(map(str, labels)))
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


# ------------------------------------------------------------------------------------- 8. efficiency
ROLE_COLORS = {"teacher": "0.35", "student": METHOD_COLORS["comodo"]}
BATCH_COLORS = (HUE_COLORS[0], HUE_COLORS[4])
# What a row's model reads on the device (``input_name`` of comodo.study.efficiency.study_table's rows): the
# video teachers the clip's frames, COMODO's students the IMU alone, EgoDistill's Φ N frames and the IMU, its
# VisOnly Φ the N frames alone. Rows without ``input_name`` are coloured by role.
INPUT_COLORS = {"pixel_values": ROLE_COLORS["teacher"], "imu": METHOD_COLORS["comodo"], "frames+imu": "#138d75",
                "frames": "#7cc7b8"}
INPUT_LABELS = {"pixel_values": "video teachers (the clip's frames)", "imu": "COMODO's IMU students (IMU only)",
                "frames+imu": "EgoDistill's Φ (N frames + IMU)", "frames": "EgoDistill's VisOnly Φ (N frames, no IMU)",
                "teacher": "teachers", "student": "students"}


def efficiency_kind(row: dict) -> str:
    """The colour key of a row: its ``input_name`` when known (:data:`INPUT_COLORS`), else its role."""
    name = row.get("input_name")
    return name if name in INPUT_COLORS else str(row.get("role"))


@styled
def efficiency(rows: Sequence[dict], teacher: str | None = None, reference_ratio: float | None = 200.0,
               reference_label: str = "EgoDistill (reported)") -> Figure:
    """Teachers vs students per clip, from :func:`comodo.study.efficiency.table` rows, one bar per model on log
    axes: parameters (M), GFLOPs per clip, CPU wall-clock ms per clip at batch 1 and 32. Bars and names are
    coloured by what the model reads (:func:`efficiency_kind`: COMODO's IMU students apart from EgoDistill's
    frames + IMU Φ), with a legend of the kinds present. Students are annotated with ``teacher``'s number ÷
    theirs (default: the first teacher of the rows); the dashed line is the teacher's GFLOPs ÷
    ``reference_ratio``, where ``reference_label``'s student sits. Cells that were not timed say so."""
    from matplotlib.patches import Patch

    teachers = [r for r in rows if r.get("role") == "teacher"]
    if teacher is not None and teacher not in [r["model"] for r in teachers]:
        raise ValueError(f"teacher {teacher!r} is not among the rows' teachers {[r['model'] for r in teachers]}")
    ref = next((r for r in teachers if teacher in (None, r["model"])), None)
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 0.55 * len(rows) + 1.9), sharey=True, layout="constrained",
                             gridspec_kw={"width_ratios": [0.8, 1.05, 1.25]})
    y = np.arange(len(rows))
    kinds = [efficiency_kind(r) for r in rows]
    colors = [INPUT_COLORS.get(k, ROLE_COLORS.get(k, "0.6")) for k in kinds]

    def ratio(r: dict, key: str, batch: int | None = None, word: str = "fewer") -> str:
        """'  (N× fewer)': the reference teacher's number ÷ the student's (table key ``{key}_vs_{teacher}``)."""
        if ref is None or r.get("role") == "teacher":
            return ""
        value = r.get(f"{key}_vs_{ref['model']}" + ("" if batch is None else f"_b{batch}"))
        return "" if value is None else f"  ({_fmt(value)}× {word})"

    line = ref["gflops_per_clip"] / reference_ratio if ref is not None and reference_ratio else None
    for ax, key, ratio_key, xlabel in ((axes[0], "params_m", "params_ratio", "parameters (M)"),
                                       (axes[1], "gflops_per_clip", "gflops_ratio",
                                        "GFLOPs per clip (multiply-add = 2)")):
        values = [r[key] for r in rows]
        ax.barh(y, values, 0.7, color=colors)
        for i, r in enumerate(rows):
            ax.text(values[i] * 1.2, i, _fmt(values[i]) + ratio(r, ratio_key), va="center", fontsize=7,
                    bbox={"fc": "white", "ec": "none", "pad": 0.5})
        ax.set_xscale("log")
        ax.set_xlim(min(values + ([line] if key == "gflops_per_clip" and line else [])) / 3, max(values) * 100)
        ax.set_xlabel(xlabel)
    if line is not None:
        axes[1].axvline(line, ls="--", lw=1, color=HUE_COLORS[0], zorder=0,
                        label=f"{reference_label}:\n{ref['label']} ÷ {reference_ratio:g}")
        axes[1].legend(frameon=False, loc="lower right", fontsize=7)
    ax = axes[2]
    h = 0.38
    measured = []
    for j, b in enumerate((1, 32)):
        for i, r in enumerate(rows):
            yb = i - h / 2 + h * j
            ms = r.get(f"ms_per_clip_b{b}")
            if ms is None:
                ax.text(0.01, yb, f"batch {b}: not measured", va="center", fontsize=6.5, color="0.4",
                        transform=ax.get_yaxis_transform())
                continue
            measured.append(ms)
            labelled = f"batch {b}" in ax.get_legend_handles_labels()[1]
            ax.barh(yb, ms, h * 0.9, color=BATCH_COLORS[j], label=None if labelled else f"batch {b}")
            ax.text(ms * 1.2, yb, _fmt(ms) + ratio(r, "latency_ratio", b, "faster"), va="center", fontsize=6.5)
    ax.set_xscale("log")
    if measured:
        ax.set_xlim(min(measured) / 3, max(measured) * 100)
    threads = sorted({r.get("threads") for r in rows} - {None})
    ax.set_xlabel(f"CPU wall-clock ms per clip ({', '.join(map(str, threads)) or '?'} thread(s), median)")
    ax.legend(frameon=False, loc="lower right")
    axes[0].set_yticks(y, [r["label"] for r in rows])
    axes[0].invert_yaxis()
    for ax, title in zip(axes, ("Parameters", "Compute per clip", "CPU latency per clip")):
        ax.set_title(title)
        for tick, color in zip(ax.get_yticklabels(), colors):
            tick.set_color(color)
    present = list(dict.fromkeys(kinds))
    fig.legend(handles=[Patch(color=colors[kinds.index(k)], label=INPUT_LABELS.get(k, k)) for k in present],
               loc="outside lower center", ncols=len(present), frameon=False, fontsize=8)
    fig.suptitle("Video teachers vs the students that run on the device: real architectures, random weights"
                 + (f"; in brackets: {ref['label']} ÷ model" if ref is not None else ""), fontsize=10)
    return fig


def _fmt(x: float) -> str:
    from comodo.study.efficiency import fmt_number

    return fmt_number(x)
