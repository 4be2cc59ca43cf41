"""Where generated data and caches live.

``$COMODO_DATA`` if set; otherwise ``data/`` of the source checkout (``make study`` users), or
``~/.cache/comodo`` for an installed package. Everything generated goes under ``<root>/cache``.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    env = os.environ.get("COMODO_DATA")
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "comodo").is_dir():
        return checkout / "data"
    return Path.home() / ".cache" / "comodo"


def cache_root() -> Path:
    return data_root() / "cache"
