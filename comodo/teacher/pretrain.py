"""Pre-train the embedded video teacher on the world's teacher domain (the stand-in for Kinetics).

A small ``VideoMAEForVideoClassification`` (transformers) is trained with labels of the *teacher*
domain's own taxonomy — never a target domain's — then saved with ``save_pretrained`` together with
its ``VideoMAEImageProcessor`` config, so ``from_pretrained(path)`` loads it exactly as it loads
``MCG-NJU/videomae-base-finetuned-kinetics``. The folder is keyed by the world, the architecture and
the training settings, written atomically, and reused.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from comodo.encoders.hub import cached_weights_ok
from comodo.errors import check
from comodo.io import atomic_dir, stable_hash, write_json
from comodo.paths import cache_root
from comodo.threads import one_thread
from comodo.train.classifier import fit_classifier


ARCHITECTURES = ("videomae", "timesformer")  # transformers video classifiers the embedded teacher can be


@dataclass(frozen=True)
class TeacherPretrainConfig:
    """Architecture and training of the embedded teacher (``architecture``: :data:`ARCHITECTURES`;
    the TimeSformer uses the same sizes, with divided space-time attention and no tubelets)."""

    size: str = "default"  # world size of the teacher domain
    world_seed: int = 0
    image_size: int = 64
    patch_size: int = 16
    num_frames: int = 8
    tubelet_size: int = 2
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 256
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    seed: int = 0
    architecture: str = "videomae"

    def __post_init__(self) -> None:
        check(self.architecture in ARCHITECTURES,
              f"teacher architecture {self.architecture!r}: expected one of {', '.join(ARCHITECTURES)}")
        check(self.epochs >= 1, f"teacher epochs: expected ≥ 1, got {self.epochs}")
        check(self.learning_rate > 0, f"teacher learning_rate: expected > 0, got {self.learning_rate}")
        check(self.image_size % self.patch_size == 0,
              f"teacher image_size {self.image_size}: expected a multiple of patch_size {self.patch_size}")
        check(self.num_frames % self.tubelet_size == 0,
              f"teacher num_frames {self.num_frames}: expected a multiple of tubelet_size {self.tubelet_size}")


QUICK = dict(size="quick", epochs=3, hidden_size=64, num_layers=2, intermediate_size=128)


def embedded_config(world_size: str = "default", world_seed: int = 0,
                    architecture: str = "videomae") -> TeacherPretrainConfig:
    """The embedded teacher of a world: :data:`QUICK` for the quick world, the defaults otherwise."""
    return TeacherPretrainConfig(**(QUICK if world_size == "quick" else {"size": world_size}), world_seed=world_seed,
                                 architecture=architecture)


def teacher_dir(config: TeacherPretrainConfig) -> Path:
    from comodo.world.domains import DOMAINS
    from comodo.world.generate import world_key

    world = world_key(DOMAINS["teacher"], config.size, config.world_seed)
    settings = dataclasses.asdict(config)
    if config.architecture == "videomae":
        settings.pop("architecture")  # the VideoMAE's key predates the choice: its cached folders stay valid
    key = stable_hash({"world": world, "config": settings})
    return cache_root() / "teacher" / f"{config.architecture}-tiny-{config.size}-{key}"


def _load_clips(world: Path, split: str, config: TeacherPretrainConfig, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All clips of a split as (N, 2·num_frames, H, W, 3) uint8 (two interleaved temporal offsets)."""
    from comodo.data import DataSpec, load_split
    from comodo.encoders.video import stack_clips

    spec = DataSpec(layout="ego4d", root=world)
    samples = load_split(spec, split)
    frames = stack_clips(samples, 2 * config.num_frames)
    y = np.array([labels.index(s.label) for s in samples])
    return frames, y


def pretrain_teacher(config: TeacherPretrainConfig = TeacherPretrainConfig(), verbose: bool = True) -> Path:
    """Train (or reuse) the embedded teacher; returns its checkpoint folder."""
    out = teacher_dir(config)
    if (out / "pretrain.json").exists() and cached_weights_ok(out, "embedded teacher", "pre-training it again"):
        return out
    from comodo.encoders.video import quiet_transformers

    quiet_transformers()  # before the import: it warns about the PIL fallback otherwise
    from transformers import VideoMAEImageProcessor

    from comodo.world.domains import DOMAINS
    from comodo.world.generate import generate

    t0 = time.time()
    world = generate("teacher", config.size, config.world_seed, verbose=verbose)
    labels = sorted(DOMAINS["teacher"].labels)
    processor = VideoMAEImageProcessor(
        size={"shortest_edge": config.image_size},
        crop_size={"height": config.image_size, "width": config.image_size},
    )
    x_train, y_train = _load_clips(world, "train", config, labels)
    x_val, y_val = _load_clips(world, "val", config, labels)

    def pixels(clips: np.ndarray) -> torch.Tensor:  # (N, F, H, W, 3) uint8 -> (N, F, 3, h, w)
        return processor([list(c) for c in clips], return_tensors="pt")["pixel_values"]

    # One intra-op thread whichever command trains it (`comodo teacher`, `comodo study`, a test): the
    # number of threads changes floating-point sums, and so the teacher's bytes and every run after it.
    with one_thread():
        model, history = _train(config, labels, pixels(x_train), y_train, pixels(x_val)[:, ::2], y_val, verbose)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        write_json(tmp / "pretrain.json", {"config": dataclasses.asdict(config), "labels": labels,
                                           "history": history, "val_acc": history[-1]["val_acc"],
                                           "n_train": int(len(y_train)), "n_val": int(len(y_val)), "torch_threads": 1,
                                           "seconds": time.time() - t0, "world": str(world)})
    if verbose:
        print(f"teacher: val acc {history[-1]['val_acc']:.3f} on the teacher domain's own labels "
              f"({time.time() - t0:.0f} s) -> {out}", flush=True)
    return out


def _train(config: TeacherPretrainConfig, labels: list[str], p_train: torch.Tensor, y_train: np.ndarray,
           p_val: torch.Tensor, y_val: np.ndarray, verbose: bool):
    """Train the classifier: ``p_train`` (N, 2F, 3, h, w) pixel values at twice the teacher's frame count
    (a random temporal offset picks F per batch), ``p_val`` (N, F, 3, h, w) at the teacher's uniform
    sampling. Returns the model (eval mode) and the per-epoch history."""
    torch.manual_seed(config.seed)
    model = _model(config, labels)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(y_train) / config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.learning_rate, total_steps=steps,
                                                pct_start=0.1)
    gen = torch.Generator().manual_seed(config.seed)

    def augment(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:  # (b, 2F, 3, h, w) → (b, F, 3, h, w)
        offset = int(torch.randint(0, 2, (1,), generator=gen))
        batch = batch[:, offset::2]  # a random temporal offset per batch
        return batch.flip(-1) if torch.rand(1, generator=gen).item() < 0.5 else batch  # horizontal flip

    history = fit_classifier(model, p_train, y_train, p_val, y_val, epochs=config.epochs, batch_size=config.batch_size,
                             opt=opt, sched=sched, gen=gen, augment=augment, name="teacher", verbose=verbose)
    return model, history


def _model(config: TeacherPretrainConfig, labels: list[str]) -> torch.nn.Module:
    """A fresh transformers video classifier of ``config.architecture`` (mean-pooled tokens for VideoMAE,
    the CLS token for TimeSformer, as their hub checkpoints)."""
    import transformers

    sizes = dict(image_size=config.image_size, patch_size=config.patch_size, num_frames=config.num_frames,
                 hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
                 num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
                 num_labels=len(labels), id2label=dict(enumerate(labels)),
                 label2id={k: i for i, k in enumerate(labels)})
    if config.architecture == "videomae":
        hf = transformers.VideoMAEConfig(tubelet_size=config.tubelet_size, use_mean_pooling=True, **sizes)
        return transformers.VideoMAEForVideoClassification(hf)
    hf = transformers.TimesformerConfig(**sizes)
    return transformers.TimesformerForVideoClassification(hf)
