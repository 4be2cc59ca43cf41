"""`comodo study --costs` (comodo.study.costs): the recorded seconds of the cached runs and models, by the
figure that first needs them."""

import json

import pytest

from comodo.errors import ComodoError
from comodo.study import costs


def _record(folder, name, seconds):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"seconds": seconds, "config": {}}))
    return folder


def test_a_folder_counts_once_under_the_first_figure_that_needs_it(tmp_path, monkeypatch):
    a = _record(tmp_path / "a", "summary.json", 10.0)
    b = _record(tmp_path / "b", "summary.json", 2.5)
    base = _record(tmp_path / "base", "pretrain.json", 100.0)
    missing = tmp_path / "not-trained"
    monkeypatch.setattr(costs, "_groups", lambda quick: [
        ("teacher", [(base, "pretrain.json")]),
        ("methods", [(a, "summary.json"), (b, "summary.json")]),
        ("queue", [(a, "summary.json"), (missing, "summary.json")]),  # a: the methods' run, counted there
    ])
    monkeypatch.setattr(costs, "_check_worlds", lambda quick: None)
    groups = costs.costs()
    assert [(g.name, len(g.folders), g.seconds, g.missing) for g in groups] == [
        ("teacher", 1, 100.0, 0), ("methods", 2, 12.5, 0), ("queue", 1, 0.0, 1)]
    assert costs.table(groups) == [
        "recorded work, by the figure that first needs it   runs   core-s  share",
        "teacher                                               1      100  88.9 %",
        "methods                                               2       12  11.1 %",
        "queue                                                 1        0   0.0 %  (1 not in the cache)",
        "all                                                   4      112  100 %",
    ]


def test_it_trains_nothing_without_the_studys_worlds(tmp_path, monkeypatch):
    monkeypatch.setenv("COMODO_DATA", str(tmp_path / "empty"))
    with pytest.raises(ComodoError, match=r"no quick world 'teacher' .*run `comodo study --quick` first"):
        costs.costs(quick=True)
    assert not (tmp_path / "empty" / "cache" / "world").exists() or not any((tmp_path / "empty" / "cache" / "world").iterdir())

