"""The frozen video teacher: any transformers video model, by hub id or local directory.

The family is recognised by the checkpoint config's ``model_type`` through ``TEACHERS`` (never by
substrings of a name). Frame count, image size and normalisation come from the checkpoint's config
and image processor. A clip → ``num_frames`` frames sampled uniformly over its window → image
processor → model → last hidden state → pooled (VideoMAE: mean over tokens if
``config.use_mean_pooling`` else the first token; TimeSformer: mean over tokens) → projection head
(``random_mlp``: the reference's never-trained ``Linear → BatchNorm1d → GELU → Linear``, seeded, in
eval mode; or ``none``) → L2-normalised embedding. Always ``eval()`` and ``torch.no_grad()``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from comodo.encoders import TEACHERS
from comodo.encoders.hub import load_weights, resolve_checkpoint
from comodo.errors import ComodoError, check

# model_type -> pooling of the last hidden state (B, N, H) -> (B, H)
Pooling = Callable[[Tensor, object], Tensor]


def _videomae_pool(h: Tensor, config: object) -> Tensor:
    return h.mean(1) if getattr(config, "use_mean_pooling", True) else h[:, 0]


def _mean_pool(h: Tensor, config: object) -> Tensor:
    return h.mean(1)


TEACHERS.register("videomae")(_videomae_pool)
TEACHERS.register("timesformer")(_mean_pool)
TEACHERS.register("vivit")(_mean_pool)


@dataclass(frozen=True)
class TeacherConfig:
    """Everything that changes a teacher embedding (the cache key is built from it)."""

    checkpoint: str = "MCG-NJU/videomae-base-finetuned-kinetics"
    revision: str | None = None
    projection: str = "random_mlp"  # random_mlp | none
    projection_seed: int = 0
    mlp_hidden_dim: int = 2048
    mlp_output_dim: int = 128
    num_frames: int | None = None  # None: from the checkpoint config


def random_mlp(hidden: int, mlp_hidden: int, out: int, seed: int) -> nn.Sequential:
    """The reference's teacher head: randomly initialised (seeded), never trained, used in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.BatchNorm1d(mlp_hidden), nn.GELU(),
                             nn.Linear(mlp_hidden, out))
    return head.eval()


class VideoTeacher(nn.Module):
    """Frozen video encoder. ``forward(frames)`` with frames (B, F, H, W, 3) uint8 → (B, D) unit vectors."""

    def __init__(self, config: TeacherConfig, device: str | torch.device = "cpu") -> None:
        super().__init__()
        from transformers import AutoConfig, AutoImageProcessor, AutoModel

        quiet_transformers()
        check(config.projection in ("random_mlp", "none"),
              f"teacher projection {config.projection!r}: expected 'random_mlp' or 'none'")
        path = resolve_checkpoint(config.checkpoint, config.revision)
        hf_config = AutoConfig.from_pretrained(path)
        self.model_type = hf_config.model_type
        self.pool: Pooling = TEACHERS.get(self.model_type)
        self.config = config
        self.hf_config = hf_config
        self.num_frames = int(config.num_frames or getattr(hf_config, "num_frames", 16))
        try:
            self.processor = AutoImageProcessor.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ComodoError(f"teacher checkpoint {path}: no usable image processor config ({e})") from None
        self.backbone = load_weights("teacher checkpoint", path, lambda: AutoModel.from_pretrained(path)).eval()
        hidden = int(hf_config.hidden_size)
        self.head: nn.Module = (random_mlp(hidden, config.mlp_hidden_dim, config.mlp_output_dim,
                                           config.projection_seed)
                                if config.projection == "random_mlp" else nn.Identity())
        self.dim = config.mlp_output_dim if config.projection == "random_mlp" else hidden
        self.requires_grad_(False)
        self.to(device).eval()

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def train(self, mode: bool = True) -> "VideoTeacher":  # frozen: always eval
        return super().train(False)

    def preprocess(self, frames: np.ndarray) -> Tensor:
        """(B, F, H, W, 3) uint8 → pixel_values (B, F, 3, h, w) as the checkpoint's processor asks."""
        check(frames.ndim == 5 and frames.shape[-1] == 3,
              f"teacher frames: expected (B, F, H, W, 3), got {tuple(frames.shape)}")
        out = self.processor([list(clip) for clip in frames], return_tensors="pt")
        return out["pixel_values"]

    @torch.no_grad()
    def pooled(self, frames: np.ndarray) -> Tensor:
        """Pooled last hidden state (B, hidden) before the projection head."""
        pixels = self.preprocess(frames).to(self.device)  # (B, F, 3, h, w)
        hidden = self.backbone(pixel_values=pixels).last_hidden_state  # (B, N, hidden)
        return self.pool(hidden, self.hf_config)  # (B, hidden)

    @torch.no_grad()
    def forward(self, frames: np.ndarray) -> Tensor:
        z = self.head(self.pooled(frames))  # (B, D)
        return nn.functional.normalize(z, dim=-1)

    def describe(self) -> dict:
        """What the cache key and results record about this teacher."""
        return {**asdict(self.config), "model_type": self.model_type, "num_frames": self.num_frames,
                "processor": self.processor.to_dict() if hasattr(self.processor, "to_dict") else {}}


def quiet_transformers() -> None:
    """Silence load reports and the PIL-processor fallback notice (the classifier head of a fine-tuned
    checkpoint is expected to be unused when its backbone is loaded)."""
    import warnings

    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*requires torchvision.*")


def stack_clips(samples, num_frames: int) -> np.ndarray:
    """:func:`clip_frames` of each sample, stacked: (N, F, H, W, 3) uint8; every video must have the first
    one's frame size (one line naming the first that does not)."""
    clips = [clip_frames(s.video_path, s.start_s, s.end_s, num_frames) for s in samples]
    size = clips[0].shape[1:3] if clips else None
    for s, c in zip(samples, clips):
        check(c.shape[1:3] == size, f"video {s.video_path}: frames of {c.shape[2]}×{c.shape[1]} px; expected "
                                    f"{size[1]}×{size[0]} px like {samples[0].video_path} (clips are encoded in "
                                    f"batches: one frame size per dataset)")
    return np.stack(clips)


def clip_frames(video_path, start_s: float, end_s: float, num_frames: int) -> np.ndarray:
    """``num_frames`` frames spread uniformly over ``[start_s, end_s)`` of a video: (F, H, W, 3) uint8."""
    from comodo.data.video import frame_range, probe_video, read_frames, sample_indices

    info = probe_video(video_path)
    first, stop = frame_range(info.fps, start_s, end_s, info.n_frames)
    return read_frames(video_path, sample_indices(info.n_frames, num_frames, first, stop))
