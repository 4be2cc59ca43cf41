"""``DistillConfig``: every setting of a distillation run, saved with each checkpoint and result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from comodo.errors import check, check_seed, is_positive_number
from comodo.settings import Settings

METHODS = ("comodo", "infonce", "l2", "supervised", "none")
# The paper's settings; the supervised baseline is fine-tuned 40 epochs at lr 1e-4, batch 48.
METHOD_DEFAULTS = {
    "comodo": dict(learning_rate=3e-4, num_epochs=20, batch_size=128),
    "infonce": dict(learning_rate=3e-4, num_epochs=20, batch_size=128),
    "l2": dict(learning_rate=3e-4, num_epochs=20, batch_size=128),
    "supervised": dict(learning_rate=1e-4, num_epochs=40, batch_size=48),
    "none": dict(learning_rate=3e-4, num_epochs=0, batch_size=128),
}


@dataclass
class DistillConfig(Settings):
    """A distillation run. ``None`` fields are resolved by :meth:`resolved` (and saved resolved).

    Data: ``dataset`` is a world domain (``ego4d``, ``egoexo4d``, ``mmea``) when ``dataset_path`` is
    None, else the layout name of the real dataset at ``dataset_path``.
    """

    KIND = "distill"

    dataset: str = "ego4d"
    dataset_path: str | None = None
    layout: str | None = None
    world_size: str = "default"
    world_seed: int = 0
    imu_rate: float | None = None
    window_s: float = 5.0
    num_clips: int = 0  # windows kept per video (random, seeded); 0 = all (the reference's --num_clips)
    # Teacher
    video_ckpt: str = "embedded"  # "embedded" = the world's pre-trained teacher; else hub id or folder
    projection: str = "random_mlp"
    projection_seed: int = 0
    # Student
    student: str = "dilated_cnn"
    imu_ckpt: str | None = None
    student_options: dict = field(default_factory=dict)
    reduction: str = "concat"
    resample: str = "linear"
    mlp_hidden_dim: int = 2048
    mlp_output_dim: int = 128
    # Method
    method: str = "comodo"
    queue_size: int = 16384
    queue_init: str = "reference"  # reference: K random training clips fill it and sit out epoch 0
    student_temp: float = 0.05
    teacher_temp: float = 0.1
    infonce_temp: float = 0.1
    # Optimisation
    learning_rate: float | None = None
    weight_decay: float = 0.01
    num_epochs: int | None = None
    batch_size: int | None = None
    warmup_frac: float = 0.1
    seed: int = 0
    device: str = "auto"

    def resolved(self) -> "DistillConfig":
        """Fill method-dependent defaults and validate every value (one clear error per bad value)."""
        check(self.method in METHODS, f"method {self.method!r}: expected one of {', '.join(METHODS)}")
        c = dataclasses.replace(self, student_options=dict(self.student_options))
        for k, v in METHOD_DEFAULTS[c.method].items():
            if getattr(c, k) is None:
                setattr(c, k, v)
        if c.method == "none":  # the untrained (or pretrained, for Mantis/MOMENT) student: no step at all
            c.num_epochs = 0
        for name in ("student_temp", "teacher_temp", "infonce_temp", "learning_rate"):
            v = getattr(c, name)
            check(is_positive_number(v), f"{name.replace('_', '-')} {v!r}: expected a positive number")
        check(c.weight_decay >= 0, f"weight-decay {c.weight_decay}: expected ≥ 0")
        check(0 <= c.warmup_frac < 1, f"warmup fraction {c.warmup_frac}: expected in [0, 1)")
        check(c.num_epochs >= (0 if c.method == "none" else 1),
              f"num-epochs {c.num_epochs}: expected ≥ 1 for method {c.method}")
        check(c.batch_size >= 2, f"batch-size {c.batch_size}: expected ≥ 2 (BatchNorm needs two samples)")
        check(c.queue_size >= 1, f"queue-size {c.queue_size}: expected ≥ 1")
        check(c.queue_init in ("reference", "empty"), f"queue init {c.queue_init!r}: expected reference or empty")
        check(c.num_clips >= 0, f"num-clips {c.num_clips}: expected ≥ 0 (0 keeps all)")
        check(c.reduction in ("concat", "mean"), f"reduction {c.reduction!r}: expected concat or mean")
        check(c.projection in ("random_mlp", "none"), f"projection {c.projection!r}: expected random_mlp or none")
        check(c.window_s > 0, f"window {c.window_s} s: expected > 0")
        for name in ("seed", "world_seed", "projection_seed"):
            check_seed(name.replace("_", "-"), getattr(c, name))
        return c

