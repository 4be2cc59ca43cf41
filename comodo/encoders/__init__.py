"""Encoders, chosen by name through registries.

- ``BACKBONES``: IMU student backbones (``dilated_cnn``, ``mantis``, ``moment``), each a factory
  ``factory(checkpoint: str | None, **options) -> Backbone`` (see :mod:`comodo.encoders.base`).
- ``TEACHERS``: video teacher families recognised by a checkpoint config's ``model_type``.
"""

from __future__ import annotations

import importlib

from comodo.registry import Registry

BACKBONES: Registry = Registry("student backbone")
TEACHERS: Registry = Registry("video teacher model_type")

_MODULES = ["cnn", "mantis", "moment", "video"]


def load_all() -> None:
    """Import every encoder module so its registrations run."""
    for m in _MODULES:
        try:
            importlib.import_module(f"comodo.encoders.{m}")
        except ModuleNotFoundError as e:
            if e.name != f"comodo.encoders.{m}":
                raise


load_all()
