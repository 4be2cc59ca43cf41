"""A local Hugging Face hub cache holding a checkpoint folder, as ``huggingface-cli download`` leaves it.

``tests/`` is on ``sys.path`` (its conftest.py), so any test can ``from hub_cache import ...``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def populate_hub_cache(folder: Path, repo_id: str, hub_dir: Path, commit: str = COMMIT) -> Path:
    """Copy ``folder`` into ``hub_dir`` as the ``main`` snapshot of ``repo_id``; returns the snapshot folder.

    Point ``HF_HUB_CACHE`` at ``hub_dir`` (with ``HF_HUB_OFFLINE=1``) and ``repo_id`` resolves to it.
    """
    repo = Path(hub_dir) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def offline_hub(monkeypatch, hub_dir: Path) -> None:
    """This process reads the hub only from ``hub_dir``, offline: ``HF_HUB_OFFLINE=1``, ``HF_HUB_CACHE``
    (also in ``huggingface_hub.constants``, which read the environment when first imported)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_dir))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_dir))
