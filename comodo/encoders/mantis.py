"""Mantis-8M (Feofanov et al., 2025) as a per-channel student backbone, from the ``mantis-tsfm`` package.

Mantis embeds one univariate series of ``seq_len`` steps (512 for Mantis-8M) into one vector (its class
token, 256 features for Mantis-8M). An IMU batch (B, C, L) is therefore encoded channel by channel: every
channel goes through the same network and the channel embeddings come back as tokens (B, C, dim), which
the student concatenates (6 × 256) or averages.

Input length: a series whose length is not ``seq_len`` is resampled to it by linear interpolation
(``align_corners=False``, as Mantis' own resizing augmentation does).

Loading: a local directory or a hub id (default ``paris-noah/Mantis-8M``), holding ``model.safetensors``
(or ``pytorch_model.bin``) and optionally the ``config.json`` that ``save_pretrained`` writes. The network
is built as ``mantis.architecture.MantisV1``, which also reads checkpoints saved under the legacy
``Mantis8M`` module names. Everything stays on CPU unless ``device`` asks otherwise: a ``device`` recorded
in the checkpoint's config (older mantis defaulted to ``"cuda"``) is ignored.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from comodo.encoders import BACKBONES
from comodo.encoders.base import Backbone
from comodo.encoders.hub import resolve_checkpoint
from comodo.errors import ComodoError

DEFAULT_CHECKPOINT = "paris-noah/Mantis-8M"
OUTPUT_TOKENS = ("cls_token", "mean_token", "combined")


class MantisBackbone(Backbone):
    """Mantis applied to each channel: (B, C, L) → (B, C, dim), ``dim`` read from the network."""

    per_channel = True

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.input_length = int(network.seq_len)
        self.dim = int(network.hidden_dim)

    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str = DEFAULT_CHECKPOINT,
        *,
        revision: str | None = None,
        device: str | torch.device = "cpu",
        output_token: str = "cls_token",
    ) -> "MantisBackbone":
        """Load a local directory or hub id; returned in eval mode (call ``.train()`` to fine-tune).

        ``output_token``: ``"cls_token"`` (Mantis' default embedding), ``"mean_token"`` (mean of the patch
        tokens) or ``"combined"`` (both, concatenated: twice the width).
        """
        from mantis.architecture.version1 import MantisV1

        if output_token not in OUTPUT_TOKENS:
            raise ComodoError(f"Mantis output_token {output_token!r}; expected one of {list(OUTPUT_TOKENS)}")
        path = Path(checkpoint).expanduser()
        root = path if path.is_dir() else resolve_checkpoint(checkpoint, revision=revision)
        accepted = set(inspect.signature(MantisV1.__init__).parameters) - {"self", "device"}
        kwargs = {k: v for k, v in _read_config(root).items() if k in accepted}
        try:
            network = MantisV1(**kwargs, device="cpu")
        except (TypeError, ValueError, AssertionError) as e:
            raise ComodoError(f"{root / 'config.json'}: settings do not build a Mantis network ({e})") from None
        _load_weights(network, root)
        # As mantis' own loading does, the read-out is set after the weights are in.
        return cls.reading_out(network, output_token).to(device).eval()

    @classmethod
    def reading_out(cls, network: nn.Module, output_token: str = "cls_token") -> "MantisBackbone":
        """Wrap a built ``MantisV1``, read out as comodo reads Mantis: the last layer's token(s), without
        the pre-training projector (``from_pretrained`` calls this after loading the weights)."""
        if output_token not in OUTPUT_TOKENS:
            raise ComodoError(f"Mantis output_token {output_token!r}; expected one of {list(OUTPUT_TOKENS)}")
        width = network.transf_unit.cls_token.numel()
        network.pre_training = False
        network.return_transf_layer = -1
        network.output_token = output_token
        network.hidden_dim = 2 * width if output_token == "combined" else width
        return cls(network)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, L) → per-channel Mantis embeddings (B, C, dim); L ≠ input_length is resampled."""
        if x.ndim != 3:
            raise ComodoError(f"Mantis expects a series batch (B, C, L), got shape {tuple(x.shape)}")
        B, C, L = x.shape
        x = x.to(self.network.tokgen_unit.linear_encoder.linear.weight.dtype)
        if L != self.input_length:
            x = F.interpolate(x, size=self.input_length, mode="linear", align_corners=False)  # (B, C, 512)
        z = self.network(x.reshape(B * C, 1, self.input_length))  # (B·C, dim)
        return z.reshape(B, C, self.dim)  # (B, C, dim)


def _read_config(root: Path) -> dict[str, Any]:
    """The ``config.json`` beside the weights ({} when there is none: the constructor defaults are Mantis-8M)."""
    path = root / "config.json"
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ComodoError(f"{path}: cannot read Mantis config ({type(e).__name__}); expected JSON") from None
    if not isinstance(raw, dict):
        raise ComodoError(f"{path}: expected a JSON object")
    return raw


def _load_weights(network: nn.Module, root: Path) -> None:
    """Copy ``model.safetensors`` (else ``pytorch_model.bin``) into ``network``; every tensor must fit."""
    st, pt = root / "model.safetensors", root / "pytorch_model.bin"
    try:
        if st.is_file():
            from safetensors.torch import load_file

            state, source = load_file(str(st)), st
        elif pt.is_file():
            state, source = torch.load(pt, map_location="cpu", weights_only=True), pt
        else:
            raise ComodoError(f"Mantis checkpoint {str(root)!r} has no model.safetensors or pytorch_model.bin")
    except ComodoError:
        raise
    except Exception as e:  # safetensors / pickle decoding errors have no common base class
        raise ComodoError(f"{root}: unreadable Mantis weights ({type(e).__name__}: {e})") from None
    try:
        result = network.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ComodoError(f"{source}: weights do not fit its config ({str(e).splitlines()[-1].strip()})") from None
    if result.missing_keys or result.unexpected_keys:
        raise ComodoError(
            f"{source}: weights do not fit a Mantis network (missing: {result.missing_keys[:5]}, "
            f"unexpected: {result.unexpected_keys[:5]})"
        )


_OPTIONS = ("revision", "device", "output_token")


@BACKBONES.register("mantis")
def build_mantis(checkpoint: str | None = None, **options: Any) -> MantisBackbone:
    """Mantis from a hub id or local directory (default ``paris-noah/Mantis-8M``).

    Options: ``revision``, ``device`` (default CPU), ``output_token`` (default ``"cls_token"``).
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ComodoError(f"unknown Mantis option(s) {unknown}; expected some of {list(_OPTIONS)}")
    return MantisBackbone.from_pretrained(checkpoint or DEFAULT_CHECKPOINT, **options)
