"""Training checkpoints that a bit-exact ``--resume`` needs: modules, optimiser, scheduler, RNG, epoch, config.

Shared by ``comodo distill`` and ``comodo egodistill``; written atomically (never half a file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from comodo.errors import ComodoError
from comodo.io import atomic_path


def save_state(path: Path, config: dict, epoch: int, stateful: Mapping[str, Any], device: torch.device,
               **extra: Any) -> None:
    """Save ``{name: obj.state_dict()}`` of ``stateful`` with the config, epoch and RNG states."""
    state = {"config": config, "epoch": epoch, **{k: v.state_dict() for k, v in stateful.items()},
             "torch_rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None, **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def remove_partial_writes(folder: Path) -> list[Path]:
    """Delete the temporary files of atomic writes that a killed process left in ``folder`` (never the
    files themselves: those are only ever replaced whole). Returns what was removed."""
    stale = sorted(Path(folder).glob(".*.tmp")) if Path(folder).is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def load_state(path: Path) -> dict:
    """A checkpoint written by :func:`save_state` (tensors only: ``weights_only``)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file ...
        raise ComodoError(f"checkpoint {path}: cannot be read ({type(e).__name__}); start the run again "
                          f"without --resume") from None


def restore_state(state: dict, stateful: Mapping[str, Any], device: torch.device) -> int:
    """Load every ``stateful`` entry and the RNG states from ``state``; returns the saved epoch."""
    for k, v in stateful.items():
        v.load_state_dict(state[k])
    torch.set_rng_state(state["torch_rng"])
    if device.type == "cuda" and state.get("cuda_rng") is not None:  # dropout on the GPU draws from it
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    return int(state["epoch"])
