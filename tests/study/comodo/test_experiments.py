"""The study's experiment tables (no training: synthetic result rows)."""

import pandas as pd
import pytest

from comodo.study.comodo import experiments
from comodo.errors import ComodoError


def _rows(domain: str, method: str, accs, train: str | None = None):
    return [{"method": method, "train_dataset": train or domain, "eval_dataset": domain, "seed": s, "acc1": a}
            for s, a in enumerate(accs)]


def test_gain_over_untrained_is_the_difference_of_seed_means_in_domain():
    df = pd.DataFrame(_rows("ego4d", "comodo", [0.60, 0.64, 0.68]) + _rows("ego4d", "none", [0.55, 0.57, 0.59])
                      + _rows("mmea", "comodo", [0.70, 0.72, 0.74]) + _rows("mmea", "none", [0.70, 0.70, 0.70])
                      # a cross-dataset row must not count
                      + _rows("ego4d", "comodo", [0.0, 0.0, 0.0], train="mmea"))
    gain = experiments.gain_over_untrained(df, threshold=0.05).set_index("eval_dataset")
    assert list(gain.index) == ["ego4d", "mmea"]
    assert gain.loc["ego4d", "acc1_mean"] == pytest.approx(0.64)
    assert gain.loc["ego4d", "baseline_acc1_mean"] == pytest.approx(0.57)
    assert gain.loc["ego4d", "gain_points"] == pytest.approx(7.0)
    assert bool(gain.loc["ego4d", "meets_threshold"]) is True
    assert gain.loc["mmea", "gain_points"] == pytest.approx(2.0)
    assert bool(gain.loc["mmea", "meets_threshold"]) is False
    assert gain.loc["mmea", "n_seeds"] == 3


def test_gain_over_untrained_needs_both_methods():
    df = pd.DataFrame(_rows("ego4d", "comodo", [0.6]))
    with pytest.raises(ComodoError, match="no 'comodo' or no 'none' runs on 'ego4d'"):
        experiments.gain_over_untrained(df)


def test_study_settings_train_at_the_documented_learning_rate():
    assert experiments.settings().learning_rate == 3e-3
    assert experiments.settings(learning_rate=1e-3).learning_rate == 1e-3
    assert experiments.base_config(experiments.settings(quick=True), "ego4d").learning_rate == 3e-3
