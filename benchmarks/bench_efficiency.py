"""Efficiency table: the video teachers against the IMU students that run on the device.

For every model of ``comodo.study.efficiency.MODELS`` at its real size (random weights: only the architecture
matters): parameters, GFLOPs per clip (``torch.utils.flop_counter.FlopCounterMode``; a multiply-add is
2 FLOPs) and CPU latency per clip at batch 1 and batch 32 (``torch.inference_mode()``, median of the timed
runs), then the teacher/student ratios. Prints a Markdown table and writes
``benchmarks/results/efficiency.json`` (the source of the README's efficiency table).

Plan (what is timed, and why):

- students (Mantis-8M, MOMENT-1-small, the dilated CNN, the CNN ``IMUStudent``, and EgoDistill's Φ for
  N = 1, 2, 4 and VisOnly N = 1 from ``comodo.study.egodistill.efficiency``): batch 1 and batch 32;
- video teachers (TimeSformer-base, VideoMAE-base): batch 1 and batch 4 by default. One batch-32 forward
  of a video teacher costs 32 × ~400 GFLOPs, about 1.5–3 minutes per teacher on one core, which alone
  would break the benchmark's 3–4 minute budget; their batch-32 cells say "not measured" with the
  reason and the batch-4 per-clip time. ``--teacher-batch-sizes 1,32`` times batch 32 (one run each).
- one thread by default (``--threads``): the machines this runs on are shared, and OpenMP with as many
  threads as cores stalls at its barriers when another process holds a core (the dilated CNN at batch 32
  ran 60× slower with 2 threads than with 1 on this loaded machine); single-thread times are also the
  ones comparable across machines. The process CPU time of the same runs is printed beside them.
- teachers: one warm-up and 3 timed runs at batch 1, then one timed run at each larger batch (warm from
  batch 1); students: one warm-up at each batch, then timed runs for ``--time-budget`` seconds (at least 3,
  at most 50). The median is reported; every run is in the JSON.

EgoDistill's rows are also printed beside the paper's Table 3 (``paper_table3_beside_ours``; the JSON's
``egodistill_table3``).

Run: ``python benchmarks/bench_efficiency.py`` (about 2.5 minutes on one core of a loaded 2-core machine for
COMODO's models, plus several minutes for EgoDistill's: a batch-32 forward of Φ(N=4) is 128 ResNet-18 passes);
``--quick`` for a smoke test (one run per batch, teachers at batch 1 only; writes nothing unless
``--out`` is given).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from comodo.study.efficiency import MODELS, TEACHER, fmt_number, markdown, measure, table
from comodo.study.egodistill.efficiency import EGODISTILL_MODELS, paper_table3_beside_ours, table3_markdown
from comodo.io import write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "efficiency.json"
ORDER = ["timesformer", "videomae", "mantis", "moment", "dilated_cnn", "imu_student", *EGODISTILL_MODELS]
TABLE_BATCHES = (1, 32)
PAPER_GMACS = {"videomae": "180 (VideoMAE paper, 16×224²)", "timesformer": "196 (0.59 TFLOPs for 3 views)"}


def _batches(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated batch sizes, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive batch sizes, got {text!r}")
    return values


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("transformers", "mantis-tsfm"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def cpu_time_markdown(rows: list[dict], batches=TABLE_BATCHES) -> str:
    """Process CPU time per clip beside the wall time: wall ÷ CPU well above 1 means other processes took
    the core during a single-threaded measurement (the wall-clock latency is then inflated)."""
    head = ["Model"] + [f"process CPU time ms/clip, batch {b}" for b in batches] + [f"wall ÷ CPU, batch {b}" for b in batches]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        cpu = [r.get(f"cpu_time_ms_per_clip_b{b}") for b in batches]
        wall = [r.get(f"ms_per_clip_b{b}") for b in batches]
        ratio = [None if c is None or w is None or c <= 0 else w / c for c, w in zip(cpu, wall)]
        lines.append("| " + " | ".join([r["label"]] + [fmt_number(c) if c is not None else "not measured" for c in cpu]
                                       + ["n/a" if q is None else f"{q:.2f}" for q in ratio]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: one timed run per batch size, no warm-up, teachers at batch 1 only; "
                             "writes nothing unless --out is given")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON output (default {DEFAULT_OUT.relative_to(ROOT)}; none with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while measuring (default 1)")
    parser.add_argument("--teacher-batch-sizes", type=_batches, default=None,
                        help="batch sizes timed for the video teachers (default 1,4; --quick: 1)")
    parser.add_argument("--student-batch-sizes", type=_batches, default=TABLE_BATCHES,
                        help="batch sizes timed for the students (default 1,32)")
    parser.add_argument("--time-budget", type=float, default=5.0,
                        help="seconds of timed runs per model and batch size (default 5)")
    parser.add_argument("--models", type=lambda s: [m.strip() for m in s.split(",") if m.strip()],
                        default=ORDER, help=f"comma-separated subset of {','.join(ORDER)}")
    args = parser.parse_args(argv)
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {sorted(MODELS)}")
    teacher_batches = args.teacher_batch_sizes or ((1,) if args.quick else (1, 4))
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)

    started = time.perf_counter()
    results = []
    for name in args.models:
        teacher = MODELS[name].role == TEACHER
        batches = teacher_batches if teacher else args.student_batch_sizes
        skipped = [b for b in TABLE_BATCHES if b not in batches]
        why = "--quick" if args.quick else ("the default plan (--teacher-batch-sizes)" if teacher
                                            else "--student-batch-sizes")
        print(f"measuring {name} at batch {', '.join(map(str, batches))} ...", file=sys.stderr, flush=True)
        if args.quick:
            plan = {"repeats": 1, "warmup": 0}
        elif teacher:  # 1 warm-up + 3 runs at the smallest batch; one run, warm from it, at the larger ones
            plan = {"repeats": {b: 3 if b == min(batches) else 1 for b in batches},
                    "warmup": {b: 1 if b == min(batches) else 0 for b in batches}}
        else:  # 1 warm-up, then runs for the time budget, at least 3
            plan = {"warmup": 1, "min_repeats": 3}
        r = measure(name, batch_sizes=batches, threads=args.threads, time_budget_s=args.time_budget,
                    not_measured={b: f"not timed ({why})" for b in skipped}, **plan)
        for b in skipped:  # say what was done instead, and what it would have cost
            if teacher and not args.quick:
                per_clip_s = r["latency_ms_per_clip"][str(min(batches))] / 1000
                others = ", ".join(f"batch {k}: {fmt_number(v)} ms/clip" for k, v in r["latency_ms_per_clip"].items())
                r["not_measured"][str(b)] = (
                    f"not timed: one batch-{b} forward ≈ {b} × {per_clip_s:.1f} s ≈ {b * per_clip_s / 60:.1f} min "
                    f"on {r['threads']} thread(s), past the benchmark's budget (--teacher-batch-sizes "
                    f"{','.join(map(str, sorted({*batches, b})))} times it); measured {others}")
        print(f"  {r['params_m']:.2f} M params, {r['gflops_per_clip']:.4g} GFLOPs/clip, "
              f"ms/clip {({k: round(v, 3) for k, v in r['latency_ms_per_clip'].items()})}, "
              f"{r['seconds']['total']:.0f} s", file=sys.stderr, flush=True)
        results.append(r)
    runtime_s = time.perf_counter() - started

    rows = table(results, TABLE_BATCHES)
    text = markdown(rows, TABLE_BATCHES)
    notes = [
        f"CPU: {_cpu_model()}, {args.threads} torch thread(s); float32, torch.inference_mode(), random weights; "
        f"median of the timed runs (runs per cell in the JSON). Load average during the run: "
        f"{min(r['loadavg_before'][0] for r in results):.1f}–{max(r['loadavg_after'][0] for r in results):.1f} "
        f"(the machine is shared: latencies are indicative, FLOPs and parameters are exact).",
        "FLOPs: torch's FlopCounterMode (matmuls, convolutions, attention incl. CPU SDPA; elementwise ops not "
        "counted), a multiply-add = 2 FLOPs. Papers using fvcore count a multiply-add as 1 FLOP"
        + "".join(f"; {r['label']}: {r['gmacs_per_clip']:.1f} GMACs here, paper {PAPER_GMACS[r['model']]}"
                  for r in results if r["model"] in PAPER_GMACS) + ". Ratios are the same in both conventions.",
        "Not measured: video decoding and image preprocessing before the teachers; the teachers' never-trained "
        "projection head (1.8 M params, 3.7 MFLOPs). MOMENT's parameters exclude the T5 token-embedding table "
        "(16.4 M, never used for series) and the reconstruction head. EgoDistill reports ~200× fewer GFLOPs "
        "for its student than for its video model (MotionFormer, 369.51 GMACs; VideoMAE-base is 180).",
    ]
    cpu_text = cpu_time_markdown(rows)
    print(text)
    print()
    print("Process CPU time of the same runs (wall ÷ CPU well above 1: other processes held the core, and the "
          "wall-clock latency above is inflated by about that factor):\n")
    print(cpu_text)
    print()
    for note in notes:
        print("- " + note)
    table3 = paper_table3_beside_ours(results, batch_sizes=TABLE_BATCHES) if "videomae" in args.models else []
    table3_text = table3_markdown(table3, TABLE_BATCHES) if table3 else ""
    if table3_text:
        print("\nEgoDistill beside the paper's Table 3 (its GFLOPs are fvcore's, = GMACs; its runtime: A40 GPU, "
              "batch 32):\n")
        print(table3_text)
    print(f"\nbenchmark runtime: {runtime_s:.0f} s")
    if out is not None:
        write_json(out, {
            "generated_by": "benchmarks/bench_efficiency.py",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": _git_commit(),
            "argv": sys.argv[1:] if argv is None else list(argv),
            "environment": {**_versions(), "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
                            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                            "threads": args.threads, "platform": platform.platform()},
            "plan": {"teacher_batch_sizes": list(teacher_batches),
                     "student_batch_sizes": list(args.student_batch_sizes), "table_batch_sizes": list(TABLE_BATCHES),
                     "time_budget_s": args.time_budget, "quick": args.quick, "models": args.models},
            "runtime_s": runtime_s,
            "notes": notes,
            "markdown": text,
            "markdown_cpu_time": cpu_text,
            "markdown_egodistill_table3": table3_text,
            "egodistill_table3": table3,
            "table": rows,
            "results": results,
        })
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
