"""The distillation loop end to end on the quick world: resume, multi-process, bad input, CLI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from comodo.errors import ComodoError
from comodo.train.config import DistillConfig
from comodo.train.loop import distill

QUICK = dict(dataset="ego4d", world_size="quick", queue_size=16, batch_size=16, num_epochs=2)


def _weights(run: Path) -> dict:
    return torch.load(run / "student.pt", weights_only=True)["student"]


@pytest.fixture(scope="module")
def teacher_ready(quick_world):
    """World and embedded teacher of the quick size, built once (cached under COMODO_DATA)."""
    from comodo.teacher.pretrain import QUICK as TQ, TeacherPretrainConfig, pretrain_teacher

    quick_world("ego4d")
    return pretrain_teacher(TeacherPretrainConfig(**TQ), verbose=False)


def test_two_epochs_straight_equal_one_plus_resume(teacher_ready, tmp_path):
    cfg = DistillConfig(**QUICK)
    straight = distill(cfg, tmp_path / "straight", progress=False)
    split = distill(cfg, tmp_path / "split", progress=False, stop_after=1)
    assert not (split / "student.pt").exists()
    assert len((split / "log.jsonl").read_text().splitlines()) == 1
    distill(cfg, split, resume=True, progress=False)
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (split / "log.jsonl").read_text() .count("\n") == 2
    # and the run actually trained: the weights moved away from the untrained student
    untrained = distill(DistillConfig(**{**QUICK, "method": "none"}), tmp_path / "none", progress=False)
    assert any(not torch.equal(a[k], _weights(untrained)[k]) for k in a if k.startswith("backbone"))


def test_log_checkpoint_and_config_are_written(teacher_ready, tmp_path):
    run = distill(DistillConfig(**QUICK), tmp_path / "run", progress=False)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert all(np.isfinite(r["loss"]) and 0 <= r["val_acc"] <= 1 for r in log)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert {"student", "optimizer", "scheduler", "queue", "torch_rng", "cuda_rng", "config", "epoch"} <= set(state)
    assert state["cuda_rng"] is None  # a CPU run; on a GPU the device's generator state, restored by --resume
    assert state["queue"]["embeddings"].shape == (16, 128)
    saved = json.loads((run / "config.json").read_text())
    assert saved["config"]["learning_rate"] == 3e-4 and saved["config"]["method"] == "comodo"
    assert saved["total_steps"] > 0


@pytest.mark.parametrize("method", ["l2", "comodo"])
def test_the_schedule_counts_the_batches_that_train(teacher_ready, tmp_path, method):
    """A lone leftover window is not a step (BatchNorm needs two); the linear decay still ends at 0 on the
    last step when the train split (less the queue's clips in epoch 0) leaves one window over."""
    first = distill(DistillConfig(**{**QUICK, "method": method, "num_epochs": 1}), tmp_path / "n", progress=False)
    n = json.loads((first / "config.json").read_text())["n_train"]
    held = 16 if method == "comodo" else 0
    batch = next(b for b in range(3, 64) if (n - held) % b == 1 or n % b == 1)

    def steps(windows: int) -> int:  # an epoch's batches of two or more windows
        return windows // batch + (windows % batch >= 2)

    run = distill(DistillConfig(**{**QUICK, "method": method, "batch_size": batch}), tmp_path / "r", progress=False)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    total = json.loads((run / "config.json").read_text())["total_steps"]
    assert total == steps(n - held) + steps(n) < -(-(n - held) // batch) - (-n // batch)
    assert log[-1]["lr"] == 0.0


@pytest.mark.parametrize("method", ["comodo", "supervised"])
def test_a_diverging_run_is_a_one_line_error_naming_the_learning_rate(teacher_ready, tmp_path, method):
    with pytest.raises(ComodoError, match=rf"{method} training diverged in epoch \d+: the student's outputs are "
                                          r"not finite; lower --learning-rate \(1e\+09\)") as e:
        distill(DistillConfig(**{**QUICK, "method": method, "learning_rate": 1e9}), tmp_path / "run", progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "run" / "student.pt").exists()


def test_a_cached_teacher_with_damaged_weights_is_pre_trained_again(teacher_ready, capsys):
    from comodo.teacher.pretrain import QUICK as TQ, TeacherPretrainConfig, pretrain_teacher

    config = TeacherPretrainConfig(**{**TQ, "epochs": 1}, seed=7)  # its own folder: the fixture's stays whole
    out = pretrain_teacher(config, verbose=False)
    good = (out / "model.safetensors").read_bytes()
    with open(out / "model.safetensors", "r+b") as f:
        f.truncate(4000)
    capsys.readouterr()
    assert pretrain_teacher(config, verbose=False) == out
    assert f"embedded teacher {out}: its weights cannot be read; pre-training it again" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == good


def test_loss_falls(teacher_ready, tmp_path):
    run = distill(DistillConfig(**{**QUICK, "num_epochs": 6}), tmp_path / "run", progress=False)
    losses = [json.loads(line)["loss"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("method", ["comodo", "supervised"])
def test_foreach_adamw_gives_the_per_tensor_loops_bits(teacher_ready, tmp_path, monkeypatch, method):
    """AdamW's multi-tensor step (the default) and its per-tensor loop train the same student, bit for bit,
    and log the same losses (one host read per epoch, not per step)."""
    import comodo.train.loop as loop

    cfg = DistillConfig(**{**QUICK, "method": method, "num_epochs": 3})
    fast = distill(cfg, tmp_path / "foreach", progress=False)
    monkeypatch.setattr(loop, "ADAMW_FOREACH", False)
    slow = distill(cfg, tmp_path / "loop", progress=False)
    a, b = _weights(fast), _weights(slow)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def logged(run):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                for line in (run / "log.jsonl").read_text().splitlines()]

    assert logged(fast) == logged(slow)
    losses = [r["loss"] for r in logged(fast)]
    assert all(np.isfinite(losses)) and len(set(losses)) == 3


def test_checkpoints_once_a_while_resume_the_same(teacher_ready, tmp_path):
    """``checkpoint_every_s`` skips checkpoints between epochs but always writes the one ``stop_after`` asks
    for, and a run resumed from it ends with the weights of a run trained straight."""
    cfg = DistillConfig(**{**QUICK, "num_epochs": 3})
    straight = distill(cfg, tmp_path / "straight", progress=False, checkpoint_every_s=1e9)
    assert not (straight / "checkpoints" / "last.pt").exists()  # none written: the run took under 1e9 s
    split = distill(cfg, tmp_path / "split", progress=False, stop_after=2, checkpoint_every_s=1e9)
    assert torch.load(split / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2
    distill(cfg, split, resume=True, progress=False, checkpoint_every_s=1e9)
    a, b = _weights(straight), _weights(split)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len((split / "log.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize("method", ["infonce", "l2", "supervised", "none"])
def test_every_method_runs(teacher_ready, tmp_path, method):
    run = distill(DistillConfig(**{**QUICK, "method": method}), tmp_path / method, progress=False)
    assert (run / "student.pt").exists()


@pytest.mark.parametrize("change, message", [
    (dict(queue_size=10_000), "queue-size 10000 is not smaller than the training set"),
    (dict(student_temp=0.0), "student-temp 0.0: expected a positive number"),
    (dict(teacher_temp=-1.0), "teacher-temp -1.0: expected a positive number"),
    (dict(method="byol"), "method 'byol'"),
    (dict(batch_size=1), "batch-size 1"),
    (dict(dataset="kinetics"), "dataset 'kinetics'"),
    (dict(seed=-1), r"seed -1: expected an integer in \[0, 2\*\*32\)"),
    (dict(projection_seed=2**32), "projection-seed 4294967296: expected an integer"),
    (dict(world_seed=0.5), "world-seed 0.5: expected an integer"),
])
def test_bad_settings_are_clear_errors(teacher_ready, tmp_path, change, message):
    with pytest.raises(ComodoError, match=message):
        distill(DistillConfig(**{**QUICK, **change}), tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "student.pt").exists()


def test_queue_larger_than_the_data_is_refused_before_any_clip_is_encoded(teacher_ready, tmp_path):
    """A teacher that cannot even load shows the check comes first: no minutes of encoding wasted."""
    cfg = dict(QUICK, queue_size=10_000, video_ckpt=str(tmp_path / "no-such-teacher"))
    with pytest.raises(ComodoError, match="queue-size 10000 is not smaller than the training set"):
        distill(DistillConfig(**cfg), tmp_path / "run", progress=False)


def test_unprojected_teacher_needs_a_matching_projector(teacher_ready, tmp_path):
    """projection 'none' hands the teacher's raw pooled features (64-d in the quick teacher) to the loss."""
    cfg = dict(QUICK, projection="none", num_epochs=1)
    with pytest.raises(ComodoError, match="have 64 dimensions.*pass --mlp-output-dim 64"):
        distill(DistillConfig(**cfg), tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad" / "student.pt").exists()
    run = distill(DistillConfig(**cfg, mlp_output_dim=64), tmp_path / "ok", progress=False)
    assert _weights(run)["projector.3.weight"].shape[0] == 64


def test_resume_with_other_settings_is_refused(teacher_ready, tmp_path):
    distill(DistillConfig(**QUICK), tmp_path / "run", progress=False, stop_after=1)
    with pytest.raises(ComodoError, match="settings differ"):
        distill(DistillConfig(**{**QUICK, "seed": 5}), tmp_path / "run", resume=True, progress=False)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:3000])  # a damaged checkpoint: one line naming it
    with pytest.raises(ComodoError, match=rf"checkpoint {last}: cannot be read"):
        distill(DistillConfig(**QUICK), tmp_path / "run", resume=True, progress=False)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "comodo", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_nan_imu_is_a_one_line_error_naming_the_file(teacher_ready, quick_world, tmp_path):
    root = tmp_path / "ego4d"
    shutil.copytree(quick_world("ego4d"), root)
    uid = (root / "train.txt").read_text().splitlines()[0].split("\t")[0]
    imu = np.load(root / "processed_imu" / f"{uid}.npy")
    imu[2, 17] = np.nan
    np.save(root / "processed_imu" / f"{uid}.npy", imu)
    out = _cli("distill", "--dataset", "ego4d", "--dataset-path", str(root), "--queue-size", "8",
               "--num-epochs", "1", "--batch-size", "16", "--out", str(tmp_path / "run"), "--quiet")
    assert out.returncode == 2
    assert out.stderr.startswith("comodo: error:") and f"{uid}.npy" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "student.pt").exists()


def test_cli_distill_then_evaluate(teacher_ready, tmp_path):
    run = tmp_path / "run"
    out = _cli("distill", "--dataset", "ego4d", "--world-size", "quick", "--queue-size", "16",
               "--num-epochs", "2", "--batch-size", "16", "--out", str(run), "--quiet")
    assert out.returncode == 0, out.stderr
    out = _cli("evaluate", "--run", str(run))
    assert out.returncode == 0, out.stderr
    result = json.loads((run / "results_ego4d.json").read_text())
    assert 0 <= result["acc1"] <= result["acc3"] <= result["acc5"] <= 1
    assert result["config"]["queue_size"] == 16 and result["n_test"] > 0
    # cross-dataset: the same student on mmea's SVM protocol
    out = _cli("evaluate", "--run", str(run), "--dataset", "mmea", "--world-size", "quick")
    assert out.returncode == 0, out.stderr
    assert json.loads((run / "results_mmea.json").read_text())["eval_dataset"] == "mmea"
    # an output that cannot be written: one line naming it, no traceback
    (tmp_path / "a_file").write_text("")
    out = _cli("evaluate", "--run", str(run), "--out", str(tmp_path / "a_file" / "r.json"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("comodo: error:") and "a_file" in out.stderr and "Traceback" not in out.stderr
    # another folder without the name of its layout: refused, the run's own result untouched
    before = (run / "results_ego4d.json").read_bytes()
    out = _cli("evaluate", "--run", str(run), "--dataset-path", str(tmp_path / "elsewhere"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "--dataset-path" in out.stderr and "also give --dataset" in out.stderr
    assert (run / "results_ego4d.json").read_bytes() == before


def test_torchrun_two_processes_hold_identical_queues(teacher_ready, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
           "-m", "comodo", "distill", "--dataset", "ego4d", "--world-size", "quick", "--queue-size", "16",
           "--num-epochs", "2", "--batch-size", "16", "--device", "cpu", "--out", str(run), "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["queue_identical_across_ranks"] is True


@pytest.mark.parametrize("name, message", [
    ("tpu", "device 'tpu': expected auto, cpu, cuda or cuda:N"),
    ("cuda:x", "device 'cuda:x': expected auto, cpu, cuda or cuda:N"),
    ("meta", "device 'meta': expected auto, cpu, cuda or cuda:N"),
])
def test_unknown_devices_are_clear_errors(name, message):
    from comodo.train.loop import pick_device

    with pytest.raises(ComodoError, match=message):
        pick_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    from comodo.train.loop import pick_device

    with pytest.raises(ComodoError, match="device 'cuda:0': CUDA is not available here"):
        pick_device("cuda:0")
    assert pick_device("auto") == torch.device("cpu") == pick_device("cpu")
