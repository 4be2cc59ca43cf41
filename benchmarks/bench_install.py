"""`make install` from a fresh clone, before and after session 16's recipe, in one run, alternating.

Before (``--before``, default a34952a): pip installs torch and uv, then uv installs the rest with
``--compile-bytecode``, then UMAP's numba kernels are compiled. After (``--after``, default HEAD): pip
installs uv only, uv installs torch with the rest (the same local torch-2.13.0+cpu wheel where there is
one), then site-packages is compiled to bytecode beside the numba compile, on the other core.

Each install runs in its own clone (``git clone`` of this repository at that commit) with pip's and uv's
caches empty (``PIP_NO_CACHE_DIR=1``, a new ``UV_CACHE_DIR``), as a newcomer's first ``make study``; the
clones and caches are deleted afterwards, after listing what each install left (its distributions and
``.pyc`` files, compared at the end). Rounds alternate which goes first (the second install of a round
finds the page cache warm). Prints each install's seconds, the medians and their ratio. ``make bench`` skips
it: it takes minutes and needs a clone with the project's history.

    python benchmarks/bench_install.py [--rounds 1] [--before REV] [--after REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BEFORE = "a34952a"  # the last commit with pip installing torch and uv compiling bytecode itself


def installed(clone: Path) -> tuple[list[str], int]:
    """What ``make install`` left in ``clone``'s venv: its distributions (``name==version``, sorted) and how
    many ``.pyc`` files it holds."""
    listed = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True)
    return sorted(listed.stdout.split()), sum(1 for _ in (clone / ".venv").rglob("*.pyc"))


def install(rev: str, scratch: Path) -> tuple[float, tuple[list[str], int]]:
    """Seconds of ``make install`` in a fresh clone of ``rev`` with empty caches (exits if it fails), and
    :func:`installed`."""
    name = rev.replace("/", "_")
    clone, cache = scratch / f"clone-{name}", scratch / f"uv-cache-{name}"
    for cmd in (["git", "clone", "-q", str(REPO), str(clone)], ["git", "-C", str(clone), "checkout", "-q", rev]):
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            raise SystemExit(f"bench_install: {' '.join(cmd)} failed: it needs a git clone of the project with {rev}")
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(cache)}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    done = subprocess.run(["make", "install"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"make install at {rev} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    what = installed(clone)
    shutil.rmtree(clone), shutil.rmtree(cache, ignore_errors=True)
    return seconds, what


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=1, help="installs of each recipe, alternating (default 1)")
    p.add_argument("--before", default=BEFORE, help=f"the commit before (default {BEFORE})")
    p.add_argument("--after", default="HEAD", help="the commit after (default HEAD: commit your changes first)")
    args = p.parse_args()
    if args.rounds < 1:
        p.error(f"--rounds {args.rounds}: expected >= 1")
    print(machine(), flush=True)
    times: dict[str, list[float]] = {"before": [], "after": []}
    contents: dict[str, tuple[list[str], int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_install-") as tmp:
        for r in range(args.rounds):
            pair = (("before", args.before), ("after", args.after))
            for name, rev in (pair if r % 2 == 0 else pair[::-1]):
                s, contents[name] = install(rev, Path(tmp))
                times[name].append(s)
                print(f"round {r + 1}: make install {name} ({rev}): {s:.1f} s; {len(contents[name][0])} "
                      f"distributions, {contents[name][1]:,} .pyc files", flush=True)
    before, after = (statistics.median(times[k]) for k in ("before", "after"))
    print(f"median: before {before:.1f} s, after {after:.1f} s: before / after = {before / after:.2f}")
    (pkgs_b, pyc_b), (pkgs_a, pyc_a) = contents["before"], contents["after"]
    print(f"the same distributions and versions: {pkgs_b == pkgs_a}; the same number of .pyc files: {pyc_b == pyc_a}")
    print(machine())


if __name__ == "__main__":
    main()
