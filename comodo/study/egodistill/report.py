"""EgoDistill's tables for ``comodo report``, read from notebooks 10–12's JSON.

The claims at N = 1 and accuracy against the number of frames (notebook 10), the two embedded teachers
beside the paper's Table 2 (10), Table 1's rows and Table 4's rules beside the paper's (11), and what
the IMU adds: per-class gain, reconstruction against head motion, retrieval with swapped IMU (12).
Per-video top-1 on the test split throughout; gains in points.
"""

from __future__ import annotations

from pathlib import Path

from comodo.study.report import load, pm, table

VARIANT_NAMES = {"egodistill": "EgoDistill", "visonly_distill": "VisOnly-Distill", "visimu": "VisIMU",
                 "visonly": "VisOnly"}
TEACHER_NAMES = {"embedded": "VideoMAE (embedded)", "embedded-timesformer": "TimeSformer (embedded)"}


def _points(x: float | None) -> str:
    return "–" if x is None else f"{x:+.1f}"


def claims_table(c: dict) -> str:
    """The paper's two central claims per domain at N = 1 (mean ± std over seeds)."""
    mark = {True: "✓", False: "✗"}
    rows = [[r["domain"], pm(r["egodistill"], r["std"]["egodistill"]),
             pm(r["visonly_distill"], r["std"]["visonly_distill"]), pm(r["visimu"], r["std"]["visimu"]),
             pm(r["teacher"]), f"{r['gain_over_visonly_distill']:+.1f} {mark[r['a_holds']]}",
             f"{r['gain_over_visimu']:+.1f} {mark[r['b_holds']]}", str(r["seeds"])] for r in c["claims"]]
    note = (f"(a) = EgoDistill − VisOnly-Distill, (b) = EgoDistill − VisIMU, in points; ✓ = at least "
            f"{c['claims_threshold_points']:g} points; ± the std over seeds (ddof 0; the next table's, ddof 1).")
    return table(["domain", "EgoDistill", "VisOnly-Distill", "VisIMU", "video teacher", "(a) gain", "(b) gain",
                  "seeds"], rows) + "\n\n" + note


def cost_table(c: dict) -> str:
    """Per-video top-1 of each variant against N, with the real-size models' GFLOPs per clip."""
    summary = c["cost"]["summary"]
    frames = sorted({r["frames"] for r in summary})
    by = {(r["domain"], r["variant"], r["frames"]): r for r in summary}
    teacher = {r["domain"]: r for r in c["cost"]["teacher"]}
    rows = []
    for d in dict.fromkeys(r["domain"] for r in summary):
        for v in VARIANT_NAMES:
            cells = [by.get((d, v, n)) for n in frames]
            if any(cells):  # ± std (ddof 1) only where there is more than one seed
                rows.append([d, VARIANT_NAMES[v]] + [
                    "–" if r is None else pm(r["video_top1_mean"], r["video_top1_std"] if r["n"] > 1 else None)
                    for r in cells] + [" / ".join(str(r["n"]) if r else "–" for r in cells)])
        if d in teacher:
            rows.append([d, "video teacher"] + [pm(teacher[d]["teacher_video_top1"])] * len(frames) + ["–"])
    g = c["gflops_per_clip"]
    note = ("GFLOPs per clip of the real-size models (ResNet-18 on 224² frames, f_M on 6 × 422, fusion to 768; "
            "a multiply-add = 2 FLOPs): " + "; ".join(
                f"N = {n}: EgoDistill / VisIMU {g[f'egodistill_n{n}']:.2f}, VisOnly(-Distill) {g[f'visonly_n{n}']:.2f}"
                for n in frames) + f"; VideoMAE-base teacher {g['videomae']:.0f}, TimeSformer-base {g['timesformer']:.0f}.")
    return table(["domain", "variant"] + [f"N = {n}" for n in frames] + ["seeds per N"], rows) + "\n\n" + note


def teachers_table(c: dict) -> str:
    """EgoDistill and VisOnly-Distill under each embedded teacher (N = 1), then the paper's Table 2."""
    rows = [[r["domain"], TEACHER_NAMES.get(r["teacher"], r["teacher"]), pm(r["video"]), pm(r["egodistill"]),
             pm(r["visonly_distill"]), _points(r["gain_points"]), str(r["seeds"])] for r in c["teachers"]["summary"]]
    rows += [[f"{r['dataset']} (paper)", r["teacher"], pm(r["video"]), pm(r["egodistill"]),
              pm(r["visonly_distill"]), _points(r["gain_points"]), "–"] for r in c["paper"]["table2_teachers_N1"]]
    return table(["domain", "teacher", "teacher's own", "EgoDistill", "VisOnly-Distill", "gain (points)", "seeds"],
                 rows)


def _beside_paper(rows_in: list[dict], key: str) -> str:
    ours = sorted(k.removeprefix("ours_") for k in rows_in[0] if k.startswith("ours_") and not k.endswith("_delta"))
    rows = []
    for r in rows_in:
        cells = [r[key]]
        for d in ours:
            v, dv = r.get(f"ours_{d}"), r.get(f"ours_{d}_delta")
            cells.append("–" if v is None else f"{v:.3f} ({_points(dv)})")
        for d in ("ego4d", "epic_kitchens"):
            v, dv = r.get(f"paper_{d}"), r.get(f"paper_{d}_delta")
            cells.append("–" if v is None else f"{v:.3f} ({_points(dv)})")
        rows.append(cells)
    return table([key] + [f"{d}: ours" for d in ours] + ["Ego4D: paper", "EPIC: paper"], rows)


def ablation_tables(a: dict) -> str:
    """Table 1 (N = 1) and Table 4 (N = 4), ours beside the paper's; in brackets the points against the
    reference row (EgoDistill with every loss; the uniform rule); then the noise level."""
    noise = table(["domain", "test videos", "one video (points)", "seed std (points)", "seeds"],
                  [[r["domain"], str(r["n_videos"]), f"{r['one_video_points']:.1f}", "–" if r["seed_std_points"] is None else f"{r['seed_std_points']:.1f}",
                    str(r["seeds"])] for r in a["noise"]])
    seeds = sorted({r["seed"] for r in a["table1"]["runs"]})
    return (f"Ours: {len(seeds)} seed(s) per row. In brackets: points against the reference row.\n\n"
            + _beside_paper(a["table1"]["beside_paper"], "row") + "\n\n"
            + _beside_paper(a["table4"]["beside_paper"], "rule") + "\n\nThe noise level of these differences:\n\n"
            + noise)


def imu_tables(m: dict) -> str:
    """Per-class gain of EgoDistill over VisOnly-Distill, reconstruction against head motion, retrieval."""
    parts = []
    for d, rows_in in m["per_class_gain"].items():
        rows = [[r["class"], pm(r["ours"]), pm(r["base"]), _points(r["gain"]), str(r["videos"])] for r in rows_in]
        parts.append(f"Per-class per-video top-1, {d}:\n\n"
                     + table(["class", "EgoDistill", "VisOnly-Distill", "gain (points)", "videos"], rows))
    parts.append("Head motion and reconstruction (\"moderate head motion reconstructs best\"):\n\n"
                 + "\n".join(f"- {line}" for line in m["motion_reading"].splitlines()))
    r = m["retrieval"]
    per_domain = "; ".join(f"{d}: EgoDistill {v['egodistill']['distinct']:.1f}, VisOnly-Distill "
                           f"{v['visonly_distill']['distinct']:.1f}" for d, v in m["retrieval_per_domain"].items())
    parts.append(f"Retrieval, one query frame with {len(r['segment_labels'])} IMU segments of other clips: distinct "
                 f"nearest clips, mean over every test query: {per_domain}.")
    return "\n\n".join(parts)


def sections(figures: Path) -> list[tuple[str, str]]:
    """``(title, Markdown)`` of every EgoDistill table."""
    cost = load(figures, "10_egodistill_cost")
    return [("EgoDistill: the paper's two claims at N = 1 (notebook 10)", claims_table(cost)),
            ("EgoDistill: per-video top-1 against the number of frames N (notebook 10)", cost_table(cost)),
            ("EgoDistill: two embedded teachers beside the paper's Table 2 (notebook 10)", teachers_table(cost)),
            ("EgoDistill: Table 1's rows and Table 4's rules (notebook 11)",
             ablation_tables(load(figures, "11_egodistill_ablations"))),
            ("EgoDistill: what the IMU adds (notebook 12)", imu_tables(load(figures, "12_egodistill_imu")))]
