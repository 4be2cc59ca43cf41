"""EgoDistill's frozen image encoder f_I: any transformers image backbone, by hub id or folder.

The paper's f_I is an ImageNet-pretrained ResNet-18 (``microsoft/resnet-18``), frozen. Here any
checkpoint that ``AutoModel`` / ``AutoImageProcessor`` load works; its family (the config's
``model_type``) picks how the backbone's output is pooled to one vector per frame
(:data:`IMAGE_ENCODERS`). ``"embedded"`` is the stand-in for ImageNet: a small transformers ResNet
pre-trained here on single frames of the world's *teacher* domain with that domain's own labels
(:func:`pretrain_image_encoder`), saved with ``save_pretrained`` and a ``ConvNextImageProcessor``
config exactly as ``microsoft/resnet-18`` ships (ImageNet mean/std, bicubic) but at 64 × 64 with
``crop_pct = 1``: a 64² frame is only normalised, a larger one resized on its short side and
centre-cropped, never upscaled and blurred (the hub's 224 / 0.875 would).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from comodo.encoders.hub import cached_weights_ok
from comodo.errors import check
from comodo.train.classifier import fit_classifier
from comodo.train.schedules import one_cycle
from comodo.io import atomic_dir, stable_hash, write_json
from comodo.paths import cache_root
from comodo.registry import Registry
from comodo.threads import one_thread

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # microsoft/resnet-18's preprocessor_config
IMAGENET_STD = (0.229, 0.224, 0.225)


# --- families: model_type -> how to pool the backbone's output to (N, D) ------------------------------


@dataclass(frozen=True)
class ImageFamily:
    """How one ``model_type`` gives a frame vector: ``pool(outputs)`` → (N, D), ``dim(config)`` → D."""

    pool: Callable[[Any], Tensor]
    dim: Callable[[Any], int]


IMAGE_ENCODERS: Registry[ImageFamily] = Registry("image encoder model_type")


def _pooler(out: Any) -> Tensor:
    return out.pooler_output.flatten(1)  # (N, D, 1, 1) or (N, D) -> (N, D)


def _cls(out: Any) -> Tensor:
    return out.last_hidden_state[:, 0]  # (N, 1 + P, D) -> (N, D): the (final-layer-normed) CLS token


def _last_stage(config: Any) -> int:
    return int(config.hidden_sizes[-1])


def _hidden(config: Any) -> int:
    return int(config.hidden_size)


IMAGE_ENCODERS.register("resnet")(ImageFamily(_pooler, _last_stage))  # global average pool of the last stage
IMAGE_ENCODERS.register("convnext")(ImageFamily(_pooler, _last_stage))  # average pool + layer norm
IMAGE_ENCODERS.register("vit")(ImageFamily(_cls, _hidden))  # CLS (ViT's pooler is a tanh layer on it)
IMAGE_ENCODERS.register("dinov2")(ImageFamily(_pooler, _hidden))  # pooler_output = the normed CLS token


# --- the embedded encoder: pre-trained on the teacher domain's frames ---------------------------------


@dataclass(frozen=True)
class ImagePretrainConfig:
    """Architecture and training of the embedded image encoder (a transformers ``ResNetConfig``)."""

    size: str = "default"  # world size of the teacher domain
    world_seed: int = 0
    image_size: int = 64
    embedding_size: int = 32
    hidden_sizes: tuple[int, ...] = (32, 64, 128, 256)  # feature dim = the last (ResNet-18: 512)
    depths: tuple[int, ...] = (1, 1, 1, 1)
    frames_per_clip: int = 4  # spread uniformly over each 5-s teacher clip
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.epochs >= 1, f"image encoder epochs: expected ≥ 1, got {self.epochs}")
        check(self.learning_rate > 0, f"image encoder learning_rate: expected > 0, got {self.learning_rate}")
        check(len(self.hidden_sizes) == len(self.depths) >= 1,
              f"image encoder hidden_sizes {self.hidden_sizes} and depths {self.depths}: expected one per stage")
        check(self.frames_per_clip >= 1, f"image encoder frames_per_clip: expected ≥ 1, got {self.frames_per_clip}")


QUICK = dict(size="quick", epochs=3, embedding_size=16, hidden_sizes=(16, 32, 64), depths=(1, 1, 1))


def image_encoder_dir(config: ImagePretrainConfig) -> Path:
    """``<cache>/egodistill/image/resnet-tiny-<size>-<key>``: keyed by the teacher world and the config."""
    from comodo.world.domains import DOMAINS
    from comodo.world.generate import world_key

    world = world_key(DOMAINS["teacher"], config.size, config.world_seed)
    key = stable_hash({"world": world, "config": dataclasses.asdict(config)})
    return cache_root() / "egodistill" / "image" / f"resnet-tiny-{config.size}-{key}"


def pretrain_config(world_size: str = "default", world_seed: int = 0) -> ImagePretrainConfig:
    """The embedded encoder's settings for a world size (``quick``: :data:`QUICK`)."""
    return ImagePretrainConfig(**{**(QUICK if world_size == "quick" else {"size": world_size}),
                                  "world_seed": world_seed})


def image_processor(image_size: int = 64):
    """``microsoft/resnet-18``'s processor at ``image_size``², crop_pct 1 (a frame of that size is only normalised)."""
    from comodo.encoders.video import quiet_transformers

    quiet_transformers()
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        from transformers import ConvNextImageProcessor as Processor
    else:  # the same processor on its PIL backend (it saves as ConvNextImageProcessor too)
        from transformers import ConvNextImageProcessorPil as Processor
    return Processor(size={"shortest_edge": image_size}, crop_pct=1.0, resample=3,
                                  image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD))


def pretrain_image_encoder(config: ImagePretrainConfig = ImagePretrainConfig(), verbose: bool = True) -> Path:
    """Train (or reuse) the embedded image encoder on the teacher domain; returns its checkpoint folder.

    A ``ResNetForImageClassification`` over the teacher domain's 14 labels, on ``frames_per_clip``
    frames of every train clip (random horizontal flips and ±4-px shifts), validated on the val
    clips' frames, trained under one torch thread (the bytes do not depend on the thread count).
    """
    out = image_encoder_dir(config)
    if (out / "pretrain.json").exists() and cached_weights_ok(out, "image encoder", "training it again"):
        return out
    from comodo.world.domains import DOMAINS
    from comodo.world.generate import generate

    t0 = time.time()
    world = generate("teacher", config.size, config.world_seed, verbose=verbose)
    labels = sorted(DOMAINS["teacher"].labels)
    processor = image_processor(config.image_size)
    x_train, y_train = _frames(world, "train", config, labels)  # (N, H, W, 3) uint8, (N,)
    x_val, y_val = _frames(world, "val", config, labels)

    def pixels(x: np.ndarray) -> Tensor:  # (N, H, W, 3) uint8 -> (N, 3, s, s)
        return processor(list(x), return_tensors="pt")["pixel_values"]

    with one_thread():  # the thread count changes float sums, and so the checkpoint's bytes
        model, history = _train(config, labels, pixels(x_train), y_train, pixels(x_val), y_val, verbose)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        write_json(tmp / "pretrain.json", {"config": dataclasses.asdict(config), "labels": labels,
                                           "history": history, "val_acc": history[-1]["val_acc"],
                                           "n_train": int(len(y_train)), "n_val": int(len(y_val)),
                                           "torch_threads": 1, "seconds": time.time() - t0, "world": str(world)})
    if verbose:
        print(f"image encoder: val acc {history[-1]['val_acc']:.3f} on the teacher domain's frames "
              f"({time.time() - t0:.0f} s) -> {out}", flush=True)
    return out


def _frames(world: Path, split: str, config: ImagePretrainConfig, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``frames_per_clip`` frames of every clip of a teacher split, uniformly spread: (N·k, H, W, 3), (N·k,)."""
    from comodo.data import DataSpec, load_split, probe_video, read_frames
    from comodo.egodistill.clips import clip_frames_range, select_frames

    k = config.frames_per_clip
    frames, y = [], []
    for s in load_split(DataSpec(layout="ego4d", root=world), split):
        info = probe_video(s.video_path)
        first, stop = clip_frames_range(s, info.fps, info.n_frames)
        frames.append(read_frames(s.video_path, first + select_frames(stop - first, k, "uniform")))  # (k, H, W, 3)
        y += [labels.index(s.label)] * k
    return np.concatenate(frames), np.array(y, dtype=np.int64)


def _train(config: ImagePretrainConfig, labels: list[str], p_train: Tensor, y_train: np.ndarray,
           p_val: Tensor, y_val: np.ndarray, verbose: bool) -> tuple[nn.Module, list[dict]]:
    """AdamW + one-cycle schedule on (N, 3, s, s) pixel values; returns the model (eval) and the history."""
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(config.seed)
    hf_config = ResNetConfig(embedding_size=config.embedding_size, hidden_sizes=list(config.hidden_sizes),
                             depths=list(config.depths), layer_type="basic", num_labels=len(labels),
                             id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)})
    model = ResNetForImageClassification(hf_config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(y_train) / config.batch_size))
    sched = one_cycle(opt, config.learning_rate, steps, warmup=0.15)
    gen = torch.Generator().manual_seed(config.seed)
    history = fit_classifier(model, p_train, y_train, p_val, y_val, epochs=config.epochs, batch_size=config.batch_size,
                             opt=opt, sched=sched, gen=gen, augment=_augment, name="image encoder", verbose=verbose)
    return model, history


def _augment(x: Tensor, gen: torch.Generator, shift: int = 4) -> Tensor:
    """A random horizontal flip and a random shift of up to ``shift`` px (reflect-padded) per batch."""
    if torch.rand(1, generator=gen).item() < 0.5:
        x = x.flip(-1)
    dy, dx = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=gen))
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (shift, shift, shift, shift), mode="reflect")  # (b, 3, h + 2s, w + 2s)
    return padded[..., dy:dy + h, dx:dx + w]  # (b, 3, h, w)


# --- the frozen encoder -------------------------------------------------------------------------------


class ImageEncoder(nn.Module):
    """Frozen f_I: ``features(frames)`` with frames (N, H, W, 3) uint8 RGB → (N, D) float32.

    Args:
        checkpoint: a hub id (offline from the local HF cache when ``HF_HUB_OFFLINE=1``), a folder
            with ``config.json`` + ``preprocessor_config.json``, or ``"embedded"``.
        world_size, world_seed: which teacher-domain world ``"embedded"`` is pre-trained on.

    Always ``eval()``, no parameter requires a gradient, features are computed under ``no_grad``.
    """

    def __init__(self, checkpoint: str = "embedded", *, world_size: str = "default", world_seed: int = 0,
                 device: str | torch.device = "cpu", verbose: bool = True) -> None:
        super().__init__()
        from comodo.egodistill.video_classifier import load_processor
        from comodo.encoders.hub import checkpoint_name, load_weights, resolve_checkpoint
        from comodo.encoders.video import quiet_transformers

        quiet_transformers()
        from transformers import AutoConfig, AutoModel

        self.checkpoint = str(checkpoint)
        if self.checkpoint == "embedded":
            self.path = pretrain_image_encoder(pretrain_config(world_size, world_seed), verbose=verbose)
        else:
            self.path = resolve_checkpoint(checkpoint)
        self.name = self.path.name if self.checkpoint == "embedded" else checkpoint_name(self.checkpoint, self.path)
        self.hf_config = AutoConfig.from_pretrained(self.path)
        self.model_type = str(self.hf_config.model_type)
        self.family = IMAGE_ENCODERS.get(self.model_type)
        self.processor = load_processor(self.path, "image")
        self.backbone = load_weights("image encoder", self.path,  # the backbone, without a classifier head
                                     lambda: AutoModel.from_pretrained(self.path))
        self.dim = self.family.dim(self.hf_config)
        self.requires_grad_(False)
        self.to(device).eval()

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def train(self, mode: bool = True) -> "ImageEncoder":  # frozen: always eval
        return super().train(False)

    @torch.no_grad()
    def features(self, frames: np.ndarray) -> Tensor:
        """(N, H, W, 3) uint8 RGB frames → (N, D) float32 pooled features (on the encoder's device)."""
        frames = np.asarray(frames)
        check(frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8,
              f"image encoder frames: expected (N, H, W, 3) uint8, got {frames.dtype} {tuple(frames.shape)}")
        if len(frames) == 0:
            return torch.zeros(0, self.dim, device=self.device)
        pixels = self.processor(list(frames), return_tensors="pt")["pixel_values"].to(self.device)  # (N, 3, h, w)
        return self.family.pool(self.backbone(pixel_values=pixels)).float()  # (N, D)

    forward = features

    def describe(self) -> dict:
        """What a cache key records about this encoder: family, dim, processor, a stat of every weight file."""
        from comodo.data.identity import folder_identity

        return {"checkpoint_name": self.name, "model_type": self.model_type, "dim": self.dim,
                "processor": self.processor.to_dict(), "weights": folder_identity(self.path)}


def load_image_encoder(name: str = "embedded", world_size: str = "default", world_seed: int = 0,
                       device: str | torch.device = "cpu", verbose: bool = True) -> ImageEncoder:
    """f_I by name: a hub id (``microsoft/resnet-18``, the paper's), a folder, or ``"embedded"``."""
    return ImageEncoder(name, world_size=world_size, world_seed=world_seed, device=device, verbose=verbose)


__all__ = ["IMAGE_ENCODERS", "ImageEncoder", "ImageFamily", "ImagePretrainConfig", "QUICK", "image_encoder_dir",
           "image_processor", "load_image_encoder", "pretrain_config", "pretrain_image_encoder"]
