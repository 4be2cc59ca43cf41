"""The world's domains: three target datasets and the teacher's own pre-training domain.

Their differences mirror the real datasets (METHOD.md §3):

- ``ego4d`` — daily-life mix (9 scenarios), head-mounted camera (90° FOV), a consumer IMU of moderate
  noise; long videos cut into 5-s windows; layout ``uid<TAB>label`` + ``processed_imu/<uid>.npy``
  (6 × T, 200 Hz, m/s² and rad/s) + ``processed_video/<uid>.mp4`` (10 fps).
- ``egoexo4d`` — skilled and physical activities (8 scenarios), glasses camera (100° FOV), a quieter
  IMU, brighter scenes; same layout.
- ``mmea`` — UESTC-MMEA-CL: 10 daily activities in ``N_label`` folders, a narrower camera (75°),
  a noisy 25-Hz IMU written as raw counts (16384 per g, 16.4 per °/s), 25 fps video, clips of
  5–6 s (variable, but shorter than the dataset's ≈17 s to keep the world small).
- ``teacher`` — the stand-in for Kinetics: its own taxonomy of 14 coarser classes over all activities
  (merges such as ``housework`` = clean + dishwash), other colours and a random FOV per clip. The
  embedded video teacher is pre-trained here and never sees a target domain's labels.

Label sets overlap (``cooking`` is in all three targets, ``eating`` in two) but are not identical, so
cross-dataset evaluation means something.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from comodo.world.imu import SensorModel
from comodo.world.scenes import Palette


@dataclass(frozen=True)
class DomainSpec:
    """One domain of the world.

    Attributes:
        labels: label → the catalogue activities it is drawn from (one for target domains).
        clips_per_label: number of videos (uids / clips) per label, per size.
        duration_s: (min, max) video length in seconds, per size.
    """

    name: str
    layout: str  # on-disk layout the domain is written in: ego4d | mmea
    labels: dict[str, tuple[str, ...]]
    video_fps: float
    fov_deg: tuple[float, float]
    sensor: SensorModel
    palette: Palette
    clips_per_label: dict[str, int]
    duration_s: dict[str, tuple[float, float]]
    imu_rate: float = 200.0
    splits: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train / val / test fractions per label
    size_px: int = 64
    extra: dict = field(default_factory=dict)


SIZES = ("quick", "default")

DOMAINS: dict[str, DomainSpec] = {
    "ego4d": DomainSpec(
        name="ego4d",
        layout="ego4d",
        labels={"cooking": ("cook",), "dishwashing": ("dishwash",), "cleaning": ("clean",),
                "walking": ("walk",), "reading": ("read",), "shopping": ("shop",), "eating": ("eat",),
                "socialising": ("sit_talk",), "computer_work": ("computer",)},
        video_fps=10.0,
        fov_deg=(90.0, 90.0),
        sensor=SensorModel(accel_noise=0.10, gyro_noise=0.012, accel_bias=0.06, gyro_bias=0.006,
                           mounting_deg=5.0),
        palette=Palette(),
        clips_per_label={"quick": 5, "default": 24},
        duration_s={"quick": (10.0, 10.0), "default": (15.0, 15.0)},
    ),
    "egoexo4d": DomainSpec(
        name="egoexo4d",
        layout="egoexo4d",
        labels={"cooking": ("cook",), "bike_repair": ("bike_repair",), "music": ("music",),
                "basketball": ("basketball",), "soccer": ("soccer",), "dancing": ("dance",),
                "rock_climbing": ("climb",), "health": ("health",)},
        video_fps=10.0,
        fov_deg=(100.0, 100.0),
        sensor=SensorModel(accel_noise=0.06, gyro_noise=0.008, accel_bias=0.04, gyro_bias=0.004,
                           mounting_deg=4.0),
        palette=Palette(hue_shift=0.06, brightness=1.08, fog=0.03),
        clips_per_label={"quick": 5, "default": 24},
        duration_s={"quick": (10.0, 10.0), "default": (15.0, 15.0)},
    ),
    "mmea": DomainSpec(
        name="mmea",
        layout="mmea",
        labels={"upstairs": ("stairs_up",), "downstairs": ("stairs_down",), "walking": ("walk",),
                "running": ("run",), "reading": ("read",), "writing": ("write",), "drinking": ("drink",),
                "eating": ("eat",), "washing_dishes": ("dishwash",), "using_computer": ("computer",)},
        video_fps=25.0,
        fov_deg=(75.0, 75.0),
        sensor=SensorModel(accel_noise=0.15, gyro_noise=0.02, accel_bias=0.1, gyro_bias=0.01, mounting_deg=6.0),
        palette=Palette(hue_shift=0.12, brightness=0.92, fog=0.05),
        clips_per_label={"quick": 4, "default": 36},
        # variable lengths, as in the dataset, but within ±10 %: every clip is resampled to the
        # student's input length, and 3–6-s clips made gait frequencies differ by 2× (real clips ≈17 s)
        duration_s={"quick": (4.0, 5.0), "default": (5.0, 6.0)},
        imu_rate=25.0,
    ),
    "teacher": DomainSpec(
        name="teacher",
        layout="ego4d",
        labels={"running_jogging": ("run", "soccer"), "walking": ("walk", "stairs_up", "stairs_down"),
                "browsing_store": ("shop",), "housework": ("clean", "dishwash"), "preparing_food": ("cook",),
                "reading_writing": ("read", "write"), "using_computer": ("computer",),
                "dining": ("eat", "drink"), "conversation": ("sit_talk",), "ball_games": ("basketball",),
                "performing_arts": ("dance", "music"), "repair_and_crafts": ("bike_repair",),
                "climbing": ("climb",), "medical_care": ("health",)},
        video_fps=10.0,
        fov_deg=(70.0, 105.0),
        sensor=SensorModel(),
        palette=Palette(hue_shift=-0.05, brightness=1.0, fog=0.035),
        clips_per_label={"quick": 4, "default": 36},
        duration_s={"quick": (5.0, 5.0), "default": (5.0, 5.0)},
        splits=(0.8, 0.2, 0.0),
    ),
}

TARGET_DOMAINS = ("ego4d", "egoexo4d", "mmea")


def _verb_domain(base: DomainSpec, name: str, duration_s: dict[str, tuple[float, float]]) -> DomainSpec:
    """EgoDistill's version of ``base``: the same camera, IMU, colours, layout and (stationary) activities,
    but short videos labelled by a head-motion verb (:mod:`comodo.world.verbs`) done during a random one
    of the activities, so that one frame shows the scene but not the verb."""
    import dataclasses
    from dataclasses import replace

    from comodo.world.activities import ACTIVITIES
    from comodo.world.verbs import MAX_SPEED, VERBS

    activities = tuple(sorted({a for acts in base.labels.values() for a in acts
                               if ACTIVITIES[a].motion.speed <= MAX_SPEED}))
    rates = {verb: dataclasses.astuple(v) for verb, v in VERBS.items()}  # in the spec, so in the world's key
    return replace(base, name=name, labels={verb: activities for verb in VERBS},
                   clips_per_label={"quick": 5, "default": 30}, duration_s=duration_s, extra={"verbs": rates})


# EgoDistill's domains (the paper's Ego4D hand–object verbs; EPIC's verbs): 9 verbs each.
DOMAINS["ego4d_verbs"] = _verb_domain(DOMAINS["ego4d"], "ego4d_verbs", {"quick": (4.0, 4.0), "default": (6.0, 6.0)})
DOMAINS["egoexo4d_verbs"] = _verb_domain(DOMAINS["egoexo4d"], "egoexo4d_verbs",
                                         {"quick": (4.0, 4.0), "default": (6.0, 6.0)})
DOMAINS["mmea_verbs"] = _verb_domain(DOMAINS["mmea"], "mmea_verbs", {"quick": (4.0, 4.2), "default": (4.0, 4.4)})
VERB_DOMAINS = ("ego4d_verbs", "egoexo4d_verbs", "mmea_verbs")
