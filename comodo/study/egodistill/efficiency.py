"""EgoDistill's Φ at its real size in :mod:`comodo.study.efficiency`: params, FLOPs and CPU latency per clip.

:class:`EgoDistillPhi` is what runs at inference for one clip: the frozen image encoder f_I — a
transformers ``ResNetModel`` with ``microsoft/resnet-18``'s architecture (:data:`RESNET_18`; 224² frames,
pooled output 512-d) — on each of the N frames, then :class:`~comodo.egodistill.student.EgoDistillStudent`
(the GRU for N > 1, the 5-block dilated CNN f_M on the 6 × 422 IMU, the fusion Π to the teacher's 768-d
feature, the 94-way Ego4D verb classifier). The IMU predictor h is dropped: it serves stage 0 only
(it would add 1.57 M parameters and no inference FLOPs).

:func:`register` adds ``egodistill_n1``, ``egodistill_n2``, ``egodistill_n4`` and ``visonly_n1`` (no IMU:
what the IMU branch costs), and ``visonly_n2``, ``visonly_n4``, to :data:`comodo.study.efficiency.MODELS`; importing this module calls it, so
``comodo.study.efficiency`` itself stays method-agnostic. :func:`paper_table3_beside_ours` lines the measured
rows up beside the paper's Table 3 and :func:`table3_markdown` prints them.

One input tensor. :func:`comodo.study.efficiency.measure` feeds a model one tensor (B, ...) and times
``module(x)``, so a clip's frames and IMU are packed into one row: ``packed (B, N·3·H·W + C·L)`` =
``cat(frames.flatten(1), imu.flatten(1))`` (:func:`pack`). :meth:`EgoDistillPhi.unpack` gives them back as
views of the packed tensor (no copy, no FLOPs). Folding the N frames into the backbone's batch (B·N, 3, H, W)
is a view at batch 1; at batch > 1 the frame rows are not adjacent in memory (each row ends with its IMU) and
``reshape`` copies them once — a memcpy, no FLOPs (at batch 32, N = 4: 77 MB, 0.16 s against a 32 s forward
on one core of a loaded 2-core machine, 0.5 %).

FLOP convention: comodo counts a multiply-add as 2 FLOPs; the paper (fvcore) as 1 and calls it a FLOP, so its
1.91 "GFLOPs" for EgoDistill and 369.51 for MotionFormer are GMACs here (``gmacs_per_clip``). Ratios are the
same in either convention.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn

from comodo.study.efficiency import MODELS, STUDENT, TEACHER, InputMaker, ModelSpec, fmt_number, fmt_ratio
from comodo.egodistill.clips import IMU_LENGTH
from comodo.egodistill.student import EgoDistillStudent
from comodo.errors import ComodoError, check

# microsoft/resnet-18's config.json (transformers ResNetConfig): basic blocks, 2 per stage, 64 … 512 channels.
RESNET_18: dict[str, Any] = {"embedding_size": 64, "hidden_sizes": [64, 128, 256, 512], "depths": [2, 2, 2, 2],
                             "layer_type": "basic", "hidden_act": "relu", "downsample_in_first_stage": False}
IMAGE_SIZE = 224
FEATURE_DIM = 768  # z_V of MotionFormer / VideoMAE-base
N_CLASSES = 94  # Ego4D verbs
N_CHANNELS = 6
STUDENT_OPTIONS = ("feature_dim", "n_classes", "n_channels", "imu_length", "imu_options", "gru_hidden",
                   "fusion_hidden")
EGODISTILL_MODELS = ("egodistill_n1", "egodistill_n2", "egodistill_n4", "visonly_n1")
# Φ without the IMU at N = 2, 4 (VisOnly and VisOnly-Distill): the x-axis of the accuracy-against-cost figure
VISONLY_MODELS = ("visonly_n2", "visonly_n4")
VIDEO_MODELS = ("timesformer", "videomae")
PAPER_VIDEO = "Video (MotionFormer)"  # the paper's Table 3 reference row
# Our model -> its row in the paper's Table 3. Table 3 does not state N; its 1.91 GMACs is one ResNet-18 pass
# at 224² (1.81 GMACs) plus a small remainder, so N = 1.
PAPER_COUNTERPART = {"egodistill_n1": "EgoDistill", "videomae": PAPER_VIDEO, "timesformer": PAPER_VIDEO}
PAPER_RUNTIME = "A40 GPU, batch 32"


def pack(frames: Tensor, imu: Tensor | None) -> Tensor:
    """frames (B, N, 3, H, W), imu (B, C, L) or None → packed (B, N·3·H·W [+ C·L])."""
    parts = [frames.flatten(1)] + ([] if imu is None else [imu.flatten(1)])
    return torch.cat(parts, dim=1)  # (B, P)


class EgoDistillPhi(nn.Module):
    """Φ as it runs on a clip: packed (B, N·3·H·W + C·L) → logits (B, K) (see the module docstring)."""

    def __init__(self, backbone: nn.Module, student: EgoDistillStudent, image_size: int = IMAGE_SIZE,
                 n_channels: int = N_CHANNELS, imu_length: int = IMU_LENGTH) -> None:
        super().__init__()
        self.backbone, self.student = backbone, student
        self.backbone.requires_grad_(False)  # f_I is frozen
        self.frames, self.use_imu = student.frames, student.use_imu
        self.frame_shape = (int(backbone.config.num_channels), image_size, image_size)
        self.imu_shape = (n_channels, imu_length) if student.use_imu else None
        self.frame_numel = self.frames * self.frame_shape[0] * image_size * image_size
        self.packed_size = self.frame_numel + (n_channels * imu_length if student.use_imu else 0)

    def unpack(self, packed: Tensor) -> tuple[Tensor, Tensor | None]:
        """packed (B, P) → frames (B, N, 3, H, W) and imu (B, C, L) (None without IMU), views of ``packed``."""
        check(packed.ndim == 2 and packed.shape[1] == self.packed_size,
              f"EgoDistill Φ input: expected (B, {self.packed_size}) packed frames+imu, got {tuple(packed.shape)}")
        b = packed.shape[0]
        frames = packed[:, :self.frame_numel].view(b, self.frames, *self.frame_shape)  # (B, N, 3, H, W)
        imu = packed[:, self.frame_numel:].view(b, *self.imu_shape) if self.use_imu else None  # (B, C, L)
        return frames, imu

    def frame_features(self, frames: Tensor) -> Tensor:
        """(B, N, 3, H, W) → f_I per frame (B, N, D_I): the backbone's pooled output."""
        b = frames.shape[0]
        pixels = frames.reshape(b * self.frames, *self.frame_shape)  # (B·N, 3, H, W); a copy only at B > 1
        z = self.backbone(pixel_values=pixels).pooler_output.flatten(1)  # (B·N, D_I, 1, 1) → (B·N, D_I)
        return z.view(b, self.frames, -1)  # (B, N, D_I)

    def forward(self, packed: Tensor) -> Tensor:
        frames, imu = self.unpack(packed)
        _, logits = self.student(self.frame_features(frames), imu)  # (B, D_V), (B, K)
        return logits  # (B, K)


def build_phi(frames: int, use_imu: bool, overrides: Mapping[str, Any] | None = None) -> tuple[EgoDistillPhi, InputMaker]:
    """Φ at the real size (random weights) and its input maker, batch → packed (B, P).

    ``overrides`` (tests shrink Φ with them): ``resnet`` (``ResNetConfig`` kwargs over :data:`RESNET_18`),
    ``image_size``, and the student's :data:`STUDENT_OPTIONS`. D_I is the backbone's last stage width.
    """
    from transformers import ResNetConfig, ResNetModel

    overrides = dict(overrides or {})
    unknown = set(overrides) - {"resnet", "image_size", *STUDENT_OPTIONS}
    check(not unknown, f"EgoDistill Φ: unknown option(s) {sorted(unknown)}; expected some of "
                       f"{sorted({'resnet', 'image_size', *STUDENT_OPTIONS})}")
    config = ResNetConfig(**{**RESNET_18, **dict(overrides.pop("resnet", {}))})
    image_size = int(overrides.pop("image_size", IMAGE_SIZE))
    options = {"feature_dim": FEATURE_DIM, "n_classes": N_CLASSES, "n_channels": N_CHANNELS,
               "imu_length": IMU_LENGTH, **overrides}
    student = EgoDistillStudent(int(config.hidden_sizes[-1]), frames, use_imu=use_imu, **options)
    student.predictor = None  # h: stage 0 only
    module = EgoDistillPhi(ResNetModel(config), student, image_size, options["n_channels"], options["imu_length"])

    def make_input(batch: int) -> Tensor:
        generator = torch.Generator().manual_seed(0)
        clip_frames = torch.randn(batch, frames, *module.frame_shape, generator=generator)  # (B, N, 3, H, W)
        imu = torch.randn(batch, *module.imu_shape, generator=generator) if use_imu else None  # (B, C, L)
        return pack(clip_frames, imu)  # (B, P)

    return module, make_input


def _spec(frames: int, use_imu: bool) -> ModelSpec:
    name = "EgoDistill" if use_imu else "VisOnly"
    text = ("ResNet-18 f_I (frozen, microsoft/resnet-18 architecture) on each 224² frame"
           + (", GRU(512)" if frames > 1 else "")
           + (" + dilated CNN f_M on 6 × 422 IMU" if use_imu else "")
           + f" + fusion → 768 + classifier (94 Ego4D verbs); input packed N·3·224² + {'6·422' if use_imu else '0'}")
    return ModelSpec(STUDENT, f"{name} Φ (N={frames})", text, "frames+imu" if use_imu else "frames",
                     lambda overrides: build_phi(frames, use_imu, overrides))


def register(models: dict[str, ModelSpec] = MODELS) -> dict[str, ModelSpec]:
    """Add :data:`EGODISTILL_MODELS` to ``models`` (idempotent); returns ``models``."""
    for name, frames, use_imu in (("egodistill_n1", 1, True), ("egodistill_n2", 2, True),
                                  ("egodistill_n4", 4, True), ("visonly_n1", 1, False),
                                  ("visonly_n2", 2, False), ("visonly_n4", 4, False)):
        models[name] = _spec(frames, use_imu)
    return models


register()


# --------------------------------------------------------------------------------------------- Table 3
def paper_table3() -> list[dict[str, Any]]:
    """The paper's Table 3 rows: ``model``, ``gflops`` (fvcore: = GMACs), ``runtime_ms`` (A40, batch 32), ``params_m``."""
    from comodo.study.paper import load_egodistill

    return [dict(r) for r in load_egodistill()["table3_efficiency"]["rows"]]


def paper_table3_beside_ours(results: Iterable[Mapping[str, Any]], reference: str = "videomae",
                             batch_sizes: Iterable[int] = (1, 32),
                             models: Iterable[str] = (*VIDEO_MODELS, *EGODISTILL_MODELS)) -> list[dict[str, Any]]:
    """The paper's Table 3 rows, then ours (:func:`comodo.study.efficiency.measure` results of ``models``, in order).

    Every row: ``source`` ("paper" | "ours"), ``model``, ``label``, ``role``, ``params_m``, ``gmacs_per_clip``
    (the paper's "GFLOPs"), ``gflops_per_clip`` (a multiply-add = 2; the paper's doubled), ``video_model`` and
    ``ratio_vs_video`` (the video model's FLOPs ÷ the row's: MotionFormer for the paper, ``reference`` for us),
    ``runtime_ms`` + ``runtime_setting`` (paper: A40 GPU, batch 32), ``ms_per_clip_b{b}`` (ours: CPU wall clock),
    ``counterpart`` (our row's paper row, :data:`PAPER_COUNTERPART`) and ``gmacs_vs_counterpart`` (ours ÷ theirs),
    ``ratio_vs_paper_video`` (the paper's MotionFormer GMACs ÷ ours: two FLOP counters, indicative).
    """
    results = {r["model"]: r for r in results}
    check(reference in results, f"reference video model {reference!r} is not among the results {sorted(results)}")
    batches = sorted({int(b) for b in batch_sizes})
    paper = paper_table3()
    by_name = {r["model"]: r for r in paper}
    video = by_name[PAPER_VIDEO]
    rows: list[dict[str, Any]] = []
    for r in paper:
        rows.append({"source": "paper", "model": r["model"], "label": r["model"],
                     "role": TEACHER if r["model"] == PAPER_VIDEO else STUDENT, "params_m": r["params_m"],
                     "gmacs_per_clip": r["gflops"], "gflops_per_clip": 2 * r["gflops"], "video_model": PAPER_VIDEO,
                     "ratio_vs_video": video["gflops"] / r["gflops"], "runtime_ms": r["runtime_ms"],
                     "runtime_setting": PAPER_RUNTIME, **{f"ms_per_clip_b{b}": None for b in batches},
                     "counterpart": None, "gmacs_vs_counterpart": None, "ratio_vs_paper_video": None})
    ref = results[reference]
    for name in models:
        if name not in results:
            continue
        r = results[name]
        gflops = r.get("gflops_per_clip")
        if gflops is None:
            raise ComodoError(f"result {name!r} has no FLOP count (measured with flops=False)")
        theirs = by_name.get(PAPER_COUNTERPART.get(name, ""))
        ms = r.get("latency_ms_per_clip", {})
        rows.append({"source": "ours", "model": name, "label": r.get("label", name), "role": r.get("role"),
                     "params_m": r["params"] / 1e6, "gmacs_per_clip": gflops / 2, "gflops_per_clip": gflops,
                     "video_model": ref.get("label", reference), "ratio_vs_video": ref["gflops_per_clip"] / gflops,
                     "runtime_ms": None, "runtime_setting": f"CPU, {r.get('threads')} thread(s)",
                     **{f"ms_per_clip_b{b}": None if ms.get(str(b)) is None else float(ms[str(b)]) for b in batches},
                     "counterpart": None if theirs is None else theirs["model"],
                     "gmacs_vs_counterpart": None if theirs is None else gflops / 2 / theirs["gflops"],
                     "ratio_vs_paper_video": video["gflops"] / (gflops / 2)})
    return rows


def table3_markdown(rows: list[Mapping[str, Any]], batch_sizes: Iterable[int] = (1, 32)) -> str:
    """A Markdown table of :func:`paper_table3_beside_ours` rows: ours first, then the paper's.

    Two ratio columns: our reference video model ÷ model (our rows, one FLOP counter), and the paper's
    MotionFormer ÷ model (the paper's rows; for ours its fvcore GMACs ÷ our GMACs, two counters).
    """
    batches = sorted({int(b) for b in batch_sizes})
    ours = [r for r in rows if r["source"] == "ours"]
    paper = [r for r in rows if r["source"] == "paper"]
    video = ours[0]["video_model"] if ours else "video model"
    head = (["Model", "Source", "Params (M)", "GFLOPs/clip (MAC = 2)", "GMACs/clip"]
            + [f"CPU ms/clip, batch {b}" for b in batches]
            + ["Paper ms/clip (A40, batch 32)", f"{video} ÷ model (FLOPs)", "MotionFormer (paper) ÷ model (MACs)"])
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for r in ours + paper:
        mine = r["source"] == "ours"
        cells = [r["label"], "measured here" if mine else "paper, Table 3",
                 fmt_number(r["params_m"]), fmt_number(r["gflops_per_clip"]), fmt_number(r["gmacs_per_clip"])]
        cells += [fmt_number(r.get(f"ms_per_clip_b{b}")) for b in batches]
        cells += [fmt_number(r["runtime_ms"]), fmt_ratio(r["ratio_vs_video"]) if mine else "—",
                  fmt_ratio(r["ratio_vs_paper_video"] if mine else r["ratio_vs_video"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
