"""``comodo distill``: one distillation run (COMODO or a baseline) into an output folder.

Single process: ``comodo distill --dataset ego4d --out runs/x``. Several processes (DDP; gloo on the
CPU, NCCL on GPUs): ``torchrun --nproc_per_node=N -m comodo distill ...``. Flag names follow the
reference's ``train.py`` (``--video_ckpt`` → ``--video-ckpt`` …); defaults are the paper's.
"""

from __future__ import annotations

import argparse
import json

from comodo.train.config import METHODS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("distill", help="distil the video teacher into an IMU student (or train a baseline)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="ego4d",
                   help="world domain (ego4d, egoexo4d, mmea) or, with --dataset-path, the layout of a real "
                        "dataset (ego4d, egoexo4d, mmea, generic) (default: %(default)s)")
    g.add_argument("--dataset-path", default=None, help="root of a real dataset (default: the embedded world)")
    g.add_argument("--layout", default=None, help="layout of --dataset-path when it differs from --dataset")
    g.add_argument("--world-size", default="default", choices=["quick", "default"], help="embedded world size")
    g.add_argument("--world-seed", type=int, default=0)
    g.add_argument("--imu-rate", type=float, default=None, help="IMU rate in Hz (default: the layout's)")
    g.add_argument("--window", type=float, default=5.0, dest="window_s", help="window length in s (default: 5)")
    g.add_argument("--num-clips", type=int, default=0,
                   help="windows kept per video, chosen at random; 0 keeps all (default: 0)")
    g = p.add_argument_group("models")
    g.add_argument("--video-ckpt", default="embedded",
                   help="teacher: hub id (MCG-NJU/videomae-base-finetuned-kinetics, facebook/timesformer-base-"
                        "finetuned-k400, ...), a local folder, or 'embedded' (default)")
    g.add_argument("--projection", default="random_mlp", choices=["random_mlp", "none"],
                   help="teacher projection head (default: the reference's random_mlp)")
    g.add_argument("--projection-seed", type=int, default=0)
    g.add_argument("--student", default="dilated_cnn", help="student backbone: dilated_cnn, mantis, moment")
    g.add_argument("--imu-ckpt", default=None,
                   help="student checkpoint: hub id (paris-noah/Mantis-8M, AutonLab/MOMENT-1-small) or folder")
    g.add_argument("--student-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backbone option, e.g. per_channel=true, width=64 (repeatable)")
    g.add_argument("--reduction", default="concat", choices=["concat", "mean"])
    g.add_argument("--mlp-hidden-dim", type=int, default=2048)
    g.add_argument("--mlp-output-dim", type=int, default=128)
    g = p.add_argument_group("method")
    g.add_argument("--method", default="comodo", choices=METHODS)
    g.add_argument("--queue-size", type=int, default=16384)
    g.add_argument("--queue-init", default="reference", choices=["reference", "empty"])
    g.add_argument("--student-temp", type=float, default=0.05)
    g.add_argument("--teacher-temp", type=float, default=0.1)
    g.add_argument("--infonce-temp", type=float, default=0.1)
    g = p.add_argument_group("optimisation (defaults: 3e-4 / 20 / 128; supervised 1e-4 / 40 / 48)")
    g.add_argument("--learning-rate", type=float, default=None)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--num-epochs", type=int, default=None)
    g.add_argument("--batch-size", type=int, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    p.add_argument("--out", required=True, help="run folder (created)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def key_value(text: str, flag: str = "--student-option"):
    """``KEY=VALUE`` of a repeatable option → ``(key, value)``, the value parsed as JSON when it is."""
    from comodo.errors import ComodoError

    if "=" not in text:
        raise ComodoError(f"{flag} {text!r}: expected KEY=VALUE")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def config_from_args(args: argparse.Namespace):
    from comodo.train.config import DistillConfig

    return DistillConfig(
        dataset=args.dataset, dataset_path=args.dataset_path, layout=args.layout, world_size=args.world_size,
        world_seed=args.world_seed, imu_rate=args.imu_rate, window_s=args.window_s, num_clips=args.num_clips,
        video_ckpt=args.video_ckpt, projection=args.projection, projection_seed=args.projection_seed,
        student=args.student, imu_ckpt=args.imu_ckpt, student_options=dict(map(key_value, args.student_option)),
        reduction=args.reduction, mlp_hidden_dim=args.mlp_hidden_dim, mlp_output_dim=args.mlp_output_dim,
        method=args.method, queue_size=args.queue_size, queue_init=args.queue_init,
        student_temp=args.student_temp, teacher_temp=args.teacher_temp, infonce_temp=args.infonce_temp,
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, num_epochs=args.num_epochs,
        batch_size=args.batch_size, seed=args.seed, device=args.device)


def run(args: argparse.Namespace) -> int:
    from comodo.train.loop import distill

    out = distill(config_from_args(args), args.out, resume=args.resume, progress=not args.quiet)
    print(out)
    return 0
