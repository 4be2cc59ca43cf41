"""The head-worn IMU, derived physically from a :class:`~comodo.world.motion.Trajectory`.

- Accelerometer: specific force in the sensor frame, ``Rᵀ (a − g)`` with ``g = (0, 0, −9.80665)``
  m/s², so a still, level wearer reads ``(0, 0, +9.81)`` — 1 g upwards.
- Gyroscope: body-frame angular rate (rad/s) of ``R = Rz(yaw) Ry(pitch) Rx(roll)``:
  ``ω = (φ̇ − ψ̇ sinθ,  θ̇ cosφ + ψ̇ sinφ cosθ,  −θ̇ sinφ + ψ̇ cosφ cosθ)``.
- Sensor model (:class:`SensorModel`): a fixed mounting rotation of a few degrees between head and
  sensor (per clip), a constant bias per clip and white noise per sample.

Output: ``(6, T)`` float32, rows accel x y z (m/s²) then gyro x y z (rad/s), in the sensor frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comodo.world.motion import GRAVITY, Trajectory, euler_to_matrix


@dataclass(frozen=True)
class SensorModel:
    """Imperfections of one IMU (SI units)."""

    accel_noise: float = 0.08  # white noise std (m/s²)
    gyro_noise: float = 0.01  # white noise std (rad/s)
    accel_bias: float = 0.05  # per-clip bias std (m/s²)
    gyro_bias: float = 0.005  # per-clip bias std (rad/s)
    mounting_deg: float = 4.0  # per-clip mounting rotation std (degrees, each axis)


def ideal_imu(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free specific force and body rate of the head.

    Returns:
        accel (T, 3) m/s² and gyro (T, 3) rad/s, both in the head frame.
    """
    dt = 1.0 / traj.rate
    acc_world = np.gradient(np.gradient(traj.position, dt, axis=0), dt, axis=0)  # (T, 3)
    specific = acc_world - np.array([0.0, 0.0, -GRAVITY])  # a − g, (T, 3)
    R = traj.rotation()  # (T, 3, 3) head → world
    accel = _apply(np.swapaxes(R, 1, 2), specific)  # Rᵀ (a − g), (T, 3)

    eul = np.unwrap(traj.euler, axis=0)
    rates = np.gradient(eul, dt, axis=0)  # (T, 3) yaw, pitch, roll rates
    _, th, ph = eul[:, 0], eul[:, 1], eul[:, 2]
    dpsi, dth, dph = rates[:, 0], rates[:, 1], rates[:, 2]
    gyro = np.stack(
        [
            dph - dpsi * np.sin(th),
            dth * np.cos(ph) + dpsi * np.sin(ph) * np.cos(th),
            -dth * np.sin(ph) + dpsi * np.cos(ph) * np.cos(th),
        ],
        axis=1,
    )  # (T, 3)
    return accel, gyro


def simulate_imu(traj: Trajectory, sensor: SensorModel, rng: np.random.Generator) -> np.ndarray:
    """The IMU a head-worn sensor records along ``traj``: (6, T) float32, m/s² then rad/s."""
    accel, gyro = ideal_imu(traj)
    mount = euler_to_matrix(np.deg2rad(rng.normal(0.0, sensor.mounting_deg, size=3)))  # head ← sensor
    accel = _apply(mount.T[None], accel)  # (T, 3): sensor ← head
    gyro = _apply(mount.T[None], gyro)
    accel = accel + rng.normal(0, sensor.accel_bias, size=3) + rng.normal(0, sensor.accel_noise, accel.shape)
    gyro = gyro + rng.normal(0, sensor.gyro_bias, size=3) + rng.normal(0, sensor.gyro_noise, gyro.shape)
    return np.concatenate([accel, gyro], axis=1).T.astype(np.float32)  # (6, T)


def _apply(M: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(T or 1, 3, 3) matrices times (T, 3) vectors, written out element by element so that the same
    seed gives the same bytes on any machine (BLAS/einsum may round differently with alignment)."""
    return np.stack([M[:, i, 0] * v[:, 0] + M[:, i, 1] * v[:, 1] + M[:, i, 2] * v[:, 2] for i in range(3)], 1)


def integrate_gyro(gyro: np.ndarray, rate: float, R0: np.ndarray) -> np.ndarray:
    """Integrate body rates (T, 3) rad/s from orientation ``R0`` (3, 3); returns (T, 3, 3).

    Midpoint rule with the exact exponential map per step (used by the tests to check that the
    simulated gyroscope integrates back to the trajectory's rotation).
    """
    out = np.empty((len(gyro), 3, 3))
    R = R0.copy()
    out[0] = R
    for k in range(1, len(gyro)):
        w = 0.5 * (gyro[k - 1] + gyro[k]) / rate
        angle = np.linalg.norm(w)
        K = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
        if angle < 1e-12:
            step = np.eye(3) + K
        else:
            step = np.eye(3) + np.sin(angle) / angle * K + (1 - np.cos(angle)) / angle**2 * (K @ K)
        R = R @ step
        out[k] = R
    return out
