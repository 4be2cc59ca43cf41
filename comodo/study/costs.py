"""Where the study's recorded work goes, figure by figure, read from the cache (``comodo study --costs``).

Every run of either method records the seconds its training took (``summary.json``), every embedded
model the seconds of its pre-training or fine-tuning (``pretrain.json``, ``finetune.json``). Each
trains on one thread, so these are core-seconds. :func:`costs` groups them by the figure that needs
them, in the notebooks' order: a run several figures read counts once, under the first (the queue
sweep's K = 128 runs are the method comparison's COMODO runs; notebook 5 evaluates notebook 4's runs on
every domain and trains none). A stage-1 EgoDistill run counts with the stage 0 it starts from.

What is not recorded per run — the runs' evaluations (SVMs, per-video top-1), the frame and teacher-output
caches, the worlds' rendering, imports, the notebooks — is the rest of the busy core-seconds that
``comodo study``'s closing table gives per step. This is the arithmetic a faster study has to cut: on
2 cores, 60 core-s of recorded training are 30 s of the study's wall time at best.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


FOOTNOTE = ("Each run and model records its own training seconds, on one thread: core-seconds. Not recorded "
            "per run (the rest of the busy core-seconds of `comodo study`'s table): evaluations, the frame and "
            "teacher-output caches, the worlds, imports and the notebooks.")


@dataclass
class Group:
    """One figure's (or model's) share: the folders it alone needs and their recorded seconds."""

    name: str
    folders: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    missing: int = 0  # folders not finished in the cache (not trained yet, or trained elsewhere)


def _seconds(folder: Path, record: str) -> float | None:
    path = folder / record
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["seconds"])


def _groups(quick: bool) -> list[tuple[str, list[tuple[Path, str]]]]:
    """``(figure, [(folder, its record file)])`` in the notebooks' order, before de-duplication."""
    from comodo.egodistill.data import embedded_teacher_config
    from comodo.egodistill.image import image_encoder_dir, pretrain_config
    from comodo.egodistill.teacher import EMBEDDED_BASES, teacher_dir as finetuned_dir
    from comodo.study.comodo import experiments as co, runs as co_runs
    from comodo.study.egodistill import experiments as ego, runs as ego_runs
    from comodo.teacher.pretrain import embedded_config, teacher_dir

    s, e = co.settings(quick=quick), ego.settings(quick=quick)

    def comodo(configs):
        return [(co_runs.run_dir(co_runs.canonical(c)), "summary.json") for c in configs]

    def egodistill(configs):
        out = []
        for c in (c.resolved() for c in configs):
            stage0 = ego_runs.stage0_of(c)
            out += [] if stage0 is None else [(ego_runs.run_dir(stage0.resolved()), "summary.json")]
            out.append((ego_runs.run_dir(c), "summary.json"))
        return out

    def finetunes(configs):
        return [(finetuned_dir(embedded_teacher_config(c)), "finetune.json") for c in configs
                if c.teacher in EMBEDDED_BASES]

    def base(architecture):
        return [(teacher_dir(embedded_config(e.world_size, 0, architecture=architecture)), "pretrain.json")]

    second = [c for c in ego.teacher_configs(e) if c.teacher != ego.TEACHERS[0]]
    return [
        ("COMODO's teacher (VideoMAE, pre-trained on the teacher domain)", base("videomae")),
        ("04 methods: 5 methods x domains x seeds (notebooks 1, 2, 5, 6 read them)", comodo(co.method_configs(s))),
        ("03 queue size: COMODO at every K", comodo(co.queue_size_configs(s))),
        ("07 temperatures: the tau_s x tau_t grid", comodo(co.temperature_configs(s))),
        ("07 projection: random_mlp against none", comodo(co.projection_configs(s))),
        ("07 reduction: the per-channel student, concat against mean", comodo(co.reduction_configs(s))),
        ("EgoDistill's f_I (image encoder, pre-trained on the teacher domain)",
         [(image_encoder_dir(pretrain_config(e.world_size, 0)), "pretrain.json")]),
        ("EgoDistill's teachers: VideoMAE fine-tuned on each verb domain", finetunes(ego.claim_configs(e))),
        ("10 claims: 3 variants x domains x seeds at N = 1 (with stage 0)", egodistill(ego.claim_configs(e))),
        ("10 cost: VisOnly at N = 1, the 4 variants at N > 1", egodistill(ego.cost_configs(e))),
        ("11 Table 1: the loss and pre-training rows at N = 1", egodistill(ego.ablation_configs(e))),
        ("11 Table 4: the frame-selection rules at N = 4", egodistill(ego.frame_rule_configs(e))),
        ("10 Table 2: the TimeSformer base, its fine-tunes and its runs",
         base(EMBEDDED_BASES[second[0].teacher] if second else "timesformer") + finetunes(second)
         + egodistill(second)),
    ]


def costs(quick: bool = False) -> list[Group]:
    """The recorded seconds of the study's runs and models by the figure that first needs them.

    Reads only: the study's worlds must be there (naming a run's folder reads its world's files), else
    a :class:`~comodo.errors.ComodoError` says to run the study first."""
    _check_worlds(quick)
    seen: set[Path] = set()
    groups = []
    for name, folders in _groups(quick):
        g = Group(name)
        for folder, record in folders:
            if folder in seen:
                continue
            seen.add(folder)
            g.folders.append(folder)
            sec = _seconds(folder, record)
            if sec is None:
                g.missing += 1
            else:
                g.seconds += sec
        groups.append(g)
    return groups


def _check_worlds(quick: bool) -> None:
    """Naming a run's folder reads its world's files, and would generate a missing world: refuse instead."""
    from comodo.errors import check
    from comodo.paths import cache_root
    from comodo.study.comodo.experiments import settings
    from comodo.study.egodistill.experiments import settings as ego_settings
    from comodo.world.generate import world_dir

    s, e = settings(quick=quick), ego_settings(quick=quick)
    for domain in ("teacher", *s.domains, *e.domains):
        folder = world_dir(domain, s.world_size)
        check((folder / "world.json").is_file(),
              f"{cache_root()}: no {s.world_size} world {domain!r} ({folder.name}); expected the study's cache: "
              f"run `comodo study{' --quick' if quick else ''}` first")


def table(groups: list[Group]) -> list[str]:
    """The rows ``comodo study --costs`` prints: figure, folders, recorded core-seconds, share."""
    total = sum(g.seconds for g in groups)
    head = "recorded work, by the figure that first needs it"
    width = max(len(head), *(len(g.name) for g in groups))
    lines = [f"{head:<{width}}  {'runs':>5}  {'core-s':>7}  share"]
    for g in groups:
        missing = f"  ({g.missing} not in the cache)" if g.missing else ""
        share = 100 * g.seconds / total if total else 0.0
        lines.append(f"{g.name:<{width}}  {len(g.folders):5d}  {g.seconds:7,.0f}  {share:4.1f} %{missing}")
    n = sum(len(g.folders) for g in groups)
    lines.append(f"{'all':<{width}}  {n:5d}  {total:7,.0f}  100 %")
    return lines
