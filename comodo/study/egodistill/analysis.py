"""EgoDistill's walk-through (notebook 09) and what the IMU adds (notebook 12, the paper's Figs. 4–6).

Computing only; the figures are :mod:`comodo.study.egodistill.tour_plots`'. Two kinds of functions:

- loaders, thin, reading a cached run (:mod:`comodo.study.egodistill.runs`) and the caches it wrote:
  :func:`run_arrays` (everything of one run's test clips: z_Φ, z_V, logits, frame features, IMU,
  which frame the student saw) and :func:`tour` (one clip end to end, and one batch's losses);
- pure functions on arrays, tested on hand-made ones: per-clip reconstruction (:func:`reconstruction`),
  head-motion magnitude (:func:`head_motion`), reconstruction error against motion
  (:func:`motion_bins`), per-class gain (:func:`class_gain`), best/worst clips (:func:`extremes_index`),
  nearest neighbours by cosine (:func:`nearest`) and the donors of IMU segments (:func:`donors`).

Units: accelerometer m/s², gyroscope rad/s, the IMU the student sees resampled to
``imu_length`` samples over ``clip_s`` seconds (422 over 2 s: 211 Hz), each channel mean-subtracted
within the clip; head motion is measured on the IMU *before* that subtraction (a constant turn of the
head is a constant gyro reading, which the subtraction removes).
"""

from __future__ import annotations

import functools
import json
from typing import Sequence

import numpy as np
import torch

from comodo.egodistill.config import EgoDistillConfig
from comodo.errors import check
from comodo.threads import one_thread

VARIANTS = ("egodistill", "visonly_distill")  # what the IMU adds: EgoDistill against the same student without it
ACCEL, GYRO = slice(0, 3), slice(3, 6)  # channel rows: accel xyz (m/s²), gyro xyz (rad/s)


# ------------------------------------------------------------------------------------------ runs
def single_threaded(fn):
    """``fn`` under :func:`comodo.threads.one_thread`, as the runs are trained and evaluated: the caches
    they wrote are keyed by the thread count, and the bits of every number do not depend on the machine."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_thread():
            return fn(*args, **kwargs)

    return wrapper


def imu_configs(s) -> list[EgoDistillConfig]:
    """The claims' runs (N = 1) of EgoDistill and VisOnly-Distill: every domain and seed of ``s``
    (:func:`comodo.study.egodistill.experiments.claim_configs`, VisIMU left out)."""
    from comodo.study.egodistill.experiments import claim_configs

    return [c for c in claim_configs(s) if c.variant in VARIANTS]


def resolved_configs(configs: Sequence[EgoDistillConfig]) -> list[dict]:
    """Each run's resolved config, for a notebook's JSON."""
    return [c.resolved().to_dict() for c in configs]


def pick(configs: Sequence[EgoDistillConfig], items: Sequence, variant: str, dataset: str, seed: int):
    """The item of ``items`` (one per config) whose config is ``variant`` on ``dataset`` with ``seed``."""
    hits = [x for c, x in zip(configs, items) if c.variant == variant and c.dataset == dataset and c.seed == seed]
    check(len(hits) == 1, f"run {variant} {dataset} seed {seed}: expected one among the configs, found {len(hits)}")
    return hits[0]


@functools.lru_cache(maxsize=4)
def _models(key: tuple):
    """The frozen Ω and f_I of a run's data (the same for every variant and seed: loaded once)."""
    from comodo.egodistill.data import load_models

    return load_models(EgoDistillConfig.from_dict(json.loads(key[1])), "cpu")


def models(config: EgoDistillConfig):
    """``(teacher, image_encoder)`` of ``config``'s run, loaded once per dataset and cache root."""
    from comodo.paths import cache_root

    c = config.resolved()
    shared = {k: getattr(c, k) for k in ("dataset", "dataset_path", "layout", "world_size", "world_seed", "clip_s",
                                          "teacher", "image_ckpt")}
    return _models((str(cache_root()), json.dumps(shared, sort_keys=True)))


def raw_clip_imu(spec, clip, length: int) -> np.ndarray:
    """The clip's IMU as :func:`comodo.egodistill.clips.clip_imu` reads it, *without* the mean removed:
    ``(C, length)`` float32, m/s² and rad/s."""
    from comodo.data import read_imu, resample

    x = read_imu(spec, clip)  # (C, W), or (C, T) of a whole recording
    W = spec.window_samples
    if x.shape[1] != W:
        lo = int(round(clip.start_s * spec.imu_rate))
        check(lo + W <= x.shape[1], f"IMU {clip.imu_path}: clip {clip.window} needs samples [{lo}, {lo + W})")
        x = x[:, lo:lo + W]  # (C, W)
    return resample(x, length).astype(np.float32)  # (C, length)


def student_frame_indices(config: EgoDistillConfig, clips: Sequence) -> np.ndarray:
    """(n, N) video frame indices of the frames the student sees of each clip, as the frame cache picks
    them (:func:`comodo.egodistill.frame_cache.select`: one generator over the clips in order)."""
    from comodo.data import probe_video
    from comodo.egodistill.clips import clip_frames_range, select_frames

    rng = np.random.default_rng(config.seed)
    infos: dict = {}
    rows = []
    for c in clips:
        if c.video_path not in infos:
            infos[c.video_path] = probe_video(c.video_path)  # each video probed once
        info = infos[c.video_path]
        first, stop = clip_frames_range(c, info.fps, info.n_frames)
        rows.append(first + select_frames(stop - first, config.frames, config.frame_selection, rng))
    return np.stack(rows).astype(np.int64)  # (n, N)


@single_threaded
def run_arrays(config: EgoDistillConfig, split: str = "test") -> dict:
    """Everything the figures read of one run's clips of ``split`` (the run trained first if not cached).

    Returns:
        ``config`` (resolved), ``variant``, ``classes`` (K,), ``clips`` (the :class:`~comodo.data.Sample` s),
        ``labels`` (n,) str, ``y`` (n,) class indices, ``video`` (n,) video index, ``uids`` (n,),
        ``frames`` (n, N, D_I) f_I features of the frames seen, ``frame_index`` (n, N) their video frame
        numbers, ``imu`` (n, C, L) mean-subtracted (what f_M reads, even for a student without f_M),
        ``imu_raw`` (n, C, L) before the subtraction, ``imu_rate`` (Hz of both), ``z_student`` (n, D_V) z_Φ,
        ``student_logits`` (n, K), ``z_video`` (n, D_V) z_V, ``teacher_logits`` (n, K) in class order,
        and ``student`` (the module, eval mode).
    """
    from comodo.egodistill.clips import clip_imus, clip_spec
    from comodo.egodistill.data import clip_set, spec_of, split_clips
    from comodo.egodistill.train import load_student
    from comodo.study.egodistill import runs

    student, c, classes = load_student(runs.run(config))
    spec = spec_of(c)
    teacher, image = models(c)
    clips = split_clips(c, spec, (split,))[split]
    cs = clip_set(c, spec, split, clips, classes, teacher, image)  # from the caches the run's evaluation wrote
    cspec = clip_spec(spec, c.clip_s)
    imu = cs.imu if cs.imu is not None else clip_imus(cspec, clips, c.imu_length)  # (n, C, L)
    raw = np.stack([raw_clip_imu(cspec, x, c.imu_length) for x in clips])  # (n, C, L)
    with torch.no_grad():
        z, logits = student(torch.from_numpy(cs.frames), torch.from_numpy(imu) if student.use_imu else None)
    return {"config": c, "variant": c.variant, "classes": list(classes), "clips": list(clips),
            "labels": np.array([x.label for x in clips]), "y": cs.y, "video": cs.video,
            "uids": [f"{x.uid}#{x.window}" for x in clips], "frames": cs.frames,
            "frame_index": student_frame_indices(c, clips), "imu": imu, "imu_raw": raw,
            "imu_rate": c.imu_length / c.clip_s, "z_student": z.numpy(), "student_logits": logits.numpy(),
            "z_video": cs.z_video, "teacher_logits": cs.teacher_logits, "student": student}


def load_runs(configs: Sequence[EgoDistillConfig], split: str = "test") -> list[dict]:
    """:func:`run_arrays` of every config, in order."""
    return [run_arrays(c, split) for c in configs]


def frame_images(clips: Sequence, frame_index: np.ndarray, which: Sequence[int]) -> np.ndarray:
    """(len(which), H, W, 3) uint8: the first frame the student sees of each clip in ``which``."""
    from comodo.data import read_frames

    return np.stack([read_frames(clips[i].video_path, [int(frame_index[i, 0])])[0] for i in which])


# ------------------------------------------------------------------------------------ pure functions
def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) cosine of each row of ``a`` (n, D) with the same row of ``b`` (n, D)."""
    num = (a * b).sum(-1)
    return num / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)


def reconstruction(z_student: np.ndarray, z_video: np.ndarray) -> dict:
    """Per clip: ``l1`` (n,) mean |z_V − z_Φ| over the dimensions (the L_1 of training) and ``cosine`` (n,)."""
    check(z_student.shape == z_video.shape and z_student.ndim == 2,
          f"reconstruction: z_student {z_student.shape} and z_video {z_video.shape}: expected equal (n, D)")
    return {"l1": np.abs(z_video - z_student).mean(1), "cosine": cosine_rows(z_student, z_video)}


def head_motion(imu_raw: np.ndarray) -> dict:
    """Head-motion magnitude of IMU clips (C ≥ 6 rows: accel xyz in m/s², gyro xyz in rad/s).

    Args:
        imu_raw: (C, L) or (n, C, L), *before* the mean subtraction.

    Returns:
        ``gyro`` (n,) rad/s: the mean over time of |ω(t)| (how fast the head turns);
        ``accel`` (n,) m/s²: the mean over time of |a(t) − ā| (how much the specific force, gravity
        included, changes about its clip mean: shakes, steps and tilts). Scalars for a (C, L) input.
    """
    x = np.asarray(imu_raw, dtype=np.float64)
    check(x.ndim in (2, 3) and x.shape[-2] >= 6,
          f"head_motion: expected (C ≥ 6, L) or (n, C ≥ 6, L), got {x.shape}")
    acc, gyr = x[..., ACCEL, :], x[..., GYRO, :]  # (..., 3, L)
    gyro = np.linalg.norm(gyr, axis=-2).mean(-1)  # (...,)
    accel = np.linalg.norm(acc - acc.mean(-1, keepdims=True), axis=-2).mean(-1)  # (...,)
    return {"gyro": gyro, "accel": accel}


def quantile_bins(x: np.ndarray, bins: int) -> np.ndarray:
    """(n,) bin index 0 … bins-1 of each value by rank, equal counts (± 1); ties broken by position."""
    n = len(x)
    check(bins >= 1 and n >= bins, f"quantile bins: {bins} bins of {n} values: expected 1 ≤ bins ≤ n")
    rank = np.empty(n, np.int64)
    rank[np.argsort(x, kind="stable")] = np.arange(n)
    return rank * bins // n


def rank_correlation(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's ρ of ``x`` and ``y`` (n,) and its two-sided p; NaN for fewer than 3 values or a constant one."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    rho, p = spearmanr(x, y)
    return float(rho), float(p)


def motion_bins(motion: np.ndarray, error: np.ndarray, bins: int = 5) -> dict:
    """Reconstruction error against head motion: ``bins`` equal-count bins by motion, and a rank correlation.

    Returns:
        ``bin_motion`` / ``bin_error`` / ``bin_sem`` (bins,): each bin's mean motion, mean error and its
        standard error; ``counts`` (bins,); ``spearman`` ρ and ``p`` (two-sided) over all clips;
        ``best_bin`` (the bin of least mean error) and ``moderate_best``: True when that bin is neither
        the lowest- nor the highest-motion one (the paper's reading; needs bins ≥ 3); ``interior_gap``:
        the lesser end bin's mean error minus the least interior bin's (> 0: a moderate bin beats both
        ends) and ``interior_gap_sem``, the two bins' standard errors combined (NaN for bins < 3).
    """
    motion, error = np.asarray(motion, float), np.asarray(error, float)
    check(motion.shape == error.shape and motion.ndim == 1, f"motion_bins: motion {motion.shape}, error "
                                                            f"{error.shape}: expected equal (n,)")
    b = quantile_bins(motion, bins)
    counts = np.bincount(b, minlength=bins)
    mean = lambda v: np.array([v[b == k].mean() for k in range(bins)])  # noqa: E731
    sem = np.array([error[b == k].std(ddof=1) / np.sqrt(counts[k]) if counts[k] > 1 else 0.0 for k in range(bins)])
    rho, p = rank_correlation(motion, error)
    bin_error = mean(error)
    best = int(np.argmin(bin_error))
    gap = gap_sem = float("nan")
    if bins >= 3:
        end = 0 if bin_error[0] <= bin_error[-1] else bins - 1
        inner = 1 + int(np.argmin(bin_error[1:-1]))
        gap = float(bin_error[end] - bin_error[inner])
        gap_sem = float(np.hypot(sem[end], sem[inner]))
    return {"bins": bins, "counts": counts.tolist(), "bin_motion": mean(motion).tolist(),
            "bin_error": bin_error.tolist(), "bin_sem": sem.tolist(), "spearman": rho, "p": p, "best_bin": best,
            "moderate_best": bool(bins >= 3 and 0 < best < bins - 1), "interior_gap": gap,
            "interior_gap_sem": gap_sem}


def class_gain(ours: Sequence[dict], base: Sequence[dict]) -> list[dict]:
    """Per-class gain of ``ours`` over ``base``, one ``per_class`` dict per seed for each
    (``{label: {"video_top1": a, "videos": v}}``, :func:`comodo.egodistill.evaluate.scores`).

    Returns:
        rows ``{"class", "ours", "base", "gain" (points), "videos"}`` for the classes present in every
        seed of both, the accuracies averaged over seeds, sorted by gain (largest first, then by name).
    """
    check(len(ours) > 0 and len(base) > 0, "class_gain: expected at least one seed of each")
    classes = sorted(set.intersection(*(set(p) for p in [*ours, *base])))
    rows = []
    for k in classes:
        a = float(np.mean([p[k]["video_top1"] for p in ours]))
        b = float(np.mean([p[k]["video_top1"] for p in base]))
        rows.append({"class": k, "ours": a, "base": b, "gain": 100 * (a - b), "videos": int(ours[0][k]["videos"])})
    return sorted(rows, key=lambda r: (-r["gain"], r["class"]))


def extremes_index(error: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(best, worst)``: the ``k`` clips of least error (least first) and of most error (most first)."""
    order = np.argsort(np.asarray(error), kind="stable")
    k = min(k, len(order))
    return order[:k], order[::-1][:k]


def nearest(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """(Q,) the row of ``database`` (M, D) of greatest cosine with each row of ``queries`` (Q, D)
    (the lowest index on ties)."""
    q = queries / (np.linalg.norm(queries, axis=1, keepdims=True) + 1e-12)
    d = database / (np.linalg.norm(database, axis=1, keepdims=True) + 1e-12)
    return np.argmax(q @ d.T, axis=1)  # (Q, M) -> (Q,)


def donors(labels: np.ndarray, video: np.ndarray, query: int, n: int, seed: int = 0) -> np.ndarray:
    """(≤ n,) clips whose IMU is paired with clip ``query``'s frame: from other videos, drawn in a
    random order of ``seed``, one per label first (labels other than the query's before its own), then
    any other clips of other videos to fill ``n``."""
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[video[order] != video[query]]
    picked: list[int] = []
    seen = set()
    for own_label_pass in (False, True):
        for i in order:
            if len(picked) < n and labels[i] not in seen and (labels[i] == labels[query]) == own_label_pass:
                picked.append(int(i))
                seen.add(labels[i])
    picked += [int(i) for i in order if i not in picked][:n - len(picked)]
    return np.array(picked, dtype=np.int64)


# ------------------------------------------------------------------------------- notebook 12: IMU
def per_class_gains(configs: Sequence[EgoDistillConfig], results: Sequence[dict]) -> dict:
    """``{domain: class_gain rows}`` of EgoDistill over VisOnly-Distill, per-video top-1 per class
    (``results[i]["student"]["per_class"]``) averaged over the seeds of ``configs``."""
    out = {}
    for d in dict.fromkeys(c.dataset for c in configs):
        per = {v: [r["student"]["per_class"] for c, r in zip(configs, results) if c.dataset == d and c.variant == v]
               for v in VARIANTS}
        out[d] = class_gain(per["egodistill"], per["visonly_distill"])
    return out


def motion_study(configs: Sequence[EgoDistillConfig], arrays: Sequence[dict], bins: int = 5) -> dict:
    """Reconstruction error against head motion over every test clip of each domain.

    Per domain: ``gyro`` / ``accel`` (n,) head motion (:func:`head_motion`), ``labels`` (n,), ``error``
    ``{variant: (n,)}`` per-clip L1 averaged over seeds, ``cosine`` likewise, and ``summary``:
    per variant :func:`motion_bins` by gyro and the Spearman ρ against accel; the clip count.
    """
    out = {}
    for d in dict.fromkeys(c.dataset for c in configs):
        mine = [(c, a) for c, a in zip(configs, arrays) if c.dataset == d]
        uids = mine[0][1]["uids"]
        check(all(a["uids"] == uids for _, a in mine), f"{d}: the runs' test clips differ")
        m = head_motion(mine[0][1]["imu_raw"])
        err, cos, summary = {}, {}, {"n_clips": len(uids), "bins": bins}
        for v in VARIANTS:
            recs = [reconstruction(a["z_student"], a["z_video"]) for c, a in mine if c.variant == v]
            err[v] = np.mean([r["l1"] for r in recs], axis=0)
            cos[v] = np.mean([r["cosine"] for r in recs], axis=0)
            summary[v] = {"by_gyro": motion_bins(m["gyro"], err[v], min(bins, len(uids))),
                          "spearman_accel": rank_correlation(m["accel"], err[v])[0],
                          "mean_l1": float(err[v].mean()), "mean_cosine": float(cos[v].mean()), "seeds": len(recs)}
        summary["gyro_rad_s"] = {"min": float(m["gyro"].min()), "median": float(np.median(m["gyro"])),
                                 "max": float(m["gyro"].max())}
        summary["accel_m_s2"] = {"min": float(m["accel"].min()), "median": float(np.median(m["accel"])),
                                 "max": float(m["accel"].max())}
        out[d] = {"gyro": m["gyro"], "accel": m["accel"], "labels": mine[0][1]["labels"], "error": err, "cosine": cos,
                  "summary": summary}
    return out


def motion_numbers(study: dict) -> dict:
    """The JSON part of :func:`motion_study`: each domain's summary."""
    return {d: m["summary"] for d, m in study.items()}


def motion_reading(study: dict) -> str:
    """One line per domain: does EgoDistill reconstruct clips of moderate head motion best?"""
    lines = []
    for d, m in study.items():
        s = m["summary"]["egodistill"]["by_gyro"]
        verdict = "holds" if s["moderate_best"] else "does not hold"
        lines.append(f"{d}: least L1 in gyro bin {s['best_bin'] + 1} of {s['bins']} (1 = least motion) — the "
                     f"reading {verdict}; best moderate bin below the better end bin by "
                     f"{s['interior_gap']:+.3f} ± {s['interior_gap_sem']:.3f}; Spearman ρ(gyro, L1) = "
                     f"{s['spearman']:+.2f} (p = {s['p']:.2g}), n = {m['summary']['n_clips']} clips")
    return "\n".join(lines)


def extremes(a: dict, k: int = 4) -> dict:
    """The ``k`` best and worst reconstructed test clips of one run (by per-clip L1 to z_V).

    Returns per side (``best``, ``worst``): ``index`` (k,), ``images`` (k, H, W, 3) the student's frame,
    ``imu`` (k, C, L) mean-subtracted, ``labels``, ``uids``, ``l1``, ``cosine``, ``gyro`` (rad/s),
    ``accel`` (m/s²); plus ``imu_rate``, ``variant`` and ``dataset``.
    """
    rec = reconstruction(a["z_student"], a["z_video"])
    motion = head_motion(a["imu_raw"])
    out: dict = {"imu_rate": a["imu_rate"], "variant": a["variant"], "dataset": a["config"].dataset}
    for side, idx in zip(("best", "worst"), extremes_index(rec["l1"], k)):
        out[side] = {"index": idx, "images": frame_images(a["clips"], a["frame_index"], idx), "imu": a["imu"][idx],
                     "labels": a["labels"][idx], "uids": [a["uids"][i] for i in idx], "l1": rec["l1"][idx],
                     "cosine": rec["cosine"][idx], "gyro": motion["gyro"][idx], "accel": motion["accel"][idx]}
    return out


def extremes_numbers(e: dict) -> dict:
    """The JSON part of :func:`extremes`."""
    return {side: {"uids": e[side]["uids"], "labels": [str(x) for x in e[side]["labels"]],
                   **{k: [float(x) for x in e[side][k]] for k in ("l1", "cosine", "gyro", "accel")}}
            for side in ("best", "worst")}


@single_threaded
@torch.no_grad()
def swapped_features(student, frames: np.ndarray, imus: np.ndarray) -> np.ndarray:
    """z_Φ of one clip's frame features ``frames`` (N, D_I) paired with each IMU of ``imus`` (S, C, L):
    (S, D_V). A student without f_M ignores the IMU (every row the same)."""
    f = torch.from_numpy(np.ascontiguousarray(frames))[None].expand(len(imus), *frames.shape)  # (S, N, D_I)
    z, _ = student(f, torch.from_numpy(np.ascontiguousarray(imus)) if student.use_imu else None)
    return z.numpy()  # (S, D_V)


def retrieve(ego: dict, vis: dict, query: int, n_segments: int = 5, seed: int = 0) -> dict:
    """Clip ``query``'s frame with its own IMU and the IMU of :func:`donors`: ``segments`` (S,) the IMU's
    clips (the query first) and, per variant, the test clip (S,) nearest to each z_Φ by cosine among the
    teacher's features z_V (``ego["z_video"]``). ``ego``/``vis``: :func:`run_arrays` of the two runs (or
    dicts with ``labels``, ``video``, ``imu``, ``frames``, ``z_video`` and ``student``)."""
    segments = np.concatenate([[query], donors(ego["labels"], ego["video"], query, n_segments, seed)])  # (S,)
    database = ego["z_video"]  # (n, D_V): the teacher's features of the test clips
    out = {"query": int(query), "segments": segments}
    for name, a in (("egodistill", ego), ("visonly_distill", vis)):
        out[name] = nearest(swapped_features(a["student"], a["frames"][query], ego["imu"][segments]), database)
    return out


def retrieval(ego: dict, vis: dict, query: int = 0, n_segments: int = 5, seed: int = 0) -> dict:
    """The paper's Fig. 6 on the test clips: one query frame with several IMU segments.

    The query clip's frame features go through each student with the query's own IMU and with the IMU
    of ``n_segments`` donor clips (:func:`donors`); each z_Φ retrieves its nearest test clip by cosine
    among the **teacher's** features z_V of the test clips (the space the student learns to reconstruct:
    "which clip's video does this look like"). VisOnly-Distill ignores the IMU, so it retrieves one clip.

    Returns:
        ``query``, ``segments`` (S,) the IMU's clips (the query's own first), per variant the retrieved
        clips (S,) and ``distinct`` counts, labels of each, the images (query frame, retrieved frames per
        variant), the segments' IMU (S, C, L), ``imu_rate``, and ``summary``: over every test clip as the
        query, the mean number of distinct clips retrieved and the fraction of donor segments whose
        retrieved clip has the donor's label (the IMU steered the verb) or the query's.
    """
    check(ego["uids"] == vis["uids"], "retrieval: the two runs' test clips differ")
    check(0 <= query < len(ego["uids"]), f"retrieval query {query}: expected a test clip 0 … {len(ego['uids']) - 1}")
    r = retrieve(ego, vis, query, n_segments, seed)
    labels = ego["labels"]
    out = {"query": r["query"], "query_label": str(labels[query]), "query_uid": ego["uids"][query],
           "segments": r["segments"], "segment_labels": labels[r["segments"]], "imu": ego["imu"][r["segments"]],
           "imu_rate": ego["imu_rate"], "dataset": ego["config"].dataset,
           "query_image": frame_images(ego["clips"], ego["frame_index"], [query])[0]}
    for name in VARIANTS:
        out[name] = {"retrieved": r[name], "labels": labels[r[name]], "distinct": int(len(set(r[name].tolist()))),
                     "images": frame_images(ego["clips"], ego["frame_index"], r[name])}
    out["summary"] = retrieval_summary(ego, vis, n_segments, seed)
    return out


def retrieval_summary(ego: dict, vis: dict, n_segments: int = 5, seed: int = 0) -> dict:
    """Over every test clip as the query (see :func:`retrieval`): per variant the mean number of distinct
    clips retrieved among the S = 1 + ``n_segments`` segments, and over the donor segments the fraction
    whose retrieved clip carries the donor's label, or the query's; ``chance_donor_label``: that fraction
    for a test clip drawn at random."""
    labels = ego["labels"]
    stats = {v: {"distinct": [], "donor_label": [], "query_label": []} for v in VARIANTS}
    chance = []
    for q in range(len(labels)):
        r = retrieve(ego, vis, q, n_segments, seed)
        chance += [float((labels == labels[i]).mean()) for i in r["segments"][1:]]
        for v in VARIANTS:
            got = labels[r[v][1:]]
            stats[v]["distinct"].append(len(set(r[v].tolist())))
            stats[v]["donor_label"] += (got == labels[r["segments"][1:]]).tolist()
            stats[v]["query_label"] += (got == labels[q]).tolist()
    return {"queries": len(labels), "segments": 1 + n_segments, "chance_donor_label": float(np.mean(chance)),
            **{v: {k: float(np.mean(x)) for k, x in s.items()} for v, s in stats.items()}}


def retrieval_numbers(r: dict) -> dict:
    """The JSON part of :func:`retrieval`."""
    return {"dataset": r["dataset"], "query": r["query_uid"], "query_label": r["query_label"],
            "segment_labels": [str(x) for x in r["segment_labels"]],
            **{v: {"labels": [str(x) for x in r[v]["labels"]], "distinct": r[v]["distinct"]} for v in VARIANTS},
            "all_queries": r["summary"]}


def retrieval_summaries(configs: Sequence[EgoDistillConfig], arrays: Sequence[dict], seed: int,
                        n_segments: int = 5) -> dict:
    """``{domain: retrieval_summary}`` of the runs of ``seed``, every domain of ``configs``."""
    return {d: retrieval_summary(pick(configs, arrays, "egodistill", d, seed),
                                 pick(configs, arrays, "visonly_distill", d, seed), n_segments, seed)
            for d in dict.fromkeys(c.dataset for c in configs)}


def text_claims(words: Sequence[str] = ("verb", "ambiguous", "IMU", "head motion")) -> list[str]:
    """The paper's stored text claims (``load_egodistill()["text_claims"]``) that mention any of ``words``."""
    from comodo.study.paper import load_egodistill

    return [t for t in load_egodistill()["text_claims"] if any(w.lower() in t.lower() for w in words)]


def paper_readings() -> dict:
    """The paper's stored text claims beside each analysis of notebook 12 (``[]`` where none is stored:
    its Figs. 5 and 6 are read in their captions and Sec. 4.5, not among ``text_claims``)."""
    return {"per_class_gain": text_claims(("ambiguous verbs",)), "imu_gain": text_claims(("over VisOnly-Distill",)),
            "reconstruction_and_motion": [], "retrieval": []}


# ---------------------------------------------------------------------------- notebook 09: the tour
def distributions(logits: np.ndarray, tau: float) -> np.ndarray:
    """softmax(logits / τ) along the last axis (the distributions L_KD compares)."""
    x = np.asarray(logits, np.float64) / tau
    x = np.exp(x - x.max(-1, keepdims=True))
    return x / x.sum(-1, keepdims=True)


@single_threaded
def batch_losses(student_logits: np.ndarray, teacher_logits: np.ndarray, z_student: np.ndarray, z_video: np.ndarray,
                 y: np.ndarray, config: EgoDistillConfig) -> dict:
    """EgoDistill's loss (:func:`comodo.egodistill.losses.distill_loss`, with the run's α, β, τ, τ² rule and
    terms) on a batch, and each clip's terms (the same function on one clip at a time).

    Returns:
        ``batch``: ``kd``, ``gt``, ``l1``, ``total``; ``per_clip``: ``kd``, ``gt``, ``l1``, ``total`` (B,).
    """
    from comodo.egodistill.losses import distill_loss

    t = lambda x: torch.as_tensor(np.ascontiguousarray(x))  # noqa: E731
    args = (config.alpha, config.beta, config.tau, config.kd_t2, config.losses)
    with torch.no_grad():
        _, batch = distill_loss(t(student_logits), t(teacher_logits), t(z_student), t(z_video), t(y), *args)
        clips = [distill_loss(t(student_logits[i:i + 1]), t(teacher_logits[i:i + 1]), t(z_student[i:i + 1]),
                              t(z_video[i:i + 1]), t(y[i:i + 1]), *args)[1] for i in range(len(y))]
    return {"batch": batch, "per_clip": {k: np.array([p[k] for p in clips]) for k in batch}}


@single_threaded
def tour(config: EgoDistillConfig, visonly: EgoDistillConfig | None = None, clip: int | None = None,
         batch_size: int = 16, seed: int = 0) -> dict:
    """One test clip through EgoDistill, and the losses of one batch of test clips around it.

    ``clip``: an index into the test split; None: the clip of median reconstruction error (L1 of z_Φ to
    z_V), a typical one rather than the best or the worst.

    The teacher Ω runs live on the clip's frames (its cached outputs, which training read, are
    compared); so does f_I on the student's frame. ``visonly``: the VisOnly-Distill run of the same
    data, whose z_Φ is drawn beside (None: left out).

    Returns:
        ``config`` (resolved), ``classes``, ``clip`` (uid, window, label, start_s, end_s, index),
        ``clip_frames`` (F, H, W, 3) every frame of the clip, ``teacher_positions`` (T,) and
        ``student_positions`` (N,) which of them Ω and Φ see, ``teacher_cache_ok`` / ``image_cache_ok``
        (the live outputs equal the cached ones to 1e-4), ``z_video`` (D_V,), ``teacher_logits`` (K,),
        ``student_frame`` (H, W, 3), ``imu`` (C, L) mean-subtracted, ``imu_raw``, ``imu_rate``, ``z_image``
        (D_I,) f_I, ``z_imu`` (D_M,) f_M, ``z_student`` (D_V,) Π's z_Φ, ``student_logits`` (K,), and
        ``visonly_z`` / ``visonly_logits`` (or None), ``p_teacher`` / ``p_student`` / ``p_visonly`` (K,) at τ,
        ``batch`` (its test-clip indices, labels) with ``losses`` ``{"start", "trained"}`` of
        :func:`batch_losses` (start: the student stage 1 starts from).
    """
    from comodo.data import probe_video, read_frames, sample_indices
    from comodo.egodistill.clips import clip_frames_range
    from comodo.egodistill.train import build_student, load_student
    from comodo.study.egodistill import runs

    a = run_arrays(config)
    c = a["config"]
    check(c.frames == 1, f"the tour draws the N = 1 student; config has frames = {c.frames}")
    n = len(a["clips"])
    if clip is None:
        clip = int(np.argsort(reconstruction(a["z_student"], a["z_video"])["l1"], kind="stable")[n // 2])
    check(0 <= clip < n, f"tour clip {clip}: expected a test clip 0 … {n - 1}")
    x = a["clips"][clip]
    info = probe_video(x.video_path)
    first, stop = clip_frames_range(x, info.fps, info.n_frames)
    teacher, image = models(c)
    t_idx = sample_indices(info.n_frames, teacher.num_frames, first, stop)  # Ω's frames (encode_outputs' rule)
    all_frames = read_frames(x.video_path, np.arange(first, stop))  # (F, H, W, 3)
    with torch.no_grad():
        z_live, logits_live = teacher.outputs(all_frames[t_idx - first][None])  # (1, D_V), (1, K_teacher)
        order = [list(teacher.labels).index(k) for k in a["classes"]]
        frame = all_frames[a["frame_index"][clip, 0] - first]  # (H, W, 3)
        z_image_live = image.features(frame[None]).float().cpu().numpy()[0]  # (D_I,)
        student = a["student"]
        imu = torch.from_numpy(a["imu"][clip:clip + 1])  # (1, C, L)
        z_imu = student.imu_feature(imu) if student.use_imu else None  # (1, D_M)
        z_student = student.fuse(torch.from_numpy(a["frames"][clip:clip + 1]), z_imu)  # (1, D_V)
        student_logits = student.classifier(z_student)  # (1, K)
    vis = run_arrays(visonly) if visonly is not None else None
    rng = np.random.default_rng(seed)
    others = np.sort(rng.choice(np.delete(np.arange(n), clip), min(batch_size, n) - 1, replace=False))
    batch = np.concatenate([[clip], others]).astype(np.int64)  # (B,) the tour clip first
    init = json.loads((runs.run(config) / "config.json").read_text()).get("init")
    if init:  # stage 1 starts from the stage-0 run
        start, _, _ = load_student(init)
    else:  # from scratch: the seed's initial weights
        start = build_student(c, a["frames"].shape[2], a["z_video"].shape[1], len(a["classes"]),
                              a["imu"].shape[1]).eval()
    with torch.no_grad():
        z0, l0 = start(torch.from_numpy(a["frames"][batch]),
                       torch.from_numpy(a["imu"][batch]) if start.use_imu else None)  # (B, D_V), (B, K)
    teacher_b, z_video_b, y_b = a["teacher_logits"][batch], a["z_video"][batch], a["y"][batch]
    losses = {"start": batch_losses(l0.numpy(), teacher_b, z0.numpy(), z_video_b, y_b, c),
              "trained": batch_losses(a["student_logits"][batch], teacher_b, a["z_student"][batch], z_video_b, y_b, c)}
    z_v, t_logits = a["z_video"][clip], a["teacher_logits"][clip]
    return {"config": c, "classes": a["classes"], "dataset": c.dataset,
            "clip": {"uid": x.uid, "window": int(x.window), "label": str(x.label), "start_s": float(x.start_s),
                     "end_s": float(x.end_s), "index": int(clip)},
            "clip_frames": all_frames, "teacher_positions": t_idx - first,
            "student_positions": a["frame_index"][clip] - first,
            "teacher_cache_ok": bool(np.allclose(z_live.numpy()[0], z_v, atol=1e-4)
                                     and np.allclose(logits_live.numpy()[0, order], t_logits, atol=1e-4)),
            "image_cache_ok": bool(np.allclose(z_image_live, a["frames"][clip, 0], atol=1e-4)),
            "z_video": z_v, "teacher_logits": t_logits, "student_frame": frame, "imu": a["imu"][clip],
            "imu_raw": a["imu_raw"][clip], "imu_rate": a["imu_rate"], "z_image": a["frames"][clip, 0],
            "z_imu": z_imu.numpy()[0] if z_imu is not None else None, "z_student": z_student.numpy()[0],
            "student_logits": student_logits.numpy()[0],
            "visonly_z": vis["z_student"][clip] if vis else None,
            "visonly_logits": vis["student_logits"][clip] if vis else None,
            "tau": float(c.tau), "p_teacher": distributions(t_logits, c.tau),
            "p_student": distributions(student_logits.numpy()[0], c.tau),
            "p_visonly": distributions(vis["student_logits"][clip], c.tau) if vis else None,
            "batch": {"index": batch, "labels": a["labels"][batch], "uids": [a["uids"][i] for i in batch]},
            "losses": losses}


def tour_numbers(t: dict) -> dict:
    """The JSON part of :func:`tour`: the clip, the loss values, cosine(z_V, z_Φ) and the top classes."""
    c = t["config"]
    top = lambda logits: t["classes"][int(np.argmax(logits))]  # noqa: E731
    out = {"clip": t["clip"], "classes": t["classes"], "tau": t["tau"], "alpha": c.alpha, "beta": c.beta,
           "kd_t2": c.kd_t2, "terms": list(c.losses),
           "teacher_top": top(t["teacher_logits"]), "student_top": top(t["student_logits"]),
           "cosine": float(cosine_rows(t["z_student"], t["z_video"])),
           "l1": float(np.abs(t["z_student"] - t["z_video"]).mean()),
           "teacher_cache_ok": t["teacher_cache_ok"], "image_cache_ok": t["image_cache_ok"],
           "teacher_frames": len(t["teacher_positions"]), "clip_frames": len(t["clip_frames"]),
           "batch": {"uids": t["batch"]["uids"], "labels": [str(x) for x in t["batch"]["labels"]]},
           "losses": {k: {"batch": v["batch"], "per_clip_mean": {n: float(x.mean()) for n, x in v["per_clip"].items()}}
                      for k, v in t["losses"].items()}}
    if t["visonly_z"] is not None:
        out["visonly"] = {"top": top(t["visonly_logits"]), "cosine": float(cosine_rows(t["visonly_z"], t["z_video"])),
                          "l1": float(np.abs(t["visonly_z"] - t["z_video"]).mean())}
    return out


__all__ = ["batch_losses", "class_gain", "cosine_rows", "distributions", "donors", "extremes", "extremes_index",
           "extremes_numbers", "frame_images", "head_motion", "imu_configs", "load_runs", "models", "motion_bins",
           "motion_numbers", "motion_reading", "motion_study", "nearest", "paper_readings", "per_class_gains", "pick",
           "quantile_bins", "rank_correlation", "raw_clip_imu", "reconstruction", "resolved_configs", "retrieval",
           "retrieval_numbers", "retrieval_summaries", "retrieval_summary", "retrieve", "run_arrays", "single_threaded",
           "student_frame_indices", "swapped_features", "text_claims", "tour", "tour_numbers"]
