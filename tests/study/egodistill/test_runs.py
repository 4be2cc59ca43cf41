"""Cached EgoDistill runs and the claims table: trained once, then only read; stage 0 shared."""

from __future__ import annotations

import json

import pytest

from checkpoints import tiny_resnet, tiny_video_classifier
from comodo.study.egodistill import experiments, runs
from comodo.egodistill.config import variant
from comodo.egodistill.teacher import TeacherFinetuneConfig, finetune_teacher

TINY = dict(dataset="ego4d", world_size="quick", imu_length=64, imu_options=dict(width=8, dim=16),
            gru_hidden=16, fusion_hidden=32, num_epochs=1, pretrain_epochs=1, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def models(quick_world, tmp_path_factory):
    quick_world("ego4d")
    root = tmp_path_factory.mktemp("ckpts")
    teacher = finetune_teacher(TeacherFinetuneConfig(base=str(tiny_video_classifier("videomae", root / "vm")),
                                                     dataset="ego4d", world_size="quick", epochs=1, device="cpu"),
                               progress=False)
    return dict(teacher=str(teacher), image_ckpt=str(tiny_resnet(root / "resnet")))


def _boom(*args, **kwargs):
    raise AssertionError("trained again although the run is cached")


def test_a_run_is_trained_once_and_stage0_is_shared(models, monkeypatch):
    full = variant("egodistill", **TINY, **models)
    no_gt = variant("egodistill", **{**TINY, "losses": ["kd", "l1"]}, **models)
    a, b = runs.run(full), runs.run(no_gt)
    assert a != b and a.parent == b.parent
    init_a = json.loads((a / "config.json").read_text())["init"]
    assert init_a == json.loads((b / "config.json").read_text())["init"] == str(runs.run_dir(full.stage0()))
    assert not (a / "checkpoints" / "last.pt").exists() and (a / "key.json").exists()
    r = runs.result(full)
    from comodo.egodistill import train

    monkeypatch.setattr(train, "train", _boom)
    assert runs.run(full) == a and runs.result(full) == r  # read, never trained or evaluated again
    assert runs.run_dir(variant("egodistill", **{**TINY, "seed": 1}, **models)) != a
    assert runs.run_dir(variant("egodistill", **{**TINY, "device": "cuda"}, **models)) == a  # same run anywhere


def test_the_key_follows_the_teacher_files(models, tmp_path):
    import shutil

    c = variant("visimu", **TINY, **models)
    copy = tmp_path / "teacher"
    shutil.copytree(models["teacher"], copy)
    other = variant("visimu", **TINY, **{**models, "teacher": str(copy)})
    key = runs.run_dir(other)
    assert runs.run_dir(c) != key  # another folder is another teacher
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert runs.run_dir(other) != key  # a changed file too


def test_claims_table_on_the_quick_world():
    s = experiments.settings(quick=True, domains=("ego4d_verbs",))
    table = experiments.claims(s, progress=False)
    (row,) = table["claims"]
    assert row["domain"] == "ego4d_verbs" and row["seeds"] == 1
    for name in experiments.CLAIM_VARIANTS:
        assert 0 <= row[name] <= 1 and len(row["per_seed"][name]) == 1
    assert row["gain_over_visimu"] == pytest.approx(100 * (row["egodistill"] - row["visimu"]))
    assert row["a_holds"] == (row["gain_over_visonly_distill"] >= experiments.THRESHOLD)
    assert len(table["runs"]) == 3 and all("config" in r for r in table["runs"])
    assert "| ego4d_verbs |" in experiments.markdown(table)


def test_spread_interleaves_datasets_and_keeps_their_order():
    cs = [variant("egodistill", **{**TINY, "dataset": d, "seed": s}) for d, s in
          (("ego4d", 0), ("ego4d", 1), ("mmea", 0), ("ego4d", 2), ("mmea", 1))]
    assert [(c.dataset, c.seed) for c in runs._spread(cs)] == [("ego4d", 0), ("mmea", 0), ("ego4d", 1), ("mmea", 1),
                                                              ("ego4d", 2)]


def test_plan_starts_each_run_after_what_it_reads(models):
    full = variant("egodistill", **{**TINY, "seed": 7}, **models)  # the first of its dataset and teacher
    no_gt = variant("egodistill", **{**TINY, "seed": 7, "losses": ["kd", "l1"]}, **models)  # shares its stage 0
    other = variant("egodistill", **{**TINY, "seed": 8}, **models)  # a stage 0 of its own
    plain = variant("visonly", **{**TINY, "seed": 7}, **models)  # no stage 0
    jobs = runs._plan([full, no_gt, other, plain, full])
    dirs = [d for d, *_ in jobs]
    assert len(dirs) == len(set(dirs)) == 5  # each folder once: four runs and one stage 0 of its own
    assert dirs[0] == runs.run_dir(full) and jobs[0][3] == set()
    assert all(waits <= set(dirs[:i]) for i, (*_, waits) in enumerate(jobs))  # after what it waits for
    s0 = runs.run_dir(other.stage0())
    assert dirs[1] == s0 and jobs[1][1] is runs._run_job  # trained only, before the runs that start from it
    assert runs.run_dir(full.stage0()) not in dirs  # the first run trains it itself
    waits = {runs.run_dir(c): w for _, _, c, w in jobs}
    assert waits[runs.run_dir(no_gt)] == {runs.run_dir(full)} and waits[runs.run_dir(other)] == {runs.run_dir(full), s0}
    assert waits[runs.run_dir(plain)] == {runs.run_dir(full)}


def test_plan_builds_the_shared_models_first_and_only_the_runs_that_read_them_wait(models):
    """A shared model is a job of the plan, not a barrier: a first run that reads no embedded model starts
    at once, one that reads the embedded f_I waits for it, and the runs after a first wait for the first."""
    from comodo.egodistill.image import image_encoder_dir, pretrain_config

    image = pretrain_config("quick", 0)
    folder = image_encoder_dir(image)
    embedded = {**TINY, "seed": 5, "teacher": models["teacher"], "image_ckpt": "embedded"}
    first, after = variant("egodistill", **embedded), variant("visonly", **embedded)
    own = variant("egodistill", **{**TINY, "seed": 5}, **models)  # a folder f_I: another group, nothing shared
    jobs = runs._plan([first, after, own], shared={image: folder})
    assert jobs[0] == (folder, runs._shared_job, image, set())
    waits = {d: w for d, _, _, w in jobs}
    assert waits[runs.run_dir(first)] == {folder} and waits[runs.run_dir(own)] == set()
    assert waits[runs.run_dir(after)] == {runs.run_dir(first)}
    assert all(w <= {d for d, *_ in jobs[:i]} for i, (*_, w) in enumerate(jobs))
    assert runs._plan([first, after, own], shared={})[0][0] == runs.run_dir(first)  # built: no job, no wait
    assert runs.describe(image) == "embedded image encoder f_I (resnet, quick world), pre-trained once for the runs that read it"


def test_shared_models_are_the_missing_embedded_ones_only(models, quick_world):
    from comodo.egodistill.image import image_encoder_dir, pretrain_config
    from comodo.teacher.pretrain import embedded_config, teacher_dir

    local = variant("egodistill", **TINY, **models)
    assert runs._shared_models([local]) == {}  # a folder teacher and image encoder: nothing to pre-train
    embedded = variant("egodistill", **{**TINY, "teacher": "embedded-timesformer", "image_ckpt": "embedded"})
    shared = runs._shared_models([embedded, embedded])
    image, base = pretrain_config("quick", 0), embedded_config("quick", 0, architecture="timesformer")
    assert (image in shared) == (not (image_encoder_dir(image) / "pretrain.json").exists())
    assert (base in shared) == (not (teacher_dir(base) / "pretrain.json").exists())
    assert len(shared) == len(set(shared)) and set(shared) <= {image, base}
    assert all(shared[c] == (image_encoder_dir(c) if c == image else teacher_dir(c)) for c in shared)


def test_a_sweep_over_two_workers_trains_the_bits_of_one_process(models, capsys):
    """The runs go to one pool of two processes, a line each as they finish; a run trained there equals
    the same run trained here."""
    import torch

    configs = [variant(v, **{**TINY, "seed": 3}, **models) for v in ("egodistill", "visonly")]
    swept = runs.sweep(configs, n_workers=2)
    assert all((runs.run_dir(c) / "results_test.json").exists() for c in configs)
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("  ")]
    expected = [f"  {runs.describe(c)}: clip top-1 {r['student']['clip_top1']:.3f} (" for c, r in zip(configs, swept)]
    assert sorted(x[:x.rindex("(") + 1] for x in lines) == sorted(expected)
    assert runs.describe(configs[1]) == f"visonly, ego4d, 1 frame, teacher {models['teacher']}, seed 3"
    again = configs[1]
    weights = torch.load(runs.run_dir(again) / "student.pt", weights_only=False)["student"]
    import shutil

    shutil.rmtree(runs.run_dir(again))
    assert runs.result(again) == swept[1]  # retrained in this process
    here = torch.load(runs.run_dir(again) / "student.pt", weights_only=False)["student"]
    assert weights.keys() == here.keys() and all(torch.equal(weights[k], here[k]) for k in weights)
