"""``comodo evaluate``: the paper's SVM protocol on a run's student, or on the video teacher.

``comodo evaluate --run runs/x`` evaluates on the dataset the run was distilled on;
``--dataset``/``--dataset-path`` evaluate it elsewhere (cross-dataset). ``comodo evaluate --teacher
--dataset ego4d`` gives the video reference row. Results go to ``--out`` (JSON, with the config).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="SVM acc@1/3/5 of a student's frozen features (or of the teacher)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--run", dest="run_dir", help="a finished `comodo distill` output folder")
    who.add_argument("--teacher", action="store_true", help="evaluate the video teacher's pooled features")
    p.add_argument("--dataset", default=None, help="evaluation dataset (default: the run's)")
    p.add_argument("--dataset-path", default=None)
    p.add_argument("--layout", default=None)
    p.add_argument("--world-size", default=None, choices=["quick", "default"])
    p.add_argument("--video-ckpt", default="embedded", help="with --teacher: hub id, folder or 'embedded'")
    p.add_argument("--seed", type=int, default=0, help="with --teacher: the SVM's seed")
    p.add_argument("--out", default=None, help="results JSON (default: <run>/results_<dataset>.json)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comodo.errors import check
    from comodo.evaluation.run import evaluate_run, evaluate_teacher
    from comodo.io import write_json

    if args.teacher:
        check(args.dataset is not None, "--teacher needs --dataset")
        result = evaluate_teacher(args.dataset, args.video_ckpt, args.dataset_path, args.layout,
                                  args.world_size or "default", seed=args.seed)
        out = Path(args.out) if args.out else None
    else:
        result = evaluate_run(args.run_dir, args.dataset, args.dataset_path, args.layout, args.world_size)
        out = Path(args.out) if args.out else Path(args.run_dir) / f"results_{result['eval_dataset']}.json"
    if out is not None:
        write_json(out, result)
    print(json.dumps({k: result[k] for k in ("eval_dataset", "method", "acc1", "acc3", "acc5")}))
    return 0
