"""The ray caster renders a clip in chunks of frames: the same pixels as in one piece."""

from __future__ import annotations

import numpy as np

from comodo.world import render as module
from comodo.world.render import Box, Cylinder, Plane, Scene, Sphere, Texture, render


def _scene(F: int) -> Scene:
    """Every kind of primitive, moving and fixed, with NumPy float64 scalars where the world has them
    (a wall's offset, a box corner: their distances are float64, the others float32)."""
    t = np.linspace(0, 1, F)[:, None]
    return Scene(
        planes=[Plane((0, 0, 1), 0.0, Texture((0.6, 0.5, 0.4), (0.3, 0.2, 0.1), "planks", 0.5)),
                Plane((0, 1, 0), np.float64(-2.7), Texture((0.8, 0.8, 0.7), (0.5, 0.5, 0.6), "grain", 0.7), (0, 2)),
                Plane((1, 0, 0), np.float64(5.3), Texture((0.2, 0.6, 0.3), (0.9, 0.9, 0.9), "checker", 0.4), (1, 2))],
        boxes=[Box((1.5, np.float64(-0.6), 0.0), (2.2, 0.4, 0.9), Texture((0.7, 0.3, 0.2), (0.2, 0.2, 0.2), "stripes"))],
        cylinders=[Cylinder(np.hstack([3.0 - t, 0.8 * t]), 0.22, 0.0, 1.8, Texture((0.1, 0.2, 0.7), (0.1, 0.2, 0.7)))],
        spheres=[Sphere(np.array([[0.6, -0.2, 1.1]]), 0.08, Texture((0.9, 0.7, 0.5), (0.9, 0.7, 0.5))),
                 Sphere(np.hstack([1.0 + t, 0.3 - 0.5 * t, 1.3 + 0 * t]), 0.12, Texture((1, 0, 0), (0, 0, 1), "checker", 0.05))],
        skyline=(0.3, 0.3, 0.35), skyline_seed=3)


def test_chunks_of_frames_give_the_pixels_of_one_piece(monkeypatch):
    F = 11
    pos = np.column_stack([np.linspace(0, 0.5, F), np.zeros(F), np.full(F, 1.6)])
    euler = np.column_stack([np.linspace(-0.6, 0.6, F), np.linspace(0.2, -0.1, F), np.zeros(F)])
    monkeypatch.setattr(module, "CHUNK_FRAMES", F)
    whole = render(_scene(F), pos, euler, 32, 24, 90.0)
    assert whole.shape == (F, 24, 32, 3) and whole.dtype == np.uint8
    assert len(np.unique(whole.reshape(-1, 3), axis=0)) > 50  # a picture of many surfaces, not a blank
    assert not np.array_equal(whole[0], whole[-1])  # the camera and things moved
    for chunk in (1, 4):  # 11 frames: chunks that do and do not divide them
        monkeypatch.setattr(module, "CHUNK_FRAMES", chunk)
        assert np.array_equal(render(_scene(F), pos, euler, 32, 24, 90.0), whole)


def test_a_moving_primitive_needs_one_centre_or_one_per_frame():
    import pytest

    from comodo.errors import ComodoError

    F = 4
    scene = Scene(spheres=[Sphere(np.zeros((F + 1, 3)), 0.1, Texture((1, 0, 0), (1, 0, 0)))])
    with pytest.raises(ComodoError, match="sphere with 5 centres for 4 frames"):
        render(scene, np.zeros((F, 3)), np.zeros((F, 3)), 8, 8, 90.0)
