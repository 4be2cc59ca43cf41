"""The EgoDistill runs of the study, and the table of the paper's two central claims.

Claims (the paper's Sec. 4.3 and Table 1), per domain at N = 1, per-video top-1 averaged over seeds:

- (a) EgoDistill beats VisOnly-Distill: the IMU helps reconstruct what the clip's video shows;
- (b) EgoDistill beats VisIMU: distillation beats just adding the IMU as an input.

:func:`claims` trains (or reads) the runs through the cached sweep and returns one row per domain with
the three means, both gains in points, the seed count and whether each gain is ≥ 3 points.
``comodo egodistill claims`` prints it and writes it as JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from comodo.egodistill.clips import FRAME_RULES
from comodo.egodistill.config import VARIANTS, EgoDistillConfig, variant
from comodo.world.domains import VERB_DOMAINS

CLAIM_VARIANTS = ("egodistill", "visonly_distill", "visimu")
COST_VARIANTS = ("egodistill", "visonly_distill", "visimu", "visonly")  # the paper's Fig. 3
TEACHERS = ("embedded", "embedded-timesformer")  # the paper's Table 2: the same student under two teachers
THRESHOLD = 3.0  # points
# The paper's Table 1 (N = 1), its row names as in egodistill_results.json: stage 1's losses, stage 0's
ABLATION_ROWS = {
    "VisIMU (L_GT only: multi-modal recognition, no distillation)": dict(losses=["gt"], pretrain="none"),
    "without L_KD": dict(losses=["l1", "gt"], pretrain="nce+l1"),
    "without L_1": dict(losses=["kd", "gt"], pretrain="nce+l1"),
    "without L_GT": dict(losses=["kd", "l1"], pretrain="nce+l1"),
    "without pretraining": dict(losses=["kd", "l1", "gt"], pretrain="none"),
    "without L1 pretraining": dict(losses=["kd", "l1", "gt"], pretrain="nce"),
    "without NCE pretraining": dict(losses=["kd", "l1", "gt"], pretrain="l1"),
    "EgoDistill (all)": dict(losses=["kd", "l1", "gt"], pretrain="nce+l1"),
}


@dataclass(frozen=True)
class EgoStudySettings:
    """The EgoDistill study's budget on the embedded world (the paper's is 50 + 150 epochs at lr 1e-4 on
    tens of thousands of clips; ours trains small students from cached features on a few hundred)."""

    quick: bool = False
    world_size: str = "default"
    domains: tuple[str, ...] = VERB_DOMAINS
    seeds: tuple[int, ...] = (0, 1, 2)  # the claims and the accuracy-against-cost sweep
    frames: tuple[int, ...] = (1, 2, 4)  # N of the accuracy-against-cost sweep
    # seeds at N > 1: one, to fit the study into an afternoon on 2 cores (f_M's training is ~95 % of a run;
    # 3 seeds at N = 2, 4 would add 36 IMU runs, ~30 min there); the N = 1 spread shows the noise
    multi_frame_seeds: tuple[int, ...] = (0,)
    ablation_seeds: tuple[int, ...] = (0,)  # Table 1's rows, Table 4's rules and the second teacher
    num_epochs: int = 20
    pretrain_epochs: int = 20
    learning_rate: float = 1e-3
    batch_size: int = 64
    # f_M's channels: a quarter of the default's 64; at 32 every reading of notebooks 10-12 was the same
    # (README, EgoDistill's budget) and the IMU runs took 1.8x as long on a CPU
    imu_width: int = 16

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def settings(quick: bool = False, **overrides) -> EgoStudySettings:
    """The study's settings; ``quick``: the quick world, its first verb domain, one seed, 2 + 2 epochs
    (CI-sized)."""
    base = EgoStudySettings(quick=True, world_size="quick", domains=VERB_DOMAINS[:1], seeds=(0,), num_epochs=2,
                            pretrain_epochs=2) \
        if quick else EgoStudySettings()
    return dataclasses.replace(base, **overrides)


def config(s: EgoStudySettings, name: str, dataset: str, seed: int, **fields) -> EgoDistillConfig:
    """One of the paper's variants at the study's budget."""
    return variant(name, dataset=dataset, world_size=s.world_size, seed=seed, num_epochs=s.num_epochs,
                   pretrain_epochs=s.pretrain_epochs, learning_rate=s.learning_rate, batch_size=s.batch_size,
                   imu_options={"width": s.imu_width}, device="cpu", **fields)


def claim_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    return [config(s, name, d, seed) for d in s.domains for name in CLAIM_VARIANTS for seed in s.seeds]


def cost_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    """The paper's Fig. 3: every variant at every N, per domain and seed (N = 1 holds the claims' runs, over
    ``seeds``; N > 1 over ``multi_frame_seeds``)."""
    return [config(s, name, d, seed, frames=n) for d in s.domains for n in s.frames for name in COST_VARIANTS
            for seed in (s.seeds if n == 1 else s.multi_frame_seeds)]


def teacher_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    """The paper's Table 2 at N = 1: EgoDistill and VisOnly-Distill distilled from each embedded teacher."""
    return [config(s, name, d, seed, teacher=t) for d in s.domains for t in TEACHERS
            for name in ("egodistill", "visonly_distill") for seed in s.ablation_seeds]


def ablation_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    """The paper's Table 1 at N = 1: one run per row of :data:`ABLATION_ROWS`, per domain and seed."""
    return [config(s, "egodistill", d, seed, **row) for d in s.domains for row in ABLATION_ROWS.values()
            for seed in s.ablation_seeds]


def frame_rule_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    """The paper's Table 4: EgoDistill at N = 4 under each frame-selection rule, per domain and seed."""
    return [config(s, "egodistill", d, seed, frames=4, frame_selection=rule) for d in s.domains
            for rule in FRAME_RULES for seed in s.ablation_seeds]


def study_configs(s: EgoStudySettings) -> list[EgoDistillConfig]:
    """Every EgoDistill run the study's notebooks read, each once, the first seed's first (so a sweep
    cut short has every figure's first seed)."""
    configs = (claim_configs(s) + cost_configs(s) + ablation_configs(s) + frame_rule_configs(s)
               + teacher_configs(s))
    seen: dict[str, EgoDistillConfig] = {}
    for c in sorted(configs, key=lambda c: c.seed != s.seeds[0]):
        seen.setdefault(json_key(c), c)
    return list(seen.values())


def json_key(c: EgoDistillConfig) -> str:
    import json

    return json.dumps(c.resolved().to_dict(), sort_keys=True)


def claims(s: EgoStudySettings, progress: bool = True) -> dict:
    """Train/read the claims' runs and tabulate them (see the module docstring)."""
    import numpy as np

    from comodo.study.egodistill.runs import sweep

    configs = claim_configs(s)
    results = sweep(configs, progress=progress)
    rows = []
    for d in s.domains:
        top1 = {name: [r["student"]["video_top1"] for c, r in zip(configs, results)
                       if c.dataset == d and c.variant == name] for name in CLAIM_VARIANTS}
        teacher = [r["teacher"]["video_top1"] for c, r in zip(configs, results) if c.dataset == d]
        mean = {name: float(np.mean(v)) for name, v in top1.items()}
        std = {name: float(np.std(v)) for name, v in top1.items()}
        gain_a = 100 * (mean["egodistill"] - mean["visonly_distill"])
        gain_b = 100 * (mean["egodistill"] - mean["visimu"])
        rows.append({"domain": d, "egodistill": mean["egodistill"], "visonly_distill": mean["visonly_distill"],
                     "visimu": mean["visimu"], "std": std, "teacher": float(np.mean(teacher)),
                     "gain_over_visonly_distill": gain_a, "gain_over_visimu": gain_b, "seeds": len(s.seeds),
                     "a_holds": bool(gain_a >= THRESHOLD), "b_holds": bool(gain_b >= THRESHOLD),
                     "per_seed": top1})
    return {"settings": s.to_dict(), "threshold_points": THRESHOLD, "claims": rows,
            "runs": [{"config": c.to_dict(), "student": {k: r["student"][k] for k in ("clip_top1", "video_top1")},
                      "teacher": {k: r["teacher"][k] for k in ("clip_top1", "video_top1")},
                      "reconstruction": r["student"]["reconstruction"]} for c, r in zip(configs, results)]}


def markdown(table: dict) -> str:
    """The claims table as Markdown (per-video top-1, mean over seeds; gains in points)."""
    lines = ["| domain | EgoDistill | VisOnly-Distill | VisIMU | video teacher | (a) gain | (b) gain | seeds |",
             "|:---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table["claims"]:
        mark = lambda ok: "✓" if ok else "✗"  # noqa: E731
        lines.append(f"| {r['domain']} | {r['egodistill']:.3f} ± {r['std']['egodistill']:.3f} | "
                     f"{r['visonly_distill']:.3f} ± {r['std']['visonly_distill']:.3f} | "
                     f"{r['visimu']:.3f} ± {r['std']['visimu']:.3f} | {r['teacher']:.3f} | "
                     f"{r['gain_over_visonly_distill']:+.1f} {mark(r['a_holds'])} | "
                     f"{r['gain_over_visimu']:+.1f} {mark(r['b_holds'])} | {r['seeds']} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ tables
# Notebooks 10 and 11: each table function sweeps one of the run sets above (cached) and returns one row
# per run; the summaries average over seeds. Accuracies are fractions in [0, 1] (per-video top-1 on the
# test split unless named clip_*); gains and differences are in points (100 × a difference of fractions).
PAPER_DATASETS = {"ego4d": "Ego4D", "epic_kitchens": "EPIC-Kitchens-100"}  # the paper's columns
FULL_ROW = "EgoDistill (all)"  # Table 1's reference row
VISIMU_ROW = next(iter(ABLATION_ROWS))  # Table 1's first row: VisIMU (L_GT only), N = 1
REFERENCE_RULE = "uniform"  # Table 4's reference rule (the paper's default)
RUN_COLUMNS = ("domain", "variant", "frames", "frame_selection", "teacher", "seed", "video_top1", "clip_top1",
               "teacher_video_top1", "teacher_clip_top1", "n_videos", "n_clips", "config")


def notebook_settings(quick: bool = False, **overrides) -> EgoStudySettings:
    """:func:`settings` with every override that is not None (lists become tuples): a notebook's parameters,
    where None means the study's default."""
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if v is not None}
    return settings(quick, **given)


def ablation_row(c: EgoDistillConfig) -> str | None:
    """The name of ``c``'s row in :data:`ABLATION_ROWS` (by its stage-1 losses and stage-0 pre-training)."""
    r = c.resolved()
    for name, row in ABLATION_ROWS.items():
        if r.use_imu and r.losses == row["losses"] and r.pretrain == row["pretrain"]:
            return name
    return None


def run_rows(configs, results) -> list[dict]:
    """One row per run (columns :data:`RUN_COLUMNS`): its settings, the student's and the teacher's top-1,
    the test split's video and clip counts, and the resolved config (no absolute paths)."""
    rows = []
    for c, r in zip(configs, results):
        c = c.resolved()
        rows.append({"domain": c.dataset, "variant": c.variant, "frames": c.frames,
                     "frame_selection": c.frame_selection, "teacher": c.teacher, "seed": c.seed,
                     "video_top1": float(r["student"]["video_top1"]), "clip_top1": float(r["student"]["clip_top1"]),
                     "teacher_video_top1": float(r["teacher"]["video_top1"]),
                     "teacher_clip_top1": float(r["teacher"]["clip_top1"]), "n_videos": int(r["student"]["n_videos"]),
                     "n_clips": int(r["student"]["n_clips"]), "config": c.to_dict()})
    return rows


def _table(configs: list[EgoDistillConfig], progress: bool):
    import pandas as pd

    from comodo.study.egodistill.runs import sweep

    return pd.DataFrame(run_rows(configs, sweep(configs, progress=progress)), columns=list(RUN_COLUMNS))


def cost_table(s: EgoStudySettings, progress: bool = True):
    """The runs of :func:`cost_configs` (every variant of :data:`COST_VARIANTS` at every N), one row each, with
    ``model``: the efficiency model of its architecture at the real size
    (:func:`comodo.study.egodistill.cost.student_model`)."""
    from comodo.study.egodistill.cost import student_model

    df = _table(cost_configs(s), progress)
    df.insert(3, "model", [student_model(v, n) for v, n in zip(df["variant"], df["frames"])])
    return df


def teacher_table(s: EgoStudySettings, progress: bool = True):
    """The runs of :func:`teacher_configs`: EgoDistill and VisOnly-Distill at N = 1 under each of :data:`TEACHERS`."""
    return _table(teacher_configs(s), progress)


def ablation_table(s: EgoStudySettings, progress: bool = True):
    """The runs of :func:`ablation_configs`, with ``row``: the paper's Table 1 row name (:data:`ABLATION_ROWS`)."""
    configs = ablation_configs(s)
    df = _table(configs, progress)
    df.insert(1, "row", [ablation_row(c) for c in configs])
    return df


def frame_rule_table(s: EgoStudySettings, progress: bool = True):
    """The runs of :func:`frame_rule_configs`, with ``rule``: the frame-selection rule (the paper's Table 4)."""
    df = _table(frame_rule_configs(s), progress)
    df.insert(1, "rule", df["frame_selection"])
    return df


def claim_table(s: EgoStudySettings, progress: bool = True):
    """The runs of :func:`claim_configs` (N = 1, :data:`CLAIM_VARIANTS`, every seed of ``s.seeds``)."""
    return _table(claim_configs(s), progress)


def summarize(df, by, metrics=("video_top1", "clip_top1", "teacher_video_top1")):
    """Per group of ``by``: ``{metric}_mean`` and ``{metric}_std`` over the group's runs (seeds; ddof 1, 0 for
    one run) and ``n``, the number of runs. Groups in sorted order."""
    import pandas as pd

    g = df.groupby(list(by), sort=True)
    parts = {}
    for m in metrics:
        parts[f"{m}_mean"] = g[m].mean()
        parts[f"{m}_std"] = g[m].std(ddof=1).fillna(0.0)
    parts["n"] = g[metrics[0]].count()
    return pd.DataFrame(parts).reset_index()


def cost_summary(df, flops: dict):
    """:func:`cost_table` averaged over seeds per (domain, variant, frames), with ``gflops``: the GFLOPs per clip
    of the row's architecture at the real size, from ``flops`` (:func:`comodo.study.egodistill.cost.gflops`)."""
    out = summarize(df, ["domain", "variant", "frames", "model"])
    out["gflops"] = [float(flops[m]) for m in out["model"]]
    return out


def teacher_reference(df, flops: dict):
    """Per (domain, teacher) of a run table: the video teacher's own per-video and clip top-1 (the same for
    every run of a domain and teacher: one teacher, one test split), ``model`` (its real-size architecture)
    and its ``gflops`` from ``flops``."""
    from comodo.study.egodistill.cost import teacher_model

    out = (df.groupby(["domain", "teacher"], sort=True)[["teacher_video_top1", "teacher_clip_top1"]].mean()
           .reset_index())
    out["model"] = [teacher_model(t) for t in out["teacher"]]
    out["gflops"] = [float(flops[m]) if m in flops else None for m in out["model"]]
    return out


def teacher_summary(df):
    """:func:`teacher_table` per (domain, teacher): the teacher's own per-video top-1 (``video``), EgoDistill's and
    VisOnly-Distill's mean over seeds, ``gain_points`` (100 × EgoDistill − VisOnly-Distill) and ``seeds``."""
    import pandas as pd

    rows = []
    for (d, t), g in df.groupby(["domain", "teacher"], sort=True):
        mean = {v: float(g.loc[g["variant"] == v, "video_top1"].mean()) for v in ("egodistill", "visonly_distill")}
        rows.append({"domain": d, "teacher": t, "video": float(g["teacher_video_top1"].mean()),
                     "egodistill": mean["egodistill"], "visonly_distill": mean["visonly_distill"],
                     "gain_points": 100 * (mean["egodistill"] - mean["visonly_distill"]),
                     "seeds": int(g.loc[g["variant"] == "egodistill", "seed"].nunique())})
    return pd.DataFrame(rows)


def _with_delta(summary, key: str, reference: str):
    """``delta_points``: 100 × (a row's mean − the ``reference`` row's of the same domain)."""
    ref = summary[summary[key] == reference].set_index("domain")["video_top1_mean"]
    summary["delta_points"] = [100 * (m - ref[d]) if d in ref.index else float("nan")
                               for d, m in zip(summary["domain"], summary["video_top1_mean"])]
    return summary


def ablation_summary(df):
    """:func:`ablation_table` per (domain, row) in :data:`ABLATION_ROWS` order, with ``delta_points`` against
    :data:`FULL_ROW` of the same domain."""
    out = summarize(df, ["domain", "row"])
    out["order"] = [list(ABLATION_ROWS).index(r) for r in out["row"]]
    out = out.sort_values(["domain", "order"], kind="stable").drop(columns="order").reset_index(drop=True)
    return _with_delta(out, "row", FULL_ROW)


def frame_rule_summary(df):
    """:func:`frame_rule_table` per (domain, rule) in :data:`FRAME_RULES` order, with ``delta_points`` against
    :data:`REFERENCE_RULE` of the same domain."""
    out = summarize(df, ["domain", "rule"])
    out["order"] = [FRAME_RULES.index(r) for r in out["rule"]]
    out = out.sort_values(["domain", "order"], kind="stable").drop(columns="order").reset_index(drop=True)
    return _with_delta(out, "rule", REFERENCE_RULE)


def noise(claim_df):
    """How far apart two of our numbers must be to differ: per domain, from :func:`claim_table` runs.

    ``n_videos`` (test videos), ``one_video_points`` (100 / n_videos: one video more or less right),
    ``seed_std_points`` (100 × the std over seeds (ddof 1) of one variant's per-video top-1, averaged over
    :data:`CLAIM_VARIANTS`; None with one seed), ``seeds`` and ``noise_points``: the larger of the two.
    """
    import pandas as pd

    rows = []
    for d, g in claim_df.groupby("domain", sort=True):
        n_videos = int(g["n_videos"].iloc[0])
        seeds = int(g["seed"].nunique())
        std = (100 * float(g.groupby("variant")["video_top1"].std(ddof=1).mean())) if seeds > 1 else None
        one = 100.0 / n_videos
        rows.append({"domain": d, "n_videos": n_videos, "one_video_points": one, "seed_std_points": std,
                     "seeds": seeds, "noise_points": max(one, std or 0.0)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- the paper's
def _fraction(percent: float) -> float:
    """The paper's percent (two decimals) as a fraction, without float noise (37.95 → 0.3795)."""
    return round(percent / 100, 6)


def _points(difference: float) -> float:
    """A difference of the paper's percents, in points, without float noise."""
    return round(difference, 4)


def paper_table1():
    """The paper's Table 1 (N = 1) as tidy rows: ``row``, ``dataset`` (``ego4d``, ``epic_kitchens``),
    ``video_top1`` (fraction), ``delta_points`` against :data:`FULL_ROW`, ``source`` = "paper"."""
    import pandas as pd

    from comodo.study.paper import load_egodistill

    table = load_egodistill()["table1_ablation_N1"]["rows"]
    full = next(r for r in table if r["name"] == FULL_ROW)
    return pd.DataFrame([{"row": r["name"], "dataset": ds, "video_top1": _fraction(r[ds]),
                          "delta_points": _points(r[ds] - full[ds]), "source": "paper"}
                         for ds in PAPER_DATASETS for r in table])


def paper_table2():
    """The paper's Table 2 (N = 1) as tidy rows: ``dataset``, ``teacher``, ``video``, ``egodistill``,
    ``visonly_distill`` (fractions), ``gain_points``, ``source`` = "paper"."""
    import pandas as pd

    from comodo.study.paper import load_egodistill

    return pd.DataFrame([{"dataset": r["dataset"], "teacher": r["teacher"], "video": _fraction(r["video"]),
                          "egodistill": _fraction(r["egodistill"]), "visonly_distill": _fraction(r["visonly_distill"]),
                          "gain_points": _points(r["egodistill"] - r["visonly_distill"]), "source": "paper"}
                         for r in load_egodistill()["table2_teachers_N1"]["rows"]])


def paper_table4():
    """The paper's Table 4 (EgoDistill, N = 4) as tidy rows: ``rule``, ``dataset``, ``video_top1`` (fraction),
    ``delta_points`` against :data:`REFERENCE_RULE`, ``source`` = "paper"."""
    import pandas as pd

    from comodo.study.paper import load_egodistill

    table = load_egodistill()["table4_frame_selection_N4"]["rows"]
    ref = next(r for r in table if r["selection"] == REFERENCE_RULE)
    return pd.DataFrame([{"rule": r["selection"], "dataset": ds, "video_top1": _fraction(r[ds]),
                          "delta_points": _points(r[ds] - ref[ds]), "source": "paper"}
                         for ds in PAPER_DATASETS for r in table])


def paper_cost_points(flops: dict):
    """The paper's numbers that have a place on the accuracy-against-cost axes, per dataset (its Fig. 3's
    curves are not published as numbers): EgoDistill, VisOnly-Distill and the video model (MotionFormer) at
    N = 1 (Table 2), VisIMU at N = 1 (Table 1), EgoDistill at N = 4, uniform frames (Table 4).

    ``gflops``: the paper's Table 3 where it gives one (MotionFormer; EgoDistill's Φ at N = 1, also VisIMU's
    architecture), doubled to our convention (a multiply-add = 2); else our count of the same architecture
    at the real size from ``flops`` (``gflops_source`` says which). Accuracies as fractions.
    """
    import pandas as pd

    from comodo.study.paper import load_egodistill

    paper = load_egodistill()
    t3 = {r["model"]: 2 * r["gflops"] for r in paper["table3_efficiency"]["rows"]}
    t2 = {r["dataset"]: r for r in paper["table2_teachers_N1"]["rows"] if r["teacher"] == "MotionFormer"}
    t1 = {r["name"]: r for r in paper["table1_ablation_N1"]["rows"]}
    t4 = {r["selection"]: r for r in paper["table4_frame_selection_N4"]["rows"]}
    ours = "our count of the same architecture"
    rows = []
    for ds in PAPER_DATASETS:
        for variant_, frames, value, gflops, where, table in (
                ("video", None, t2[ds]["video"], t3["Video (MotionFormer)"], "paper, Table 3", "Table 2"),
                ("egodistill", 1, t2[ds]["egodistill"], t3["EgoDistill"], "paper, Table 3", "Table 2"),
                ("visonly_distill", 1, t2[ds]["visonly_distill"], flops["visonly_n1"], ours, "Table 2"),
                ("visimu", 1, t1[VISIMU_ROW][ds], t3["EgoDistill"], "paper, Table 3 (EgoDistill's Φ)",
                 "Table 1"),
                ("egodistill", 4, t4[REFERENCE_RULE][ds], flops["egodistill_n4"], ours, "Table 4")):
            rows.append({"dataset": ds, "variant": variant_, "frames": frames, "video_top1": _fraction(value),
                         "gflops": float(gflops), "gflops_source": where, "table": table, "source": "paper"})
    return pd.DataFrame(rows)


def beside_paper(summary, paper, key: str):
    """One row per ``key`` (Table 1's ``row`` or Table 4's ``rule``), ours per domain beside the paper's per
    dataset: ``ours_<domain>`` (per-video top-1 mean), ``ours_<domain>_delta`` (points), ``paper_<dataset>``,
    ``paper_<dataset>_delta``."""
    import pandas as pd

    order = list(dict.fromkeys(list(paper[key]) + list(summary[key])))
    rows = []
    for name in order:
        row = {key: name}
        for d, g in summary.groupby("domain", sort=True):
            hit = g[g[key] == name]
            row[f"ours_{d}"] = float(hit["video_top1_mean"].iloc[0]) if len(hit) else None
            row[f"ours_{d}_delta"] = float(hit["delta_points"].iloc[0]) if len(hit) else None
        for ds, g in paper.groupby("dataset", sort=False):
            hit = g[g[key] == name]
            row[f"paper_{ds}"] = float(hit["video_top1"].iloc[0]) if len(hit) else None
            row[f"paper_{ds}_delta"] = float(hit["delta_points"].iloc[0]) if len(hit) else None
        rows.append(row)
    return pd.DataFrame(rows)


def records(df) -> list[dict]:
    """A DataFrame as JSON-ready records (NaN → None, numpy scalars → Python), for the notebooks' JSON."""
    import math

    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v.item() if hasattr(v, "item") else v)
                    for k, v in row.items()})
    return out
