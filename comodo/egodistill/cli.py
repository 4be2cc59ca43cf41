"""``comodo egodistill``: the teacher, stage 0, stage 1 and the evaluation of EgoDistill.

::

    comodo egodistill teacher  --dataset ego4d                         # fine-tune Ω on the labels (cached)
    comodo egodistill pretrain --dataset ego4d --out runs/s0           # stage 0: f_M, h, Π (NCE + L1)
    comodo egodistill train    --dataset ego4d --init runs/s0 --out runs/ed   # stage 1 from stage 0
    comodo egodistill train    --dataset ego4d --out runs/ed           # runs stage 0 into runs/ed/stage0 first
    comodo egodistill train    --dataset ego4d --no-imu --pretrain none --out runs/vod   # VisOnly-Distill
    comodo egodistill evaluate --run runs/ed                           # student and teacher, per clip / video
    comodo egodistill claims                                           # EgoDistill vs VisOnly-Distill vs VisIMU

Several processes: ``torchrun --nproc_per_node=N -m comodo egodistill train ...``. Defaults are the
paper's (AdamW, lr 1e-4, batch 64, × 0.1 at 60 % and 80 % of the epochs, α 0.95, β 1, τ 1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from comodo.egodistill.clips import FRAME_RULES
from comodo.egodistill.config import LOSSES, PRETRAIN
from comodo.errors import check


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("egodistill", help="EgoDistill: sparse frames + head IMU → the video model's feature and scores",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = p.add_subparsers(dest="step", metavar="STEP", required=True)

    t = steps.add_parser("teacher", help="fine-tune the video classifier Ω on a dataset's train split")
    _data_args(t)
    t.add_argument("--video-ckpt", default="embedded",
                   help="base video model: hub id (MCG-NJU/videomae-base, facebook/timesformer-base-finetuned-k400, "
                        "...), a folder, 'embedded' (the embedded VideoMAE, default) or 'embedded-timesformer'")
    t.add_argument("--num-epochs", type=int, default=None, help="default: the teacher config's")
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--learning-rate", type=float, default=None)
    t.add_argument("--hflip", action="store_true",
                   help="flip each batch left-right with probability 1/2 (only for labels a mirror image keeps: "
                        "not for the embedded verbs' turn_left / turn_right)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--out", default=None, help="folder to save it in (default: the cache)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(run=_teacher)

    for name, help_ in (("pretrain", "stage 0: self-supervised IMU pre-training (f_M, h, Π)"),
                        ("train", "stage 1: distil Ω into Φ (from stage 0 or from scratch)")):
        s = steps.add_parser(name, help=help_)
        _data_args(s)
        _run_args(s, name)
        s.set_defaults(run=_train, stage=name)

    e = steps.add_parser("evaluate", help="per-clip / per-video top-1, per class, reconstruction of z_V")
    e.add_argument("--run", dest="run_dir", required=True, help="a finished stage-1 run folder")
    e.add_argument("--split", default="test")
    e.add_argument("--device", default="cpu")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(run=_evaluate)

    c = steps.add_parser("claims", help="the paper's two central claims on the embedded world (cached sweep)")
    c.add_argument("--quick", action="store_true", help="the quick world, one seed, 2 + 2 epochs")
    c.add_argument("--domain", action="append", default=None, metavar="NAME",
                   help="world domain (repeatable; default: the three verb domains)")
    c.add_argument("--seed", action="append", type=int, default=None, help="seed (repeatable; default: 0, 1, 2)")
    c.add_argument("--num-epochs", type=int, default=None, help="stage 1's epochs (default: the study's)")
    c.add_argument("--pretrain-epochs", type=int, default=None, help="stage 0's epochs (default: the study's)")
    c.add_argument("--imu-width", type=int, default=None, help="f_M's channels (default: the study's)")
    c.add_argument("--out", default=None, help="write the table as JSON here")
    c.set_defaults(run=_claims)


def _data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="ego4d", help="world domain (ego4d, egoexo4d, mmea) or, with --dataset-path, "
                                                      "the layout of a real dataset (default: %(default)s)")
    g.add_argument("--dataset-path", default=None, help="root of a real dataset (default: the embedded world)")
    g.add_argument("--layout", default=None)
    g.add_argument("--world-size", default="default", choices=["quick", "default"])
    g.add_argument("--world-seed", type=int, default=0)
    g.add_argument("--clip-s", type=float, default=2.0, help="clip length in s (default: 2)")


def _run_args(p: argparse.ArgumentParser, stage: str) -> None:
    g = p.add_argument_group("models")
    g.add_argument("--teacher", default="embedded",
                   help="fine-tuned video classifier Ω (`comodo egodistill teacher` folder, hub id), or an embedded "
                        "base fine-tuned on the dataset: 'embedded' (VideoMAE) or 'embedded-timesformer'")
    g.add_argument("--image-ckpt", default="embedded", help="frozen image backbone f_I: microsoft/resnet-18, a "
                                                            "folder, or 'embedded' (default)")
    g.add_argument("--frames", type=int, default=1, help="N RGB frames per clip (default: 1)")
    g.add_argument("--frame-selection", default="uniform", choices=FRAME_RULES)
    g.add_argument("--no-imu", dest="use_imu", action="store_false", help="image only (VisOnly, VisOnly-Distill)")
    g.add_argument("--imu-length", type=int, default=422)
    g.add_argument("--imu-option", action="append", default=[], metavar="KEY=VALUE",
                   help="f_M's dilated-CNN option: width, depth, kernel, dim (repeatable; default 64, 5, 5, 512)")
    g = p.add_argument_group("losses")
    if stage == "train":
        g.add_argument("--losses", default=",".join(LOSSES), help="subset of kd,l1,gt (default: all; gt alone = VisIMU "
                                                                  "or, with --no-imu, VisOnly)")
        g.add_argument("--alpha", type=float, default=0.95)
        g.add_argument("--beta", type=float, default=1.0)
        g.add_argument("--tau", type=float, default=1.0, help="KD temperature (the paper: 10 on Ego4D, 1 on EPIC)")
        g.add_argument("--no-kd-t2", dest="kd_t2", action="store_false", help="L_KD without the τ² factor")
        g.add_argument("--init", default=None, help="stage-0 run to start from (default: run it into OUT/stage0)")
        g.add_argument("--pretrain-epochs", type=int, default=50)
    g.add_argument("--pretrain", default="nce+l1", choices=PRETRAIN,
                   help="stage-0 losses (train: which stage 0 to start from; none = scratch)")
    g.add_argument("--nce-tau", type=float, default=0.1)
    g = p.add_argument_group("optimisation")
    g.add_argument("--learning-rate", type=float, default=1e-4)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--num-epochs", type=int, default=50)
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    p.add_argument("--out", required=True, help="run folder (created)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(args: argparse.Namespace):
    from comodo.egodistill.config import EgoDistillConfig
    from comodo.train.cli import key_value

    fields = dict(stage=args.stage, dataset=args.dataset, dataset_path=args.dataset_path, layout=args.layout,
                  world_size=args.world_size, world_seed=args.world_seed, clip_s=args.clip_s, teacher=args.teacher,
                  image_ckpt=args.image_ckpt, frames=args.frames, frame_selection=args.frame_selection,
                  use_imu=args.use_imu, imu_length=args.imu_length,
                  imu_options=dict(key_value(o, "--imu-option") for o in args.imu_option), pretrain=args.pretrain, nce_tau=args.nce_tau,
                  learning_rate=args.learning_rate, weight_decay=args.weight_decay, num_epochs=args.num_epochs,
                  batch_size=args.batch_size, seed=args.seed, device=args.device)
    if args.stage == "train":
        fields.update(losses=[x.strip() for x in args.losses.split(",") if x.strip()], alpha=args.alpha,
                      beta=args.beta, tau=args.tau, kd_t2=args.kd_t2, init=args.init,
                      pretrain_epochs=args.pretrain_epochs)
    return EgoDistillConfig(**fields)


def _train(args: argparse.Namespace) -> int:
    from comodo.egodistill.train import train

    print(train(config_from_args(args), args.out, resume=args.resume, progress=not args.quiet))
    return 0


def _teacher(args: argparse.Namespace) -> int:
    from comodo.egodistill.teacher import TeacherFinetuneConfig, finetune_teacher

    given = {"epochs": args.num_epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate}
    config = TeacherFinetuneConfig(dataset=args.dataset, dataset_path=args.dataset_path, layout=args.layout,
                                   world_size=args.world_size, world_seed=args.world_seed, clip_s=args.clip_s,
                                   base=args.video_ckpt, hflip=args.hflip, seed=args.seed, device=args.device,
                                   **{k: v for k, v in given.items() if v is not None})
    print(finetune_teacher(config, out=Path(args.out) if args.out else None, progress=not args.quiet))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from comodo.egodistill.evaluate import evaluate_run
    from comodo.io import write_json

    result = evaluate_run(args.run_dir, split=args.split, device=args.device, progress=not args.quiet)
    write_json(Path(args.run_dir) / f"results_{args.split}.json", result)
    brief = {who: {k: result[who][k] for k in ("clip_top1", "video_top1")} for who in ("student", "teacher")}
    brief["reconstruction"] = result["student"]["reconstruction"]
    print(json.dumps(brief, indent=2))
    return 0


def _claims(args: argparse.Namespace) -> int:
    from comodo.study.egodistill import experiments
    from comodo.io import write_json

    overrides = {k: tuple(v) for k, v in (("domains", args.domain), ("seeds", args.seed)) if v}
    for name in ("num_epochs", "pretrain_epochs", "imu_width"):
        v = getattr(args, name)
        check(v is None or v >= 1, f"--{name.replace('_', '-')} {v}: expected an integer ≥ 1")
        if v is not None:
            overrides[name] = v
    table = experiments.claims(experiments.settings(quick=args.quick, **overrides))
    if args.out:
        write_json(args.out, table)
    print(experiments.markdown(table))
    return 0
