"""Head-pose trajectories: one per clip, from which both the IMU and the video are derived.

Frames and angles (used everywhere in :mod:`comodo.world`):

- World frame: x, y horizontal, z up (metres). Gravity is ``(0, 0, -9.80665)`` m/s².
- Head (= camera) frame: x forward (the optical axis), y left, z up.
- Orientation ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` maps head-frame vectors to the world frame.
  Positive pitch looks *down*; positive yaw turns left; angles in radians.

A :class:`MotionModel` is a handful of physical parameters (gait frequency, vertical bob, forward
speed, head pitch, head-turn saccades, task oscillations …); :func:`head_trajectory` turns one into a
smooth trajectory sampled at ``rate`` Hz with per-clip randomness drawn from ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

GRAVITY = 9.80665  # m/s²


@dataclass(frozen=True)
class MotionModel:
    """Physical parameters of one activity's head motion (SI units: m, s, rad, Hz)."""

    height: float = 1.65  # eye height above the floor (m): ~1.65 standing, ~1.2 sitting
    speed: float = 0.0  # forward walking speed (m/s)
    step_freq: float = 0.0  # steps per second (Hz); 0 = no gait
    bob: float = 0.0  # vertical head bob amplitude at step frequency (m)
    sway: float = 0.0  # lateral sway amplitude at half the step frequency (m)
    climb: float = 0.0  # vertical speed (m/s), + up
    turn_rate: float = 0.0  # std of the slow heading wander (rad/s)
    pitch: float = 0.0  # mean head pitch (rad, + down)
    pitch_wander: float = 0.02  # slow pitch wander amplitude (rad)
    yaw_wander: float = 0.05  # slow yaw wander amplitude (rad)
    saccade_rate: float = 0.0  # head turns per second
    saccade_amp: float = 0.0  # typical head-turn size (rad)
    task_freq: float = 0.0  # periodic head motion from a manual task (Hz)
    task_pitch: float = 0.0  # its pitch amplitude (rad)
    task_roll: float = 0.0  # its roll amplitude (rad)
    task_shift: float = 0.0  # its translation amplitude (m), along the forward axis
    nod_rate: float = 0.0  # nods per second (talking, music)
    nod_amp: float = 0.0  # nod size (rad)
    jump_rate: float = 0.0  # jumps per second (ball games)
    jump_height: float = 0.0  # (m)
    spin_rate: float = 0.0  # whole-body turns per second (dance), rad/s amplitude of yaw oscillation
    tremor: float = 0.002  # small physiological head tremor (rad)
    fidget_rate: float = 0.15  # posture shifts per second, in every activity: pitch/yaw bumps (nuisance)
    fidget_amp: float = 0.12  # their size (rad)
    glance_rate: float = 0.08  # glances away (a head turn and back) per second, in every activity

    def jittered(self, rng: np.random.Generator, amount: float = 0.25) -> "MotionModel":
        """The same activity performed by another wearer on another day: every non-zero parameter
        ×exp(N(0, amount)), the eye height ±5 cm and the habitual head pitch ±6°."""
        values = {}
        for name, value in self.__dict__.items():
            if name == "height":
                values[name] = value + rng.normal(0.0, 0.05)
            elif value != 0.0:
                values[name] = value * float(np.exp(rng.normal(0.0, amount)))
        values["pitch"] = values.get("pitch", self.pitch) + rng.normal(0.0, 0.1)
        return replace(self, **values)


@dataclass
class Trajectory:
    """A head-pose trajectory sampled at ``rate`` Hz.

    Attributes:
        t: (T,) seconds.
        position: (T, 3) head position in the world frame (m).
        euler: (T, 3) yaw, pitch, roll (rad), ``R = Rz(yaw) Ry(pitch) Rx(roll)``.
        rate: samples per second (Hz).
        body_yaw: (T,) heading of the body (rad): where the hands and the path point, without head turns.
    """

    t: np.ndarray
    position: np.ndarray
    euler: np.ndarray
    rate: float
    body_yaw: np.ndarray | None = None

    def rotation(self) -> np.ndarray:
        """(T, 3, 3) head→world rotation matrices."""
        return euler_to_matrix(self.euler)

    def at(self, times: np.ndarray) -> "Trajectory":
        """Linear interpolation at ``times`` (s): the camera poses for video frames."""
        pos = np.stack([np.interp(times, self.t, self.position[:, i]) for i in range(3)], axis=1)
        eul = np.stack([np.interp(times, self.t, self.euler[:, i]) for i in range(3)], axis=1)
        body = None if self.body_yaw is None else np.interp(times, self.t, self.body_yaw)
        return Trajectory(np.asarray(times, dtype=np.float64), pos, eul, rate=0.0, body_yaw=body)


def euler_to_matrix(euler: np.ndarray) -> np.ndarray:
    """(..., 3) yaw, pitch, roll → (..., 3, 3) ``Rz(yaw) @ Ry(pitch) @ Rx(roll)``."""
    y, p, r = euler[..., 0], euler[..., 1], euler[..., 2]
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    R = np.empty(euler.shape[:-1] + (3, 3), dtype=np.float64)
    R[..., 0, 0] = cy * cp
    R[..., 0, 1] = cy * sp * sr - sy * cr
    R[..., 0, 2] = cy * sp * cr + sy * sr
    R[..., 1, 0] = sy * cp
    R[..., 1, 1] = sy * sp * sr + cy * cr
    R[..., 1, 2] = sy * sp * cr - cy * sr
    R[..., 2, 0] = -sp
    R[..., 2, 1] = cp * sr
    R[..., 2, 2] = cp * cr
    return R


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float, fmax: float = 0.4) -> np.ndarray:
    """A smooth random signal: 4 sinusoids below ``fmax`` Hz, RMS ≈ ``amp``."""
    if amp == 0.0:
        return np.zeros_like(t)
    freqs = rng.uniform(0.03, fmax, size=4)
    phases = rng.uniform(0, 2 * np.pi, size=4)
    weights = rng.normal(size=4)
    weights *= amp * np.sqrt(2.0) / np.linalg.norm(weights)
    return (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)


def _events(rng: np.random.Generator, t: np.ndarray, rate: float, amp: float, width: float,
            kind: str) -> np.ndarray:
    """Poisson events as smooth shapes: ``step`` (a head turn that stays) or ``bump`` (a jump/nod)."""
    out = np.zeros_like(t)
    if rate <= 0.0 or amp == 0.0:
        return out
    n = rng.poisson(rate * (t[-1] - t[0] + 1.0))
    for centre, size in zip(rng.uniform(t[0] - 0.5, t[-1], size=n), rng.normal(0, 1, size=n)):
        if kind == "step":  # smooth sigmoid step, total size ~ amp, random direction
            out += amp * np.sign(size) * (0.6 + 0.4 * abs(size)) / (1 + np.exp(-(t - centre) / width))
        else:  # bump: raised cosine of half-width `width`
            u = np.clip((t - centre) / width, -1.0, 1.0)
            out += amp * (0.7 + 0.3 * abs(size)) * 0.5 * (1 + np.cos(np.pi * u))
    return out


def head_trajectory(model: MotionModel, duration: float, rate: float,
                    rng: np.random.Generator) -> Trajectory:
    """Sample one head-pose trajectory of ``duration`` s at ``rate`` Hz for ``model``."""
    n = int(round(duration * rate))
    t = np.arange(n, dtype=np.float64) / rate
    phase = rng.uniform(0, 2 * np.pi)
    step = 2 * np.pi * model.step_freq * t + phase

    # Heading: slow wander (integrated noise) plus whole-body dance turns.
    heading = rng.uniform(-np.pi, np.pi) + np.cumsum(_smooth_noise(rng, t, model.turn_rate, 0.2)) / rate
    heading += model.spin_rate * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi)) / (2 * np.pi * 0.25)

    # Position: forward motion along the heading, gait bob and sway, climbing, jumps, task shifts.
    fwd = np.stack([np.cos(heading), np.sin(heading)], axis=1)  # (T, 2)
    left = np.stack([-np.sin(heading), np.cos(heading)], axis=1)  # (T, 2)
    speed = model.speed * (1.0 + 0.1 * np.sin(step))  # speed pulses with each step
    xy = np.cumsum(speed[:, None] * fwd, axis=0) / rate  # (T, 2)
    xy += (model.sway * np.sin(step / 2))[:, None] * left
    task = np.sin(2 * np.pi * model.task_freq * t + rng.uniform(0, 2 * np.pi))
    xy += (model.task_shift * task)[:, None] * fwd
    z = model.height + model.climb * t + model.bob * np.cos(step)
    z = z + _events(rng, t, model.jump_rate, model.jump_height, 0.25, "bump")
    position = np.concatenate([xy, z[:, None]], axis=1)  # (T, 3)

    # Orientation: heading + wander + saccades; pitch from posture, gait, task and nods; roll from sway.
    yaw = heading + _smooth_noise(rng, t, model.yaw_wander)
    yaw = yaw + _events(rng, t, model.saccade_rate, model.saccade_amp, 0.08, "step")
    yaw = yaw - _events(rng, t, model.saccade_rate * 0.5, model.saccade_amp * 0.5, 0.1, "step")
    pitch = model.pitch + _smooth_noise(rng, t, model.pitch_wander)
    pitch = pitch + 1.5 * model.bob * np.sin(step) + model.task_pitch * task
    pitch = pitch + _events(rng, t, model.nod_rate, model.nod_amp, 0.2, "bump")
    # nuisance shared by all activities: posture shifts and glances away
    pitch = pitch + _events(rng, t, model.fidget_rate, model.fidget_amp, 0.6, "bump") * rng.choice([-1, 1])
    yaw = yaw + _events(rng, t, model.fidget_rate, model.fidget_amp, 0.6, "bump") * rng.choice([-1, 1])
    yaw = yaw + _events(rng, t, model.glance_rate, 0.5, 0.5, "bump") * rng.choice([-1, 1])
    roll = 3.0 * model.sway * np.sin(step / 2) + model.task_roll * np.cos(2 * np.pi * model.task_freq * t)
    tremor = np.stack([_smooth_noise(rng, t, model.tremor, 6.0) for _ in range(3)], axis=1)
    euler = np.stack([yaw, pitch, roll], axis=1) + tremor  # (T, 3)
    return Trajectory(t, position, euler, rate, body_yaw=heading)
