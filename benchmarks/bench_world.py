"""Time the generation of the default embedded world (ego4d, egoexo4d, mmea) from nothing.

Target: ≤ 3 min for the three domains on a 2-core laptop CPU. Writes into a temporary folder (the
study's cache is not touched) and prints the seconds per domain, clips, frames and the total.

    python benchmarks/bench_world.py [--size default] [--workers 2] [--with-teacher-domain]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="default", choices=["quick", "default"])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--with-teacher-domain", action="store_true")
    args = ap.parse_args()

    from comodo.world.domains import DOMAINS, TARGET_DOMAINS
    from comodo.world.generate import generate, plan

    domains = list(TARGET_DOMAINS) + (["teacher"] if args.with_teacher_domain else [])
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in domains:
            clips = plan(DOMAINS[name], args.size, 0)
            frames = sum(round(c.duration_s * DOMAINS[name].video_fps) for c in clips)
            t = time.perf_counter()
            generate(name, args.size, 0, root=Path(tmp), workers=args.workers, verbose=False)
            dt = time.perf_counter() - t
            total += dt
            print(f"{name:<9} {len(clips):>4} clips {frames:>6} frames  {dt:6.1f} s  ({frames / dt:.0f} frames/s)")
    print(f"world ({args.size}, {', '.join(domains)}): {total:.1f} s in total (target for the three target "
          f"domains: <= 180 s)")


if __name__ == "__main__":
    main()
