"""The distillation loop: COMODO and its baselines, resumable, single- or multi-process.

One run = one output folder::

    <out>/config.json          the resolved DistillConfig (+ dataset and teacher descriptions)
    <out>/log.jsonl            one line per epoch: loss, lr, validation accuracy, seconds
    <out>/checkpoints/last.pt  student, optimizer, scheduler, queue, RNG state, epoch, config
    <out>/student.pt           the final student (state dict + config)

Per step (method ``comodo``): the student embeds a batch of IMU windows, the loss compares its
similarity distribution over keys = queue ∪ batch teacher embeddings with the teacher's
(:func:`comodo.losses.comodo_loss`), the optimiser steps, and only then the batch's teacher
embeddings enter the queue. The data order of epoch ``e`` is a permutation drawn from
``(seed, e)``, so ``--resume`` continues bit for bit on the CPU.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from comodo.errors import ComodoError, check
from comodo.io import atomic_path, write_json
from comodo.losses import comodo_loss, info_nce, l2_distill, supervised_ce
from comodo.queue import EmbeddingQueue
from comodo.train.checkpoint import load_state
from comodo.train.config import DistillConfig

# AdamW updates every parameter tensor in a few multi-tensor (``foreach``) calls instead of a dozen
# calls per tensor: the same arithmetic on every element, so the same bits (tests/train/test_distill.py
# checks it), with fewer Python-level steps. benchmarks/bench_run.py sets it to False to time the old way.
ADAMW_FOREACH = True


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA when there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        dev = None
    check(dev is not None and dev.type in ("cpu", "cuda"), f"device {name!r}: expected auto, cpu, cuda or cuda:N")
    check(dev.type != "cuda" or torch.cuda.is_available(), f"device {name!r}: CUDA is not available here")
    check(dev.type != "cuda" or dev.index is None or dev.index < torch.cuda.device_count(),
          f"device {name!r}: there are {torch.cuda.device_count()} CUDA devices here")
    return dev


def build_student(config: DistillConfig, n_channels: int, n_classes: int | None = None):
    from comodo.encoders import BACKBONES
    from comodo.encoders.student import IMUStudent

    options = dict(config.student_options)
    if config.student == "dilated_cnn":
        options.setdefault("n_channels", n_channels)
    torch.manual_seed(config.seed)  # the student's initial weights depend on the seed only
    backbone = BACKBONES.get(config.student)(config.imu_ckpt, **options)
    return IMUStudent(backbone, n_channels, config.reduction, config.mlp_hidden_dim, config.mlp_output_dim,
                      n_classes=n_classes)


class _Dist:
    """Rank / world size, from torchrun's environment (one process otherwise)."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = device
        if self.world > 1 and not dist.is_initialized():
            if device.type == "cuda":
                local = int(os.environ.get("LOCAL_RANK", "0"))
                torch.cuda.set_device(local)
                self.device = torch.device("cuda", local)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def _prepare(config: DistillConfig, d: _Dist, progress: bool):
    """Data, labels, teacher embeddings (computed once, by rank 0 first), and the student."""
    from comodo.cache import teacher_embeddings
    from comodo.train.data import check_labels, imu_windows, keep_clips, labels_of, samples_of, spec_of, teacher_of

    spec = spec_of(config)
    train = keep_clips(samples_of(spec, "train"), config.num_clips, config.seed)
    val = samples_of(spec, "val")
    y_train, y_val = labels_of(train), labels_of(val)
    check_labels(y_train, y_val, "val", str(spec.root))
    classes = sorted(set(y_train.tolist()))
    student = build_student(config, spec.channels, len(classes) if config.method == "supervised" else None)
    x_train = imu_windows(spec, train, student.input_length, config.resample)
    x_val = imu_windows(spec, val, student.input_length, config.resample)
    n = len(train)
    if config.method == "comodo" and config.queue_init == "reference":  # checked before encoding a dataset
        check(config.queue_size < n, f"queue-size {config.queue_size} is not smaller than the training set "
                                     f"({n} windows in {spec.root}/train.txt); pass --queue-size < {n}")
    z_train = z_val = None
    teacher_info: dict = {}
    if config.method in ("comodo", "infonce", "l2"):
        for turn in ((0,) if d.world == 1 else (0, 1)):  # rank 0 fills the cache, then the others read it
            if (turn == 0) == d.main:
                teacher = teacher_of(config, device=str(d.device))
                # checked before encoding a whole dataset
                check(teacher.dim == config.mlp_output_dim,
                      f"the teacher's embeddings have {teacher.dim} dimensions (--video-ckpt {config.video_ckpt}, "
                      f"projection {config.projection!r}) but the student's projector outputs --mlp-output-dim "
                      f"{config.mlp_output_dim}; pass --mlp-output-dim {teacher.dim}")
                z_train = teacher_embeddings(teacher, train, progress=progress and d.main, dataset_root=spec.root)
                z_val = teacher_embeddings(teacher, val, progress=progress and d.main, dataset_root=spec.root)
                teacher_info = teacher.describe()
                teacher_info.pop("processor", None)
                del teacher
            d.barrier()
    return spec, train, classes, x_train, y_train, x_val, y_val, z_train, z_val, student, teacher_info


def _schedule(optimizer, steps_epoch0: int, steps_later: int, config: DistillConfig):
    from transformers import get_linear_schedule_with_warmup

    # The reference adds the queue's number of *samples* to the step count; here: batches.
    total = steps_epoch0 + steps_later * max(0, config.num_epochs - 1)
    return get_linear_schedule_with_warmup(optimizer, int(config.warmup_frac * total), max(total, 1)), total


def distill(config: DistillConfig, out: str | Path, resume: bool = False, progress: bool = True,
            stop_after: int | None = None, checkpoint_every_s: float = 0.0) -> Path:
    """Train one run into ``out`` (created); returns ``out``.

    ``resume`` continues from the last saved epoch; ``stop_after=E`` stops once epoch E is saved (for
    schedulers with time limits: continue later with ``resume``), without writing ``student.pt``.
    ``checkpoint_every_s``: ``checkpoints/last.pt`` is written after an epoch when at least this many
    seconds have passed since the run started or since the last one was written (0: after every
    epoch), and always at ``stop_after``; a resumed run continues bit for bit from whichever epoch it
    holds. The study's runs (seconds each) pass 60 s: a checkpoint per epoch cost them 3 % of their time.
    """
    from tqdm.auto import tqdm

    config = config.resolved()
    out = Path(out)
    device = pick_device(config.device)
    d = _Dist(device)
    device = d.device
    ckpt_path = out / "checkpoints" / "last.pt"
    state = None
    if resume:
        check(ckpt_path.exists(), f"--resume: no checkpoint at {ckpt_path}; start the run without --resume")
        state = load_state(ckpt_path)  # a damaged checkpoint: one line naming it
        saved = DistillConfig.from_dict(state["config"])
        check(saved == config, f"--resume: the settings differ from the run in {out}; "
                               f"resume with the same settings or use another --out")
    elif d.main and (out / "student.pt").exists():
        raise ComodoError(f"{out} already holds a finished run; pass another --out or --resume")

    t0 = last_saved = time.time()
    spec, train, classes, x_train, y_train, x_val, y_val, z_train, z_val, student, teacher_info = _prepare(
        config, d, progress)
    n = len(train)
    check(z_train is None or len(z_train) == n,
          f"teacher embeddings: {len(z_train) if z_train is not None else 0} rows for {n} IMU windows")
    rng = np.random.RandomState(config.seed)
    use_queue = config.method == "comodo"
    queue = EmbeddingQueue(config.queue_size, z_train.shape[1]).to(device) if use_queue else None
    held_out = np.zeros(0, dtype=np.int64)
    if use_queue and config.queue_init == "reference":  # queue_size < n: checked in _prepare
        held_out = np.sort(rng.choice(n, config.queue_size, replace=False))
        queue.fill(torch.from_numpy(z_train[held_out]).to(device))

    student.to(device)
    model: nn.Module = student
    if d.world > 1:
        model = nn.parallel.DistributedDataParallel(student, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(student.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                  foreach=ADAMW_FOREACH)
    per_rank = max(2, config.batch_size // d.world)

    def order(epoch: int) -> np.ndarray:
        g = torch.Generator().manual_seed(config.seed * 100003 + epoch)
        idx = torch.randperm(n, generator=g).numpy()
        if epoch == 0 and len(held_out):
            idx = idx[~np.isin(idx, held_out)]  # the queue's clips sit out epoch 0
        if d.world > 1:  # equal shards: wrap around, then every world-th index
            idx = np.concatenate([idx, idx[: (-len(idx)) % d.world]])[d.rank::d.world]
        return idx

    def n_steps(epoch: int) -> int:  # the batches an epoch trains on: a lone leftover window is skipped (below)
        full, left = divmod(len(order(epoch)), per_rank)
        return full + (left >= 2)

    scheduler, total_steps = _schedule(optimizer, n_steps(0), n_steps(1), config)
    start_epoch = 0
    if state is not None:
        student.load_state_dict(state["student"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if queue is not None:
            queue.load_state_dict(state["queue"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:  # dropout on the GPU draws from it
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        start_epoch = int(state["epoch"])

    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", {"config": config.to_dict(), "dataset": str(spec.root),
                                         "layout": spec.layout, "n_train": n, "n_val": len(y_val),
                                         "classes": classes, "teacher": teacher_info,
                                         "total_steps": total_steps, "world_size": d.world})
        log_path = out / "log.jsonl"
        kept = log_path.read_text().splitlines()[:start_epoch] if (resume and log_path.exists()) else []
        with atomic_path(log_path) as tmp:
            tmp.write_text("".join(line + "\n" for line in kept))

    X = torch.from_numpy(x_train)
    Z = torch.from_numpy(np.ascontiguousarray(z_train)) if z_train is not None else None
    label_ids = torch.as_tensor([classes.index(c) for c in y_train])
    for epoch in range(start_epoch, config.num_epochs):
        e0 = time.time()
        model.train()
        idx = order(epoch)
        losses = []
        bar = tqdm(range(0, len(idx), per_rank), desc=f"{config.method} epoch {epoch + 1}/{config.num_epochs}",
                   disable=not (progress and d.main), leave=False, file=sys.stderr)
        for i in bar:
            b = torch.as_tensor(idx[i:i + per_rank])
            if len(b) < 2:  # BatchNorm needs two samples; a lone leftover window waits for the next epoch
                continue
            imu = X[b].to(device)
            supervised = config.method == "supervised"
            pred = model(imu, head="classifier") if supervised else model(imu)  # (b, C) or (b, D)
            target = label_ids[b].to(device) if supervised else Z[b].to(device)  # (b,) ids or (b, D) z_t
            try:  # the losses check their inputs: a non-finite student output means the run diverged
                loss = _loss(config, pred, target, queue)
            except ComodoError:
                _check_finite(pred, config, epoch)
                raise
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if queue is not None:
                queue.enqueue(target)  # after the loss and the step: this batch's teacher rows become keys
            losses.append(loss.detach())  # no per-step .item(): one host read per epoch (a sync on a GPU)
            if progress and d.main:
                bar.set_postfix(loss=f"{losses[-1].item():.3f}")
        val_acc = _validate(student, config, x_val, y_val, z_val, classes, device)
        # the mean of the float32 losses as float64, as np.mean of their .item() values computes it
        mean_loss = float(np.mean(torch.stack(losses).double().cpu().numpy())) if losses else float("nan")
        record = {"epoch": epoch + 1, "loss": mean_loss,
                  "lr": scheduler.get_last_lr()[0], "val_acc": val_acc,
                  "val_metric": "classifier" if config.method == "supervised" else "prototype",
                  "seconds": time.time() - e0}
        if d.main:
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            stopping = stop_after is not None and epoch + 1 >= stop_after
            if stopping or time.time() - last_saved >= checkpoint_every_s:
                _save_checkpoint(ckpt_path, config, epoch + 1, student, optimizer, scheduler, queue, device)
                last_saved = time.time()
            if progress:
                print(f"epoch {epoch + 1}/{config.num_epochs}: loss {record['loss']:.4f}, "
                      f"val {record['val_metric']} acc {val_acc:.3f}", file=sys.stderr, flush=True)
        d.barrier()
        if stop_after is not None and epoch + 1 >= stop_after and epoch + 1 < config.num_epochs:
            return out
    same_queue = _same_on_all_ranks(queue, d)
    if d.main:
        with atomic_path(out / "student.pt") as tmp:
            torch.save({"config": config.to_dict(), "classes": classes, "n_channels": spec.channels,
                        "student": student.state_dict()}, tmp)
        write_json(out / "summary.json", {"config": config.to_dict(), "seconds": time.time() - t0,
                                          "epochs": config.num_epochs, "n_train": n,
                                          "queue_held_out": int(len(held_out)), "world_size": d.world,
                                          "queue_identical_across_ranks": same_queue})
    d.barrier()
    return out


def _loss(config: DistillConfig, pred: torch.Tensor, target: torch.Tensor,
          queue: EmbeddingQueue | None) -> torch.Tensor:
    """The method's loss of one batch: ``pred`` (b, C) class logits against ``target`` (b,) label ids
    (supervised), else (b, D) student embeddings against ``target`` (b, D) teacher embeddings."""
    if config.method == "supervised":
        return supervised_ce(pred, target)
    if config.method == "comodo":
        return comodo_loss(pred, target, queue.keys(), config.student_temp, config.teacher_temp)
    if config.method == "infonce":
        return info_nce(pred, target, config.infonce_temp)
    return l2_distill(pred, target)


def _check_finite(out: torch.Tensor, config, epoch: int) -> None:
    """A student whose outputs are no longer finite has diverged: say so, with the setting to change (read
    only when a loss refused its inputs: no host read per step beyond the losses' own checks)."""
    check(bool(torch.isfinite(out).all()),
          f"{config.method} training diverged in epoch {epoch + 1}: the student's outputs are not finite; "
          f"lower --learning-rate ({config.learning_rate:g})")


@torch.no_grad()
def _validate(student, config, x_val, y_val, z_val, classes, device) -> float:
    """Prototype accuracy (reference): one anchor clip per class — the first of the class in the val
    split — whose teacher embedding is the prototype; or the classifier's accuracy (supervised)."""
    from comodo.evaluation.prototype import prototype_accuracy

    student.eval()
    X = torch.from_numpy(x_val)
    if config.method == "supervised":
        logits = torch.cat([student(X[i:i + 256].to(device), head="classifier").cpu()
                            for i in range(0, len(X), 256)])
        pred = np.array(classes)[logits.argmax(1).numpy()]
        return float((pred == y_val).mean())
    if z_val is None:
        return float("nan")
    z = torch.cat([student(X[i:i + 256].to(device)).cpu() for i in range(0, len(X), 256)]).numpy()
    labels, first = np.unique(y_val, return_index=True)
    return prototype_accuracy(z, y_val, z_val[first], labels)


def _same_on_all_ranks(queue: EmbeddingQueue | None, d: _Dist) -> bool | None:
    """Whether every rank ends with the same queue (checked, not assumed); None without a queue."""
    if queue is None:
        return None
    if d.world == 1:
        return True
    mine = torch.cat([queue.embeddings.flatten().double(), queue.ptr.view(1).double()]).to(d.device)
    everyone = [torch.zeros_like(mine) for _ in range(d.world)]
    dist.all_gather(everyone, mine)
    return all(torch.equal(everyone[0], other) for other in everyone[1:])


def _save_checkpoint(path: Path, config, epoch, student, optimizer, scheduler, queue, device) -> None:
    state = {"config": config.to_dict(), "epoch": epoch, "student": student.state_dict(),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "queue": queue.state_dict() if queue is not None else {}, "torch_rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
