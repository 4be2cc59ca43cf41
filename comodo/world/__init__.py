"""The embedded egocentric world: one head trajectory per clip, seen by a head-worn IMU and camera.

- :mod:`~comodo.world.motion` — head-pose trajectories (frames, angles, the motion models);
- :mod:`~comodo.world.imu` — the physically derived accelerometer and gyroscope;
- :mod:`~comodo.world.render` and :mod:`~comodo.world.scenes` — the camera's view of textured places
  with hands, tools and other people that move on their own;
- :mod:`~comodo.world.activities` — the activity catalogue (motion + scene per activity);
- :mod:`~comodo.world.domains` — ego4d, egoexo4d, mmea and the teacher's domain;
- :mod:`~comodo.world.generate` — writes a domain in its real dataset layout, once per key.
"""

from comodo.world.domains import DOMAINS, SIZES, TARGET_DOMAINS

__all__ = ["DOMAINS", "SIZES", "TARGET_DOMAINS"]
