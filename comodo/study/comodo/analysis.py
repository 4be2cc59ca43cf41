"""Numbers behind the teaching and embedding figures, computed from cached runs (no drawing here).

- :func:`tour` — one batch walked through COMODO: its IMU windows and video frames, teacher and student
  embeddings before and after distillation, the queue, and the two similarity distributions.
- :func:`queue_timeline` — which batch occupies each queue slot, step by step (the real
  :class:`~comodo.queue.EmbeddingQueue`).
- :func:`temperature_effect` — one clip's distribution over the keys at several temperatures.
- :func:`embedding_sets` / :func:`umap_coordinates` / :func:`alignment` — teacher and student
  embeddings of a split, a joint UMAP of them (cached), and how well the two modalities line up.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Sequence

import numpy as np
import torch

from comodo.study.comodo import runs
from comodo.io import stable_hash
from comodo.paths import cache_root
from comodo.threads import one_thread
from comodo.train.config import DistillConfig


def _student_embeddings(config: DistillConfig, spec, samples) -> np.ndarray:
    """(N, D) L2-normalised projector outputs of ``config``'s finished student (trained if missing)."""
    from comodo.evaluation.run import load_student
    from comodo.train.data import imu_windows

    student, c = load_student(runs.run(config))  # outside no_grad: the run may have to train first
    x = torch.from_numpy(imu_windows(spec, samples, student.input_length, c.resample))  # (N, C, L)
    with one_thread(), torch.no_grad():
        z = torch.cat([student(x[i:i + 256]) for i in range(0, len(x), 256)])  # (N, D)
    return torch.nn.functional.normalize(z, dim=1).numpy()


def untrained(config: DistillConfig) -> DistillConfig:
    """The same student before any training step (the ``none`` method, same seed: same initial weights)."""
    return dataclasses.replace(config, method="none")


def tour(config: DistillConfig, batch_size: int = 8, seed: int = 0) -> dict:
    """One batch of ``batch_size`` training clips walked through the method, before and after training.

    The queue is the run's reference initialisation (K training clips drawn with the run's seed, as
    :func:`comodo.train.loop.distill` draws them); the batch is ``batch_size`` other training clips.

    Returns:
        ``frames`` (B, H, W, 3) uint8 middle video frames, ``imu`` (B, C, L) windows (m/s², rad/s),
        ``imu_rate`` (Hz of the windows), ``labels`` (B,), ``z_video`` (B, D) teacher embeddings,
        ``z_before`` / ``z_after`` (B, D) student embeddings, ``queue`` (K, D), ``key_labels`` (K+B,),
        ``p_teacher``, ``p_before``, ``p_after`` (B, K+B) distributions over keys = cat(queue, z_video),
        ``cos_before`` / ``cos_after`` (B, B) student·teacher cosines, ``cos_teacher`` (B, B),
        ``student_temp``, ``teacher_temp``.
    """
    from comodo.cache import teacher_embeddings
    from comodo.data import load_split, read_imu
    from comodo.encoders.video import clip_frames
    from comodo.losses import similarity_distributions
    from comodo.train.data import spec_of, teacher_of

    c = runs.canonical(config)
    spec = spec_of(c)
    train = load_split(spec, "train")
    n = len(train)
    z_train = np.asarray(teacher_embeddings(teacher_of(c), train, progress=False, dataset_root=spec.root))  # (N, D)
    held = np.sort(np.random.RandomState(c.seed).choice(n, c.queue_size, replace=False))  # as distill()
    rest = np.setdiff1d(np.arange(n), held)
    pick = np.sort(np.random.default_rng(seed).choice(rest, min(batch_size, len(rest)), replace=False))
    batch = [train[i] for i in pick]
    z_video = z_train[pick]  # (B, D)
    queue = z_train[held]  # (K, D)
    z_before = _student_embeddings(untrained(c), spec, batch)  # (B, D)
    z_after = _student_embeddings(c, spec, batch)  # (B, D)
    out: dict = {}
    for name, z in (("before", z_before), ("after", z_after)):
        p_t, p_s = similarity_distributions(torch.from_numpy(z), torch.from_numpy(z_video), torch.from_numpy(queue),
                                            c.student_temp, c.teacher_temp)  # (B, K+B) each
        out["p_teacher"], out[f"p_{name}"] = p_t.numpy(), p_s.numpy()
        out[f"cos_{name}"] = z @ z_video.T  # (B, B)
    frames = np.stack([clip_frames(s.video_path, s.start_s, s.end_s, 3)[1] for s in batch])  # (B, H, W, 3)
    imu = np.stack([read_imu(spec, s) for s in batch])  # (B, C, T)
    labels = np.array([s.label for s in batch])
    key_labels = np.concatenate([np.array([train[i].label for i in held]), labels])  # (K+B,)
    return {**out, "frames": frames, "imu": imu, "imu_rate": float(spec.imu_rate), "labels": labels,
            "z_video": z_video, "z_before": z_before, "z_after": z_after, "queue": queue,
            "key_labels": key_labels, "cos_teacher": z_video @ z_video.T,
            "student_temp": c.student_temp, "teacher_temp": c.teacher_temp, "dataset": c.dataset}


def tour_summary(t: dict) -> dict:
    """The numbers of a :func:`tour`: per stage, the batch's mean COMODO loss (cross-entropy of the
    student's distribution to the teacher's), the mean cosine of a clip's student and teacher
    embeddings (diagonal) and to the other clips' teacher embeddings (off-diagonal)."""
    b = len(t["labels"])
    off = ~np.eye(b, dtype=bool)
    out: dict = {"batch_labels": [str(x) for x in t["labels"]], "queue_size": int(t["queue"].shape[0]),
                 "student_temp": t["student_temp"], "teacher_temp": t["teacher_temp"]}
    for stage in ("before", "after"):
        ce = -(t["p_teacher"] * np.log(np.clip(t[f"p_{stage}"], 1e-30, None))).sum(1)  # (B,)
        out[stage] = {"loss": float(ce.mean()), "paired_cosine": float(np.mean(np.diag(t[f"cos_{stage}"]))),
                      "unpaired_cosine": float(t[f"cos_{stage}"][off].mean()) if b > 1 else float("nan")}
    out["teacher_entropy"] = float(-(t["p_teacher"] * np.log(np.clip(t["p_teacher"], 1e-30, None))).sum(1).mean())
    return out


def queue_timeline(size: int, batch_size: int, steps: int) -> np.ndarray:
    """Which batch fills each slot of an initially empty queue of ``size`` after each step.

    Runs the real :class:`comodo.queue.EmbeddingQueue` with one-dimensional "embeddings" that hold the
    step number. Returns (steps + 1, size) ints: row s is the queue after s steps, oldest first, −1 =
    empty.
    """
    from comodo.queue import EmbeddingQueue

    q = EmbeddingQueue(size, 1)
    rows = []
    for step in range(steps + 1):
        rows.append(np.full(size, -1, dtype=np.int64))
        ordered = q.ordered()[:, 0].numpy().astype(np.int64)  # (C,)
        rows[-1][:len(ordered)] = ordered
        q.enqueue(torch.full((batch_size, 1), float(step + 1)))
    return np.stack(rows)


def temperature_effect(t: dict, temperatures: Sequence[float], anchor: int = 0) -> dict:
    """Clip ``anchor`` of a :func:`tour`: the teacher's distribution over its keys at each temperature.

    Returns ``temperatures`` (T,), ``probs`` (T, K+B) with keys sorted by similarity to the anchor
    (most similar first), ``similarity`` (K+B,) sorted, ``entropy`` (T,) in nats, ``max_entropy``
    (log(K+B)), and ``same_label`` / ``own`` (K+B,) booleans in the same order (a key of the anchor's
    class / the anchor's own teacher embedding).
    """
    from comodo.losses import similarity_distributions

    z = torch.from_numpy(t["z_video"])  # (B, D)
    queue = torch.from_numpy(t["queue"])  # (K, D)
    keys = np.concatenate([t["queue"], t["z_video"]])  # (K+B, D)
    sim = keys @ t["z_video"][anchor]  # (K+B,)
    order = np.argsort(-sim, kind="stable")
    probs = []
    for tau in temperatures:
        p, _ = similarity_distributions(z, z, queue, float(tau), float(tau))  # (B, K+B)
        probs.append(p[anchor].numpy()[order])
    probs = np.stack(probs)  # (T, K+B)
    entropy = -(probs * np.log(np.clip(probs, 1e-30, None))).sum(1)  # (T,)
    return {"temperatures": np.asarray(temperatures, dtype=float), "probs": probs, "similarity": sim[order],
            "entropy": entropy, "max_entropy": float(np.log(len(sim))),
            "same_label": t["key_labels"][order] == t["labels"][anchor],
            "own": order == len(t["queue"]) + anchor}


def embedding_sets(config: DistillConfig, split: str = "test") -> dict:
    """Teacher and student embeddings of one split, before and after distillation.

    Returns ``labels`` (N,), ``z_video`` (N, D) teacher embeddings, ``z_before`` / ``z_after`` (N, D)
    student projector outputs (L2-normalised) of the untrained and the distilled student, and the
    train split's ``z_video_train`` (M, D) with ``labels_train`` (M,) as the cross-modal kNN database.
    """
    from comodo.cache import teacher_embeddings
    from comodo.data import load_split
    from comodo.train.data import spec_of, teacher_of

    c = runs.canonical(config)
    spec = spec_of(c)
    samples, train = load_split(spec, split), load_split(spec, "train")
    teacher = teacher_of(c)
    return {"labels": np.array([s.label for s in samples]),
            "z_video": np.asarray(teacher_embeddings(teacher, samples, progress=False, dataset_root=spec.root)),
            "z_before": _student_embeddings(untrained(c), spec, samples),
            "z_after": _student_embeddings(c, spec, samples),
            "labels_train": np.array([s.label for s in train]),
            "z_video_train": np.asarray(teacher_embeddings(teacher, train, progress=False, dataset_root=spec.root)),
            "dataset": c.dataset, "split": split}


def umap_coordinates(sets: dict, n_neighbors: int = 15, min_dist: float = 0.3, seed: int = 0) -> dict:
    """Two UMAPs (cosine metric) of the teacher, untrained-student and distilled-student embeddings.

    ``joint``: one UMAP fitted on all three sets at once (the teacher's points sit at the same place
    in the before and after panels; a gap between the modalities stays visible). ``placed``: a UMAP
    fitted on the teacher's embeddings only, with the student embeddings placed into that map by
    ``UMAP.transform`` (i.e. next to their nearest video embeddings). Both are cached under
    ``<cache>/analysis`` by a hash of the inputs.

    Returns ``{"joint": {...}, "placed": {...}}``, each with ``video``, ``before``, ``after`` (N, 2).
    """
    names = ("z_video", "z_before", "z_after")
    x = np.concatenate([np.asarray(sets[k], dtype=np.float32) for k in names])  # (3N, D)
    n = len(sets["z_video"])
    key = stable_hash({"x": hashlib.sha256(x.tobytes()).hexdigest(), "shape": list(x.shape), "n_neighbors": n_neighbors,
                       "min_dist": min_dist, "seed": seed, "version": 2})
    path = cache_root() / "analysis" / f"umap-{key}.npz"
    if path.exists():
        with np.load(path) as f:
            joint, placed = f["joint"], f["placed"]
    else:
        from comodo.io import atomic_path
        from comodo.study.comodo.umap_fit import fit

        joint, placed = fit(x, n, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, joint=joint, placed=placed)

    def split(e: np.ndarray) -> dict:
        return {"video": e[:n], "before": e[n:2 * n], "after": e[2 * n:]}

    return {"joint": split(joint), "placed": split(placed)}


def alignment(sets: dict, k: int = 5) -> dict:
    """How well IMU and video embeddings line up, before and after distillation.

    Per stage (``before``, ``after``):
        ``paired_cosine`` — mean cosine between a clip's student and teacher embeddings;
        ``unpaired_cosine`` — mean cosine between a student embedding and the teacher embeddings of
        the *other* clips (the baseline the paired value should beat);
        ``retrieval_at_1`` — fraction of clips whose own teacher embedding is the nearest among the
        split's teacher embeddings (IMU → video retrieval; chance = 1/N);
        ``cross_modal_knn`` — fraction of clips whose k nearest *teacher* embeddings of the train
        split carry, by majority, the clip's label (a student embedding read by the teacher's
        neighbourhoods; no classifier is trained);
        ``neighbour_overlap`` — mean fraction of a clip's k nearest neighbours in student space that
        are also among its k nearest neighbours in teacher space (same split).
    """
    zv = np.asarray(sets["z_video"], dtype=np.float64)  # (N, D)
    zt = np.asarray(sets["z_video_train"], dtype=np.float64)  # (M, D)
    y, y_train = np.asarray(sets["labels"]), np.asarray(sets["labels_train"])
    n = len(zv)
    k = max(1, min(k, n - 1, len(zt)))
    off = ~np.eye(n, dtype=bool)
    nn_video = _knn(zv @ zv.T, k)  # (N, k)
    out = {}
    for stage in ("before", "after"):
        zs = np.asarray(sets[f"z_{stage}"], dtype=np.float64)  # (N, D)
        cos = zs @ zv.T  # (N, N)
        knn = np.argsort(-(zs @ zt.T), axis=1, kind="stable")[:, :k]  # (N, k)
        votes = [_majority(y_train[row]) for row in knn]
        nn_student = _knn(zs @ zs.T, k)  # (N, k)
        overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(nn_student, nn_video)])
        out[stage] = {"paired_cosine": float(np.mean(np.diag(cos))),
                      "unpaired_cosine": float(cos[off].mean()),
                      "retrieval_at_1": float(np.mean(np.argmax(cos, axis=1) == np.arange(n))),
                      "cross_modal_knn": float(np.mean(np.array(votes) == y)),
                      "neighbour_overlap": float(overlap)}
    out["k"] = k
    out["chance_retrieval"] = 1.0 / n
    out["chance_knn"] = 1.0 / len(np.unique(y_train))
    return out


def _knn(sim: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each row's k most similar other rows of a square similarity matrix (N, N)."""
    s = sim.copy()
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def _majority(labels: np.ndarray):
    """The most frequent label; ties go to the nearest neighbour's label among the tied ones."""
    values, counts = np.unique(labels, return_counts=True)
    best = values[counts == counts.max()]
    return next(lab for lab in labels if lab in best)
