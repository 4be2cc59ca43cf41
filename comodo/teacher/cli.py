"""``comodo teacher``: pre-train (or find) the embedded video teacher and print its folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("teacher", help="pre-train the embedded video teacher on the world's teacher domain",
                       description=__doc__)
    p.add_argument("--size", default="default", choices=["quick", "default"], help="world size")
    p.add_argument("--world-seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comodo.teacher.pretrain import embedded_config, pretrain_teacher

    print(pretrain_teacher(embedded_config(args.size, args.world_seed)))
    return 0
