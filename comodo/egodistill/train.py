"""Training the EgoDistill student: stage 0 (IMU pre-training) and stage 1 (distillation), resumable, DDP.

One run = one output folder, as ``comodo distill`` writes it::

    <out>/config.json          the resolved EgoDistillConfig (+ dataset, teacher, classes, sizes)
    <out>/log.jsonl            one line per epoch: loss and its parts, lr, validation numbers, seconds
    <out>/checkpoints/last.pt  student, optimiser, scheduler, RNG state, epoch, config
    <out>/student.pt           the final student (state dict, sizes, classes, config)
    <out>/stage0/              stage 1 with ``pretrain != "none"`` and no ``init``: its stage-0 run

Per step of stage 0 (Eq. 7): z_M = f_M(M), ẑ_M = h(z_I⁰, z_Iᵀ), z_Φ = Π(z_I, z_M);
L = L_NCE(ẑ_M, z_M) + L_1(z_V, z_Φ) (:func:`~comodo.egodistill.losses.pretrain_loss`). f_I is
frozen (its features are cached), Ω's outputs are cached. Per step of stage 1 (Eqs. 3–6): z_Φ and the
logits Φ(I, M); L = α L_KD + (1 − α) L_GT + β L_1 (:func:`~comodo.egodistill.losses.distill_loss`).
AdamW, the learning rate × 0.1 at each milestone (fractions of the epochs). The data order of epoch
``e`` is a permutation drawn from ``(seed, e)``, so ``--resume`` continues bit for bit on the CPU.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from comodo.egodistill.config import EgoDistillConfig
from comodo.egodistill.data import ClipSet, clip_set, load_models, spec_of, split_clips
from comodo.egodistill.losses import distill_loss, pretrain_loss
from comodo.egodistill.student import EgoDistillStudent
from comodo.errors import ComodoError, check
from comodo.io import atomic_path, write_json
from comodo.train.checkpoint import load_state, remove_partial_writes, restore_state, save_state
from comodo.train.loop import _Dist, pick_device


class _Stage0(nn.Module):
    """Stage 0's forward in one call (so DDP sees it): → z_Φ (B, D_V), z_M (B, D_M) or None, ẑ_M or None."""

    def __init__(self, student: EgoDistillStudent) -> None:
        super().__init__()
        self.student = student

    def forward(self, frames: Tensor, imu: Tensor | None, first_last: Tensor):
        s = self.student
        z_imu = s.imu_feature(imu) if s.use_imu else None  # (B, D_M)
        z_pred = s.predict_imu(first_last) if s.use_imu else None  # (B, D_M)
        return s.fuse(frames, z_imu), z_imu, z_pred  # (B, D_V), ...


def build_student(config: EgoDistillConfig, image_dim: int, feature_dim: int, n_classes: int,
                  n_channels: int) -> EgoDistillStudent:
    torch.manual_seed(config.seed)  # the initial weights depend on the seed only
    return EgoDistillStudent(image_dim, config.frames, feature_dim, n_classes, config.use_imu, n_channels,
                             config.imu_length, config.imu_options, config.gru_hidden, config.fusion_hidden)


def load_student(run_dir: str | Path) -> tuple[EgoDistillStudent, EgoDistillConfig, list[str]]:
    """The final student of a run folder (eval mode), its config and its class order."""
    path = Path(run_dir) / "student.pt"
    check(path.exists(), f"run {run_dir}: no student.pt (is the run finished? `comodo egodistill train ... "
                         f"--out {run_dir}`)")
    state = load_state(path)
    config = EgoDistillConfig.from_dict(state["config"])
    sizes = state["sizes"]
    student = build_student(config, sizes["image_dim"], sizes["feature_dim"], len(state["classes"]),
                            sizes["n_channels"])
    try:
        student.load_state_dict(state["student"])
    except RuntimeError as e:
        raise ComodoError(f"{path}: the saved student does not fit its config ({str(e).splitlines()[0]})") from None
    return student.eval(), config, list(state["classes"])


def _init_from(student: EgoDistillStudent, config: EgoDistillConfig, init: Path) -> dict:
    """Stage 1 starts from the stage-0 run ``init``: same architecture, same data, ``pretrain`` as named."""
    s0, c0, _ = load_student(init)
    check(c0.stage == "pretrain", f"--init {init}: a stage-{c0.stage} run; expected a stage-0 (pretrain) run")
    check(c0.pretrain == config.pretrain,
          f"--init {init}: pre-trained with {c0.pretrain!r} but --pretrain is {config.pretrain!r}")
    same = ("dataset", "dataset_path", "layout", "world_size", "world_seed", "clip_s", "teacher", "image_ckpt",
            "frames", "frame_selection", "use_imu", "imu_length", "imu_options")
    diff = [k for k in same if getattr(c0, k) != getattr(config, k)]
    if diff:
        raise ComodoError(f"--init {init}: its {diff[0]} {getattr(c0, diff[0])!r} differs from this run's "
                          f"{getattr(config, diff[0])!r}")
    try:
        student.load_state_dict(s0.state_dict())
    except RuntimeError as e:
        raise ComodoError(f"--init {init}: its student does not fit this run's ({str(e).splitlines()[0]})") from None
    return {"init": str(init), "init_config": c0.to_dict()}


def train(config: EgoDistillConfig, out: str | Path, resume: bool = False, progress: bool = True,
          stop_after: int | None = None, checkpoint_every_s: float = 0.0) -> Path:
    """Train one run (stage 0 or 1) into ``out`` (created); returns ``out``.

    ``resume`` continues from the last saved epoch; ``stop_after=E`` stops once epoch E is saved.
    ``checkpoint_every_s``: ``checkpoints/last.pt`` is written after an epoch once this many seconds
    have passed since the run started or since the last one (0: after every epoch), and always at
    ``stop_after``, as :func:`comodo.train.loop.distill` does; the study's runs pass a minute.
    """
    from tqdm.auto import tqdm

    config = config.resolved()
    out = Path(out)
    d = _Dist(pick_device(config.device))
    device = d.device
    ckpt_path = out / "checkpoints" / "last.pt"
    state = None
    if resume:
        check(ckpt_path.exists(), f"--resume: no checkpoint at {ckpt_path}; start the run without --resume")
        remove_partial_writes(ckpt_path.parent)  # a write cut short by a kill; last.pt itself is whole
        state = load_state(ckpt_path)
        check(EgoDistillConfig.from_dict(state["config"]).resolved() == config,
              f"--resume: the settings differ from the run in {out}; resume with the same settings or use another --out")
    elif d.main and (out / "student.pt").exists():
        raise ComodoError(f"{out} already holds a finished run; pass another --out or --resume")
    init = Path(config.init) if config.init else None
    check(init is None or config.stage == "train", "--init is for stage 1 (train); stage 0 starts from scratch")
    check(init is None or config.pretrain != "none", "--init with --pretrain none: name the stage-0 losses it used")
    if config.stage == "train" and config.pretrain != "none" and init is None:
        init = out / "stage0"
        if not (init / "student.pt").exists():
            train(config.stage0(), init, resume=(init / "checkpoints" / "last.pt").exists(), progress=progress,
                  checkpoint_every_s=checkpoint_every_s)

    t0 = last_saved = time.time()
    spec = spec_of(config)
    clips = split_clips(config, spec, ("train", "val"))
    classes = sorted({c.label for c in clips["train"]})
    sets: dict[str, ClipSet] = {}
    for turn in ((0,) if d.world == 1 else (0, 1)):  # rank 0 fills the caches, then the others read them
        if (turn == 0) == d.main:
            teacher, image = load_models(config, str(device), progress and d.main)
            sets = {split: clip_set(config, spec, split, clips[split], classes, teacher, image, progress and d.main)
                    for split in clips}
            teacher_info = {"path": str(teacher.path), "model_type": teacher.model_type}
            del teacher, image
        d.barrier()
    tr, va = sets["train"], sets["val"]
    n_channels = tr.imu.shape[1] if tr.imu is not None else spec.channels
    student = build_student(config, tr.frames.shape[2], tr.z_video.shape[1], len(classes), n_channels)
    init_info = _init_from(student, config, init) if init is not None else {}
    student.to(device)
    model: nn.Module = _Stage0(student) if config.stage == "pretrain" else student
    if d.world > 1:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)
    optimizer = torch.optim.AdamW(student.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                  foreach=True)  # the same bits as the per-tensor loop (tested), fewer calls
    milestones = sorted({max(1, round(m * config.num_epochs)) for m in config.milestones})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    start_epoch = 0
    if state is not None:
        start_epoch = restore_state(state, {"student": student, "optimizer": optimizer, "scheduler": scheduler},
                                    device)
    n, per_rank = len(tr), max(2, config.batch_size // d.world)

    def order(epoch: int) -> np.ndarray:
        g = torch.Generator().manual_seed(config.seed * 100003 + epoch)
        idx = torch.randperm(n, generator=g).numpy()
        if d.world > 1:  # equal shards: wrap around, then every world-th index
            idx = np.concatenate([idx, idx[: (-len(idx)) % d.world]])[d.rank::d.world]
        return idx

    sizes = {"image_dim": int(tr.frames.shape[2]), "feature_dim": int(tr.z_video.shape[1]),
             "n_channels": int(n_channels)}
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", {"config": config.to_dict(), "dataset": str(spec.root), "layout": spec.layout,
                                         "classes": classes, "n_train": n, "n_val": len(va), "teacher": teacher_info,
                                         "sizes": sizes, "variant": config.variant, "world_size": d.world,
                                         **init_info})
        log_path = out / "log.jsonl"
        kept = log_path.read_text().splitlines()[:start_epoch] if (resume and log_path.exists()) else []
        with atomic_path(log_path) as tmp:
            tmp.write_text("".join(line + "\n" for line in kept))

    tensors = _tensors(tr)
    for epoch in range(start_epoch, config.num_epochs):
        e0 = time.time()
        model.train()
        idx = order(epoch)
        parts_sum: dict[str, float] = {}
        steps = 0
        bar = tqdm(range(0, len(idx), per_rank), desc=f"egodistill {config.stage} epoch {epoch + 1}/{config.num_epochs}",
                   disable=not (progress and d.main), leave=False, file=sys.stderr)
        for i in bar:
            b = torch.as_tensor(idx[i:i + per_rank])
            if len(b) < 2:  # BatchNorm and in-batch negatives need two clips; a lone one waits an epoch
                continue
            batch = {k: (v[b].to(device) if v is not None else None) for k, v in tensors.items()}
            loss, parts = _loss(model, config, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
            bar.set_postfix(loss=f"{parts['total']:.3f}")
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch trained at (the scheduler then sets the next)
        scheduler.step()
        record = {"epoch": epoch + 1, "loss": parts_sum.get("total", math.nan) / max(steps, 1),
                  **{k: v / max(steps, 1) for k, v in parts_sum.items() if k != "total"},
                  "lr": lr, **validate(student, config, va, device),
                  "seconds": time.time() - e0}
        if d.main:
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            stopping = stop_after is not None and epoch + 1 >= stop_after
            if stopping or time.time() - last_saved >= checkpoint_every_s:
                save_state(ckpt_path, config.to_dict(), epoch + 1,
                           {"student": student, "optimizer": optimizer, "scheduler": scheduler}, device)
                last_saved = time.time()
            if progress:
                shown = ", ".join(f"{k} {v:.3f}" for k, v in record.items() if k.startswith("val_"))
                print(f"egodistill {config.stage} epoch {epoch + 1}/{config.num_epochs}: loss {record['loss']:.4f}, "
                      f"{shown}", file=sys.stderr, flush=True)
        d.barrier()
        if stop_after is not None and epoch + 1 >= stop_after and epoch + 1 < config.num_epochs:
            return out
    if d.main:
        with atomic_path(out / "student.pt") as tmp:
            torch.save({"config": config.to_dict(), "classes": classes, "sizes": sizes,
                        "student": student.state_dict()}, tmp)
        write_json(out / "summary.json", {"config": config.to_dict(), "seconds": time.time() - t0,
                                          "epochs": config.num_epochs, "n_train": n, "world_size": d.world})
    d.barrier()
    return out


def _tensors(cs: ClipSet) -> dict[str, Tensor | None]:
    return {"frames": torch.from_numpy(cs.frames), "first_last": torch.from_numpy(cs.first_last),
            "imu": torch.from_numpy(cs.imu) if cs.imu is not None else None,
            "z_video": torch.from_numpy(cs.z_video), "logits": torch.from_numpy(cs.teacher_logits),
            "y": torch.from_numpy(cs.y)}


def _loss(model: nn.Module, config: EgoDistillConfig, b: dict) -> tuple[Tensor, dict[str, float]]:
    if config.stage == "pretrain":
        z_fused, z_imu, z_pred = model(b["frames"], b["imu"], b["first_last"])
        if not config.use_imu:  # L_1 pre-training of Π alone
            return pretrain_loss(z_fused, z_fused, z_fused, b["z_video"], config.nce_tau, nce=False, l1=True)
        return pretrain_loss(z_pred, z_imu, z_fused, b["z_video"], config.nce_tau,
                             nce="nce" in config.pretrain, l1="l1" in config.pretrain)
    z, logits = model(b["frames"], b["imu"])  # (B, D_V), (B, K)
    return distill_loss(logits, b["logits"], z, b["z_video"], b["y"], config.alpha, config.beta, config.tau,
                        config.kd_t2, losses=config.losses)


@torch.no_grad()
def validate(student: EgoDistillStudent, config: EgoDistillConfig, cs: ClipSet, device: torch.device) -> dict:
    """Validation numbers of an epoch: per-clip and per-video top-1 and the reconstruction L1 (stage 1),
    or the reconstruction L1 alone (stage 0, whose classifier is not trained)."""
    from comodo.egodistill.evaluate import predict, video_top1

    student.eval()
    z, probs = predict(student, cs, device)
    out = {"val_l1": float(np.abs(z - cs.z_video).mean())}
    if config.stage == "train":
        out["val_clip_top1"] = float((probs.argmax(1) == cs.y).mean())
        out["val_video_top1"] = video_top1(probs, cs.y, cs.video)
    return out


__all__ = ["build_student", "load_student", "train", "validate"]
