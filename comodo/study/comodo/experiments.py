"""The study's experiments: which runs each notebook needs, as tidy tables.

Each function builds the configurations of one figure, runs them through :func:`comodo.study.comodo.runs.sweep`
(cached: a finished run is only read) and returns a :class:`pandas.DataFrame` with one row per run
and evaluation dataset (columns: :data:`comodo.study.comodo.runs.COLUMNS`). :class:`StudySettings` holds the
study's defaults; ``settings(quick=True)`` shrinks them so the whole set of notebooks runs in CI.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Sequence

from comodo.study.comodo import runs
from comodo.errors import check
from comodo.train.config import DistillConfig

TARGET_DOMAINS = ("ego4d", "egoexo4d", "mmea")
METHOD_ORDER = ("none", "supervised", "l2", "infonce", "comodo")
CROSS_METHODS = ("comodo", "supervised", "none")  # the students of the cross-dataset figure


@dataclass(frozen=True)
class StudySettings:
    """The settings shared by the study's notebooks.

    Attributes:
        world_size: the embedded world's size (``quick`` for CI, ``default`` for the study).
        num_epochs: epochs of every trained run (distillation and the supervised baseline).
        batch_size: batch size of every trained run.
        learning_rate: peak learning rate of every trained run (3e-3: the study's small CNN starts from
            random weights on a few hundred windows; at the paper's 3e-4 and 20 epochs it is still far
            from converged). The supervised baseline gets the same budget as distillation (the paper
            fine-tunes a *pretrained* student at 1e-4 for 40 epochs; ours starts from random weights).
        seeds: seeds of every configuration (the spread in the figures is over these).
        domains: the target domains.
        queue_size: K of the runs that do not sweep it (capped below each domain's training set).
        queue_sizes: the queue sizes of the sweep (each capped below the domain's training set).
        methods: the methods compared.
        student_temps: τ_s values of the temperature grid.
        teacher_temps: τ_t values of the temperature grid.
        ablation_seeds: seeds of the ablations (temperatures, projection, reduction).
        per_channel_options: backbone options of the per-channel student of the reduction ablation
            (each IMU axis encoded separately; narrower and on 128-sample windows, to keep the 6× cost
            of encoding every axis on its own down).
    """

    world_size: str = "default"
    num_epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 3e-3
    seeds: tuple[int, ...] = (0, 1, 2)
    domains: tuple[str, ...] = TARGET_DOMAINS
    queue_size: int = 128
    queue_sizes: tuple[int, ...] = (16, 32, 64, 128, 256)
    methods: tuple[str, ...] = METHOD_ORDER
    student_temps: tuple[float, ...] = (0.02, 0.05, 0.1)
    teacher_temps: tuple[float, ...] = (0.05, 0.1, 0.2)
    ablation_seeds: tuple[int, ...] = (0, 1)
    per_channel_options: tuple[tuple[str, object], ...] = (("per_channel", True), ("width", 16), ("dim", 64),
                                                           ("input_length", 128))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FULL = StudySettings()
QUICK = StudySettings(world_size="quick", num_epochs=3, batch_size=16, seeds=(0,), ablation_seeds=(0,),
                      queue_size=16, queue_sizes=(4, 8, 16), student_temps=(0.05, 0.1), teacher_temps=(0.1,))


def settings(quick: bool = False, **overrides) -> StudySettings:
    """The study's settings (``quick``: the CI-sized ones); every override that is not ``None`` wins."""
    base = QUICK if quick else FULL
    given = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in overrides.items() if v is not None}
    return dataclasses.replace(base, **given)


def base_config(s: StudySettings, dataset: str = "ego4d", **fields) -> DistillConfig:
    """A run of the study on ``dataset`` with the settings' epochs, batch size and capped queue size."""
    fields.setdefault("queue_size", runs.cap_queue(dataset, s.queue_size, s.world_size))
    fields.setdefault("learning_rate", s.learning_rate)
    return DistillConfig(dataset=dataset, world_size=s.world_size, num_epochs=s.num_epochs,
                         batch_size=s.batch_size, **fields)


def queue_size_configs(s: StudySettings) -> list[DistillConfig]:
    configs: list[DistillConfig] = []
    for d in s.domains:
        sizes = runs.queue_sizes(d, s.queue_sizes, s.world_size)
        configs += runs.grid(base_config(s, d), queue_size=sizes, seed=s.seeds)
    return configs


def queue_size_sweep(s: StudySettings, progress: bool = True):
    """COMODO for every allowed queue size, domain and seed (paper Fig. 3)."""
    return runs.table(runs.sweep(queue_size_configs(s), desc="queue size", progress=progress))


def method_configs(s: StudySettings, methods: Sequence[str] | None = None) -> list[DistillConfig]:
    return [c for d in s.domains for c in runs.grid(base_config(s, d), method=methods or s.methods, seed=s.seeds)]


def method_comparison(s: StudySettings, progress: bool = True):
    """Every method on every domain and seed, each evaluated in-domain (paper Fig. 4)."""
    return runs.table(runs.sweep(method_configs(s), desc="methods", progress=progress))


def teacher_table(s: StudySettings):
    """The video teacher's own SVM accuracy per domain (the reference line of the method figure)."""
    import pandas as pd

    rows = []
    for d in s.domains:
        r = runs.teacher_result(d, s.world_size)
        rows.append({"method": "video_teacher", "eval_dataset": d, "acc1": r["acc1"], "acc3": r["acc3"],
                     "acc5": r["acc5"]})
    return pd.DataFrame(rows)


def cross_dataset(s: StudySettings, methods: Sequence[str] = CROSS_METHODS,
                  progress: bool = True):
    """Distil (or train) on each domain A and run the SVM protocol on every domain B."""
    return runs.table(runs.sweep(method_configs(s, methods), eval_datasets=list(s.domains), desc="cross-dataset",
                                 progress=progress))


def temperature_configs(s: StudySettings, dataset: str = "ego4d") -> list[DistillConfig]:
    return runs.grid(base_config(s, dataset), student_temp=s.student_temps, teacher_temp=s.teacher_temps,
                     seed=s.ablation_seeds)


def temperature_grid(s: StudySettings, dataset: str = "ego4d", progress: bool = True):
    """COMODO over the (τ_s, τ_t) grid on one domain."""
    return runs.table(runs.sweep(temperature_configs(s, dataset), desc="temperatures", progress=progress))


def projection_configs(s: StudySettings) -> list[DistillConfig]:
    configs = []
    for d in s.domains:
        base = base_config(s, d)
        configs += runs.grid(base, seed=s.ablation_seeds)
        no_head = dataclasses.replace(base, projection="none", mlp_output_dim=runs.teacher_dim(base, "none"))
        configs += runs.grid(no_head, seed=s.ablation_seeds)
    return configs


def projection_ablation(s: StudySettings, progress: bool = True):
    """COMODO with the reference's random, never-trained teacher head (``random_mlp``) or none.

    Without a head the teacher's embeddings have its hidden size, so the student's projector is
    sized to match.
    """
    return runs.table(runs.sweep(projection_configs(s), desc="projection", progress=progress))


def reduction_configs(s: StudySettings) -> list[DistillConfig]:
    return [c for d in s.domains
            for c in runs.grid(base_config(s, d, student_options=dict(s.per_channel_options)),
                               reduction=("concat", "mean"), seed=s.ablation_seeds)]


def reduction_ablation(s: StudySettings, progress: bool = True):
    """COMODO with a per-channel student whose channel tokens are concatenated or averaged."""
    return runs.table(runs.sweep(reduction_configs(s), desc="reduction", progress=progress))


def train_everything(s: StudySettings, progress: bool = True, pool=None) -> int:
    """Train and evaluate every run of the study's notebooks in one sweep (then the notebooks only read).

    One pool of workers for all of them keeps both cores busy to the end, where sweep after sweep
    would leave one idle at every sweep's tail and start its workers again each time: the runs, the
    cross-dataset evaluations of notebook 5's runs and the video teacher's own results (notebooks 2
    and 4). Notebooks 1, 2 and 6 read runs of the method comparison (COMODO and the untrained
    student, seed 0). ``pool``: a :func:`~comodo.study.comodo.runs.worker_pool` to use instead of
    starting one. Returns the number of distinct runs.
    """
    configs = (method_configs(s) + queue_size_configs(s) + temperature_configs(s) + projection_configs(s)
               + reduction_configs(s))
    cross = {runs.run_dir(runs.canonical(c)) for c in method_configs(s, CROSS_METHODS)}
    everywhere = list(s.domains)
    jobs = [(c, everywhere if runs.run_dir(runs.canonical(c)) in cross else [None]) for c in configs]
    runs.sweep_jobs(jobs, desc="all runs", progress=progress,
                    teacher_results=[(d, s.world_size, 0) for d in s.domains], pool=pool)
    return len({runs.run_dir(runs.canonical(c)) for c in configs})


def domain_order(names: Iterable[str]) -> list[str]:
    """``names`` without repeats, the target domains first in their usual order, then any others sorted."""
    seen = set(names)
    return [d for d in TARGET_DOMAINS if d in seen] + sorted(seen - set(TARGET_DOMAINS))


def gain_over_untrained(df, method: str = "comodo", baseline: str = "none", threshold: float = 0.05):
    """Per evaluation dataset: mean acc@1 over seeds of ``method`` and of ``baseline`` (in-domain runs),
    their difference (``gain``, and in points), the seeds behind each mean, and whether the gain reaches
    ``threshold`` (the acceptance bar: COMODO ≥ 5 points over the untrained student, mean of 3 seeds)."""
    import pandas as pd

    check(threshold >= 0, f"threshold {threshold}: expected a number >= 0")
    own = df[df["train_dataset"] == df["eval_dataset"]]
    rows = []
    for d in domain_order(own["eval_dataset"]):
        a = own[(own["eval_dataset"] == d) & (own["method"] == method)]["acc1"]
        b = own[(own["eval_dataset"] == d) & (own["method"] == baseline)]["acc1"]
        check(len(a) and len(b), f"no {method!r} or no {baseline!r} runs on {d!r} to compare")
        gain = float(a.mean() - b.mean())
        rows.append({"eval_dataset": d, "method": method, "baseline": baseline, "acc1_mean": float(a.mean()),
                     "baseline_acc1_mean": float(b.mean()), "gain": gain, "gain_points": 100 * gain,
                     "n_seeds": int(len(a)), "baseline_n_seeds": int(len(b)), "threshold": threshold,
                     "meets_threshold": bool(gain >= threshold)})
    return pd.DataFrame(rows)


def cross_table(df):
    """Per (train A, eval B): COMODO A→B against in-domain COMODO B→B, supervised A→B and B→B, and the
    untrained student on B (acc@1, mean over seeds); ``gap_to_in_domain`` = COMODO A→B − COMODO B→B."""
    import pandas as pd

    mean = df.groupby(["method", "train_dataset", "eval_dataset"])["acc1"].mean()

    def get(method: str, a: str, b: str) -> float:
        return float(mean.get((method, a, b), float("nan")))

    domains = domain_order(df["eval_dataset"])
    rows = []
    for a in domains:
        for b in domains:
            rows.append({"train_dataset": a, "eval_dataset": b, "comodo": get("comodo", a, b),
                         "comodo_in_domain": get("comodo", b, b), "supervised": get("supervised", a, b),
                         "supervised_in_domain": get("supervised", b, b), "untrained": get("none", a, b)})
    out = pd.DataFrame(rows)
    out["gap_to_in_domain"] = out["comodo"] - out["comodo_in_domain"]
    out["gain_over_untrained"] = out["comodo"] - out["untrained"]
    return out
