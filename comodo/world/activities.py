"""The activity catalogue of the embedded world: how each activity moves the head, and where it happens.

Every target domain (and the teacher's own domain) labels a subset of these activities with its own
names (:mod:`comodo.world.domains`). Each activity has

- a head-motion model (:class:`~comodo.world.motion.MotionModel`) — what the IMU sees;
- the places it happens in, the hand/tool motion and the other people around — what only the camera
  sees (scene context and things that move on their own).

Activities are built to overlap the way real ones do: ``cook`` and ``dishwash`` share the kitchen and
a standing, head-down posture with small periodic head motion (they differ in frequency, in the objects
and in the hands); ``read``, ``computer`` and ``eat`` are all seated with the head still (the IMU tells
them apart by pitch and by small periodic motions; the camera by book, screen or plate); ``walk``,
``shop`` and ``clean`` share a gait at different speeds and head-turn rates; ``run``, ``soccer`` and
``basketball`` share a fast gait (jumps and gaze differ). So the IMU alone carries real, learnable
class information, and the video carries more.

=============  ==============================================================  =======================
activity       head motion (IMU)                                                scene (video only)
=============  ==============================================================  =======================
walk           1.3 m/s, 1.9 steps/s, 2 cm bob, slow turns, glances              corridor, street
run            3.0 m/s, 2.8 steps/s, 5 cm bob, head level                       park, street
stairs_up      0.5 m/s + 0.3 m/s up, 1.6 steps/s, pitch 20° down                stairwell
stairs_down    0.5 m/s − 0.3 m/s, 1.8 steps/s, pitch 30° down, sharper steps   stairwell
shop           0.4 m/s slow walk, frequent ±35° head turns, slight pitch up     shop aisles + people
clean          0.5 m/s shuffle, pitch 25° down, 0.8 Hz sweeping sway           living room, kitchen
read           seated, pitch 30° down, line-scan yaw saccades, very still       living room, office
computer       seated, pitch 5° down, small saccades, still                     office desk + screen
eat            seated, pitch 25° down, nods toward the plate every ~3 s         dining table + plate
sit_talk       seated, level, head turns between speakers, nods                 living room + 2 people
cook           standing, pitch 30° down, 1 Hz stirring sway                     kitchen, pot, spoon
dishwash       standing, pitch 35° down, 2 Hz scrubbing sway                    kitchen sink, plate
bike_repair    crouched (1.0 m), pitch 40° down, tool-turning 0.7 Hz roll       workshop, wheel, tool
music          seated, level, rhythmic 2 Hz nods                                studio, instrument
basketball     2.6 steps/s bursts, jumps, pitch up                              court, ball, players
soccer         2.7 steps/s, head down to the ball                               field, ball, players
dance          1 m/s wander, whole-body turns, 2 Hz bounce                      studio with mirrors
climb          0.15 m/s up, pitch 25° up, reaching sway                         climbing wall + holds
health         standing, pitch 40° down, small hand-task motion                 clinic table, test kit
drink          seated, periodic head tilt back (pitch up) every ~4 s            dining table, cup
write          seated, pitch 35° down, small 3 Hz writing jitter                office desk, paper
=============  ==============================================================  =======================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comodo.world.motion import MotionModel

D = np.deg2rad


@dataclass(frozen=True)
class Activity:
    name: str
    motion: MotionModel
    places: tuple[str, ...]
    hands: str = "none"  # hand/tool motion kind, see comodo.world.scenes.HAND_MOTIONS
    people: int = 0  # other people in view (they move on their own)


SEATED = 1.2
ACTIVITIES: dict[str, Activity] = {
    a.name: a
    for a in [
        Activity("walk", MotionModel(speed=1.3, step_freq=1.9, bob=0.02, sway=0.02, turn_rate=0.15,
                                     pitch=D(5), saccade_rate=0.3, saccade_amp=D(20)), ("corridor", "street"),
                 "swing", 1),
        Activity("run", MotionModel(speed=3.0, step_freq=2.8, bob=0.05, sway=0.02, turn_rate=0.1,
                                    pitch=D(0), saccade_rate=0.1, saccade_amp=D(10)), ("park", "street"),
                 "swing", 0),
        Activity("stairs_up", MotionModel(speed=0.5, climb=0.3, step_freq=1.6, bob=0.02, sway=0.015,
                                          pitch=D(20), saccade_rate=0.2, saccade_amp=D(15)), ("stairwell",),
                 "swing", 0),
        Activity("stairs_down", MotionModel(speed=0.5, climb=-0.3, step_freq=1.8, bob=0.03, sway=0.015,
                                            pitch=D(30), saccade_rate=0.2, saccade_amp=D(15)),
                 ("stairwell",), "swing", 0),
        Activity("shop", MotionModel(speed=0.4, step_freq=1.4, bob=0.01, sway=0.01, turn_rate=0.2,
                                     pitch=D(-3), saccade_rate=0.8, saccade_amp=D(35)), ("shop",), "hold", 2),
        Activity("clean", MotionModel(speed=0.5, step_freq=1.2, bob=0.01, sway=0.03, turn_rate=0.4,
                                      pitch=D(25), task_freq=0.8, task_roll=D(5), task_shift=0.05,
                                      saccade_rate=0.3, saccade_amp=D(20)), ("living_room", "kitchen"),
                 "sweep", 0),
        Activity("read", MotionModel(height=SEATED, pitch=D(30), pitch_wander=0.01, yaw_wander=0.02,
                                     saccade_rate=0.5, saccade_amp=D(4)), ("living_room", "office"), "book", 0),
        Activity("computer", MotionModel(height=SEATED, pitch=D(5), pitch_wander=0.01, yaw_wander=0.03,
                                         saccade_rate=0.6, saccade_amp=D(6)), ("office",), "type", 0),
        Activity("eat", MotionModel(height=SEATED, pitch=D(25), nod_rate=0.35, nod_amp=D(15),
                                    task_freq=0.3, task_shift=0.03), ("dining",), "eat", 1),
        Activity("sit_talk", MotionModel(height=SEATED, pitch=D(0), saccade_rate=0.35, saccade_amp=D(30),
                                         nod_rate=0.5, nod_amp=D(6)), ("living_room", "office"), "gesture", 2),
        Activity("cook", MotionModel(pitch=D(30), task_freq=1.0, task_pitch=D(2), task_roll=D(3),
                                     task_shift=0.02, saccade_rate=0.2, saccade_amp=D(20)), ("kitchen",),
                 "stir", 0),
        Activity("dishwash", MotionModel(pitch=D(35), task_freq=2.0, task_pitch=D(1.5), task_roll=D(2),
                                         task_shift=0.015, saccade_rate=0.15, saccade_amp=D(15)), ("kitchen",),
                 "scrub", 0),
        Activity("bike_repair", MotionModel(height=1.0, pitch=D(40), task_freq=0.7, task_roll=D(4),
                                            task_shift=0.03, saccade_rate=0.25, saccade_amp=D(20)),
                 ("workshop",), "tool", 0),
        Activity("music", MotionModel(height=SEATED, pitch=D(10), task_freq=2.0, task_pitch=D(3),
                                      saccade_rate=0.1, saccade_amp=D(10)), ("studio",), "strum", 0),
        Activity("basketball", MotionModel(speed=1.8, step_freq=2.6, bob=0.04, sway=0.02, turn_rate=0.8,
                                           pitch=D(-8), jump_rate=0.3, jump_height=0.4, saccade_rate=0.6,
                                           saccade_amp=D(30)), ("court",), "dribble", 3),
        Activity("soccer", MotionModel(speed=2.2, step_freq=2.7, bob=0.04, sway=0.025, turn_rate=0.6,
                                       pitch=D(20), saccade_rate=0.5, saccade_amp=D(25)), ("field",), "kick", 3),
        Activity("dance", MotionModel(speed=0.6, step_freq=2.0, bob=0.03, sway=0.04, turn_rate=0.5,
                                      spin_rate=1.5, nod_rate=1.0, nod_amp=D(8)), ("studio",), "gesture", 1),
        Activity("climb", MotionModel(height=1.6, speed=0.0, climb=0.15, pitch=D(-25), task_freq=0.5,
                                      task_roll=D(6), task_shift=0.04, saccade_rate=0.4, saccade_amp=D(25)),
                 ("climbing_wall",), "reach", 0),
        Activity("health", MotionModel(pitch=D(40), task_freq=0.6, task_pitch=D(2), saccade_rate=0.3,
                                       saccade_amp=D(15)), ("clinic",), "test_kit", 1),
        Activity("drink", MotionModel(height=SEATED, pitch=D(10), nod_rate=0.25, nod_amp=D(-25)),
                 ("dining",), "drink", 0),
        Activity("write", MotionModel(height=SEATED, pitch=D(35), task_freq=3.0, task_pitch=D(0.8),
                                      task_roll=D(0.8), saccade_rate=0.3, saccade_amp=D(5)), ("office",),
                 "write", 0),
    ]
}
