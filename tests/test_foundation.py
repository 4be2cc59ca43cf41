import json
import subprocess
import sys

import pytest

from comodo.errors import ComodoError
from comodo.io import atomic_dir, atomic_path, stable_hash, write_json
from comodo.registry import Registry


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_keeps_the_directory_another_writer_finished_first(tmp_path, monkeypatch):
    import os

    target = tmp_path / "world"
    real_replace = os.replace

    def other_writer_first(src, dst):  # the other process renames its directory in just before us
        if not target.exists():
            target.mkdir()
            (target / "theirs.txt").write_text("theirs")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", other_writer_first)
    with atomic_dir(target) as tmp:
        (tmp / "mine.txt").write_text("mine")
    assert sorted(p.name for p in target.iterdir()) == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["world"]  # our temporary directory is gone
    monkeypatch.setattr(os, "replace", real_replace)
    with atomic_dir(target) as tmp:  # one after the other, the new one replaces the old
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_write_json_roundtrip(tmp_path):
    write_json(tmp_path / "a" / "r.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "a" / "r.json").read_text()) == {"a": [1, 2], "b": 1}


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_registry_unknown_name_lists_choices():
    reg: Registry[int] = Registry("widget")
    reg.register("one")(1)
    assert reg.get("one") == 1
    with pytest.raises(ComodoError, match="unknown widget 'two'; expected one of: one"):
        reg.get("two")


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "comodo", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "COMMAND" in out.stdout


def test_seeds_may_be_numpy_integers_but_not_bools_or_floats():
    import numpy as np

    from comodo.errors import check_seed

    for ok in (0, np.int64(3), 2**32 - 1):
        check_seed("seed", ok)
    for bad in (True, 1.0, -1, 2**32, "1"):
        with pytest.raises(ComodoError, match="seed .*: expected an integer in"):
            check_seed("seed", bad)
