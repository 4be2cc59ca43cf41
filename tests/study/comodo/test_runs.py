"""comodo.study.comodo.runs: a run is trained once, then reused; results are evaluated once, then read."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from comodo.study.comodo import experiments, runs
from comodo.train.config import DistillConfig


def _config(**kw) -> DistillConfig:
    base = dict(dataset="ego4d", world_size="quick", queue_size=4, batch_size=16, num_epochs=1, seed=0)
    return DistillConfig(**{**base, **kw})


def _forbid(monkeypatch, module: str, name: str) -> None:
    def boom(*args, **kwargs):
        raise AssertionError(f"{module}.{name} was called for a cached run")

    monkeypatch.setattr(f"{module}.{name}", boom)


def test_run_is_reused_not_retrained(quick_world, monkeypatch):
    c = _config()
    out = runs.run(c)
    assert (out / "student.pt").exists() and (out / "key.json").exists()
    assert out == runs.run_dir(c) and out.parent == runs.cache_root() / "runs"
    _forbid(monkeypatch, "comodo.train.loop", "distill")
    assert runs.run(c) == out
    assert runs.run(_config(learning_rate=3e-4)) == out  # the same resolved config is the same run


def test_result_is_cached(quick_world, monkeypatch):
    c = _config()
    r = runs.result(c)
    assert 0.0 <= r["acc1"] <= r["acc3"] <= r["acc5"] <= 1.0
    path = runs.run_dir(c) / "results_ego4d.json"
    assert json.loads(path.read_text())["acc1"] == r["acc1"]
    _forbid(monkeypatch, "comodo.evaluation.run", "evaluate_run")
    assert runs.result(c) == r


def test_cross_dataset_result_has_its_own_file(quick_world):
    c = _config()
    r = runs.result(c, "egoexo4d")
    assert r["eval_dataset"] == "egoexo4d" and r["train_dataset"] == "ego4d"
    assert (runs.run_dir(c) / "results_egoexo4d.json").exists()


def test_half_finished_run_resumes(quick_world, monkeypatch):
    import comodo.train.loop as loop

    c = _config(seed=5, num_epochs=2)
    out = runs.run_dir(c)
    loop.distill(runs.canonical(c), out, progress=False, stop_after=1)  # interrupted after epoch 1
    assert (out / "checkpoints" / "last.pt").exists() and not (out / "student.pt").exists()
    calls = []
    real = loop.distill

    def spy(config, where, resume=False, progress=True, **kwargs):
        calls.append(resume)
        return real(config, where, resume=resume, progress=progress, **kwargs)

    monkeypatch.setattr(loop, "distill", spy)
    assert runs.run(c) == out and (out / "student.pt").exists()
    assert calls == [True]
    assert len((out / "log.jsonl").read_text().splitlines()) == 2
    assert not (out / "checkpoints" / "last.pt").exists()  # a finished run keeps student.pt only


def test_folder_without_checkpoint_starts_clean(quick_world):
    c = _config(seed=6)
    out = runs.run_dir(c)
    out.mkdir(parents=True)
    (out / "junk.txt").write_text("left by a crash")
    runs.run(c)
    assert (out / "student.pt").exists() and not (out / "junk.txt").exists()


def test_canonical_ignores_settings_a_method_does_not_use():
    a = runs.canonical(_config(method="none", queue_size=8, student_temp=0.2))
    b = runs.canonical(_config(method="none", queue_size=16))
    assert a == b
    assert runs.canonical(_config(queue_size=8)) != runs.canonical(_config(queue_size=16))


def test_run_key_includes_world_and_teacher():
    inputs = runs.run_key_inputs(_config())
    assert set(inputs) == {"config", "world", "teacher"}
    assert set(inputs["world"]) >= {"ego4d", "egoexo4d", "mmea", "teacher"}
    assert "teacher" not in runs.run_key_inputs(_config(method="supervised"))


def test_world_run_key_is_what_it_was():
    """World runs are keyed by config, world and teacher only, so the study's cached runs stay valid."""
    c = _config()
    assert runs.run_key_inputs(c) == {"config": runs.canonical(c).to_dict(), "world": runs.world_keys("quick"),
                                      "teacher": runs.teacher_key("quick")}


@pytest.fixture
def user_dataset(quick_world, tmp_path) -> Path:
    """A user's ego4d-layout dataset: a copy of the quick world's."""
    root = tmp_path / "mine"
    shutil.copytree(quick_world("ego4d"), root)
    return root


def _later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))


def test_run_key_of_a_users_dataset_follows_its_files(user_dataset, tmp_path):
    from comodo.data import DataSpec, load_split
    from comodo.errors import ComodoError

    distill = _config(dataset_path=str(user_dataset))
    supervised = _config(dataset_path=str(user_dataset), method="supervised")
    inputs = runs.run_key_inputs(distill)
    assert "world" not in inputs and set(inputs["dataset"]["splits"]) == {"train", "val", "test"}
    assert runs.run_key_inputs(distill) == inputs  # files left alone: the same run
    train = load_split(DataSpec(layout="ego4d", root=user_dataset), "train")
    configs = {c.method: c for c in (distill, supervised)}
    keys = {m: runs.run_dir(c) for m, c in configs.items()}

    def changed() -> dict[str, bool]:
        now = {m: runs.run_dir(c) for m, c in configs.items()}
        out = {m: now[m] != keys[m] for m in configs}
        keys.update(now)
        return out

    _later(train[0].video_path)  # a re-encoded video: only the runs that read videos change
    assert changed() == {"comodo": True, "supervised": False}
    _later(train[0].imu_path)
    assert changed() == {"comodo": True, "supervised": True}
    with (user_dataset / "test.txt").open("a") as f:
        f.write("# a comment changes no sample, but the file changed\n")
    assert changed() == {"comodo": True, "supervised": True}
    n = load_split(DataSpec(layout="ego4d", root=user_dataset), "train")[0]
    times = np.arange(np.load(n.imu_path).shape[1]) / 200.0  # (T,) s: the same windows, now by timestamps
    np.save(n.imu_path.with_name(f"{n.imu_path.stem}_timestamps.npy"), times)
    assert changed() == {"comodo": True, "supervised": True}
    other = tmp_path / "other"
    shutil.copytree(user_dataset, other)  # the same files elsewhere: another dataset
    assert runs.run_dir(_config(dataset_path=str(other))) != runs.run_dir(distill)
    train[1].video_path.unlink()
    with pytest.raises(ComodoError, match="video .*: file not found"):
        runs.run_dir(distill)
    runs.run_dir(supervised)  # does not read videos


def test_teacher_from_a_local_folder_is_keyed_by_its_files(tmp_path):
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    files = runs.checkpoint_identity(str(folder))
    assert [f["path"] for f in files] == ["config.json", "model.safetensors"]
    assert runs.checkpoint_identity("embedded") is None and runs.checkpoint_identity("org/hub-id") is None
    key = runs.run_dir(_config(video_ckpt=str(folder)))
    _later(folder / "model.safetensors")
    assert runs.checkpoint_identity(str(folder)) != files
    assert runs.run_dir(_config(video_ckpt=str(folder))) != key


def test_grid_is_the_product():
    configs = runs.grid(_config(), dataset=["ego4d", "mmea"], seed=[0, 1, 2])
    assert [(c.dataset, c.seed) for c in configs] == [(d, s) for d in ("ego4d", "mmea") for s in (0, 1, 2)]


def test_sweep_then_tables(quick_world, monkeypatch, capsys):
    configs = runs.grid(_config(), method=["none", "comodo"], seed=[0, 1])
    results = runs.sweep(configs, n_workers=1)
    assert [r["method"] for r in results] == ["none", "none", "comodo", "comodo"]
    assert "acc@1" in capsys.readouterr().out  # one line per run trained
    _forbid(monkeypatch, "comodo.train.loop", "distill")
    assert runs.sweep(configs, n_workers=1, progress=False) == results
    df = runs.table(results)
    assert list(df.columns) == list(runs.COLUMNS) and len(df) == 4
    assert df.loc[df["method"] == "none", "queue_size"].isna().all()
    summary = runs.summarize(df, ["method"])
    assert list(summary["n"]) == [2, 2] and set(summary["method"]) == {"none", "comodo"}
    assert ((summary["acc1_min"] <= summary["acc1_mean"]) & (summary["acc1_mean"] <= summary["acc1_max"])).all()
    recs = runs.records(df)
    json.dumps(recs)  # JSON-ready
    assert recs[0]["queue_size"] is None


@pytest.fixture(scope="module")
def pool():
    """Two worker processes for this file's sweeps (each imports torch and transformers once)."""
    with runs.worker_pool(2) as p:
        yield p


def test_sweep_in_worker_processes(quick_world, pool):
    """Two worker processes give the results the same runs give when trained in this process."""
    import shutil

    configs = runs.grid(_config(seed=11), dataset=["ego4d", "egoexo4d"], method=["none", "comodo"])
    parallel = runs.sweep(configs, eval_datasets=[None, "mmea"], n_workers=2, progress=False, pool=pool)
    assert [(r["train_dataset"], r["method"], r["eval_dataset"]) for r in parallel] == [
        (d, m, e) for d in ("ego4d", "egoexo4d") for m in ("none", "comodo") for e in (d, "mmea")]
    shutil.rmtree(runs.run_dir(configs[-1]))  # egoexo4d comodo: train it again, here
    serial = runs.sweep(configs, eval_datasets=[None, "mmea"], n_workers=1, progress=False)
    assert [r["acc1"] for r in serial] == [r["acc1"] for r in parallel]


def test_queue_sizes_are_capped_below_the_train_set(quick_world):
    n = runs.n_train("mmea", "quick")
    assert runs.queue_sizes("mmea", [4, 8, n, 2 * n], "quick") == [4, 8]
    assert runs.cap_queue("mmea", 4, "quick") == 4
    k = runs.cap_queue("mmea", 10 * n, "quick")
    assert k < n and k & (k - 1) == 0


def test_teacher_result_is_cached(quick_world, monkeypatch):
    r = runs.teacher_result("mmea", "quick")
    assert 0.0 <= r["acc1"] <= 1.0 and r["kind"] == "teacher"
    _forbid(monkeypatch, "comodo.evaluation.run", "evaluate_teacher")
    assert runs.teacher_result("mmea", "quick") == r


def test_settings():
    q = experiments.settings(quick=True)
    assert q.world_size == "quick" and len(q.seeds) >= 1
    full = experiments.settings(seeds=[4, 5, 6], domains=None)
    assert full.seeds == (4, 5, 6) and full.domains == experiments.TARGET_DOMAINS and len(full.seeds) >= 3


@pytest.mark.parametrize("bad", ["0", "x"])
def test_workers_env(monkeypatch, bad):
    from comodo.errors import ComodoError

    monkeypatch.setenv("COMODO_WORKERS", bad)
    with pytest.raises(ComodoError):
        runs.workers()


def test_sweep_jobs_evaluates_each_run_on_its_own_datasets_in_one_pool(quick_world, pool):
    """Runs with different evaluation datasets and the teacher's results share one pool of workers; a run
    listed twice is trained once and answers both lists."""
    a, b = _config(seed=21), _config(seed=21, method="none")
    c, d = _config(seed=22, dataset="mmea"), _config(seed=22, dataset="mmea", method="supervised")
    out = runs.sweep_jobs([(a, [None]), (b, ["ego4d", "mmea"]), (c, [None]), (d, ["ego4d"]), (a, ["mmea", None])],
                          n_workers=2, progress=False, teacher_results=[("mmea", "quick", 0)], pool=pool)
    assert [[(r["train_dataset"], r["method"], r["eval_dataset"]) for r in rs] for rs in out] == [
        [("ego4d", "comodo", "ego4d")], [("ego4d", "none", "ego4d"), ("ego4d", "none", "mmea")],
        [("mmea", "comodo", "mmea")], [("mmea", "supervised", "ego4d")],
        [("ego4d", "comodo", "mmea"), ("ego4d", "comodo", "ego4d")]]
    assert out[4][1] == out[0][0] == runs.result(a) and out[4][0] == runs.result(a, "mmea")
    assert runs.teacher_result_path("mmea", "quick").exists()
    assert runs.sweep([b, a], eval_datasets=["mmea"], n_workers=1, progress=False) == [out[1][1], out[4][0]]


def test_prepare_trains_the_teacher_beside_the_world_with_the_same_bytes(quick_world, tmp_path, monkeypatch):
    """With the teacher and a domain missing, the teacher trains in a second process while the domain is
    generated; its weights are the bytes of a teacher trained alone."""
    import concurrent.futures

    from comodo.teacher.pretrain import QUICK, TeacherPretrainConfig, pretrain_teacher, teacher_dir

    alone = pretrain_teacher(TeacherPretrainConfig(**QUICK), verbose=False)  # this session's, built in-process
    pools = []

    class Spy(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Spy)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("COMODO_DATA", str(tmp_path))
    runs.prepare("quick", domains=["mmea"])
    beside = teacher_dir(TeacherPretrainConfig(**QUICK))
    assert beside.is_relative_to(tmp_path) and (beside / "pretrain.json").exists() and len(pools) == 1
    assert (beside / "model.safetensors").read_bytes() == (alone / "model.safetensors").read_bytes()
    assert runs.n_train("mmea", "quick") > 0


def test_teacher_dim_reads_the_embedded_teachers_config(quick_world, monkeypatch):
    from comodo.train.data import teacher_of

    c = _config()
    loaded = {p: int(teacher_of(c, p).dim) for p in ("none", "random_mlp")}
    _forbid(monkeypatch, "comodo.train.data", "teacher_of")  # from the saved config.json, not a loaded model
    assert runs.teacher_dim(c, "none") == loaded["none"] and runs.teacher_dim(c) == loaded["random_mlp"] == 128
