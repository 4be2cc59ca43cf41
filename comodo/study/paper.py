"""The COMODO authors' published numbers (``data/paper/paper_results.json``), for plotting beside ours.

These are *their* results — real Ego4D / EgoExo4D / UESTC-MMEA-CL, Mantis-8M or MOMENT-1-small students,
TimeSformer or VideoMAE teachers, queue sizes 256 … 65536 — copied from the ``results/`` folder of
their public repository (the file's ``source`` line says exactly where). The study's own numbers come
from the embedded world and a small CNN student; the two are not comparable in absolute terms, only
in their trends. Every loader here returns rows with ``source = "authors"`` and our names for
datasets and methods. :func:`load_egodistill` reads the EgoDistill paper's numbers
(``data/paper/egodistill_results.json``, transcribed from its tables) as stored.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from comodo.errors import check

PATH = Path(__file__).resolve().parents[2] / "data" / "paper" / "paper_results.json"
# EgoDistill (Tan et al., NeurIPS 2023): every number the paper publishes (its Tables 1-4), with a "source" line
EGODISTILL_PATH = PATH.parent / "egodistill_results.json"

# their dataset keys -> our domain names
DATASETS = {"ego4d_data": "ego4d", "egoexo4d": "egoexo4d", "UESTC-MMEA-CL": "mmea"}
# their method names -> ours (methods without an equivalent here keep their name)
METHODS = {"comodo": "comodo", "imu2clip_infonce": "infonce", "l2_regression": "l2",
           "pretrained_student_no_distillation": "none", "supervised_full_finetune": "supervised"}
STUDENTS = {"mantis": "paris-noah/Mantis-8M", "moment": "AutonLab/MOMENT-1-small"}
TEACHERS = {"timesformer": "timesformer-base-finetuned-k400", "videomae": "videomae-base-finetuned-kinetics"}
SHORT = {**{v: k for k, v in STUDENTS.items()}, **{v: k for k, v in TEACHERS.items()}}
SHORT.update({"paris-noah/Mantis-8M": "Mantis-8M", "AutonLab/MOMENT-1-small": "MOMENT-1-small",
              "timesformer-base-finetuned-k400": "TimeSformer", "videomae-base-finetuned-kinetics": "VideoMAE"})

COLUMNS = ("source", "method", "train_dataset", "eval_dataset", "student", "teacher", "queue_size",
           "reduction", "student_temp", "teacher_temp", "batch_size", "epochs", "acc1", "acc3", "acc5",
           "paper_method")


@lru_cache(maxsize=None)
def _read(path: Path) -> dict:
    check(path.exists(), f"{path}: the authors' results are missing from this checkout")
    return json.loads(path.read_text())


def load() -> dict:
    """The file as stored: ``{"source": ..., "rows": [...]}``."""
    return _read(PATH)


def load_egodistill() -> dict:
    """The EgoDistill paper's numbers as stored: ``{"source": ..., "defaults": ..., "table1_ablation_N1": ...,
    "table3_efficiency": {"columns", "note", "rows"}, ...}`` (its "GFLOPs" are fvcore's: a multiply-add = 1)."""
    return _read(EGODISTILL_PATH)


def source() -> str:
    """Where the authors' numbers come from (the file's ``source`` line)."""
    return load()["source"]


def rows(method: str | None = None, dataset: str | None = None, train_dataset: str | None = None,
         eval_dataset: str | None = None, queue_size: int | None = None, teacher: str | None = None,
         student: str | None = None, reduction: str | None = None, in_domain: bool | None = None):
    """The authors' rows as a DataFrame (columns :data:`COLUMNS`), filtered by every argument given.

    Args:
        method: ours (``comodo``, ``infonce``, ``l2``, ``none``, ``supervised``) or theirs.
        dataset: shorthand for ``eval_dataset`` (``ego4d``, ``egoexo4d``, ``mmea``).
        train_dataset, eval_dataset: our domain names.
        queue_size: K.
        teacher: ``timesformer``, ``videomae`` or their full name.
        student: ``mantis``, ``moment`` or their full name.
        reduction: ``concat`` or ``mean``.
        in_domain: keep only rows with train == eval dataset (True) or only cross-dataset ones (False).
            Rows of the untrained student carry no train dataset: they count as in-domain.
    """
    import pandas as pd

    out = []
    for r in load()["rows"]:
        ev = DATASETS.get(r["eval_dataset"], r["eval_dataset"])
        tr = DATASETS.get(r.get("train_dataset"), r.get("train_dataset")) or ev
        out.append({"source": "authors", "method": METHODS.get(r["method"], r["method"]), "train_dataset": tr,
                    "eval_dataset": ev, "student": r.get("student"), "teacher": r.get("teacher"),
                    "queue_size": r.get("queue_size"), "reduction": r.get("reduction"),
                    "student_temp": r.get("student_temp"), "teacher_temp": r.get("teacher_temp"),
                    "batch_size": r.get("batch_size"), "epochs": r.get("epochs"),
                    "acc1": r["acc1"], "acc3": r["acc3"], "acc5": r["acc5"], "paper_method": r["method"]})
    df = pd.DataFrame(out, columns=list(COLUMNS))
    eval_dataset = eval_dataset or dataset
    teacher = TEACHERS.get(teacher, teacher) if teacher else None
    student = STUDENTS.get(student, student) if student else None
    for col, value in (("method", method), ("train_dataset", train_dataset), ("eval_dataset", eval_dataset),
                       ("queue_size", queue_size), ("teacher", teacher), ("student", student),
                       ("reduction", reduction)):
        if value is not None:
            df = df[df[col] == value]
    if in_domain is not None:
        df = df[(df["train_dataset"] == df["eval_dataset"]) == in_domain]
    return df.reset_index(drop=True)


def queue_size_rows(student: str = "mantis", teacher: str = "timesformer"):
    """COMODO in-domain acc@1/3/5 per dataset and queue size (mean over the authors' repeated entries)."""
    df = rows(method="comodo", student=student, teacher=teacher, reduction="concat", in_domain=True)
    return _mean(df, ["eval_dataset", "queue_size"])


def method_rows(student: str = "mantis", teacher: str = "timesformer"):
    """The authors' method comparison, in-domain: comodo, infonce, l2, the pretrained student without
    distillation (``none``) and the fully fine-tuned supervised student (``supervised``).

    Distillation rows are those of ``teacher``; where the authors report several (queue sizes,
    batch sizes), the mean is taken and ``n`` says over how many.
    """
    import pandas as pd

    df = rows(student=student, in_domain=True)
    df = df[df["method"].isin(["comodo", "infonce", "l2", "none", "supervised"])]
    t = TEACHERS.get(teacher, teacher)
    df = df[df["teacher"].isna() | (df["teacher"] == t)]
    df = df[(df["method"] != "comodo") | (df["reduction"] == "concat")]
    return _mean(df, ["eval_dataset", "method"]) if len(df) else pd.DataFrame()


def cross_rows(method: str = "comodo", student: str = "mantis", teacher: str = "timesformer"):
    """The authors' train → eval accuracies (in-domain and cross-dataset), mean over repeated entries."""
    df = rows(method=method, student=student, teacher=teacher)
    if method == "comodo":
        df = df[df["reduction"] == "concat"]
    return _mean(df, ["train_dataset", "eval_dataset"])


def reduction_rows(student: str = "moment", teacher: str = "timesformer"):
    """The authors' COMODO with concat vs mean channel reduction, in-domain, on the queue sizes where
    both were run (mean over repeated entries)."""
    df = rows(method="comodo", student=student, teacher=teacher, in_domain=True)
    both = df.groupby(["eval_dataset", "queue_size"])["reduction"].transform("nunique") == 2
    return _mean(df[both], ["eval_dataset", "queue_size", "reduction"])


def label(student: str = "mantis", teacher: str | None = "timesformer") -> str:
    """A legend label for the authors' numbers, e.g. ``authors (real data; Mantis-8M ← TimeSformer)``."""
    s = SHORT.get(STUDENTS.get(student, student), student)
    if teacher is None:
        return f"authors (real data; {s})"
    t = SHORT.get(TEACHERS.get(teacher, teacher), teacher)
    return f"authors (real data; {s} ← {t})"


def _mean(df, by: list[str]):
    g = df.groupby(by, sort=True)
    out = g[["acc1", "acc3", "acc5"]].mean()
    out["n"] = g["acc1"].count()
    out = out.reset_index()
    out.insert(0, "source", "authors")
    return out
