"""MOMENT (Goswami et al., 2024) as a student backbone, loaded by comodo itself.

The upstream ``momentfm`` package pins old ``transformers``/``numpy``; this module rebuilds the parts of
``MOMENT`` that the embedding path uses, on top of ``transformers``' T5 encoder, and reads the hub layout
of ``AutonLab/MOMENT-1-*`` directly: ``config.json`` (MOMENT settings with an embedded ``t5_config``) and
``model.safetensors``.

Pipeline for an input ``x`` (B, C, L) with an observation mask ``m`` (B, L) (1 observed, 0 missing):

1. **RevIN** per instance and channel: mean and population std (no Bessel correction) over the observed
   steps only, ``x̂ = (x − mean) / (std + 1e-5)``, statistics detached from the graph, optional affine
   (``revin_affine``); NaN/inf after normalising become 0.
2. **Patching**: windows of ``patch_len`` every ``patch_stride_len`` → (B, C, N, patch_len).
3. **Patch embedding**: a patch counts as observed only when *all* its steps are observed. Observed patches
   get ``value_embedding(patch)`` (a linear map, bias per ``value_embedding_bias``); the others get the
   learnt ``mask_embedding``. The fixed sinusoidal encoding (sin on even, cos on odd features, base 10000)
   of the patch index is added to every patch when ``add_positional_embedding``; then dropout.
4. **T5 encoder** over each channel's N patch tokens, attention restricted to observed patches (keys).

``embed(reduction="mean")`` averages the tokens over channels, then over observed patches → (B, d), as
upstream ``MOMENT.embed``; ``reduction="none"`` returns every token (B, C, N, d). ``forward`` (the
student) averages each channel's tokens over its observed patches → (B, C, d).

Input length: a series shorter than ``seq_len`` is left-padded with zeros that are masked (as MOMENT's own
data loaders pad); a longer one is resampled to ``seq_len`` by linear interpolation
(``align_corners=False``), its mask with it (a resampled step is observed only when every step it
interpolates is).

Deviations from upstream, none of which changes an output: the positional table is computed, not read
from the checkpoint; the T5 token-embedding table (vocabulary × d, unused for series) and the
reconstruction head are not built; a batch row without any fully observed patch raises instead of
yielding NaN; a stride different from ``patch_len`` is applied consistently to the mask.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comodo.encoders import BACKBONES
from comodo.encoders.base import Backbone
from comodo.encoders.hub import resolve_checkpoint
from comodo.errors import ComodoError

DEFAULT_CHECKPOINT = "AutonLab/MOMENT-1-small"
REVIN_EPS = 1e-5

# Tensors in the hub checkpoint that the embedding path does not use.
_IGNORED_KEYS = ("head.", "encoder.embed_tokens.", "patch_embedding.position_embedding.pe")


@dataclass(frozen=True)
class MomentConfig:
    """The settings of a MOMENT checkpoint that shape the embedding path (from its ``config.json``)."""

    seq_len: int
    patch_len: int
    patch_stride_len: int
    d_model: int
    t5_config: dict[str, Any] = field(repr=False)
    revin_affine: bool = False
    add_positional_embedding: bool = True
    value_embedding_bias: bool = False
    patch_dropout: float = 0.1
    gradient_checkpointing: bool = True

    @property
    def n_patches(self) -> int:
        return (self.seq_len - self.patch_len) // self.patch_stride_len + 1

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "config.json") -> "MomentConfig":
        """Validate a hub ``config.json`` dict; ``where`` names the file in error messages."""
        t5 = raw.get("t5_config")
        if not isinstance(t5, dict) or not isinstance(t5.get("d_model"), int):
            raise ComodoError(f"{where}: expected a 't5_config' object with an integer 'd_model'")
        for key in ("seq_len", "patch_len", "patch_stride_len"):
            value = raw.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ComodoError(f"{where}: expected a positive integer {key!r}, got {value!r}")
        d_model = raw.get("d_model")
        if d_model is None:  # upstream takes it from the T5 config
            d_model = t5["d_model"]
        elif d_model != t5["d_model"]:
            raise ComodoError(f"{where}: d_model {d_model} differs from t5_config.d_model {t5['d_model']}")
        kind = raw.get("transformer_type", "encoder_only")
        if kind != "encoder_only":
            raise ComodoError(f"{where}: transformer_type {kind!r} is not supported; expected 'encoder_only'")
        if raw["patch_len"] > raw["seq_len"]:
            raise ComodoError(f"{where}: patch_len {raw['patch_len']} exceeds seq_len {raw['seq_len']}")
        return cls(
            seq_len=raw["seq_len"],
            patch_len=raw["patch_len"],
            patch_stride_len=raw["patch_stride_len"],
            d_model=d_model,
            t5_config=dict(t5),
            revin_affine=bool(raw.get("revin_affine", False)),
            add_positional_embedding=bool(raw.get("add_positional_embedding", True)),
            value_embedding_bias=bool(raw.get("value_embedding_bias", False)),
            patch_dropout=float(raw.get("patch_dropout", 0.1)),
            gradient_checkpointing=bool(raw.get("enable_gradient_checkpointing", True)),
        )


class RevIN(nn.Module):
    """Reversible instance normalisation over the observed steps of each series (normalise direction only)."""

    def __init__(self, affine: bool = False, eps: float = REVIN_EPS) -> None:
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:  # one feature: upstream builds RevIN(num_features=1)
            self.affine_weight = nn.Parameter(torch.ones(1, 1, 1))
            self.affine_bias = nn.Parameter(torch.zeros(1, 1, 1))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, C, L), mask (B, L) 1 = observed → normalised x (B, C, L)."""
        with torch.no_grad():
            m = mask.to(x.dtype).unsqueeze(1)  # (B, 1, L)
            n = m.sum(-1, keepdim=True)  # (B, 1, 1)
            xm = torch.where(m > 0, x, torch.zeros_like(x))
            mean = xm.sum(-1, keepdim=True) / n  # (B, C, 1)
            var = (((xm - mean) * m) ** 2).sum(-1, keepdim=True) / n  # (B, C, 1)
            std = var.sqrt() + self.eps
        x = (x - mean) / std
        if self.affine:
            x = x * self.affine_weight + self.affine_bias
        return x


def sinusoidal_table(n_positions: int, d_model: int) -> Tensor:
    """The fixed positional encoding (n_positions, d_model): sin on even features, cos on odd ones."""
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)  # (N, 1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model))
    table = torch.zeros(n_positions, d_model)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: d_model // 2])
    return table


class PatchEmbedding(nn.Module):
    """Observed patches → linear value embedding, masked ones → ``mask_embedding``; plus positions."""

    def __init__(self, cfg: MomentConfig) -> None:
        super().__init__()
        self.value_embedding = nn.Linear(cfg.patch_len, cfg.d_model, bias=cfg.value_embedding_bias)
        self.mask_embedding = nn.Parameter(torch.zeros(cfg.d_model))
        self.add_positional_embedding = cfg.add_positional_embedding
        self.register_buffer("position", sinusoidal_table(cfg.n_patches, cfg.d_model), persistent=False)
        self.dropout = nn.Dropout(cfg.patch_dropout)

    def forward(self, patches: Tensor, patch_mask: Tensor) -> Tensor:
        """patches (B, C, N, patch_len), patch_mask (B, N) 1 = observed → tokens (B, C, N, d)."""
        keep = patch_mask.to(patches.dtype)[:, None, :, None]  # (B, 1, N, 1)
        tokens = keep * self.value_embedding(patches) + (1 - keep) * self.mask_embedding  # (B, C, N, d)
        if self.add_positional_embedding:
            tokens = tokens + self.position[: tokens.shape[2]]
        return self.dropout(tokens)


def _t5_encoder(cfg: MomentConfig) -> nn.Module:
    """transformers' T5 encoder stack built from ``t5_config``, without its token-embedding table."""
    from transformers import T5Config, T5EncoderModel

    t5 = {k: v for k, v in cfg.t5_config.items() if k != "model_type"}
    t5["vocab_size"] = 2  # token ids are never fed: keep the (unused) embedding table tiny, then drop it
    stack = T5EncoderModel(T5Config(**t5)).encoder
    if cfg.gradient_checkpointing:  # only acts in training mode
        enable = getattr(stack, "activation_checkpointing_enable", None)
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:  # transformers releases before the rename
            stack.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    stack.embed_tokens = None
    return stack


def _fit_length(x: Tensor, mask: Tensor, length: int) -> tuple[Tensor, Tensor]:
    """Bring x (B, C, L) and mask (B, L) to ``length`` steps: left zero-pad + mask, or linear resampling."""
    steps = x.shape[-1]
    if steps == length:
        return x, mask
    if steps < length:
        pad = length - steps
        return F.pad(x, (pad, 0)), F.pad(mask, (pad, 0))  # (B, C, length), (B, length)
    x = F.interpolate(x, size=length, mode="linear", align_corners=False)  # (B, C, length)
    m = F.interpolate(mask[:, None].to(x.dtype), size=length, mode="linear", align_corners=False)[:, 0]
    return x, (m > 1 - 1e-6).to(mask.dtype)  # (B, length)


class MomentBackbone(Backbone):
    """MOMENT's embedding path: (B, C, L) → per-channel tokens (B, C, d_model). See the module docstring."""

    per_channel = True

    def __init__(self, cfg: MomentConfig) -> None:
        super().__init__()
        self.config = cfg
        self.input_length = cfg.seq_len
        self.dim = cfg.d_model
        self.patch_len = cfg.patch_len
        self.patch_stride = cfg.patch_stride_len
        self.normalizer = RevIN(affine=cfg.revin_affine)
        self.patch_embedding = PatchEmbedding(cfg)
        self.encoder = _t5_encoder(cfg)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str = DEFAULT_CHECKPOINT,
        *,
        revision: str | None = None,
        device: str | torch.device = "cpu",
        patch_dropout: float | None = None,
        gradient_checkpointing: bool | None = None,
    ) -> "MomentBackbone":
        """Load a hub id or a local directory holding ``config.json`` + ``model.safetensors``.

        ``patch_dropout`` and ``gradient_checkpointing`` override the checkpoint's settings. The model is
        returned in eval mode, as ``from_pretrained`` loaders do; call ``.train()`` to fine-tune it.
        """
        root = resolve_checkpoint(checkpoint, revision=revision)
        cfg_path = root / "config.json"
        try:
            raw = json.loads(cfg_path.read_text())
        except (OSError, ValueError) as e:
            raise ComodoError(f"{cfg_path}: cannot read MOMENT config ({type(e).__name__}); expected JSON") from None
        if not isinstance(raw, dict):
            raise ComodoError(f"{cfg_path}: expected a JSON object")
        cfg = MomentConfig.from_dict(raw, where=str(cfg_path))
        overrides: dict[str, Any] = {}
        if patch_dropout is not None:
            overrides["patch_dropout"] = float(patch_dropout)
        if gradient_checkpointing is not None:
            overrides["gradient_checkpointing"] = bool(gradient_checkpointing)
        if overrides:
            cfg = dataclasses.replace(cfg, **overrides)
        model = cls(cfg)
        model.load_checkpoint_weights(root / "model.safetensors")
        return model.to(device).eval()

    def load_checkpoint_weights(self, path: Path) -> None:
        """Copy the tensors of a MOMENT ``model.safetensors`` into this module (every one must fit)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if not path.is_file():
            raise ComodoError(f"MOMENT checkpoint has no weights file {str(path)!r}")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise ComodoError(f"{path}: not a readable safetensors file ({e})") from None
        state = {k: v for k, v in tensors.items() if not k.startswith(_IGNORED_KEYS)}
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ComodoError(
                f"{path}: tensors do not match the MOMENT config (missing: {missing[:5]}, unexpected: {unexpected[:5]})"
            )
        for key, value in state.items():
            if value.shape != own[key].shape:
                raise ComodoError(
                    f"{path}: tensor {key!r} has shape {tuple(value.shape)}, config implies {tuple(own[key].shape)}"
                )
        self.load_state_dict(state, strict=True)

    # ------------------------------------------------------------------ encoding
    def _patch_view(self, mask: Tensor) -> Tensor:
        """mask (B, L) → (B, N): 1 where every step of the patch is observed."""
        windows = mask.unfold(-1, self.patch_len, self.patch_stride)  # (B, N, patch_len)
        return (windows > 0).all(-1).long()

    def _encode(self, x: Tensor, input_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """x (B, C, L), input_mask (B, L) or None → tokens (B, C, N, d) and patch mask (B, N)."""
        if x.ndim != 3:
            raise ComodoError(f"MOMENT expects a series batch (B, C, L), got shape {tuple(x.shape)}")
        B, C, _ = x.shape
        x = x.to(self.patch_embedding.mask_embedding.dtype)
        if input_mask is None:
            input_mask = torch.ones(B, x.shape[-1], device=x.device)
        elif input_mask.shape != (B, x.shape[-1]):
            raise ComodoError(f"input_mask has shape {tuple(input_mask.shape)}; expected {(B, x.shape[-1])}")
        x, input_mask = _fit_length(x, input_mask.to(x.device), self.input_length)  # (B, C, seq_len)
        patch_mask = self._patch_view(input_mask)  # (B, N)
        if not bool(patch_mask.any(-1).all()):
            raise ComodoError(
                f"MOMENT input leaves a batch row without any fully observed patch of {self.patch_len} steps"
            )
        x = self.normalizer(x, input_mask)
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        patches = x.unfold(-1, self.patch_len, self.patch_stride)  # (B, C, N, patch_len)
        tokens = self.patch_embedding(patches, patch_mask)  # (B, C, N, d)
        N, d = tokens.shape[2], tokens.shape[3]
        out = self.encoder(
            inputs_embeds=tokens.reshape(B * C, N, d),  # (B·C, N, d)
            attention_mask=patch_mask.repeat_interleave(C, dim=0),  # (B·C, N)
        ).last_hidden_state
        return out.reshape(B, C, N, d), patch_mask  # (B, C, N, d)

    def embed(self, x: Tensor, input_mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
        """Upstream ``MOMENT.embed``: x (B, C, L), input_mask (B, L) 1 = observed.

        ``reduction="mean"``: mean over channels, then over observed patches → (B, d).
        ``reduction="none"``: every patch token → (B, C, N, d).
        """
        if reduction not in ("mean", "none"):
            raise ComodoError(f"MOMENT embed reduction {reduction!r}; expected 'mean' or 'none'")
        tokens, patch_mask = self._encode(x, input_mask)  # (B, C, N, d), (B, N)
        if reduction == "none":
            return tokens
        w = patch_mask.to(tokens.dtype).unsqueeze(-1)  # (B, N, 1)
        return (tokens.mean(1) * w).sum(1) / w.sum(1)  # (B, d)

    def forward(self, x: Tensor) -> Tensor:
        """Student path: x (B, C, L) → each channel's tokens averaged over observed patches (B, C, d)."""
        tokens, patch_mask = self._encode(x, None)  # (B, C, N, d), (B, N)
        w = patch_mask.to(tokens.dtype)[:, None, :, None]  # (B, 1, N, 1)
        return (tokens * w).sum(2) / w.sum(2)  # (B, C, d)


_OPTIONS = ("revision", "device", "patch_dropout", "gradient_checkpointing")


@BACKBONES.register("moment")
def build_moment(checkpoint: str | None = None, **options: Any) -> MomentBackbone:
    """MOMENT from a hub id or local directory (default ``AutonLab/MOMENT-1-small``).

    Options: ``revision``, ``device`` (default CPU), ``patch_dropout``, ``gradient_checkpointing``.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ComodoError(f"unknown MOMENT option(s) {unknown}; expected some of {list(_OPTIONS)}")
    return MomentBackbone.from_pretrained(checkpoint or DEFAULT_CHECKPOINT, **options)
