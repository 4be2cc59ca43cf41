"""Checkpoints by hub id *or* local directory, offline-first.

``resolve_checkpoint("MCG-NJU/videomae-base")`` returns a local directory: the path itself when it
exists, else the hub snapshot (from the local HF cache when ``HF_HUB_OFFLINE=1``). When neither works
the error says how to download the checkpoint or pass a local directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from comodo.errors import ComodoError


def checkpoint_name(given: str | os.PathLike, resolved: Path) -> str:
    """The name a cache key records for a checkpoint: a hub id as given, a folder by its own name (so a
    moved or copied folder keeps its caches; its files' stats are in the key beside the name)."""
    return str(given) if not Path(given).expanduser().exists() else Path(resolved).name


def resolve_checkpoint(name_or_path: str | os.PathLike, revision: str | None = None) -> Path:
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ComodoError(f"checkpoint {str(path)!r} is a file; expected a directory with config.json")
        if not (path / "config.json").exists():
            raise ComodoError(f"checkpoint directory {str(path)!r} has no config.json")
        return path
    name = str(name_or_path)
    if name.count("/") != 1 or name.startswith((".", "/", "~")):
        raise ComodoError(f"checkpoint {name!r} is neither an existing directory nor a hub id 'owner/name'")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, revision=revision))
    except Exception as e:  # offline, no network, unknown repo, gated repo ...
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
        why = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline else type(e).__name__
        raise ComodoError(
            f"cannot load checkpoint {name!r} from the Hugging Face hub ({why}); on a machine with "
            f"network run `huggingface-cli download {name} --local-dir DIR` and pass DIR instead"
        ) from None


def weights_readable(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds safetensors weights that read: every file's header parses and covers the
    file (a truncated or overwritten file does not). For the caches' own ``save_pretrained`` folders."""
    from safetensors import safe_open

    files = sorted(Path(folder).glob("*.safetensors"))
    try:
        for f in files:
            with safe_open(str(f), "pt") as h:
                h.keys()
    except Exception:  # SafetensorError, OSError: what a damaged file raises
        return False
    return bool(files)


def cached_weights_ok(folder: str | os.PathLike, what: str, redo: str) -> bool:
    """For a finished cache folder: whether its weights read (:func:`weights_readable`); if not, says so on
    stderr (``<what> <folder>: its weights cannot be read; <redo>``) and the caller builds it again."""
    if weights_readable(folder):
        return True
    import sys

    print(f"{what} {folder}: its weights cannot be read; {redo}", file=sys.stderr, flush=True)
    return False


def load_weights(what: str, path: str | os.PathLike, load):
    """``load()``, with a checkpoint whose weights cannot be read (truncated, corrupt, of another shape)
    turned into one line naming ``what`` and ``path``."""
    from safetensors import SafetensorError

    try:
        return load()
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ComodoError(f"{what} {path}: its weights cannot be read ({why}); expected a complete checkpoint "
                          f"folder (save_pretrained)") from None
