"""Evaluate a trained student (or the video teacher) with the paper's SVM protocol.

Features are the student backbone's output without the projector, on the evaluation dataset's
``train`` and ``test`` splits (the evaluation dataset may differ from the distillation one:
cross-dataset generalisation). For the video teacher the features are its pooled hidden state
(before the projection head). Results carry the resolved configuration, the datasets, split sizes
and seed, so every number can be traced to what produced it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from comodo.errors import check
from comodo.evaluation.svm import SVMConfig, svm_protocol
from comodo.train.config import DistillConfig
from comodo.train.data import check_labels, imu_windows, labels_of, load_teacher, resolve_spec, samples_of


def load_student(run_dir: str | Path):
    """The final student of a run folder, in eval mode, with its resolved config."""
    from comodo.train.loop import build_student

    path = Path(run_dir) / "student.pt"
    check(path.exists(), f"run {run_dir}: no student.pt (is the run finished? `comodo distill ... --out {run_dir}`)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise __import__("comodo").ComodoError(f"{path}: cannot read the checkpoint ({type(e).__name__})") from None
    config = DistillConfig.from_dict(state["config"])
    n_classes = len(state["classes"]) if config.method == "supervised" else None
    student = build_student(config, state["n_channels"], n_classes)
    student.load_state_dict(state["student"])
    return student.eval(), config


@torch.no_grad()
def features_of(student, x: np.ndarray, batch: int = 256) -> np.ndarray:
    X = torch.from_numpy(x)
    return torch.cat([student.features(X[i:i + batch]) for i in range(0, len(X), batch)]).numpy()


def evaluate_run(run_dir: str | Path, dataset: str | None = None, dataset_path: str | None = None,
                 layout: str | None = None, world_size: str | None = None, world_seed: int | None = None,
                 svm: SVMConfig | None = None) -> dict:
    """SVM acc@1/3/5 of a run's student on ``dataset`` (default: the one it was distilled on)."""
    check(dataset is not None or dataset_path is None,
          f"--dataset-path {dataset_path}: also give --dataset, the layout of the data there (the result is "
          f"named after it; without it the run's own results_<dataset>.json would be overwritten)")
    student, config = load_student(run_dir)
    same = dataset is None and dataset_path is None
    spec = resolve_spec(dataset or config.dataset, dataset_path if not same else config.dataset_path,
                        layout if not same else config.layout, world_size or config.world_size,
                        config.world_seed if world_seed is None else world_seed,
                        None if not same else config.imu_rate, config.window_s)
    train, test = samples_of(spec, "train"), samples_of(spec, "test")
    y_train, y_test = labels_of(train), labels_of(test)
    check_labels(y_train, y_test, "test", str(spec.root))
    f_train = features_of(student, imu_windows(spec, train, student.input_length, config.resample))
    f_test = features_of(student, imu_windows(spec, test, student.input_length, config.resample))
    svm = svm or SVMConfig(seed=config.seed)
    result = svm_protocol(f_train, y_train, f_test, y_test, svm)
    return {"kind": "student", **_clean(result), "method": config.method, "student": config.student,
            "train_dataset": config.dataset, "eval_dataset": dataset or config.dataset,
            "eval_root": str(spec.root), "seed": config.seed, "config": config.to_dict(),
            "svm": dataclasses.asdict(svm), "feature_dim": int(f_train.shape[1]), "run": str(run_dir)}


def evaluate_teacher(dataset: str, video_ckpt: str = "embedded", dataset_path: str | None = None,
                     layout: str | None = None, world_size: str = "default", world_seed: int = 0,
                     seed: int = 0, svm: SVMConfig | None = None, device: str = "cpu") -> dict:
    """The same SVM protocol on the frozen video teacher's pooled features: the 'video' reference row."""
    from comodo.cache import teacher_embeddings
    from comodo.data import load_split

    svm = svm or SVMConfig(seed=seed)  # its settings are checked before the teacher encodes anything
    spec = resolve_spec(dataset, dataset_path, layout, world_size, world_seed)
    teacher = load_teacher(video_ckpt, "none", 0, world_size=world_size, world_seed=world_seed, device=device)
    train, test = load_split(spec, "train"), load_split(spec, "test")
    y_train, y_test = labels_of(train), labels_of(test)
    check_labels(y_train, y_test, "test", str(spec.root))
    f_train = np.asarray(teacher_embeddings(teacher, train, pooled=True, dataset_root=spec.root))
    f_test = np.asarray(teacher_embeddings(teacher, test, pooled=True, dataset_root=spec.root))
    result = svm_protocol(f_train, y_train, f_test, y_test, svm)
    return {"kind": "teacher", **_clean(result), "method": "video_teacher", "eval_dataset": dataset,
            "eval_root": str(spec.root), "video_ckpt": video_ckpt, "teacher": teacher.describe() | {"processor": None},
            "seed": seed, "svm": dataclasses.asdict(svm), "feature_dim": int(f_train.shape[1])}


def _clean(result: dict) -> dict:
    out = dict(result)
    out["classes"] = [str(c) for c in out.get("classes", [])]
    return out
