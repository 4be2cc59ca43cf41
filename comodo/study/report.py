"""``comodo report``: the study's numbers as Markdown tables, read from the notebooks' JSON files.

Every table of the README's *Results* section is printed by this command from ``figures/*.json`` (what
``make study`` writes), so the README's numbers can be checked against a re-run:

    comodo report                       # figures/ of this checkout
    comodo report --figures build/quick/figures

Tables: SVM acc@1 per method and domain (ours: mean ± std over seeds; the authors' published numbers
beside them), COMODO's gain over the untrained student, accuracy against the queue size, cross-dataset
transfer, and the ablations (temperatures, teacher projection, channel reduction); then EgoDistill's
(:mod:`comodo.study.egodistill.report`: the claims, accuracy against N, two teachers, Tables 1 and 4,
what the IMU adds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Iterable, Sequence

from comodo.errors import ComodoError, check

DOMAIN_NAMES = {"ego4d": "Ego4D", "egoexo4d": "EgoExo4D", "mmea": "MMEA"}
METHOD_NAMES = {"video_teacher": "video teacher", "none": "untrained student", "supervised": "supervised student",
                "l2": "L2 regression", "infonce": "InfoNCE (IMU2CLIP-style)", "comodo": "COMODO"}


def load(figures: Path, name: str) -> dict:
    """The JSON numbers of one notebook (``<figures>/<name>.json``)."""
    path = Path(figures) / f"{name}.json"
    check(path.exists(), f"{path}: no such file; run `make study` (or `comodo study --only {name[:2]}`) first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ComodoError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); re-run its notebook") from None


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: the first column left-aligned, the numbers right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def pm(mean: float | None, std: float | None = None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def _domains(rows: Iterable[dict], key: str = "eval_dataset") -> list[str]:
    from comodo.study.comodo.experiments import domain_order

    return domain_order(r[key] for r in rows)


def methods_table(m: dict) -> str:
    """SVM acc@1 per method (rows) and domain (columns): ours, then the authors'."""
    ours = {(r["method"], r["eval_dataset"]): r for r in m["summary"]}
    authors = {(r["method"], r["eval_dataset"]): r for r in m.get("authors", [])}
    teacher = {r["eval_dataset"]: r for r in m.get("teacher", [])}
    domains = _domains(m["summary"])
    n = max(r["n"] for r in m["summary"])
    header = ["method"] + [f"{DOMAIN_NAMES.get(d, d)}: ours" for d in domains] + [
        f"{DOMAIN_NAMES.get(d, d)}: authors" for d in domains]
    rows = []
    order = ["video_teacher"] + [k for k in METHOD_NAMES if k != "video_teacher"]
    for method in order:
        cells = [METHOD_NAMES[method]]
        for d in domains:
            if method == "video_teacher":
                cells.append(pm(teacher[d]["acc1"]) if d in teacher else "–")
            else:
                r = ours.get((method, d))
                cells.append(pm(r["acc1_mean"], r["acc1_std"]) if r else "–")
        for d in domains:
            r = authors.get((method, d))
            cells.append(pm(r["acc1"]) if r else "–")
        rows.append(cells)
    note = (f"SVM acc@1 on the test split. Ours: embedded world, dilated-CNN student, embedded VideoMAE "
            f"teacher, mean ± std over {n} seeds ({_settings_line(m['settings'])}). Authors: their published "
            f"numbers ({m.get('authors_label', '').removeprefix('authors ').strip('() ')}); their untrained student is a "
            f"*pretrained* one without distillation, and they report no video-teacher row.")
    return table(header, rows) + "\n\n" + note


def _settings_line(s: dict) -> str:
    return (f"{s['num_epochs']} epochs, batch {s['batch_size']}, lr {s['learning_rate']:g}, "
            f"K {s['queue_size']} capped below the training set")


def gain_table(m: dict) -> str:
    """COMODO against the untrained student, per domain (the acceptance bar of the core)."""
    rows = []
    for r in m["comodo_vs_none"]:
        rows.append([DOMAIN_NAMES.get(r["eval_dataset"], r["eval_dataset"]), pm(r["acc1_mean"]),
                     pm(r["baseline_acc1_mean"]), f"{r['gain_points']:+.1f}", str(r["n_seeds"]),
                     "yes" if r["meets_threshold"] else "**no**"])
    bar = 100 * m["comodo_vs_none"][0]["threshold"] if m["comodo_vs_none"] else 5
    return table(["domain", "COMODO", "untrained", "gain (points)", "seeds", f"≥ {bar:g} points"], rows)


def queue_table(q: dict) -> str:
    """Mean acc@1 (± std) against the queue size K, one column per domain."""
    domains = _domains(q["summary"], "train_dataset")  # in-domain: trained and evaluated on it
    sizes = sorted({r["queue_size"] for r in q["summary"]})
    by = {(r["train_dataset"], r["queue_size"]): r for r in q["summary"]}
    rows = []
    for k in sizes:
        rows.append([str(k)] + [pm(by[(d, k)]["acc1_mean"], by[(d, k)]["acc1_std"]) if (d, k) in by else "–"
                                for d in domains])
    return table(["K"] + [DOMAIN_NAMES.get(d, d) for d in domains], rows)


def cross_table(c: dict) -> str:
    """COMODO distilled on A (rows), SVM on B (columns); the untrained student on B in the last row."""
    t = c["table"]
    domains = _domains(t)
    by = {(r["train_dataset"], r["eval_dataset"]): r for r in t}
    rows = [[f"COMODO on {DOMAIN_NAMES.get(a, a)}"] + [pm(by[(a, b)]["comodo"]) for b in domains] for a in domains]
    rows.append(["untrained student"] + [pm(by[(domains[0], b)]["untrained"]) for b in domains])
    rows.append(["supervised, in-domain"] + [pm(by[(b, b)]["supervised"]) for b in domains])
    return table(["distilled on ↓ / evaluated on →"] + [DOMAIN_NAMES.get(d, d) for d in domains], rows)


def ablation_tables(a: dict) -> str:
    """Teacher projection and channel reduction per domain, and the temperature grid."""
    parts = []
    for key, values, title in (("projection", ("random_mlp", "none"), "teacher projection"),
                               ("reduction", ("concat", "mean"), "channel reduction (per-channel student)")):
        rows_in = a[key]
        domains = _domains(rows_in, "train_dataset")  # in-domain
        by = {(r["train_dataset"], r[key]): r for r in rows_in}
        rows = [[f"`{v}`"] + [pm(by[(d, v)]["acc1_mean"], by[(d, v)]["acc1_std"]) if (d, v) in by else "–"
                              for d in domains] for v in values]
        parts.append(table([title] + [DOMAIN_NAMES.get(d, d) for d in domains], rows))
    temps = a["temperatures"]
    ts = sorted({r["student_temp"] for r in temps})
    tt = sorted({r["teacher_temp"] for r in temps})
    by = {(r["student_temp"], r["teacher_temp"]): r for r in temps}
    rows = [[f"τ_s = {s:g}"] + [pm(by[(s, t)]["acc1_mean"]) if (s, t) in by else "–" for t in tt] for s in ts]
    ds = DOMAIN_NAMES.get(a.get("temperature_dataset", ""), a.get("temperature_dataset", ""))
    parts.append(table([f"temperatures ({ds})"] + [f"τ_t = {t:g}" for t in tt], rows))
    n = max(r["n"] for r in a["projection"] + a["reduction"] + temps)
    return f"Mean ± std over {n} seeds; trained and evaluated on the same domain.\n\n" + "\n\n".join(parts)


def report(figures: Path) -> str:
    """Every table, as one Markdown text."""
    figures = Path(figures)
    m = load(figures, "04_methods")
    sections = [("Methods (notebook 4)", methods_table(m)),
                ("COMODO against the untrained student (notebook 4)", gain_table(m)),
                ("Queue size (notebook 3): COMODO acc@1 against K", queue_table(load(figures, "03_queue_size"))),
                ("Cross-dataset (notebook 5): acc@1, mean over seeds", cross_table(load(figures, "05_cross_dataset"))),
                ("Ablations (notebook 7): acc@1", ablation_tables(load(figures, "07_ablations")))]
    from comodo.study.egodistill.report import sections as egodistill_sections

    sections += egodistill_sections(figures)
    return "\n\n".join(f"#### {title}\n\n{body}" for title, body in sections) + "\n"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="print the study's results as Markdown tables (from figures/*.json)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--figures", type=Path, default=None, help="folder of the notebooks' JSON (default: figures/)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comodo.study.cli import ROOT

    print(report(args.figures or ROOT / "figures"), end="")
    return 0
