"""IMU physics of the world: gravity, units, and a gyroscope that integrates back to the trajectory."""

import numpy as np
import pytest

from comodo.world.imu import SensorModel, ideal_imu, integrate_gyro, simulate_imu
from comodo.world.motion import GRAVITY, MotionModel, Trajectory, euler_to_matrix, head_trajectory

STILL = MotionModel(pitch_wander=0.0, yaw_wander=0.0, tremor=0.0, fidget_rate=0.0, glance_rate=0.0)


def test_still_level_wearer_reads_one_g_upwards():
    traj = head_trajectory(STILL, 3.0, 200.0, np.random.default_rng(0))
    accel, gyro = ideal_imu(traj)
    np.testing.assert_allclose(accel, np.tile([0.0, 0.0, GRAVITY], (len(accel), 1)), atol=1e-9)
    np.testing.assert_allclose(gyro, 0.0, atol=1e-12)


def test_still_pitched_head_sees_gravity_rotated():
    pitch = np.deg2rad(30)
    traj = head_trajectory(MotionModel(pitch=pitch, pitch_wander=0, yaw_wander=0, tremor=0, fidget_rate=0, glance_rate=0), 2.0, 200.0,
                           np.random.default_rng(1))
    accel, _ = ideal_imu(traj)
    # looking down by θ the forward axis points below the horizon: up is (−sin θ, 0, cos θ) in the head frame
    np.testing.assert_allclose(accel.mean(0), GRAVITY * np.array([-np.sin(pitch), 0, np.cos(pitch)]), atol=1e-6)


def test_noisy_sensor_still_averages_to_one_g_in_m_per_s2():
    traj = head_trajectory(STILL, 5.0, 200.0, np.random.default_rng(2))
    imu = simulate_imu(traj, SensorModel(mounting_deg=0.0), np.random.default_rng(3))
    assert imu.shape == (6, 1000) and imu.dtype == np.float32
    assert abs(np.linalg.norm(imu[:3].mean(1)) - GRAVITY) < 0.2  # m/s², not g
    assert np.abs(imu[3:].mean(1)).max() < 0.05  # rad/s, bias only


def test_known_motion_gives_known_readings():
    t = np.arange(400) / 200.0
    a, w = 1.5, 0.7  # forward acceleration (m/s²) and yaw rate (rad/s) of a level head
    pos = np.stack([0.5 * a * t**2, 0 * t, 1.6 + 0 * t], 1)
    euler = np.stack([w * t, 0 * t, 0 * t], 1)
    accel, gyro = ideal_imu(Trajectory(t, pos, euler, 200.0))
    mid = slice(10, -10)
    # world acceleration (a, 0, 0) seen from a head turned by yaw ψ: Rz(ψ)ᵀ (a, 0, g)
    expect = np.stack([a * np.cos(w * t), -a * np.sin(w * t), np.full_like(t, GRAVITY)], 1)
    np.testing.assert_allclose(accel[mid], expect[mid], atol=1e-6)
    np.testing.assert_allclose(gyro[mid], np.tile([0, 0, w], (len(t), 1))[mid], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_gyro_integrates_to_the_trajectory_rotation(seed):
    model = MotionModel(speed=1.3, step_freq=1.9, bob=0.02, sway=0.02, turn_rate=0.3, pitch=0.3,
                        saccade_rate=0.8, saccade_amp=0.6, nod_rate=0.5, nod_amp=0.2, task_freq=1.0,
                        task_roll=0.05)
    traj = head_trajectory(model, 5.0, 200.0, np.random.default_rng(seed))
    _, gyro = ideal_imu(traj)
    R = traj.rotation()
    R_int = integrate_gyro(gyro, 200.0, R[0])
    cos = np.clip((np.einsum("tij,tij->t", R, R_int) - 1) / 2, -1, 1)
    err_deg = np.degrees(np.arccos(cos))
    total_turn = np.degrees(np.abs(np.diff(np.unwrap(traj.euler[:, 0]))).sum())
    assert total_turn > 30  # the test means something: the head really turned
    assert err_deg.max() < 0.1


def test_euler_matrix_is_a_rotation():
    R = euler_to_matrix(np.random.default_rng(0).uniform(-3, 3, (50, 3)))
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", R, R), np.tile(np.eye(3), (50, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
