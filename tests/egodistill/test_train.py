"""EgoDistill end to end: teacher → stage 0 → stage 1 → evaluate, resume after kill -9, CLI errors.

Real (tiny) checkpoints built with ``save_pretrained``: a VideoMAE classifier base fine-tuned on the
quick world's ego4d and a ResNet image backbone; a TimeSformer teacher; both by folder and by hub id
from a local hub cache with ``HF_HUB_OFFLINE=1``; the quick world and a copy of it as a layout on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from checkpoints import tiny_resnet, tiny_video_classifier
from comodo.egodistill.config import EgoDistillConfig, variant
from comodo.egodistill.evaluate import evaluate_run
from comodo.egodistill.teacher import TeacherFinetuneConfig, finetune_teacher
from comodo.egodistill.train import train
from comodo.errors import ComodoError
from hub_cache import populate_hub_cache

TINY = dict(dataset="ego4d", world_size="quick", imu_length=64, imu_options=dict(width=8, dim=16),
            gru_hidden=16, fusion_hidden=32, num_epochs=2, pretrain_epochs=1, batch_size=16,
            learning_rate=1e-3, device="cpu")


@pytest.fixture(scope="module")
def models(quick_world, tmp_path_factory):
    """(fine-tuned tiny VideoMAE teacher, tiny TimeSformer teacher, tiny ResNet), all folders."""
    quick_world("ego4d")
    root = tmp_path_factory.mktemp("ckpts")
    settings = dict(dataset="ego4d", world_size="quick", epochs=1, batch_size=16, learning_rate=1e-3, device="cpu")
    videomae = finetune_teacher(TeacherFinetuneConfig(base=str(tiny_video_classifier("videomae", root / "vm")),
                                                      **settings), progress=False)
    timesformer = finetune_teacher(TeacherFinetuneConfig(base=str(tiny_video_classifier("timesformer", root / "ts")),
                                                         **settings), progress=False)
    return videomae, timesformer, tiny_resnet(root / "resnet")


def _config(models, **kw) -> EgoDistillConfig:
    videomae, _, resnet = models
    return EgoDistillConfig(**{**TINY, "teacher": str(videomae), "image_ckpt": str(resnet), **kw})


def _weights(run: Path) -> dict:
    return torch.load(run / "student.pt", weights_only=True)["student"]


def test_stage0_then_stage1_then_evaluate(models, tmp_path):
    s0 = train(_config(models, stage="pretrain", num_epochs=1), tmp_path / "s0", progress=False)
    log0 = [json.loads(x) for x in (s0 / "log.jsonl").read_text().splitlines()]
    assert len(log0) == 1 and {"nce", "l1", "val_l1"} <= set(log0[0])
    run = train(_config(models, init=str(s0)), tmp_path / "s1", progress=False)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["init"] == str(s0) and cfg["variant"] == "egodistill" and cfg["config"]["stage"] == "train"
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and {"kd", "gt", "l1", "val_video_top1"} <= set(log[0])
    r = evaluate_run(run)
    for who in ("student", "teacher"):
        assert 0 <= r[who]["clip_top1"] <= 1 and 0 <= r[who]["video_top1"] <= 1
        assert r[who]["n_videos"] * 5 == r[who]["n_clips"]  # 10-s videos: 5 clips each
        assert sum(c["videos"] for c in r[who]["per_class"].values()) == r[who]["n_videos"]
    assert -1 <= r["student"]["reconstruction"]["cosine"] <= 1 and r["student"]["reconstruction"]["l1"] > 0
    assert r["config"]["init"] == str(s0) and r["variant"] == "egodistill"


def test_stage1_runs_its_stage0_first_and_the_loss_falls(models, tmp_path):
    run = train(_config(models, num_epochs=4), tmp_path / "run", progress=False)
    assert (run / "stage0" / "student.pt").exists()
    assert json.loads((run / "stage0" / "config.json").read_text())["config"]["stage"] == "pretrain"
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"]
    # each epoch logs the rate it trained at: × 0.1 from epoch round(0.6·4) + 1 = 3, again from round(0.8·4) + 1 = 4
    assert [r["lr"] for r in log] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-5])


def test_a_stage0_run_of_other_settings_is_refused_as_init(models, tmp_path):
    """Stage 1 starts only from a stage 0 of its own data, teacher, frames and IMU input."""
    s0 = train(_config(models, stage="pretrain", num_epochs=1), tmp_path / "s0", progress=False)
    _, timesformer, _ = models
    for field, value in [("teacher", str(timesformer)), ("frame_selection", "first"), ("imu_length", 48)]:
        with pytest.raises(ComodoError, match=f"--init {s0}: its {field} .* differs from this run's") as e:
            train(_config(models, init=str(s0), **{field: value}), tmp_path / f"s1-{field}", progress=False)
        assert "\n" not in str(e.value) and not (tmp_path / f"s1-{field}" / "student.pt").exists()


@pytest.mark.parametrize("name,frames", [("visonly_distill", 1), ("visimu", 1), ("visonly", 1),
                                         ("egodistill", 2), ("visonly_distill", 4)])
def test_every_variant_and_frame_count_runs(models, tmp_path, name, frames):
    videomae, _, resnet = models
    c = variant(name, **{**TINY, "teacher": str(videomae), "image_ckpt": str(resnet), "frames": frames,
                         "num_epochs": 1, "frame_selection": "random" if frames == 4 else "uniform"})
    run = train(c, tmp_path / name, progress=False)
    r = evaluate_run(run)
    assert r["variant"] == name and r["config"]["frames"] == frames
    assert ("imu.stem.0.weight" in _weights(run)) == c.use_imu
    assert ("gru.weight_ih_l0" in _weights(run)) == (frames > 1)


def test_timesformer_teacher_and_layout_on_disk_by_hub_id(models, quick_world, tmp_path, monkeypatch):
    """The same steps on a copy of the world written as a dataset folder, models loaded by hub id offline."""
    from hub_cache import offline_hub

    _, timesformer, resnet = models
    data = tmp_path / "ego4d_data"
    shutil.copytree(quick_world("ego4d"), data)
    hub = tmp_path / "hub"
    populate_hub_cache(timesformer, "someone/ts-teacher", hub)
    populate_hub_cache(resnet, "microsoft/resnet-tiny", hub)
    offline_hub(monkeypatch, hub)
    c = variant("egodistill", **{**TINY, "dataset_path": str(data), "teacher": "someone/ts-teacher",
                                 "image_ckpt": "microsoft/resnet-tiny", "num_epochs": 1})
    r = evaluate_run(train(c, tmp_path / "run", progress=False))
    assert r["dataset"] == str(data) and "snapshots" in r["teacher"]["path"]  # read from the hub cache


def test_straight_run_equals_kill_9_then_resume(models, tmp_path):
    """kill -9 while stage 1 trains, then --resume: the final weights are bit-identical."""
    args = ["--dataset", "ego4d", "--world-size", "quick", "--teacher", str(models[0]),
            "--image-ckpt", str(models[2]), "--imu-length", "64", "--imu-option", "width=8", "--imu-option", "dim=16",
            "--pretrain", "none", "--num-epochs", "40",
            "--batch-size", "16", "--learning-rate", "1e-3", "--device", "cpu", "--quiet"]
    straight = tmp_path / "straight"
    out = _cli("train", *args, "--out", str(straight))
    assert out.returncode == 0, out.stderr
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "comodo", "egodistill", "train", *args, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not _epochs(killed) >= 2 and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (killed / "student.pt").exists() and 2 <= _epochs(killed) < 40
    torch.load(killed / "checkpoints" / "last.pt", weights_only=True)  # written atomically: always whole
    out = _cli("train", *args, "--out", str(killed), "--resume")
    assert out.returncode == 0, out.stderr
    assert not list(killed.rglob("*.tmp"))  # what a kill cut short is cleaned up
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len((killed / "log.jsonl").read_text().splitlines()) == 40


def test_checkpoints_once_a_while_resume_the_same(models, tmp_path):
    """``checkpoint_every_s`` (the study passes a minute) skips checkpoints between epochs but always writes
    the one ``stop_after`` asks for, and a run resumed from it ends with the weights of a run trained straight."""
    cfg = _config(models, pretrain="none", num_epochs=3)
    straight = train(cfg, tmp_path / "straight", progress=False, checkpoint_every_s=1e9)
    assert not (straight / "checkpoints" / "last.pt").exists()  # none written: the run took under 1e9 s
    split = train(cfg, tmp_path / "split", progress=False, stop_after=2, checkpoint_every_s=1e9)
    assert torch.load(split / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2
    with open(split / "log.jsonl", "a") as f:  # an epoch logged after the last checkpoint, then a kill
        f.write('{"epoch": 3, "loss": -1}\n')
    train(cfg, split, resume=True, progress=False, checkpoint_every_s=1e9)
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(x) for x in (split / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3] and log[2]["loss"] != -1  # the stale line is dropped
    every = train(cfg, tmp_path / "every", progress=False)  # the default: after every epoch
    assert torch.load(every / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 3


def test_a_workers_models_are_loaded_once_and_again_when_their_folder_changes(models):
    """Inside ``reuse`` (a sweep's worker) the frozen teacher and f_I are loaded once; a teacher folder
    whose files change is loaded again."""
    from comodo.data.reuse import reuse
    from comodo.egodistill.data import load_models

    config = _config(models).resolved()
    extra = Path(models[0]) / "note.txt"
    try:
        with reuse():
            teacher, image = load_models(config)
            again = load_models(config)
            assert again[0] is teacher and again[1] is image
            extra.write_text("re-written")
            assert load_models(config)[0] is not teacher
        assert load_models(config)[0] is not load_models(config)[0]  # outside reuse: loaded every time
    finally:
        extra.unlink(missing_ok=True)


def test_foreach_adamw_gives_the_per_tensor_loops_bits():
    """The runs' AdamW takes ``foreach=True`` (fewer Python calls) because it changes no bit of a student."""
    from comodo.egodistill.student import EgoDistillStudent

    def trained(lr: float = 1e-3, **options) -> list[torch.Tensor]:
        torch.manual_seed(0)
        student = EgoDistillStudent(32, 2, 16, 5, imu_options=dict(width=8, dim=16), imu_length=64,
                                    gru_hidden=16, fusion_hidden=32)
        opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.05, **options)
        g = torch.Generator().manual_seed(1)
        for _ in range(5):
            z, logits = student(torch.randn(8, 2, 32, generator=g), torch.randn(8, 6, 64, generator=g))
            loss = torch.nn.functional.cross_entropy(logits, torch.randint(0, 5, (8,), generator=g)) + z.square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return [p.detach().clone() for p in student.parameters()]

    a, b = trained(foreach=False), trained(foreach=True)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[-1], trained(lr=2e-3, foreach=False)[-1])  # the comparison can fail


def test_resume_with_other_settings_is_refused(models, tmp_path):
    train(_config(models, pretrain="none", num_epochs=2), tmp_path / "run", progress=False, stop_after=1)
    with pytest.raises(ComodoError, match="settings differ"):
        train(_config(models, pretrain="none", num_epochs=2, seed=3), tmp_path / "run", resume=True, progress=False)


def test_a_teacher_of_other_labels_is_refused(models, tmp_path):
    other = tiny_video_classifier("videomae", tmp_path / "other", labels=["a", "b", "c"])
    with pytest.raises(ComodoError, match="labels .* differ from the dataset's") as e:
        train(_config(models, teacher=str(other), pretrain="none"), tmp_path / "run", progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags,message", [
    (["--frames", "0"], "frames 0: expected an integer N ≥ 1"),
    (["--clip-s", "0"], "clip_s 0"),
    (["--clip-s", "-1"], "clip_s -1"),
    (["--alpha", "1.5"], "alpha 1.5"),
    (["--losses", "kd,mse"], "losses kd,mse"),
])
def test_cli_bad_settings_are_one_line_errors(flags, message, tmp_path):
    out = _cli("train", "--dataset", "ego4d", "--world-size", "quick", *flags, "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and message in out.stderr
    assert out.stderr.count("\n") == 1 and not (tmp_path / "r").exists()


def test_cli_unknown_frame_selection_is_refused(tmp_path):
    out = _cli("train", "--frame-selection", "best", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "invalid choice: 'best'" in out.stderr


def test_bad_videos_are_one_line_errors_naming_the_file(models, quick_world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(quick_world("ego4d"), data)
    first = (data / "train.txt").read_text().split("\t")[0]
    video = data / "processed_video" / f"{first}.mp4"
    from comodo.data import read_frames, write_video

    write_video(video, read_frames(video, range(15)), 10.0)  # 1.5 s: shorter than one 2-s clip
    args = ["--dataset", "ego4d", "--dataset-path", str(data), "--teacher", str(models[0]),
            "--image-ckpt", str(models[2]), "--pretrain", "none", "--num-epochs", "1", "--quiet"]
    out = _cli("train", *args, "--out", str(tmp_path / "r1"))
    assert out.returncode == 2 and f"{first}.mp4: 1.50 s" in out.stderr and "shorter than one 2 s" in out.stderr
    assert out.stderr.strip().count("\n") == 0 and not (tmp_path / "r1").exists()
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)  # an mp4 header, no decodable frames
    out = _cli("train", *args, "--out", str(tmp_path / "r2"))
    assert out.returncode == 2 and f"{first}.mp4" in out.stderr
    assert out.stderr.strip().count("\n") == 0 and not (tmp_path / "r2").exists()


def _epochs(run: Path) -> int:
    log = run / "log.jsonl"
    return len(log.read_text().splitlines()) if log.exists() and (run / "checkpoints" / "last.pt").exists() else 0


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comodo", "egodistill", *args], capture_output=True, text=True,
                          env=_env())


def test_torchrun_two_processes(models, tmp_path):
    """DDP on the CPU (gloo): two ranks train one student on halves of each batch."""
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29531",
           "-m", "comodo", "egodistill", "train", "--dataset", "ego4d", "--world-size", "quick",
           "--teacher", str(models[0]), "--image-ckpt", str(models[2]), "--imu-length", "64",
           "--pretrain-epochs", "1", "--num-epochs", "1", "--batch-size", "16", "--device", "cpu",
           "--out", str(run), "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((run / "summary.json").read_text())["world_size"] == 2
    assert json.loads((run / "stage0" / "summary.json").read_text())["world_size"] == 2
    assert evaluate_run(run)["student"]["n_clips"] > 0
