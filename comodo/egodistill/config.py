"""``EgoDistillConfig``: every setting of an EgoDistill run (stage 0 or 1), saved with each checkpoint and result.

The paper's variants are settings, not code copies:

=====================  ======================================================================
variant                settings
=====================  ======================================================================
EgoDistill             ``use_imu=True``,  ``losses=("kd", "l1", "gt")``, ``pretrain="nce+l1"``
VisOnly-Distill        ``use_imu=False``, ``losses=("kd", "l1", "gt")``, ``pretrain="none"``
VisIMU                 ``use_imu=True``,  ``losses=("gt",)``,            ``pretrain="none"``
VisOnly                ``use_imu=False``, ``losses=("gt",)``,            ``pretrain="none"``
Table 1 rows           a subset of ``losses`` and of ``pretrain``
Table 4 rows           ``frames=4``, ``frame_selection`` in :data:`~comodo.egodistill.clips.FRAME_RULES`
=====================  ======================================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from comodo.egodistill.clips import check_clip_settings
from comodo.errors import check, check_seed, is_integer, is_positive_number
from comodo.settings import Settings

STAGES = ("pretrain", "train")
LOSSES = ("kd", "l1", "gt")
PRETRAIN = ("nce+l1", "nce", "l1", "none")
VARIANTS = {
    "egodistill": dict(use_imu=True, losses=["kd", "l1", "gt"], pretrain="nce+l1"),
    "visonly_distill": dict(use_imu=False, losses=["kd", "l1", "gt"], pretrain="none"),
    "visimu": dict(use_imu=True, losses=["gt"], pretrain="none"),
    "visonly": dict(use_imu=False, losses=["gt"], pretrain="none"),
}


@dataclass
class EgoDistillConfig(Settings):
    """One EgoDistill run. ``stage="pretrain"`` is the paper's stage 0 (f_M, h, Π by ``pretrain``'s
    losses); ``stage="train"`` is stage 1 (Π and its classifier by ``losses``, from a stage-0 run
    ``init`` or from scratch). Durations in seconds, rates in Hz."""

    KIND = "egodistill"

    stage: str = "train"
    # Data (a world domain when dataset_path is None, else the layout of a real dataset)
    dataset: str = "ego4d"
    dataset_path: str | None = None
    layout: str | None = None
    world_size: str = "default"
    world_seed: int = 0
    clip_s: float = 2.0
    imu_length: int = 422
    # Models
    teacher: str = "embedded"  # a fine-tuned video classifier (folder or hub id), or "embedded"
    image_ckpt: str = "embedded"  # f_I: any transformers image backbone (microsoft/resnet-18), or "embedded"
    frames: int = 1
    frame_selection: str = "uniform"
    use_imu: bool = True
    imu_options: dict = field(default_factory=dict)  # f_M's DilatedCNN options (width, depth, kernel, dim)
    gru_hidden: int = 512
    fusion_hidden: int = 1024
    # Losses
    losses: list = field(default_factory=lambda: list(LOSSES))
    alpha: float = 0.95
    beta: float = 1.0
    tau: float = 1.0  # the KD temperature (the paper: 10 on Ego4D, 1 on EPIC)
    kd_t2: bool = True
    pretrain: str = "nce+l1"  # stage 0's losses; for stage 1: which stage 0 it starts from ("none": scratch)
    nce_tau: float = 0.1
    init: str | None = None  # stage 1: the stage-0 run folder to start from (None: scratch or run it first)
    # Optimisation (the paper: AdamW, lr 1e-4, batch 64, × 0.1 at 60 % and 80 % of the epochs)
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    num_epochs: int = 50  # stage 1's epochs (the paper: 150 on Ego4D, 50 on EPIC); a stage-0 run's own
    pretrain_epochs: int = 50  # stage 0's epochs when stage 1 runs it first (the paper: 50)
    batch_size: int = 64
    milestones: list = field(default_factory=lambda: [0.6, 0.8])
    seed: int = 0
    device: str = "auto"

    def resolved(self) -> "EgoDistillConfig":
        """Validate every value (one clear error per bad value); return a copy with lists normalised."""
        from comodo.egodistill.student import IMU_DEFAULTS

        # f_M's options resolved, so a saved run names its whole architecture
        c = dataclasses.replace(self, imu_options={**IMU_DEFAULTS, **self.imu_options}, losses=list(self.losses),
                                milestones=[float(m) for m in self.milestones])
        unknown_opts = sorted(set(c.imu_options) - set(IMU_DEFAULTS))
        check(not unknown_opts, f"imu option(s) {unknown_opts}: expected some of {sorted(IMU_DEFAULTS)}")
        check(c.stage in STAGES, f"stage {c.stage!r}: expected one of {', '.join(STAGES)}")
        check_clip_settings(c.clip_s, c.frames, c.frame_selection)
        check(is_integer(c.imu_length) and c.imu_length >= 8, f"imu-length {c.imu_length!r}: expected an integer ≥ 8")
        check(isinstance(c.use_imu, bool), f"use_imu {c.use_imu!r}: expected true or false")
        unknown = sorted(set(c.losses) - set(LOSSES))
        check(not unknown and bool(c.losses), f"losses {','.join(map(str, c.losses)) or '(none)'}: expected a "
                                              f"non-empty subset of {','.join(LOSSES)}")
        c.losses = [name for name in LOSSES if name in c.losses]  # canonical order
        check(c.pretrain in PRETRAIN, f"pretrain {c.pretrain!r}: expected one of {', '.join(PRETRAIN)}")
        if c.stage == "pretrain":
            check(c.pretrain != "none", "stage 0 (pretrain) needs losses: --pretrain nce+l1, nce or l1")
            check(c.use_imu or c.pretrain == "l1", "stage 0 without the IMU has no NCE term: use --pretrain l1")
        check(isinstance(c.alpha, (int, float)) and not isinstance(c.alpha, bool) and 0.0 <= c.alpha <= 1.0,
              f"alpha {c.alpha!r}: expected a number in [0, 1]")
        check(isinstance(c.beta, (int, float)) and not isinstance(c.beta, bool) and c.beta >= 0,
              f"beta {c.beta!r}: expected a number ≥ 0")
        for name in ("tau", "nce_tau", "learning_rate", "clip_s"):
            v = getattr(c, name)
            check(is_positive_number(v), f"{name.replace('_', '-')} {v!r}: expected a positive number")
        check(c.weight_decay >= 0, f"weight-decay {c.weight_decay}: expected ≥ 0")
        for name in ("num_epochs", "pretrain_epochs", "gru_hidden", "fusion_hidden"):
            v = getattr(c, name)
            check(is_integer(v) and v >= 1, f"{name.replace('_', '-')} {v!r}: expected an integer ≥ 1")
        check(is_integer(c.batch_size) and c.batch_size >= 2,
              f"batch-size {c.batch_size!r}: expected an integer ≥ 2 (BatchNorm and in-batch negatives need two)")
        check(all(0 < m <= 1 for m in c.milestones), f"milestones {c.milestones}: expected fractions in (0, 1]")
        for name in ("seed", "world_seed"):
            check_seed(name.replace("_", "-"), getattr(c, name))
        return c

    def stage0(self) -> "EgoDistillConfig":
        """The stage-0 run this stage-1 config starts from: the same data, models and optimisation,
        ``pretrain_epochs`` epochs, and stage 1's own settings at their defaults (so every stage-1 variant
        with the same ``pretrain`` shares one stage-0 run)."""
        d = EgoDistillConfig()
        return dataclasses.replace(self, stage="pretrain", num_epochs=self.pretrain_epochs, losses=list(d.losses),
                                   alpha=d.alpha, beta=d.beta, tau=d.tau, kd_t2=d.kd_t2, init=None).resolved()

    @property
    def variant(self) -> str | None:
        """The paper's name for these settings (``egodistill``, ``visonly_distill``, ``visimu``, ``visonly``), if any."""
        for name, v in VARIANTS.items():
            if self.use_imu == v["use_imu"] and list(self.losses) == v["losses"] and self.pretrain == v["pretrain"]:
                return name
        return None



def variant(name: str, **fields) -> EgoDistillConfig:
    """The settings of one of the paper's variants (:data:`VARIANTS`), with ``fields`` on top."""
    check(name in VARIANTS, f"variant {name!r}: expected one of {', '.join(VARIANTS)}")
    return EgoDistillConfig(**{**VARIANTS[name], **fields})
