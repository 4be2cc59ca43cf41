"""Every cached run as one tidy table, filtered and plotted: the logic of ``notebooks/00_explore``.

The table is read from the run folders on disk, never by re-running a configuration. Each method
family registers a :class:`RunReader` in :data:`READERS`: a glob pattern below
:func:`comodo.paths.cache_root` that finds its finished runs, a function that turns one folder into
result dicts (the shape :func:`comodo.study.comodo.runs.table` reads), and one that reads its per-epoch log.
COMODO and its baselines (``<cache>/runs/<key>/``, see :mod:`comodo.study.comodo.runs`) and EgoDistill
(``<cache>/egodistill/runs/<key>/``, see :mod:`comodo.study.egodistill.runs`) are registered here; another
method adds its runs with :func:`register_reader`.

:func:`load` gives one row per (run, evaluation dataset): the columns of :data:`comodo.study.comodo.runs.COLUMNS`,
then :data:`EXTRA`: the learning rate, numbers from the training log (final loss, final validation
accuracy, training seconds), the reader's name, a short label, the folder and the resolved config.
A finished run that was never evaluated has one row with empty accuracies.

:func:`filter_runs` selects rows, :func:`plot_metric` draws any metric against any setting,
:func:`plot_curve` one run's training log, and :func:`controls` puts all three behind ipywidgets
(in a live kernel; elsewhere it returns the static figure).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from comodo.study.comodo import runs
from comodo.errors import check
from comodo.study.comodo.experiments import METHOD_ORDER, domain_order
from comodo.paths import cache_root
from comodo.study.plotting import HUE_COLORS, METHOD_COLORS, styled
from comodo.registry import Registry

# Columns after runs.COLUMNS: learning rate, numbers from the log, where the run comes from.
EXTRA = ("learning_rate", "final_loss", "final_val_acc", "train_seconds", "reader", "label", "path", "config")
# What plot_metric can put on the y axis, and on the x axis (or in colour).
METRICS = ("acc1", "acc3", "acc5", "final_loss", "final_val_acc", "train_seconds")
SETTINGS = ("queue_size", "method", "train_dataset", "eval_dataset", "seed", "student", "student_temp",
            "teacher_temp", "projection", "reduction", "per_channel", "num_epochs", "batch_size",
            "learning_rate", "world_size")
# filter_runs' arguments → the column each selects on; ``evaluated_on`` selects eval_dataset.
FILTERS = {"method": "method", "domain": "train_dataset", "student": "student", "queue_size": "queue_size",
           "seed": "seed", "world_size": "world_size"}
ALL = "(all)"
SAME = "same"  # evaluated_on: the domain the run was trained on


@dataclass(frozen=True)
class RunReader:
    """How to find and read one method family's finished runs.

    Attributes:
        pattern: glob below the cache root matching one folder per run (e.g. ``runs/*``).
        results: folder → result dicts, one per evaluation dataset, as :func:`comodo.study.comodo.runs.table` reads
            them (``method``, ``train_dataset``, ``eval_dataset``, ``seed``, ``config``, ``acc1/3/5``
            — ``None`` when not evaluated —, ``n_classes``, ``label``); ``[]`` for an unfinished run.
        log: folder → its training log as a DataFrame, one row per epoch (``epoch`` and numbers).
    """

    pattern: str
    results: Callable[[Path], list[dict]]
    log: Callable[[Path], object]


READERS: Registry[RunReader] = Registry("run reader")


def register_reader(name: str, pattern: str, results: Callable[[Path], list[dict]],
                    log: Callable[[Path], object] = runs.read_log) -> RunReader:
    """Add a method family's runs to :func:`load` (see :class:`RunReader`)."""
    reader = RunReader(pattern, results, log)
    READERS.register(name)(reader)
    return reader


def comodo_results(folder: Path) -> list[dict]:
    """The results of one finished run of :mod:`comodo.study.comodo.runs` (COMODO and its baselines)."""
    from comodo.train.config import DistillConfig

    if not (folder / "student.pt").exists() or not (folder / "config.json").exists():
        return []  # training, or died before its first epoch
    config = json.loads((folder / "config.json").read_text())["config"]
    label = runs._describe(DistillConfig.from_dict(config))
    found = [json.loads(p.read_text()) for p in sorted(folder.glob("results_*.json"))]
    if not found:  # finished, never evaluated
        found = [{"method": config["method"], "train_dataset": config["dataset"], "eval_dataset": None,
                  "seed": config["seed"], "config": config, "acc1": None, "acc3": None, "acc5": None}]
    return [{**r, "run": str(folder), "label": label} for r in found]


register_reader("comodo", "runs/*", comodo_results)


def egodistill_results(folder: Path) -> list[dict]:
    """The result of one finished EgoDistill run (:mod:`comodo.study.egodistill.runs`).

    ``method`` is the paper's variant (``egodistill``, ``visonly_distill``, ``visimu``, ``visonly``;
    ``egodistill_custom`` otherwise), ``egodistill_pretrain`` for a stage-0 run, which has no classifier
    and so no results. ``acc1`` is the student's clip top-1 accuracy on the test split (its own
    classifier, EgoDistill's metric; not COMODO's SVM protocol); it reports no acc@3/5.
    """
    from comodo.egodistill.config import EgoDistillConfig

    if not (folder / "student.pt").exists() or not (folder / "config.json").exists():
        return []
    config = json.loads((folder / "config.json").read_text())["config"]
    c = EgoDistillConfig.from_dict(config)
    method = "egodistill_pretrain" if c.stage == "pretrain" else c.variant or "egodistill_custom"
    label = f"{method}, {c.dataset}, {c.frames} frame{'s' if c.frames > 1 else ''}, seed {c.seed}"
    base = {"method": method, "train_dataset": c.dataset, "eval_dataset": c.dataset, "seed": c.seed,
            "config": config, "n_classes": None, "acc1": None, "acc3": None, "acc5": None, "run": str(folder),
            "label": label}
    path = folder / "results_test.json"
    if not path.exists():
        return [{**base, "eval_dataset": None}]
    r = json.loads(path.read_text())
    return [{**base, "acc1": r["student"]["clip_top1"], "n_classes": len(r.get("classes", []))}]


def egodistill_log(folder: Path):
    """An EgoDistill run's ``log.jsonl``, its clip top-1 on the val split as ``val_acc``."""
    return runs.read_log(folder).rename(columns={"val_clip_top1": "val_acc"})


register_reader("egodistill", "egodistill/runs/*", egodistill_results, egodistill_log)


# ------------------------------------------------------------------------------------------ table
def load(root: Path | None = None, readers: Sequence[str] | None = None):
    """Every finished run under ``root`` (default: the cache root) as a tidy DataFrame.

    One row per run and evaluation dataset, columns :data:`comodo.study.comodo.runs.COLUMNS` + :data:`EXTRA`,
    sorted by reader, method (in the study's order), domain, queue size and seed.
    """
    root = Path(root) if root is not None else cache_root()
    results: list[dict] = []
    extra: dict[str, list] = {k: [] for k in EXTRA}
    for name in readers or READERS.names():
        reader = READERS.get(name)
        for folder in sorted(p for p in root.glob(reader.pattern) if p.is_dir()):
            found = reader.results(folder)
            log = reader.log(folder) if found else None
            last = log.iloc[-1] if found and len(log) else {}
            for r in found:
                config = r.get("config") or {}
                values = {"learning_rate": config.get("learning_rate"), "final_loss": last.get("loss", math.nan),
                          "final_val_acc": last.get("val_acc", math.nan),
                          "train_seconds": float(log["seconds"].sum()) if "seconds" in log else math.nan,
                          "reader": name, "label": r.get("label", r.get("method")), "path": str(folder),
                          "config": config}
                for k, v in values.items():
                    extra[k].append(v)
            results += found
    df = runs.table(results)
    for k, v in extra.items():
        df[k] = v
    if not len(df):
        return df
    for m in ("acc1", "acc3", "acc5", "final_loss", "final_val_acc", "train_seconds"):
        df[m] = df[m].astype(float)
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    domains = {d: i for i, d in enumerate(domain_order(df["train_dataset"].dropna()))}
    df = df.assign(_m=df["method"].map(order).fillna(len(order)), _d=df["train_dataset"].map(domains))
    df = df.sort_values(["reader", "_m", "method", "_d", "queue_size", "seed", "eval_dataset", "run"],
                        na_position="first", kind="stable")
    return df.drop(columns=["_m", "_d"]).reset_index(drop=True)


def summary(df) -> dict:
    """Counts of a table (for the notebook's JSON): runs, rows, and runs per reader, method, domain, world."""
    finished = df.drop_duplicates("path")

    def counts(col: str) -> dict:
        return {str(k): int(v) for k, v in finished[col].value_counts(dropna=False).sort_index().items()}

    return {"n_runs": int(len(finished)), "n_rows": int(len(df)),
            "n_evaluated_rows": int(df["acc1"].notna().sum()),
            **{f"runs_by_{c}": counts(c) for c in ("reader", "method", "train_dataset", "world_size")}}


def records(df, root: Path | None = None) -> list[dict]:
    """The rows of ``df`` for a notebook's JSON, without their configs, each run's folder relative to
    ``root`` (default: the cache root), e.g. ``runs/0b9ac00320e0f7fb``: the numbers name no machine's path."""
    root = Path(root) if root is not None else cache_root()

    def relative(path: str) -> str:
        p = Path(path)
        return p.relative_to(root).as_posix() if p.is_relative_to(root) else p.name

    out = df.drop(columns=["config"], errors="ignore")
    return runs.records(out.assign(path=[relative(p) for p in out["path"]]))


def describe(df, root: Path | None = None) -> str:
    """One line on what the table holds, or how to get runs when it is empty."""
    if not len(df):
        return empty_text(root)
    n = summary(df)
    methods = ", ".join(f"{m}: {k}" for m, k in n["runs_by_method"].items())
    worlds = ", ".join(f"{w}: {k}" for w, k in n["runs_by_world_size"].items())
    return (f"{n['n_runs']} finished runs ({methods}; world {worlds}), {n['n_evaluated_rows']} evaluations, "
            f"under {Path(root) if root is not None else cache_root()}")


def empty_text(root: Path | None = None) -> str:
    root = Path(root) if root is not None else cache_root()
    return (f"no finished runs under {root}: train some with `make study` (or `comodo study --quick`), "
            "then run this notebook again")


def default_world(df, quick: bool = False, world_size: str | None = None) -> str | None:
    """The world the notebook shows by default: ``world_size`` if given; else the quick world's runs
    with ``quick`` and the study's (``default``) without, when the table has any; else every world."""
    if world_size is not None:
        return world_size
    wanted = "quick" if quick else "default"
    return wanted if (df["world_size"] == wanted).any() else None


def _values(value) -> list | None:
    """A filter argument as a list of accepted values, or ``None`` for all."""
    if value is None or (isinstance(value, str) and value == ALL):
        return None
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def filter_runs(df, method=None, domain=None, student=None, queue_size=None, seed=None, world_size=None,
                evaluated_on: str | None = SAME):
    """The rows of ``df`` that match every given filter.

    Each filter is a value, a list of values, or ``None`` / ``"(all)"`` for all: ``method``, ``domain``
    (the training domain), ``student``, ``queue_size`` (K; only COMODO runs have one), ``seed``,
    ``world_size``. ``evaluated_on``: ``"same"`` (default) keeps in-domain evaluations, a domain
    keeps evaluations on it, ``None`` / ``"(all)"`` keeps every one.

    Raises:
        ComodoError: a value no run of a non-empty ``df`` has (a typo would give an empty view).
    """
    keep = np.ones(len(df), dtype=bool)
    given = dict(method=method, domain=domain, student=student, queue_size=queue_size, seed=seed,
                 world_size=world_size, evaluated_on=None if evaluated_on == SAME else evaluated_on)
    for name, value in given.items():
        accepted = _values(value)
        if accepted is None:
            continue
        col = df[{**FILTERS, "evaluated_on": "eval_dataset"}[name]]
        present = set(col.dropna().tolist())
        for v in accepted:
            check(not len(df) or v in present,
                  f"{name} {v!r}: no cached run has it (have: {', '.join(map(str, sorted(present, key=str)))})")
        keep &= col.isin(accepted).to_numpy()
    if evaluated_on == SAME:
        keep &= (df["eval_dataset"] == df["train_dataset"]).to_numpy()
    return df[keep].reset_index(drop=True)


def options(df, column: str) -> list:
    """The distinct values of ``column`` (NaN and None dropped), in the study's order for methods and
    domains, else sorted."""
    values = [v.item() if hasattr(v, "item") else v for v in df[column].dropna().unique()]
    if column == "method":
        return [m for m in METHOD_ORDER if m in values] + sorted(set(values) - set(METHOD_ORDER))
    if column in ("train_dataset", "eval_dataset"):
        return domain_order(values)
    return sorted(values, key=lambda v: (isinstance(v, str), v))


# -------------------------------------------------------------------------------------- figures
def _message(text: str, size: tuple[float, float] = (6.5, 3.2)) -> Figure:
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9, color="0.3")
    ax.set_axis_off()
    return fig


def _tick(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:g}" if isinstance(v, float) else str(v)


@styled
def plot_metric(df, metric: str = "acc1", setting: str = "queue_size", hue: str = "method") -> Figure:
    """``metric`` of every row of ``df`` against ``setting``, one colour per value of ``hue``.

    Dots: rows (runs × evaluation datasets); bars: their mean per (setting, hue) value. The x axis is
    categorical (sorted values; "–" for rows without the setting, e.g. K of a baseline).
    """
    check(metric in METRICS, f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    check(setting in SETTINGS, f"setting {setting!r}: expected one of {', '.join(SETTINGS)}")
    check(hue in SETTINGS, f"hue {hue!r}: expected one of {', '.join(SETTINGS)}")
    df = df[df[metric].notna()]
    if not len(df):
        return _message(f"no runs with {metric} in this selection")
    xs = options(df, setting) + ([None] if df[setting].isna().any() else [])
    hues = options(df, hue) + ([None] if df[hue].isna().any() else [])

    def rows_of(frame, column: str, value):
        return frame[frame[column].isna()] if value is None else frame[frame[column] == value]

    def color(j: int, h) -> str:
        palette = HUE_COLORS[j % len(HUE_COLORS)]
        return METHOD_COLORS.get(h, palette) if hue == "method" else palette

    fig, ax = plt.subplots(figsize=(max(5.0, 1.5 + 0.5 * len(xs) * len(hues) ** 0.5), 3.4), layout="constrained")
    handles: dict = {}  # hue index → its bars, for a legend in the hues' order
    for i, x in enumerate(xs):
        at_x = rows_of(df, setting, x)
        groups = [(j, h, rows_of(at_x, hue, h)[metric].to_numpy(float)) for j, h in enumerate(hues)]
        groups = [g for g in groups if len(g[2])]
        width = 0.8 / len(groups)
        for k, (j, h, v) in enumerate(groups):  # v: (n,) one value per row
            pos = i - 0.4 + width * (k + 0.5)
            handles[j] = ax.bar(pos, v.mean(), width * 0.9, color=color(j, h), alpha=0.35, label=_tick(h))
            ax.plot(np.full(len(v), pos), v, "o", ms=3.5, color=color(j, h), zorder=3)
    ax.set_xticks(range(len(xs)), [_tick(x) for x in xs])
    ax.set_xlabel(setting)
    ax.set_ylabel(metric)
    if metric.startswith("acc") or metric == "final_val_acc":
        ax.set_ylim(0, 1.05)
    ax.legend([handles[j] for j in sorted(handles)], [_tick(hues[j]) for j in sorted(handles)], title=hue,
              frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{metric} against {setting}: {len(df)} results of {df['path'].nunique()} runs")
    return fig


def first_trained(df) -> str | None:
    """The folder of the first run of ``df`` that has a training log (else the first run; ``None``: empty)."""
    trained = df[df["final_loss"].notna()]
    rows = trained if len(trained) else df
    return str(rows["path"].iloc[0]) if len(rows) else None


@styled
def plot_curve(df, path: str | None = None) -> Figure:
    """The training log of one run of ``df`` (its folder ``path``; default: the first run that trained):
    every logged number per epoch."""
    if not len(df):
        return _message("no run selected")
    path = first_trained(df) if path is None else str(path)
    rows = df[df["path"] == path]
    check(len(rows) > 0, f"run {path}: not in this table")
    row = rows.iloc[0]
    log = READERS.get(row["reader"]).log(Path(row["path"]))
    numbers = [c for c in log.columns if c not in ("epoch", "seconds") and np.issubdtype(log[c].dtype, np.number)]
    if not len(log) or not numbers:
        return _message(f"{row['label']}: no training epochs (an untrained student has no curve)")
    fig, axes = plt.subplots(1, len(numbers), figsize=(3.0 * len(numbers) + 0.5, 2.8), layout="constrained",
                             squeeze=False)
    for ax, c in zip(axes[0], numbers):
        ax.plot(log["epoch"], log[c], "o-", ms=3, color="#d6452e" if c == "loss" else "#2f6fb0")
        ax.set_xlabel("epoch")
        ax.set_title(c)
        if c == "val_acc":
            ax.set_ylim(0, 1.05)
    fig.suptitle(f"{row['label']} · {row['world_size']} world · run {Path(row['path']).name}", fontsize=9)
    return fig


# -------------------------------------------------------------------------------------- widgets
def live_kernel() -> bool:
    """Whether this code runs in an IPython kernel (JupyterLab, or papermill's headless one)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def _show(out, fig: Figure) -> None:
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        display(fig)
    plt.close(fig)


def controls(df, metric: str = "acc1", setting: str = "queue_size", hue: str = "method", **filters):
    """Dropdowns for the filters of :func:`filter_runs`, the metric, the setting and the colour, the
    figure of :func:`plot_metric` below them, and one run's :func:`plot_curve` on demand.

    Returns an ``ipywidgets.VBox`` (CSS class ``comodo-explore``) in a live kernel; elsewhere (a script,
    no IPython) the static figure of the same view.
    """
    if not live_kernel():
        return plot_metric(filter_runs(df, **filters), metric, setting, hue)
    import ipywidgets as w

    def dropdown(description: str, values: list, value) -> "w.Dropdown":
        opts = [(_tick(v), v) for v in values]
        return w.Dropdown(options=opts, value=value if value in values else values[0], description=description,
                          layout=w.Layout(width="225px"), style={"description_width": "90px"})

    pick = {name: dropdown(name.replace("_", " "), [ALL] + options(df, col), filters.get(name, ALL))
            for name, col in FILTERS.items()}
    pick["evaluated_on"] = dropdown("evaluated on", [SAME, ALL] + options(df, "eval_dataset"),
                                    filters.get("evaluated_on", SAME))
    axes = {"metric": dropdown("metric", list(METRICS), metric), "setting": dropdown("against", list(SETTINGS),
            setting), "hue": dropdown("colour by", list(SETTINGS), hue)}
    count, plot_out, curve_out = w.HTML(), w.Output(), w.Output()
    run = w.Dropdown(description="run", layout=w.Layout(width="640px"), style={"description_width": "90px"})

    def view():
        return filter_runs(df, **{k: p.value for k, p in pick.items()})

    def redraw(_=None) -> None:
        v = view()
        count.value = f"<b>{v['path'].nunique()}</b> runs, <b>{len(v)}</b> results selected of {len(df)}"
        _show(plot_out, plot_metric(v, **{k: a.value for k, a in axes.items()}) if len(df)
              else _message(empty_text().replace(": ", ":\n", 1)))
        runs_of_view = v.drop_duplicates("path")
        keep = run.value if run.value in set(runs_of_view["path"]) else first_trained(runs_of_view)
        run.options = [(f"{r.label} · {r.world_size} world · {Path(r.path).name}", r.path)
                       for r in runs_of_view.itertuples()]
        run.value = keep  # the run shown stays while it is selected; else the first that trained

    def curve(_=None) -> None:
        _show(curve_out, plot_curve(df, run.value) if run.value else _message("no run selected"))

    for p in [*pick.values(), *axes.values()]:
        p.observe(redraw, names="value")
    run.observe(curve, names="value")
    redraw()
    curve()
    box = w.VBox([w.HTML("<b>filter</b>"), w.HBox(list(pick.values())[:4]), w.HBox(list(pick.values())[4:]),
                  w.HTML("<b>plot</b>"), w.HBox(list(axes.values())), count, plot_out,
                  w.HTML("<b>training curve</b>"), run, curve_out])
    box.add_class("comodo-explore")
    return box
