"""The world's ray caster before and after a change, in one run: by default session 12's (frames in chunks,
scratch arrays reused); ``--before a34952a`` times session 16's (the shading's gathers and scatters).

Before: ``comodo/world/render.py`` as of commit ``--before`` (default fb5fb31), read from this checkout's
git history (``git show``) and loaded as a module beside the current one. fb5fb31 renders a clip's frames
all at once, every operation allocating a new (frames × rays) array; after it,
:data:`comodo.world.render.CHUNK_FRAMES` frames at a time, reusing scratch arrays. a34952a (session 15's
last) shades each primitive's rays by fancy indexing (a row gather and a row scatter each, the rays
sorted by a timsort of int64 ids); after it, the rays are sorted once by a radix sort of uint16 ids,
gathered with ``np.take`` and put back in ray order once. Each clip's scene (:func:`comodo.world.generate.clip_content`) is
rendered by both, alternating which goes first, and the frames are compared: they must be identical.
Prints seconds per clip per domain and the ratio. Nothing is written.

    python benchmarks/bench_render.py [--clips 20] [--size default] [--domains teacher ego4d ...] [--before REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import machine  # noqa: E402

BEFORE = "fb5fb31"
ROOT = Path(__file__).resolve().parents[1]


def before_module(folder: Path, rev: str = BEFORE):
    """The ray caster of commit ``rev``, sharing the current module's primitive classes."""
    from comodo.world import render

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:comodo/world/render.py"],
                            capture_output=True, text=True)
    if source.returncode != 0:
        sys.exit(f"bench_render: commit {rev} is not in this checkout's history ({source.stderr.strip()}); "
                 f"it needs a git clone of the project")
    path = folder / "render_before.py"
    path.write_text(source.stdout)
    spec = importlib.util.spec_from_file_location("render_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_before"] = module
    spec.loader.exec_module(module)
    for name in ("Plane", "Box", "Cylinder", "Sphere", "Scene", "Texture"):  # isinstance checks see ours
        setattr(module, name, getattr(render, name))
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=20, help="clips per domain, spread over the domain")
    ap.add_argument("--size", default="default", choices=["quick", "default"])
    ap.add_argument("--domains", nargs="+", default=["teacher", "ego4d", "egoexo4d", "mmea", "ego4d_verbs"])
    ap.add_argument("--before", default=BEFORE, help=f"the commit whose ray caster is timed as before (default {BEFORE})")
    args = ap.parse_args()
    import numpy as np

    from comodo.world import render as after
    from comodo.world.domains import DOMAINS
    from comodo.world.generate import clip_content, plan

    print(machine())
    identical = True
    totals = {"before": 0.0, "after": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        before = before_module(Path(tmp), args.before)
        for domain in args.domains:
            spec = DOMAINS[domain]
            clips = plan(spec, args.size, 0)
            clips = clips[:: max(1, len(clips) // args.clips)][: args.clips]
            seconds = {"before": 0.0, "after": 0.0}
            frames = same = 0
            for i, clip in enumerate(clips):
                _, scene, position, euler, fov = clip_content(spec, clip, 0)
                out = {}
                for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
                    module = before if name == "before" else after
                    t = time.perf_counter()
                    out[name] = module.render(scene, position, euler, spec.size_px, spec.size_px, fov)
                    seconds[name] += time.perf_counter() - t
                same += bool(np.array_equal(out["before"], out["after"]))
                frames += len(position)
            identical &= same == len(clips)
            for k in totals:
                totals[k] += seconds[k]
            print(f"{domain:<15} {len(clips):>3} clips, {frames:>6} frames: before {seconds['before'] / len(clips):.3f} "
                  f"s/clip, after {seconds['after'] / len(clips):.3f} s/clip: {seconds['before'] / seconds['after']:.2f}x; "
                  f"identical frames in {same}/{len(clips)} clips", flush=True)
    print(f"all: before {totals['before']:.1f} s, after {totals['after']:.1f} s: {totals['before'] / totals['after']:.2f}x; "
          f"every frame identical: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
