"""Head-motion verbs: the short actions EgoDistill's domains are labelled with.

EgoDistill's task is the *verb* of a short egocentric clip (Ego4D's hand–object interactions: put, take,
open, close …): a single frame shows the scene and the object but not which way things move, which is
what the clip's motion (the wearer's head, seen by the camera as the scene moving, and felt by the
IMU) tells. In the world's scenario domains one frame already names the scene, and so the label; the
verb domains (:mod:`comodo.world.domains`, ``*_verbs``) restore the paper's premise.

A verb is a constant-rate head movement over the whole video, laid over the activity's own head
motion (gait, task sway, saccades, glances, fidgets: nuisance here) and centred on the video's middle,
so the middle frame of every verb sits at the activity's own pose and its direction cannot be read
from a single frame:

=============  ==========================================================
verb           head movement (before the per-video ×exp(N(0, 0.25)) jitter)
=============  ==========================================================
turn_left      yaw +40 °/s
turn_right     yaw −40 °/s
look_up        pitch −20 °/s
look_down      pitch +20 °/s
step_forward   0.6 m/s along the body heading
step_back      −0.6 m/s
crouch         eye height −0.2 m/s
stand_up       eye height +0.2 m/s
hold_still     none (the activity's own motion only)
=============  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comodo.world.motion import Trajectory

D = np.deg2rad


@dataclass(frozen=True)
class Verb:
    """Rates of one verb: yaw and pitch in rad/s (+ pitch looks down), forward and up in m/s."""

    yaw: float = 0.0
    pitch: float = 0.0
    forward: float = 0.0
    up: float = 0.0


VERBS: dict[str, Verb] = {
    "turn_left": Verb(yaw=D(40)),
    "turn_right": Verb(yaw=-D(40)),
    "look_up": Verb(pitch=-D(20)),
    "look_down": Verb(pitch=D(20)),
    "step_forward": Verb(forward=0.6),
    "step_back": Verb(forward=-0.6),
    "crouch": Verb(up=-0.2),
    "stand_up": Verb(up=0.2),
    "hold_still": Verb(),
}
MAX_SPEED = 0.6  # m/s: activities faster than this (walking, running …) are left out of the verb domains


def apply_verb(traj: Trajectory, verb: Verb, rng: np.random.Generator, jitter: float = 0.25) -> Trajectory:
    """``traj`` with ``verb``'s movement added at a constant rate, zero at the video's middle."""
    scale = float(np.exp(rng.normal(0.0, jitter)))
    s = traj.t - 0.5 * (traj.t[0] + traj.t[-1])  # (T,) s from the middle
    euler = traj.euler.copy()
    euler[:, 0] += scale * verb.yaw * s
    euler[:, 1] += scale * verb.pitch * s
    heading = traj.body_yaw if traj.body_yaw is not None else traj.euler[:, 0]
    position = traj.position.copy()
    position[:, 0] += scale * verb.forward * s * np.cos(heading)
    position[:, 1] += scale * verb.forward * s * np.sin(heading)
    position[:, 2] += scale * verb.up * s
    body = None if traj.body_yaw is None else traj.body_yaw + scale * verb.yaw * s  # the body turns too
    return Trajectory(traj.t, position, euler, traj.rate, body_yaw=body)
