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
    ablation_seeds: tuple[int, ...] = (0,)  # Table 1's rows, Table 4's rules and the second teacher
    num_epochs: int = 20
    pretrain_epochs: int = 20
    learning_rate: float = 1e-3
    batch_size: int = 64
    imu_width: int = 32  # f_M's channels: half the default's, a quarter of its training time on a CPU

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
    """The paper's Fig. 3: every variant at every N, per domain and seed (N = 1 holds the claims' runs)."""
    return [config(s, name, d, seed, frames=n) for d in s.domains for n in s.frames for name in COST_VARIANTS
            for seed in s.seeds]


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
