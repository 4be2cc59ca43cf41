"""``comodo world``: generate the embedded world's domains in their real dataset layouts."""

from __future__ import annotations

import argparse
from pathlib import Path

from comodo.world.domains import DOMAINS, SIZES


def add_parser(sub: argparse._SubParsersAction) -> None:
    lines = "\n".join(f"  {name:<9} layout {spec.layout:<8} {len(spec.labels):>2} labels, "
                      f"{spec.clips_per_label['default']} clips per label (default size), "
                      f"video {spec.video_fps:g} fps" for name, spec in DOMAINS.items())
    p = sub.add_parser(
        "world",
        help="generate the embedded egocentric world (IMU + video) in the real datasets' layouts",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Generate domains of the embedded world. Each domain is written once per (generator "
            "version, domain settings, size, seed) and reused afterwards; the folder is printed.\n\n"
            f"domains:\n{lines}\n\n"
            "layouts: ego4d/egoexo4d/teacher = train.txt|val.txt|test.txt (uid<TAB>label), "
            "processed_imu/<uid>.npy (6 x T float32, 200 Hz, m/s^2 then rad/s), "
            "processed_video/<uid>.mp4 (H.264, 10 fps); mmea = video/<N_label>/<clip>.mp4 (25 fps), "
            "sensor/<N_label>/<clip>.csv (raw counts: 16384 per g, 16.4 per deg/s), split files of "
            "clip paths.\n\nsizes: quick (tests and CI, seconds) and default (the study)."
        ),
    )
    p.add_argument("--domain", action="append", choices=[*DOMAINS, "all"],
                   help="domain to generate (repeatable; default: all)")
    p.add_argument("--size", default="default", choices=SIZES, help="world size (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default: 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="parent folder of the generated domains (default: <data>/cache/world, "
                        "<data> = $COMODO_DATA or the checkout's data/)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comodo.world.generate import generate

    domains = list(DOMAINS) if not args.domain or "all" in args.domain else args.domain
    for domain in domains:
        folder = generate(domain, args.size, args.seed, root=args.out, workers=args.workers)
        print(folder)
    return 0
