"""The dict round trip every settings dataclass shares (saved in checkpoints and results, read back)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from comodo.errors import check

S = TypeVar("S", bound="Settings")


class Settings:
    """Mixin for a dataclass: ``to_dict()`` and ``from_dict(d)``, which refuses unknown keys by name.

    ``KIND`` names the settings in that error (``"unknown distill setting(s): [...]"``).
    """

    KIND = "setting"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[S], d: dict[str, Any]) -> S:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(d) - names
        check(not unknown, f"unknown {cls.KIND} setting(s): {sorted(unknown)}")
        return cls(**d)
