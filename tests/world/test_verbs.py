"""Head-motion verbs and EgoDistill's verb domains: the movement is in the IMU, not in one frame."""

from __future__ import annotations

import numpy as np
import pytest

from comodo.data import DataSpec, load_split
from comodo.world.domains import DOMAINS, TARGET_DOMAINS, VERB_DOMAINS
from comodo.world.generate import world_key
from comodo.world.motion import MotionModel, head_trajectory
from comodo.world.verbs import VERBS, Verb, apply_verb


def _still():
    return head_trajectory(MotionModel(height=1.2, fidget_rate=0.0, glance_rate=0.0), 6.0, 200.0,
                           np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(VERBS))
def test_a_verb_moves_at_its_rate_and_is_zero_at_the_middle(name):
    base = _still()
    verb = VERBS[name]
    moved = apply_verb(base, verb, np.random.default_rng(1), jitter=0.0)
    mid = len(base.t) // 2
    d_euler = moved.euler - base.euler
    d_pos = moved.position - base.position
    np.testing.assert_allclose(d_euler[mid], 0.0, atol=abs(verb.yaw) / 200 + abs(verb.pitch) / 200 + 1e-12)
    slope = lambda y: np.polyfit(base.t, y, 1)[0]  # noqa: E731
    assert slope(d_euler[:, 0]) == pytest.approx(verb.yaw, abs=1e-9)
    assert slope(d_euler[:, 1]) == pytest.approx(verb.pitch, abs=1e-9)
    assert slope(d_pos[:, 2]) == pytest.approx(verb.up, abs=1e-9)
    assert np.hypot(slope(d_pos[:, 0]), slope(d_pos[:, 1])) == pytest.approx(abs(verb.forward), abs=1e-6)


def test_opposite_verbs_share_the_middle_pose():
    base = _still()
    left = apply_verb(base, VERBS["turn_left"], np.random.default_rng(3), jitter=0.0)
    right = apply_verb(base, VERBS["turn_right"], np.random.default_rng(3), jitter=0.0)
    mid = len(base.t) // 2
    np.testing.assert_allclose(left.euler[mid], right.euler[mid], atol=5e-3)  # half a sample from the middle
    assert Verb() == VERBS["hold_still"]


def test_verb_domains_keep_the_base_domain_and_leave_the_scenario_domains_alone():
    for name, base in zip(VERB_DOMAINS, TARGET_DOMAINS):
        spec = DOMAINS[name]
        assert set(spec.labels) == set(VERBS) and {k: Verb(*v) for k, v in spec.extra["verbs"].items()} == VERBS
        b = DOMAINS[base]
        assert (spec.layout, spec.sensor, spec.video_fps, spec.palette) == (b.layout, b.sensor, b.video_fps, b.palette)
    # the study's cached worlds (and so its runs) keep their keys: the scenario domains did not change
    assert world_key(DOMAINS["ego4d"], "default", 0) == "290d7179abd9526a"


def test_quick_verb_domain_is_written_in_its_layout(tmp_path):
    from comodo.world.generate import generate

    root = generate("mmea_verbs", "quick", 0, root=tmp_path, verbose=False)
    samples = load_split(DataSpec("mmea", root), "train")
    assert {s.label for s in samples} == set(VERBS)


def test_comodo_run_keys_do_not_cover_the_verb_domains():
    from comodo.study.comodo import runs

    assert set(runs.world_keys("quick")) == {"ego4d", "egoexo4d", "mmea", "teacher"}
    assert set(runs.world_keys("quick", domains=["ego4d_verbs"])) == {"ego4d_verbs"}
