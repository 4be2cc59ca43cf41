"""Places, props, hands and people: the part of each clip only the camera sees.

:func:`build_scene` turns (activity, place, camera trajectory, palette) into a
:class:`~comodo.world.render.Scene` in a clip-local frame: the trajectory is rotated so that its
overall direction of travel is +x, and rooms, corridors and stairwells are sized to contain it.
Hands move with the body (``body_yaw``), not with head turns, so looking around moves them in the
image; other people and balls move on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comodo.world.motion import Trajectory
from comodo.world.render import Box, Color, Cylinder, Plane, Scene, Sphere, Texture


@dataclass(frozen=True)
class Palette:
    """A domain's look: colour shift, brightness and fog (real datasets differ in cameras and places)."""

    hue_shift: float = 0.0  # mixes each colour towards a rotated copy of itself
    brightness: float = 1.0
    fog: float = 0.04

    def __call__(self, c: Color) -> Color:
        r, g, b = c
        s = self.hue_shift
        return (r * (1 - s) + g * s, g * (1 - s) + b * s, b * (1 - s) + r * s)


SKIN = (0.87, 0.67, 0.52)
PLACES = ("kitchen", "living_room", "office", "dining", "corridor", "stairwell", "shop", "street", "park",
          "court", "field", "studio", "workshop", "climbing_wall", "clinic")


def _tex(pal: Palette, a: Color, b: Color, pattern: str = "plain", scale: float = 0.5) -> Texture:
    return Texture(pal(a), pal(b), pattern, scale)


def _local_frame(traj: Trajectory) -> tuple[Trajectory, float]:
    """Rotate/translate the trajectory so it starts at the origin and travels along +x."""
    xy = traj.position[:, :2]
    travel = xy[-1] - xy[0]
    ang = float(np.arctan2(travel[1], travel[0])) if np.linalg.norm(travel) > 1.0 else float(traj.body_yaw[0])
    c, s = np.cos(-ang), np.sin(-ang)
    rot = np.array([[c, -s], [s, c]])
    pos = traj.position.copy()
    rel = xy - xy[0]
    pos[:, 0] = rel[:, 0] * rot[0, 0] + rel[:, 1] * rot[0, 1]  # element-wise: bit-reproducible
    pos[:, 1] = rel[:, 0] * rot[1, 0] + rel[:, 1] * rot[1, 1]
    eul = traj.euler.copy()
    eul[:, 0] -= ang
    body = traj.body_yaw - ang
    return Trajectory(traj.t, pos, eul, traj.rate, body), ang


def _room(scene: Scene, pal: Palette, pos: np.ndarray, floor: Texture, wall: Texture, ceiling: Color,
          margin: float = 1.5, height: float = 2.6, open_ends: bool = False) -> tuple[float, float, float, float]:
    x0, x1 = pos[:, 0].min() - margin, pos[:, 0].max() + margin
    y0, y1 = pos[:, 1].min() - margin, pos[:, 1].max() + margin
    scene.planes.append(Plane((0, 0, 1), 0.0, floor, (0, 1)))
    scene.planes.append(Plane((0, 0, 1), height, _tex(pal, ceiling, ceiling), (0, 1)))
    scene.planes.append(Plane((0, 1, 0), y0, wall, (0, 2)))
    scene.planes.append(Plane((0, 1, 0), y1, wall, (0, 2)))
    if not open_ends:
        scene.planes.append(Plane((1, 0, 0), x0, wall, (1, 2)))
        scene.planes.append(Plane((1, 0, 0), x1, wall, (1, 2)))
    return x0, x1, y0, y1


def _outdoor(scene: Scene, floor: Texture, skyline: Color, seed: int) -> None:
    scene.planes.append(Plane((0, 0, 1), 0.0, floor, (0, 1)))
    scene.skyline, scene.skyline_seed = skyline, seed


def _ahead(traj: Trajectory, dist: float, lateral: float = 0.0) -> np.ndarray:
    """A fixed point ``dist`` m in front of where the body faces at the start (x, y)."""
    yaw = traj.body_yaw[0]
    p = traj.position[0, :2]
    return p + dist * np.array([np.cos(yaw), np.sin(yaw)]) + lateral * np.array([-np.sin(yaw), np.cos(yaw)])


def _place(scene: Scene, place: str, traj: Trajectory, pal: Palette, rng: np.random.Generator) -> None:
    pos = traj.position
    jitter = lambda c: tuple(float(np.clip(v + rng.normal(0, 0.05), 0, 1)) for v in c)  # noqa: E731
    if place == "kitchen":
        _room(scene, pal, pos, _tex(pal, jitter((0.85, 0.82, 0.72)), (0.55, 0.45, 0.35), "checker", 0.3),
              _tex(pal, jitter((0.95, 0.9, 0.7)), (0.9, 0.85, 0.65), "stripes", 0.15), (0.95, 0.95, 0.9))
        cx, cy = _ahead(traj, 0.65)
        scene.boxes.append(Box((cx - 0.3, cy - 1.2, 0.0), (cx + 0.3, cy + 1.2, 0.9),
                               _tex(pal, jitter((0.6, 0.4, 0.25)), (0.5, 0.32, 0.2), "planks", 0.4)))
        scene.boxes.append(Box((cx + 0.2, cy - 1.2, 1.4), (cx + 0.5, cy + 1.2, 2.1),
                               _tex(pal, (0.9, 0.9, 0.88), (0.7, 0.7, 0.7), "stripes", 0.4)))
    elif place in ("living_room", "dining"):
        _room(scene, pal, pos, _tex(pal, jitter((0.6, 0.42, 0.25)), (0.45, 0.3, 0.18), "planks", 0.8),
              _tex(pal, jitter((0.75, 0.8, 0.85)), (0.7, 0.75, 0.8), "grain", 1.0), (0.97, 0.97, 0.97))
        cx, cy = _ahead(traj, 0.8)
        top = 0.75 if place == "dining" else 0.45
        scene.boxes.append(Box((cx - 0.4, cy - 0.6, 0.0), (cx + 0.4, cy + 0.6, top),
                               _tex(pal, jitter((0.5, 0.3, 0.2)), (0.4, 0.25, 0.15), "grain", 0.3)))
        sx, sy = _ahead(traj, 2.6)
        scene.boxes.append(Box((sx - 0.4, sy - 1.0, 0.0), (sx + 0.4, sy + 1.0, 0.8),
                               _tex(pal, jitter((0.3, 0.45, 0.3)), (0.25, 0.4, 0.25), "grain", 0.2)))
    elif place == "office":
        _room(scene, pal, pos, _tex(pal, jitter((0.5, 0.5, 0.55)), (0.45, 0.45, 0.5), "grain", 0.2),
              _tex(pal, (0.92, 0.92, 0.92), (0.85, 0.85, 0.88), "plain"), (1.0, 1.0, 1.0))
        cx, cy = _ahead(traj, 0.7)
        scene.boxes.append(Box((cx - 0.35, cy - 0.8, 0.0), (cx + 0.35, cy + 0.8, 0.72),
                               _tex(pal, jitter((0.8, 0.75, 0.65)), (0.7, 0.65, 0.55), "grain", 0.5)))
        mx, my = _ahead(traj, 1.0)
        scene.boxes.append(Box((mx - 0.03, my - 0.3, 0.85), (mx + 0.03, my + 0.3, 1.2),
                               _tex(pal, (0.15, 0.2, 0.35), (0.3, 0.5, 0.8), "stripes", 0.05)))
    elif place in ("corridor", "shop"):
        floor = _tex(pal, jitter((0.7, 0.7, 0.7)), (0.55, 0.55, 0.6), "checker", 0.6)
        wall = _tex(pal, jitter((0.9, 0.85, 0.7)), (0.8, 0.75, 0.6), "stripes", 1.5)
        x0, x1, y0, y1 = _room(scene, pal, pos, floor, wall, (0.95, 0.95, 0.95), margin=1.2, open_ends=True)
        if place == "shop":  # shelves of colourful goods along both sides
            for side in (y0 + 0.25, y1 - 0.25):
                scene.boxes.append(Box((x0 - 50, side - 0.25, 0.0), (x1 + 50, side + 0.25, 1.9),
                                       Texture(pal(jitter((0.9, 0.3, 0.2))), pal(jitter((0.2, 0.5, 0.9))),
                                               "checker", 0.25)))
    elif place == "stairwell":
        slope = float(np.sign(np.diff(pos[[0, -1], 2]))[0] or 1.0) * 0.6
        n = np.array([-slope, 0.0, 1.0]) / np.hypot(slope, 1.0)
        scene.planes.append(Plane(tuple(n), 0.0, _tex(pal, jitter((0.6, 0.6, 0.58)), (0.3, 0.3, 0.3),
                                                      "stripes", 0.28), (0, 1)))
        wall = _tex(pal, jitter((0.75, 0.75, 0.7)), (0.65, 0.65, 0.6), "grain", 0.8)
        y0, y1 = pos[:, 1].min() - 0.9, pos[:, 1].max() + 0.9
        scene.planes.append(Plane((0, 1, 0), y0, wall, (0, 2)))
        scene.planes.append(Plane((0, 1, 0), y1, wall, (0, 2)))
        # the floor is tilted, so lift positions above it: camera height is measured from the stairs
        traj.position[:, 2] = traj.position[:, 2] - traj.position[0, 2] + 1.65 + slope * traj.position[:, 0]
    elif place in ("street", "park", "field"):
        floor = {"street": _tex(pal, jitter((0.4, 0.4, 0.42)), (0.3, 0.3, 0.32), "grain", 0.5),
                 "park": _tex(pal, jitter((0.3, 0.55, 0.25)), (0.25, 0.45, 0.2), "grain", 0.3),
                 "field": _tex(pal, jitter((0.25, 0.6, 0.25)), (0.2, 0.5, 0.2), "stripes", 3.0)}[place]
        sky = {"street": (0.45, 0.4, 0.38), "park": (0.15, 0.35, 0.15), "field": (0.6, 0.6, 0.65)}[place]
        _outdoor(scene, floor, pal(sky), int(rng.integers(1 << 30)))
    elif place in ("court", "studio", "workshop", "clinic"):
        floor = {"court": _tex(pal, jitter((0.8, 0.55, 0.3)), (0.95, 0.95, 0.95), "planks", 2.0),
                 "studio": _tex(pal, jitter((0.15, 0.15, 0.15)), (0.25, 0.25, 0.25), "planks", 1.0),
                 "workshop": _tex(pal, jitter((0.5, 0.5, 0.48)), (0.42, 0.42, 0.4), "grain", 0.6),
                 "clinic": _tex(pal, (0.92, 0.92, 0.95), (0.85, 0.88, 0.92), "checker", 0.4)}[place]
        wall = {"court": _tex(pal, jitter((0.2, 0.25, 0.5)), (0.25, 0.3, 0.55), "stripes", 2.0),
                "studio": _tex(pal, jitter((0.85, 0.85, 0.9)), (0.6, 0.6, 0.7), "stripes", 1.0),
                "workshop": _tex(pal, jitter((0.6, 0.45, 0.3)), (0.5, 0.35, 0.2), "checker", 0.1),
                "clinic": _tex(pal, (0.95, 0.97, 1.0), (0.85, 0.95, 0.95), "plain")}[place]
        margin = {"court": 6.0, "studio": 3.0, "workshop": 1.5, "clinic": 1.5}[place]
        _room(scene, pal, pos, floor, wall, (0.9, 0.9, 0.9), margin=margin, height=3.5 if margin > 2 else 2.6)
        if place in ("workshop", "clinic"):
            cx, cy = _ahead(traj, 0.6)
            top = 0.5 if place == "workshop" else 0.9
            scene.boxes.append(Box((cx - 0.3, cy - 0.7, 0.0), (cx + 0.3, cy + 0.7, top),
                                   _tex(pal, jitter((0.45, 0.3, 0.2)), (0.35, 0.22, 0.15), "grain", 0.3)))
    elif place == "climbing_wall":
        wx, _ = _ahead(traj, 0.45)
        scene.planes.append(Plane((0, 0, 1), 0.0, _tex(pal, (0.4, 0.4, 0.4), (0.35, 0.35, 0.35), "grain"), (0, 1)))
        n = (float(np.cos(traj.body_yaw[0])), float(np.sin(traj.body_yaw[0])), 0.0)
        off = float(np.dot(n[:2], _ahead(traj, 0.45)))
        scene.planes.append(Plane(n, off, _tex(pal, jitter((0.75, 0.7, 0.6)), (0.7, 0.65, 0.55), "grain", 0.5),
                                  (1, 2)))
        for k in range(14):  # coloured holds on the wall
            hx, hy = _ahead(traj, 0.42, rng.uniform(-1.2, 1.2))
            hz = traj.position[0, 2] + rng.uniform(-1.0, 4.0)
            col = [(0.9, 0.2, 0.2), (0.2, 0.6, 0.9), (0.95, 0.8, 0.1), (0.3, 0.8, 0.3)][k % 4]
            scene.spheres.append(Sphere(np.array([[hx, hy, hz]]), 0.06, _tex(pal, col, col)))
        scene.skyline = None
    else:
        raise ValueError(f"unknown place {place!r}")


def _body_point(traj: Trajectory, offset: np.ndarray) -> np.ndarray:
    """(F, 3) world positions of body-frame offsets (F, 3) (x forward, y left, z up from the head)."""
    c, s = np.cos(traj.body_yaw), np.sin(traj.body_yaw)
    x = c * offset[:, 0] - s * offset[:, 1]
    y = s * offset[:, 0] + c * offset[:, 1]
    return traj.position + np.stack([x, y, offset[:, 2]], axis=1)


def _hands(scene: Scene, kind: str, traj: Trajectory, pal: Palette, rng: np.random.Generator) -> None:
    """Two hands (and a held tool) moving in the body frame, per the activity's hand motion."""
    t = traj.t
    F = len(t)
    ph = rng.uniform(0, 2 * np.pi)
    f = float(np.exp(rng.normal(0, 0.1)))
    left = np.tile([0.38, 0.14, -0.5], (F, 1))
    right = np.tile([0.38, -0.14, -0.5], (F, 1))
    tool: tuple[np.ndarray, float, Color] | None = None
    if kind == "none":
        return
    if kind == "swing":  # arms swinging at the sides: hands mostly out of view
        sw = 0.15 * np.sin(2 * np.pi * 0.95 * f * t + ph)
        left = np.stack([0.15 + sw, np.full(F, 0.28), np.full(F, -0.75)], 1)
        right = np.stack([0.15 - sw, np.full(F, -0.28), np.full(F, -0.75)], 1)
    elif kind == "stir":
        a = 2 * np.pi * 1.0 * f * t + ph
        right = np.stack([0.5 + 0.07 * np.cos(a), -0.08 + 0.07 * np.sin(a), np.full(F, -0.55)], 1)
        left = np.tile([0.45, 0.2, -0.6], (F, 1))
        scene.spheres.append(Sphere(_body_point(traj, np.tile([0.5, -0.05, -0.72], (F, 1))), 0.13,
                                    _tex(pal, (0.25, 0.25, 0.28), (0.4, 0.4, 0.45), "stripes", 0.05)))
        tool = (right + [0.0, 0.0, -0.08], 0.03, (0.8, 0.7, 0.4))
    elif kind == "scrub":
        s = 0.09 * np.sin(2 * np.pi * 2.0 * f * t + ph)
        left = np.stack([0.45 + s, np.full(F, 0.1), np.full(F, -0.62)], 1)
        right = np.stack([0.45 - s, np.full(F, -0.1), np.full(F, -0.62)], 1)
        scene.spheres.append(Sphere(_body_point(traj, np.tile([0.5, 0.0, -0.85], (F, 1))), 0.2,
                                    _tex(pal, (0.3, 0.55, 0.85), (0.5, 0.7, 0.95), "grain", 0.05)))
        tool = (0.5 * (left + right), 0.07, (0.97, 0.97, 0.97))
    elif kind == "sweep":
        s = 0.2 * np.sin(2 * np.pi * 0.8 * f * t + ph)
        left = np.stack([np.full(F, 0.4), 0.1 + s, np.full(F, -0.7)], 1)
        right = np.stack([np.full(F, 0.45), -0.05 + s, np.full(F, -0.85)], 1)
        tool = (right + [0.3, 0.0, -0.5], 0.08, (0.8, 0.2, 0.6))
    elif kind == "book":
        left = np.tile([0.35, 0.12, -0.42], (F, 1))
        right = np.tile([0.35, -0.12, -0.42], (F, 1))
        tool = (np.tile([0.38, 0.0, -0.4], (F, 1)), 0.11, (0.97, 0.95, 0.88))
    elif kind == "type":
        j = 0.01 * np.sin(2 * np.pi * 6 * t[:, None] + rng.uniform(0, 6, 3)[None, :])
        left = np.tile([0.45, 0.15, -0.5], (F, 1)) + j
        right = np.tile([0.45, -0.15, -0.5], (F, 1)) - j
        tool = (np.tile([0.5, 0.0, -0.55], (F, 1)), 0.09, (0.2, 0.2, 0.22))
    elif kind in ("eat", "drink"):
        lift = 0.5 * (1 - np.cos(2 * np.pi * (0.3 if kind == "eat" else 0.25) * f * t + ph))
        right = np.stack([0.45 - 0.3 * lift, np.full(F, -0.12), -0.55 + 0.45 * lift], 1)
        left = np.tile([0.4, 0.2, -0.55], (F, 1))
        col = (0.95, 0.95, 0.95) if kind == "eat" else (0.3, 0.6, 0.9)
        scene.spheres.append(Sphere(_body_point(traj, np.tile([0.5, 0.0, -0.5 - traj.position[0, 2] + 1.2], (F, 1))),
                                    0.1, _tex(pal, col, (0.9, 0.6, 0.3), "checker", 0.05)))
        tool = (right + [0.05, 0, 0.03], 0.035, (0.75, 0.75, 0.8) if kind == "eat" else (0.3, 0.6, 0.9))
    elif kind == "gesture":
        g = 0.08 * np.sin(2 * np.pi * 0.7 * f * t + ph) * (np.sin(2 * np.pi * 0.13 * t + ph) > 0)
        left = np.stack([0.4 + g, np.full(F, 0.2), -0.45 + g], 1)
        right = np.stack([0.4 - g, np.full(F, -0.2), -0.5 + 0.5 * g], 1)
    elif kind == "hold":
        left = np.tile([0.4, 0.18, -0.55], (F, 1))
        right = np.tile([0.35, -0.25, -0.7], (F, 1))
        tool = (left + [0.05, 0, -0.05], 0.08, (0.95, 0.6, 0.1))
    elif kind == "tool":
        a = 2 * np.pi * 0.7 * f * t + ph
        right = np.stack([0.45 + 0.05 * np.cos(a), -0.1 + 0.05 * np.sin(a), np.full(F, -0.55)], 1)
        left = np.tile([0.45, 0.15, -0.55], (F, 1))
        scene.spheres.append(Sphere(_body_point(traj, np.tile([0.6, 0.0, -0.65], (F, 1))), 0.25,
                                    _tex(pal, (0.1, 0.1, 0.1), (0.6, 0.6, 0.6), "stripes", 0.03)))
        tool = (right + [0.05, 0, 0], 0.03, (0.7, 0.1, 0.1))
    elif kind == "strum":
        s = 0.05 * np.sin(2 * np.pi * 2.0 * f * t + ph)
        left = np.tile([0.35, 0.25, -0.45], (F, 1))
        right = np.stack([np.full(F, 0.35), np.full(F, -0.05), -0.55 + s], 1)
        tool = (np.tile([0.38, 0.1, -0.55], (F, 1)), 0.12, (0.6, 0.35, 0.15))
    elif kind in ("dribble", "kick"):
        bounce = np.abs(np.sin(2 * np.pi * 1.2 * f * t + ph))
        ground = -traj.position[:, 2] + 0.12
        z = ground + (0.9 * bounce if kind == "dribble" else 0.0)
        ball = np.stack([np.full(F, 0.6 if kind == "dribble" else 1.0), np.full(F, -0.2), z], 1)
        scene.spheres.append(Sphere(_body_point(traj, ball), 0.12,
                                    _tex(pal, (0.95, 0.5, 0.1), (0.1, 0.1, 0.1), "stripes", 0.08)
                                    if kind == "dribble" else _tex(pal, (0.97, 0.97, 0.97), (0.1, 0.1, 0.1),
                                                                   "checker", 0.06)))
        if kind == "kick":
            return
        right = ball + [0.0, 0.0, 0.15]
    elif kind == "reach":
        r = 0.15 * np.sin(2 * np.pi * 0.5 * f * t + ph)
        left = np.stack([np.full(F, 0.35), np.full(F, 0.3), 0.2 + r], 1)
        right = np.stack([np.full(F, 0.35), np.full(F, -0.3), 0.2 - r], 1)
    elif kind == "test_kit":
        s = 0.03 * np.sin(2 * np.pi * 0.6 * f * t + ph)
        left = np.tile([0.42, 0.08, -0.55], (F, 1)) + s[:, None]
        right = np.tile([0.42, -0.1, -0.55], (F, 1))
        tool = (np.tile([0.45, 0.0, -0.62], (F, 1)), 0.05, (0.95, 0.95, 1.0))
    elif kind == "write":
        j = np.stack([0.01 * np.sin(2 * np.pi * 3 * t), 0.02 * np.sin(2 * np.pi * 0.2 * t), 0 * t], 1)
        right = np.tile([0.45, -0.1, -0.6], (F, 1)) + j
        left = np.tile([0.45, 0.15, -0.6], (F, 1))
        tool = (np.tile([0.5, 0.0, -0.68], (F, 1)), 0.1, (0.98, 0.98, 0.98))
    else:
        raise ValueError(f"unknown hand motion {kind!r}")
    skin = Texture(SKIN, (0.8, 0.6, 0.47), "grain", 0.05)
    scene.spheres.append(Sphere(_body_point(traj, left), 0.05, skin))
    scene.spheres.append(Sphere(_body_point(traj, right), 0.05, skin))
    if tool is not None:
        scene.spheres.append(Sphere(_body_point(traj, tool[0]), tool[1], _tex(pal, tool[2], tool[2])))


def _people(scene: Scene, n: int, place: str, traj: Trajectory, pal: Palette, rng: np.random.Generator) -> None:
    """Other people: seated talkers facing the wearer, or pedestrians/players walking on their own."""
    t = traj.t
    for k in range(n):
        clothes = Texture(pal(tuple(rng.uniform(0.1, 0.9, 3))), pal(tuple(rng.uniform(0.1, 0.9, 3))), "stripes", 0.2)
        if place in ("living_room", "office", "dining", "studio", "clinic"):
            base = _ahead(traj, rng.uniform(1.3, 2.0), rng.uniform(-0.9, 0.9))
            sway = 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6))[:, None]
            centre = base[None, :] + sway
            seated = place != "clinic" and place != "studio"
            z1, zs = (1.35, 1.1) if seated else (1.75, 1.5)
        else:
            start = traj.position[0, :2] + rng.uniform(-6, 6, 2)
            vel = rng.normal(0, 1.0, 2)
            centre = start[None, :] + t[:, None] * vel[None, :]
            z1, zs = 1.75, 1.5
        scene.cylinders.append(Cylinder(centre, 0.22, 0.0, z1, clothes, SKIN, zs))


def build_scene(activity, place: str, traj: Trajectory, pal: Palette, rng: np.random.Generator
                ) -> tuple[Scene, Trajectory]:
    """The scene of one clip and the camera trajectory expressed in the scene's frame."""
    local, _ = _local_frame(traj)
    scene = Scene(fog=pal.fog, brightness=pal.brightness)
    if place in ("street", "park", "field"):
        scene.sky_low, scene.sky_high = pal((0.8, 0.85, 0.9)), pal((0.35, 0.55, 0.85))
    _place(scene, place, local, pal, rng)
    _hands(scene, activity.hands, local, pal, rng)
    _people(scene, activity.people, place, local, pal, rng)
    return scene, local
