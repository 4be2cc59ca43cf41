"""EgoDistill's frozen teacher Ω: a transformers video classifier, by hub id or folder.

:class:`VideoClassifier` loads a folder written by :func:`comodo.egodistill.teacher.finetune_teacher`
(or any video-classification checkpoint of a family in :data:`CLASSIFIERS`) frozen, and gives per
clip the logits and ``z_V`` — exactly the input of the model's final classifier layer, captured by a
forward pre-hook, so it is right for every family: VideoMAE ``fc_norm`` of the mean-pooled tokens
(or the CLS token without mean pooling), TimeSformer and ViViT the CLS token after the last layer
norm. The paper's z_V is likewise "the teacher's feature before its classifier" (METHOD.md §4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from comodo.data.identity import folder_identity
from comodo.errors import ComodoError, check
from comodo.registry import Registry


@dataclass(frozen=True)
class ClassifierKind:
    """How a video-classification family is read.

    Attributes:
        head: the model's attribute holding the final classifier layer (an ``nn.Linear``).
        resizable_frames: ``num_frames`` may differ from the checkpoint config's (VideoMAE: its
            position table is sinusoidal, not a weight); elsewhere learned embeddings fix it.
    """

    head: str = "classifier"
    resizable_frames: bool = False


CLASSIFIERS: Registry[ClassifierKind] = Registry("video classifier model_type")
CLASSIFIERS.register("videomae")(ClassifierKind(resizable_frames=True))
CLASSIFIERS.register("timesformer")(ClassifierKind())
CLASSIFIERS.register("vivit")(ClassifierKind())


def load_processor(path: Path, what: str = "teacher"):
    """The checkpoint's ``AutoImageProcessor``, or a one-line error naming the folder."""
    from transformers import AutoImageProcessor

    try:
        return AutoImageProcessor.from_pretrained(path)
    except (OSError, ValueError) as e:
        msg = (str(e).splitlines() or [type(e).__name__])[0]
        raise ComodoError(f"{what} checkpoint {path}: no usable image processor config ({msg})") from None


def preprocess(processor, frames: np.ndarray) -> Tensor:
    """(B, F, H, W, 3) uint8 RGB clips → pixel values (B, F, 3, h, w) float32 as the processor asks."""
    frames = np.asarray(frames)
    check(frames.ndim == 5 and frames.shape[-1] == 3 and frames.dtype == np.uint8,
          f"teacher frames: expected (B, F, H, W, 3) uint8, got {frames.dtype} {tuple(frames.shape)}")
    return processor([list(clip) for clip in frames], return_tensors="pt")["pixel_values"]  # (B, F, 3, h, w)


class VideoClassifier(nn.Module):
    """Frozen Ω: ``outputs(frames)`` → ``(z_V, logits)``.

    Args:
        checkpoint: a folder written by :func:`comodo.egodistill.teacher.finetune_teacher`, or any video-classification
            checkpoint (hub id, offline from the local HF cache when ``HF_HUB_OFFLINE=1``, or folder)
            of a family in :data:`CLASSIFIERS`.

    Attributes:
        labels: class names in logit order (``config.id2label``).
        num_frames: frames per clip the model reads (its config's).
        feature_dim: D, the width of z_V (the classifier layer's input).

    Always ``eval()``, no parameter requires a gradient, outputs are computed under ``no_grad``.
    """

    def __init__(self, checkpoint: str | os.PathLike, device: str | torch.device = "cpu",
                 revision: str | None = None) -> None:
        super().__init__()
        from comodo.encoders.hub import checkpoint_name, load_weights, resolve_checkpoint
        from comodo.encoders.video import quiet_transformers

        quiet_transformers()
        from transformers import AutoConfig, AutoModelForVideoClassification

        self.checkpoint = str(checkpoint)
        self.path = resolve_checkpoint(checkpoint, revision)
        self.name = checkpoint_name(self.checkpoint, self.path)
        hf_config = AutoConfig.from_pretrained(self.path)
        self.model_type = str(hf_config.model_type)
        self.kind = CLASSIFIERS.get(self.model_type)
        self.processor = load_processor(self.path)
        self.model = load_weights("teacher checkpoint", self.path,
                                  lambda: AutoModelForVideoClassification.from_pretrained(self.path))
        head = getattr(self.model, self.kind.head, None)
        check(isinstance(head, nn.Linear),
              f"teacher checkpoint {self.path}: no classifier layer {self.kind.head!r}; expected a "
              f"video-classification checkpoint with labels")
        id2label = {int(k): str(v) for k, v in hf_config.id2label.items()}
        check(sorted(id2label) == list(range(head.out_features)),
              f"teacher checkpoint {self.path}: id2label has {len(id2label)} labels, its classifier "
              f"{head.out_features} outputs")
        self.labels: list[str] = [id2label[i] for i in range(head.out_features)]
        self.num_frames = int(hf_config.num_frames)
        self.feature_dim = int(head.in_features)
        self.requires_grad_(False)
        self.to(device).eval()

    @property
    def head(self) -> nn.Linear:
        """The final classifier layer: z_V is its input."""
        return getattr(self.model, self.kind.head)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def train(self, mode: bool = True) -> "VideoClassifier":  # frozen: always eval
        return super().train(False)

    @torch.no_grad()
    def outputs(self, frames: np.ndarray) -> tuple[Tensor, Tensor]:
        """(B, F, H, W, 3) uint8 clips of ``num_frames`` frames → z_V (B, D) and logits (B, C), float32."""
        check(np.ndim(frames) == 5 and np.shape(frames)[1] == self.num_frames,
              f"teacher {self.name}: expected clips of {self.num_frames} frames (B, F, H, W, 3), "
              f"got {tuple(np.shape(frames))}")
        pixels = preprocess(self.processor, frames).to(self.device)  # (B, F, 3, h, w)
        seen: list[Tensor] = []
        hook = self.head.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        try:
            logits = self.model(pixel_values=pixels).logits  # (B, C)
        finally:
            hook.remove()
        return seen[-1].float(), logits.float()  # (B, D), (B, C)

    def check_labels(self, dataset_labels: Sequence[str], dataset: str | None = None) -> None:
        """A one-line error unless the teacher's label set is the dataset's (order may differ)."""
        mine, theirs = set(self.labels), {str(x) for x in dataset_labels}
        if mine == theirs:
            return
        missing = ", ".join(sorted(theirs - mine)) or "none"
        extra = ", ".join(sorted(mine - theirs)) or "none"
        raise ComodoError(f"teacher {self.path}: labels {sorted(mine)} differ from the dataset's {sorted(theirs)} "
                          f"(missing: {missing}; extra: {extra}); fine-tune one with "
                          f"`comodo egodistill teacher --dataset {dataset or 'DATASET'}`")

    def describe(self) -> dict:
        """What a cache key records: family, sizes, labels, processor, a stat of every checkpoint file."""
        return {"checkpoint_name": self.name, "model_type": self.model_type, "num_frames": self.num_frames,
                "feature_dim": self.feature_dim, "labels": self.labels,
                "processor": self.processor.to_dict(), "weights": folder_identity(self.path)}


__all__ = ["CLASSIFIERS", "ClassifierKind", "VideoClassifier", "load_processor", "preprocess"]
