"""Decoding the world's videos: the YUV → RGB conversion on PyAV's default threads (0: one per core)
against one thread (:data:`comodo.data.video.RGB_THREADS`), alone and beside a busy process.

Every frame of every video of one world domain (generated into a temporary folder, the study's cache
is not touched) is decoded by :func:`comodo.data.video.read_frames`, with the conversion's thread
count patched; the two settings alternate round by round, which goes first swapping, and the frames
of both are compared (they must be identical). "beside a busy process": a second process spins on
one core meanwhile, as the other worker of ``comodo study`` does (both cores busy). Printed: wall and
CPU seconds per setting and the ratio default ÷ one thread, per condition.

    python benchmarks/bench_decode.py [--domain ego4d_verbs] [--size quick] [--rounds 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import machine  # noqa: E402

SETTINGS = {"PyAV default (0)": 0, "one thread (comodo)": 1}


def decode_all(videos: list[Path], threads: int) -> tuple[float, float, list]:
    """(wall s, CPU s, frames) of decoding every frame of ``videos`` with the conversion on ``threads``."""
    from comodo.data import video

    before, video.RGB_THREADS = video.RGB_THREADS, threads
    try:
        t, c = time.perf_counter(), time.process_time()
        frames = [video.read_frames(v) for v in videos]
        return time.perf_counter() - t, time.process_time() - c, frames
    finally:
        video.RGB_THREADS = before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="ego4d_verbs")
    ap.add_argument("--size", default="quick", choices=["quick", "default"])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    import numpy as np

    from comodo.world.generate import generate

    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(args.domain, args.size, 0, root=Path(tmp), verbose=False)
        videos = sorted(root.rglob("*.mp4"))
        n_frames = None
        for condition in ("alone", "beside a busy process"):
            busy = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    if condition != "alone" else None)
            try:
                wall = {name: [] for name in SETTINGS}
                cpu = {name: [] for name in SETTINGS}
                for r in range(args.rounds):
                    order = list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]
                    frames = {}
                    for name in order:
                        w, c, frames[name] = decode_all(videos, SETTINGS[name])
                        wall[name].append(w)
                        cpu[name].append(c)
                    a, b = frames.values()
                    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "the two settings decoded other pixels"
                    n_frames = sum(len(f) for f in a)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            print(f"\n{condition}: {len(videos)} videos of {args.domain} ({args.size}), {n_frames} frames, "
                  f"{args.rounds} rounds (identical frames)")
            for name in SETTINGS:
                print(f"  {name:<22} wall {np.mean(wall[name]):6.2f} s   CPU {np.mean(cpu[name]):6.2f} s")
            ratio = [d / o for d, o in zip(*wall.values())]
            print(f"  default ÷ one thread (wall): {np.mean(ratio):.2f}× "
                  f"({', '.join(f'{x:.2f}' for x in ratio)} per round)")


if __name__ == "__main__":
    main()
