"""Every dataset layout, built tiny with real mp4 files, read end to end by distill and evaluate."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "comodo", *args], capture_output=True, text=True,
                          env=dict(os.environ))


@pytest.fixture(scope="module")
def teacher_ready(quick_world):
    from comodo.teacher.pretrain import QUICK, TeacherPretrainConfig, pretrain_teacher

    return pretrain_teacher(TeacherPretrainConfig(**QUICK), verbose=False)


def _distill_and_evaluate(tmp_path: Path, *data_args: str) -> dict:
    """One epoch on the layout under the quick embedded teacher (``teacher_ready``'s: ``--world-size quick``
    picks it, the default one would be pre-trained first), then the SVM protocol on it."""
    run = tmp_path / "run"
    out = _cli("distill", *data_args, "--world-size", "quick", "--queue-size", "8", "--num-epochs", "1", "--batch-size", "8",
               "--out", str(run), "--quiet")
    assert out.returncode == 0, out.stderr[-1500:]
    out = _cli("evaluate", "--run", str(run), *data_args, "--out", str(tmp_path / "result.json"))
    assert out.returncode == 0, out.stderr[-1500:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert 0.0 <= result["acc1"] <= result["acc5"] <= 1.0 and result["n_test"] > 0
    return result


@pytest.mark.parametrize("domain", ["egoexo4d", "mmea"])
def test_world_layouts_by_path(teacher_ready, quick_world, tmp_path, domain):
    """The world's folders read as real datasets: --dataset-path + the layout name."""
    root = quick_world(domain)
    result = _distill_and_evaluate(tmp_path, "--dataset", domain, "--dataset-path", str(root))
    assert result["eval_root"] == str(root)


def test_generic_layout_with_videos(teacher_ready, quick_world, tmp_path):
    """'Your own IMU data': npy recordings + optional videos + split files + comodo.json."""
    src = quick_world("ego4d")
    root = tmp_path / "mine"
    (root / "imu").mkdir(parents=True)
    (root / "video").mkdir()
    for split in ("train", "val", "test"):
        lines = []
        for line in (src / f"{split}.txt").read_text().splitlines():
            uid, label = line.split("\t")
            shutil.copy(src / "processed_imu" / f"{uid}.npy", root / "imu" / f"{uid}.npy")
            shutil.copy(src / "processed_video" / f"{uid}.mp4", root / "video" / f"{uid}.mp4")
            lines.append(f"imu/{uid}.npy\t{label}\tvideo/{uid}.mp4")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (root / "comodo.json").write_text(json.dumps({"imu_rate": 200, "channels": 6, "units": "si",
                                                  "video_fps": 10}))
    _distill_and_evaluate(tmp_path, "--dataset", "generic", "--dataset-path", str(root))
