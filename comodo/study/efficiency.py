"""Efficiency of the video teachers and the IMU students: parameters, FLOPs per clip, CPU latency per clip.

The point of distillation is that the student, not the teacher, runs on the device. :func:`measure` builds
one model of :data:`MODELS` at its real size with random weights (nothing is downloaded: only the
architecture matters for these numbers) and reports

- ``params``: trainable and frozen parameters of the module that runs (``nn.Module.parameters()``);
- ``flops_per_clip``: FLOPs of one forward pass on one clip, counted by
  :class:`torch.utils.flop_counter.FlopCounterMode` (see *FLOP counting* below);
- ``latency_ms_per_clip``: CPU wall time of one forward pass divided by the batch size, the median of
  the timed runs, at each batch size asked for, under ``torch.inference_mode()`` in ``eval()`` mode after
  warm-up; ``torch.get_num_threads()`` is recorded with the result, and so is the process CPU time of the
  same runs (``cpu_time_ms_per_clip``: on a shared machine, wall time ÷ CPU time shows how much other
  processes slowed a single-threaded measurement).

:func:`table` turns results into rows with the teacher/student ratios (teacher FLOPs ÷ model FLOPs, teacher
latency ÷ model latency, for every teacher among the results); :func:`markdown` prints them.
:func:`study_table` measures the study's table (notebook 8) under a :class:`StudyPlan` small enough to run
in about a minute on one core (``benchmarks/bench_efficiency.py`` takes more runs per cell), once per
machine, plan and code: the table is cached (:func:`measurements_key`), so a warm study redraws it byte
for byte.

Models (``MODELS``; every builder takes ``config_overrides`` so tests can shrink them):

- ``timesformer``: transformers ``TimesformerModel(TimesformerConfig())`` — the architecture of
  ``facebook/timesformer-base-finetuned-k400`` (8 frames of 224², patch 16, divided space-time attention)
  — plus the teacher's pooling (mean over tokens); the classifier is not part of the teacher.
- ``videomae``: ``VideoMAEModel(VideoMAEConfig())`` — ``MCG-NJU/videomae-base`` (16 frames of 224²,
  tubelet 2, patch 16 → 1568 tokens) — plus the teacher's pooling (mean over tokens).
- ``mantis``: ``mantis.architecture.MantisV1`` at its default (Mantis-8M) sizes, read out as comodo's
  :class:`~comodo.encoders.mantis.MantisBackbone` does (class token of the last layer), applied channel by
  channel to a 6 × 512 IMU clip.
- ``moment``: comodo's :class:`~comodo.encoders.moment.MomentBackbone` built from the hub config of
  ``AutonLab/MOMENT-1-small`` (T5-small encoder: d_model 512, 8 layers, 6 heads, d_ff 1024, gated-gelu;
  seq 512, patch 8 → 64 patches), on a 6 × 512 clip (the 6 channels are 6 sequences). The T5 token
  embedding table of the checkpoint (32128 × 512, never used for series) and the reconstruction head are
  not built, so they are not counted.
- ``dilated_cnn``: comodo's default :class:`~comodo.encoders.cnn.DilatedCNN` on a 6 × 256 clip.
- ``imu_student``: the full :class:`~comodo.encoders.student.IMUStudent` (backbone + concat reduction +
  projector ``Linear → BatchNorm1d → GELU → Linear(2048 → 128)``), by default around the dilated CNN;
  ``config_overrides={"backbone": "mantis" | "moment", ...}`` puts another backbone inside. The projector
  only serves training: what runs on the device for recognition is the backbone.

What is not measured: video decoding and the image processor (resize, normalise) before the teacher, and
the teacher's never-trained projection head (768 → 2048 → 128: 1.8 M parameters, 3.7 MFLOPs, negligible).

FLOP counting. Counted at batch 1 (every model here is per-clip independent, so FLOPs scale linearly with
the batch). ``FlopCounterMode`` counts matrix products, convolutions and attention kernels, a
multiply-add as **2** FLOPs; elementwise work (norms, activations, softmax of eager attention, RevIN) is
not counted. The video papers (fvcore) count a multiply-add as 1 and call it a FLOP: their "180 GFLOPs"
for VideoMAE-base is ``gmacs_per_clip`` here (= ``gflops_per_clip / 2``); the ratios are the same in
either convention. Torch's table has no entry for the CPU SDPA kernel
(``aten._scaled_dot_product_flash_attention_for_cpu``, what ``F.scaled_dot_product_attention`` lowers to
on CPU, used by VideoMAE and T5 in transformers 5), which would silently drop attention (a quarter of
VideoMAE's FLOPs); :data:`EXTRA_FLOP_FORMULAS` adds it with torch's own SDPA formula. Every result lists
the operators the counter saw but did not count (``uncounted_ops``) and, among them, those that look like
compute kernels (``uncounted_compute_ops``; empty for every model here): when that list is not empty,
:func:`markdown` marks the FLOPs as a lower bound.

Latency protocol per batch size: ``warmup`` runs, then ``repeats`` timed runs, median reported. With the
defaults (``None``) both adapt to ``time_budget_s``: one warm-up run, skipped when one run is predicted
(from the per-clip time at the smallest batch) to take longer than the budget — the kernels are warm from
the smaller batch then; timed runs until the budget is spent, at least 3 when one run fits in the budget,
else 1, at most ``MAX_REPEATS``. With no warm-up run planned (``warmup=0``) at the smallest batch, the
FLOP count's forward just before stands in for it and for its prediction: a model slower than the budget
is timed once. Every result records the runs actually made and every timing.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from comodo.errors import ComodoError

TEACHER, STUDENT = "teacher", "student"
MAX_REPEATS = 50
N_IMU_CHANNELS = 6
SEED = 0

InputMaker = Callable[[int], Tensor]  # batch size -> model input (B, ...)
Builder = Callable[[dict[str, Any]], tuple[nn.Module, InputMaker]]


# --------------------------------------------------------------------------------------------- FLOPs
def _cpu_sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of softmax(q kᵀ) v, q (B, H, Lq, E), k (B, H, Lk, E), v (B, H, Lk, Ev): 2·B·H·Lq·Lk·(E + Ev),
    the formula torch uses for its GPU SDPA kernels (the softmax itself is not counted)."""
    b, h, lq, e = query_shape
    lk, ev = key_shape[-2], value_shape[-1]
    return 2 * b * h * lq * lk * e + 2 * b * h * lq * lk * ev


def _extra_formulas() -> dict[Any, Callable[..., int]]:
    ops = torch.ops.aten
    extra: dict[Any, Callable[..., int]] = {}
    for name in ("_scaled_dot_product_flash_attention_for_cpu",):
        if hasattr(ops, name):
            extra[getattr(ops, name)] = _cpu_sdpa_flop
    return extra


EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = _extra_formulas()

# Operator names that do arithmetic worth counting; an uncounted operator whose name matches is flagged.
_COMPUTE_OP = re.compile(r"mm|conv|attention|matmul|einsum|linear|addmv|\bmv\b|dot|lstm|gru|rnn|fft")


class _OpRecorder(TorchDispatchMode):
    """Records every aten operator that reaches the dispatcher (entered outside the FLOP counter, it sees
    the operators after the counter's decompositions: the kernels that actually run)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(str(func._overloadpacket))
        return func(*args, **(kwargs or {}))


def count_flops(module: nn.Module, inputs: Tensor) -> dict[str, Any]:
    """FLOPs of ``module(inputs)`` (one forward pass, the whole batch) under ``torch.inference_mode()``.

    Returns ``flops`` (int), ``by_op`` (operator → FLOPs), ``uncounted_ops`` (operators seen but without a
    FLOP formula, sorted) and ``uncounted_compute_ops`` (those of them that look like compute kernels).
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, custom_mapping=dict(EXTRA_FLOP_FORMULAS))
    recorder = _OpRecorder()
    with torch.inference_mode(), recorder, counter:
        module(inputs)
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    counted = {str(op) for op in counter.flop_registry}
    uncounted = sorted(recorder.ops - counted)
    return {
        "flops": int(counter.get_total_flops()),
        "by_op": dict(sorted(by_op.items())),
        "uncounted_ops": uncounted,
        "uncounted_compute_ops": [op for op in uncounted if _COMPUTE_OP.search(op.removeprefix("aten."))],
    }


def count_model_flops(model_name: str, config_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`count_flops` of one clip through ``MODELS[model_name]``, without doing its arithmetic.

    The model is built on PyTorch's ``meta`` device (shapes, no weights: nothing initialised) and fed a
    meta clip, so a count takes well under a second where building and running the real-size model takes
    seconds (VideoMAE-base: ~7 s on 2 cores). The total is :func:`measure`'s (tested for every registered
    model family); ``by_op`` may name other kernels (on meta, attention runs as two ``bmm``, counted with the
    same formula as the CPU's fused attention kernel). A model whose forward pass reads its tensors' values
    (MOMENT's ``.item()``, Mantis's copies) cannot run on meta: it is built with real weights and counted
    as :func:`measure` counts it.
    """
    if model_name not in MODELS:
        raise ComodoError(f"unknown model {model_name!r}; expected one of {sorted(MODELS)}")
    try:
        with torch.device("meta"):
            module, make_input = MODELS[model_name](config_overrides)
        return count_flops(module.eval(), make_input(1).to("meta"))
    except (NotImplementedError, RuntimeError):  # values needed: count the real model
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            module, make_input = MODELS[model_name](config_overrides)
        return count_flops(module.eval(), make_input(1))


def count_params(module: nn.Module) -> int:
    """Parameters of ``module`` (each shared tensor once; buffers such as BatchNorm statistics excluded)."""
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelSpec:
    """One entry of :data:`MODELS`: calling it with ``config_overrides`` returns ``(module, make_input)``."""

    role: str  # TEACHER | STUDENT
    label: str  # the name printed in tables
    description: str
    input_name: str  # what the input tensor is
    builder: Builder

    def __call__(self, config_overrides: Mapping[str, Any] | None = None) -> tuple[nn.Module, InputMaker]:
        return self.builder(dict(config_overrides or {}))


def _randn(*shape: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(SEED))


class PooledVideoEncoder(nn.Module):
    """A transformers video model + the teacher's pooling: pixel_values (B, F, 3, H, W) → (B, hidden)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from comodo.encoders import TEACHERS

        self.model = model
        self.pool = TEACHERS.get(model.config.model_type)

    def forward(self, pixel_values: Tensor) -> Tensor:
        hidden = self.model(pixel_values=pixel_values).last_hidden_state  # (B, N, hidden)
        return self.pool(hidden, self.model.config)  # (B, hidden)


@torch.no_grad()
def _random_weights(module: nn.Module, std: float) -> None:
    """Random weights as transformers initialises them, without its per-module pass: every matrix (and
    embedding, class token) drawn from N(0, std²), biases 0, norm weights 1. Only the architecture
    matters for the numbers measured here (FLOPs, parameters, latency); the weights only have to be finite
    and of a trained model's scale."""
    for name, p in module.named_parameters():
        if p.ndim >= 2:
            p.normal_(0.0, std)
        elif name.endswith("bias"):
            p.zero_()
        else:
            p.fill_(1.0)


def _video_builder(family: str) -> Builder:
    def build(overrides: dict[str, Any]) -> tuple[nn.Module, InputMaker]:
        import transformers

        from comodo.encoders.video import quiet_transformers

        quiet_transformers()
        config_cls, model_cls = {
            "timesformer": (transformers.TimesformerConfig, transformers.TimesformerModel),
            "videomae": (transformers.VideoMAEConfig, transformers.VideoMAEModel),
        }[family]
        cfg = config_cls(**overrides)
        from transformers.initialization import no_init_weights

        with no_init_weights():  # transformers' own pass over every module: most of TimeSformer-base's build
            model = model_cls(cfg)
        _random_weights(model, cfg.initializer_range)  # (each result's seconds["build"])
        module = PooledVideoEncoder(model)
        shape = (cfg.num_frames, cfg.num_channels, cfg.image_size, cfg.image_size)
        return module, lambda b: _randn(b, *shape)

    return build


# The hub config of AutonLab/MOMENT-1-small, in the layout MomentConfig.from_dict reads.
MOMENT_1_SMALL: dict[str, Any] = {
    "model_name": "MOMENT",
    "task_name": "reconstruction",
    "transformer_type": "encoder_only",
    "transformer_backbone": "google/flan-t5-small",
    "d_model": None,
    "seq_len": 512,
    "patch_len": 8,
    "patch_stride_len": 8,
    "revin_affine": False,
    "add_positional_embedding": True,
    "value_embedding_bias": False,
    "enable_gradient_checkpointing": True,
    "t5_config": {
        "model_type": "t5", "d_model": 512, "d_kv": 64, "d_ff": 1024, "num_layers": 8, "num_heads": 6,
        "feed_forward_proj": "gated-gelu", "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6,
        "initializer_factor": 1.0, "is_encoder_decoder": True, "tie_word_embeddings": False,
        "vocab_size": 32128,
    },
}


def _imu_input(n_channels: int, length: int) -> InputMaker:
    return lambda b: _randn(b, n_channels, length)


def _build_moment(overrides: dict[str, Any]) -> tuple[nn.Module, InputMaker]:
    from comodo.encoders.moment import MomentBackbone, MomentConfig

    n_channels = int(overrides.pop("n_channels", N_IMU_CHANNELS))
    raw = copy.deepcopy(MOMENT_1_SMALL)
    raw["t5_config"].update(overrides.pop("t5_config", {}))
    raw.update(overrides)
    module = MomentBackbone(MomentConfig.from_dict(raw, where="MOMENT-1-small config"))
    return module, _imu_input(n_channels, module.input_length)


def _build_mantis(overrides: dict[str, Any]) -> tuple[nn.Module, InputMaker]:
    from mantis.architecture.version1 import MantisV1

    from comodo.encoders.mantis import MantisBackbone

    n_channels = int(overrides.pop("n_channels", N_IMU_CHANNELS))
    output_token = overrides.pop("output_token", "cls_token")
    overrides.pop("device", None)  # measured on CPU
    module = MantisBackbone.reading_out(MantisV1(**overrides, device="cpu"), output_token)
    return module, _imu_input(n_channels, module.input_length)


def _build_cnn(overrides: dict[str, Any]) -> tuple[nn.Module, InputMaker]:
    from comodo.encoders.cnn import DilatedCNN

    module = DilatedCNN(**overrides)
    return module, _imu_input(module.n_channels, module.input_length)


def _build_student(overrides: dict[str, Any]) -> tuple[nn.Module, InputMaker]:
    from comodo.encoders.student import IMUStudent

    backbone_name = overrides.pop("backbone", "dilated_cnn")
    if backbone_name not in _BACKBONE_BUILDERS:
        raise ComodoError(f"imu_student backbone {backbone_name!r}; expected one of {sorted(_BACKBONE_BUILDERS)}")
    backbone, make_input = _BACKBONE_BUILDERS[backbone_name](dict(overrides.pop("backbone_options", {})))
    n_channels = int(make_input(1).shape[1])
    module = IMUStudent(backbone, n_channels, **overrides)
    return module, make_input


_BACKBONE_BUILDERS: dict[str, Builder] = {"dilated_cnn": _build_cnn, "mantis": _build_mantis, "moment": _build_moment}

MODELS: dict[str, ModelSpec] = {
    "timesformer": ModelSpec(
        TEACHER, "TimeSformer-base", "TimesformerModel(TimesformerConfig()) + mean pooling "
        "(facebook/timesformer-base-finetuned-k400 architecture)", "pixel_values", _video_builder("timesformer")),
    "videomae": ModelSpec(
        TEACHER, "VideoMAE-base", "VideoMAEModel(VideoMAEConfig()) + mean pooling "
        "(MCG-NJU/videomae-base architecture)", "pixel_values", _video_builder("videomae")),
    "mantis": ModelSpec(
        STUDENT, "Mantis-8M", "MantisV1 default sizes (Mantis-8M), channel by channel, class-token read-out",
        "imu", _build_mantis),
    "moment": ModelSpec(
        STUDENT, "MOMENT-1-small", "comodo MomentBackbone from the AutonLab/MOMENT-1-small config "
        "(T5-small encoder, 64 patches of 8, per channel)", "imu", _build_moment),
    "dilated_cnn": ModelSpec(
        STUDENT, "Dilated CNN", "comodo DilatedCNN() defaults (width 32, depth 5, dim 256)", "imu", _build_cnn),
    "imu_student": ModelSpec(
        STUDENT, "IMUStudent (CNN + projector)", "comodo IMUStudent: DilatedCNN() + concat + projector "
        "Linear(256, 2048) → BatchNorm1d → GELU → Linear(2048, 128)", "imu", _build_student),
}


# --------------------------------------------------------------------------------------------- timing
def _per_batch(value: int | Mapping[int, int] | None, batch: int) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return value.get(batch)


def _time_once(module: nn.Module, x: Tensor, cpu: list[float] | None = None) -> float:
    """Wall-clock seconds of ``module(x)``; the process CPU seconds are appended to ``cpu``."""
    cpu_start, start = time.process_time(), time.perf_counter()
    module(x)
    wall = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return wall


def time_batch(module: nn.Module, x: Tensor, *, warmup: int | None, repeats: int | None,
               time_budget_s: float, predicted_s: float | None, min_repeats: int | None = None) -> dict[str, Any]:
    """Warm up, then time ``module(x)`` (see the module docstring for the adaptive defaults)."""
    batch = int(x.shape[0])
    with torch.inference_mode():
        if warmup is None:
            warmup = 0 if predicted_s is not None and predicted_s > time_budget_s else 1
        warm = [_time_once(module, x) for _ in range(warmup)]
        estimate = warm[-1] if warm else predicted_s
        times: list[float] = []
        cpu: list[float] = []
        if repeats is not None:
            if repeats < 1:
                raise ComodoError(f"repeats must be >= 1, got {repeats}")
            times = [_time_once(module, x, cpu) for _ in range(repeats)]
        else:
            at_least = min_repeats or (3 if estimate is None or estimate <= time_budget_s else 1)
            while len(times) < MAX_REPEATS and not (len(times) >= at_least and sum(times) >= time_budget_s):
                times.append(_time_once(module, x, cpu))
    median = statistics.median(times)
    return {
        "batch": batch,
        "warmup_runs": warmup,
        "runs": len(times),
        "ms_per_clip": 1000 * median / batch,
        "ms_per_batch_median": 1000 * median,
        "ms_per_batch_min": 1000 * min(times),
        "ms_per_batch_max": 1000 * max(times),
        # Process CPU time: what the runs cost in CPU, insensitive to time slices taken by other processes
        # (with one thread it approximates the wall time on an idle core; with more it adds the threads up).
        "cpu_ms_per_clip": 1000 * statistics.median(cpu) / batch,
        "times_ms": [round(1000 * t, 3) for t in times],
        "cpu_times_ms": [round(1000 * t, 3) for t in cpu],
        "warmup_ms": [round(1000 * t, 3) for t in warm],
    }


def _input_description(spec: ModelSpec, example: Tensor) -> str:
    dims = ", ".join(str(d) for d in example.shape[1:])
    return f"{spec.input_name} (B, {dims}) {str(example.dtype).removeprefix('torch.')}"


def _attn_implementation(module: nn.Module) -> str | None:
    """The attention implementation of the first transformers model inside ``module`` (eager, sdpa, …)."""
    for m in module.modules():
        attn = getattr(getattr(m, "config", None), "_attn_implementation", None)
        if isinstance(attn, str):
            return attn
    return None


def _label(model_name: str, overrides: Mapping[str, Any] | None) -> str:
    """The table name: the spec's label, the backbone for ``imu_student``, marked when sizes are overridden."""
    overrides = dict(overrides or {})
    label = MODELS[model_name].label
    if model_name == "imu_student" and "backbone" in overrides:
        backbone = overrides.pop("backbone")
        label = f"IMUStudent ({MODELS[backbone].label if backbone in MODELS else backbone} + projector)"
    return f"{label} [custom config]" if overrides else label


def measure(model_name: str, batch_sizes: Iterable[int] = (1, 32), repeats: int | Mapping[int, int] | None = None,
            threads: int | None = None, *, warmup: int | Mapping[int, int] | None = None,
            time_budget_s: float = 5.0, min_repeats: int | None = None,
            config_overrides: Mapping[str, Any] | None = None, not_measured: Mapping[int, str] | None = None,
            flops: bool = True) -> dict[str, Any]:
    """Build ``MODELS[model_name]`` (random weights, seed 0, ``eval()``) and measure it.

    ``batch_sizes``: batches to time (``[]`` times nothing). ``repeats`` / ``warmup``: runs per batch size
    (an int, a dict batch → int, or None for the adaptive default within ``time_budget_s`` seconds;
    ``min_repeats`` replaces its "at least 3, or 1 for slow runs" floor).
    ``threads``: ``torch.set_num_threads`` for the measurement (restored afterwards; None keeps the current
    setting); the number in force is recorded. ``config_overrides``: passed to the builder (for video models
    the transformers config kwargs; for ``moment`` keys of the hub config, ``t5_config`` merged; for
    ``mantis`` ``MantisV1`` kwargs; ``dilated_cnn`` its kwargs; ``imu_student``: ``backbone``,
    ``backbone_options``, projector sizes; ``n_channels`` for Mantis/MOMENT). ``not_measured``: batch sizes
    deliberately not timed → the reason, recorded so that tables say so. ``flops=False`` skips counting.
    """
    if model_name not in MODELS:
        raise ComodoError(f"unknown model {model_name!r}; expected one of {sorted(MODELS)}")
    batches = sorted({int(b) for b in batch_sizes})
    if any(b < 1 for b in batches):
        raise ComodoError(f"batch sizes must be >= 1, got {batches}")
    spec = MODELS[model_name]
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        started = time.perf_counter()
        load_before = os.getloadavg()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            module, make_input = spec(config_overrides)
        module.eval()
        build_s = time.perf_counter() - started
        example = make_input(1)
        result: dict[str, Any] = {
            "model": model_name,
            "label": _label(model_name, config_overrides),
            "role": spec.role,
            "description": spec.description,
            "input": _input_description(spec, example),
            "config_overrides": dict(config_overrides or {}),
            "params": count_params(module),
            "threads": torch.get_num_threads(),
        }
        result["params_m"] = result["params"] / 1e6
        attn = _attn_implementation(module)
        if attn is not None:
            result["attn_implementation"] = attn
        flop_start = time.perf_counter()
        if flops:
            counted = count_flops(module, example)
            result.update({
                "flops_per_clip": counted["flops"],
                "gflops_per_clip": counted["flops"] / 1e9,
                "gmacs_per_clip": counted["flops"] / 2e9,
                "flops_by_op": counted["by_op"],
                "uncounted_ops": counted["uncounted_ops"],
                "uncounted_compute_ops": counted["uncounted_compute_ops"],
            })
        flop_s = time.perf_counter() - flop_start
        latency: dict[str, Any] = {}
        per_clip_s: float | None = None
        for b in batches:
            x = make_input(b)
            warm = _per_batch(warmup, b)
            # what one run will take: the batch before's, else (no warm-up planned) the FLOP count's forward,
            # which then stands in for the warm-up (an upper bound: counting adds its own overhead)
            predicted = (per_clip_s * b if per_clip_s is not None
                         else flop_s * b if flops and warm == 0 else None)
            timing = time_batch(module, x, warmup=warm, repeats=_per_batch(repeats, b),
                                time_budget_s=time_budget_s, min_repeats=min_repeats, predicted_s=predicted)
            latency[str(b)] = timing
            if per_clip_s is None:
                per_clip_s = timing["ms_per_clip"] / 1000
            del x
        result["latency_ms_per_clip"] = {b: t["ms_per_clip"] for b, t in latency.items()}
        result["cpu_time_ms_per_clip"] = {b: t["cpu_ms_per_clip"] for b, t in latency.items()}
        result["latency"] = latency
        result["not_measured"] = {str(b): str(why) for b, why in (not_measured or {}).items()
                                  if str(b) not in latency}
        result["timing_protocol"] = {"warmup": warmup if not isinstance(warmup, Mapping) else dict(warmup),
                                     "repeats": repeats if not isinstance(repeats, Mapping) else dict(repeats),
                                     "time_budget_s": time_budget_s, "min_repeats": min_repeats,
                                     "statistic": "median",
                                     "mode": "torch.inference_mode, eval()"}
        result["seconds"] = {"build": build_s, "flop_count": flop_s,
                             "total": time.perf_counter() - started}
        result["loadavg_before"] = list(load_before)
        result["loadavg_after"] = list(os.getloadavg())
        return result
    finally:
        torch.set_num_threads(previous_threads)
        gc.collect()


# --------------------------------------------------------------------------------------------- tables
def _ms(result: Mapping[str, Any], batch: int) -> float | None:
    value = result.get("latency_ms_per_clip", {}).get(str(batch))
    return None if value is None else float(value)


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _not_measured_reason(result: Mapping[str, Any], batch: int) -> str:
    return result.get("not_measured", {}).get(str(batch), "not requested")


def table(results: Iterable[Mapping[str, Any]], batch_sizes: Iterable[int] = (1, 32)) -> list[dict[str, Any]]:
    """One row per result, with the ratios against every teacher among ``results``.

    Keys: ``model``, ``label``, ``role``, ``params_m``, ``gflops_per_clip``, ``gmacs_per_clip``,
    ``flops_lower_bound`` (uncounted compute kernels were seen), ``ms_per_clip_b{b}`` (wall clock; None when
    not measured, then ``not_measured_b{b}`` says why), ``cpu_time_ms_per_clip_b{b}`` (process CPU time), and for each teacher ``t``: ``params_ratio_vs_{t}``,
    ``gflops_ratio_vs_{t}`` (teacher ÷ model), ``latency_ratio_vs_{t}_b{b}`` (teacher ms/clip ÷ model ms/clip
    at the same batch size; None when either was not measured).
    """
    results = list(results)
    batches = sorted({int(b) for b in batch_sizes})
    teachers = [r for r in results if r.get("role") == TEACHER]
    rows = []
    for r in results:
        gflops = r.get("gflops_per_clip")
        row: dict[str, Any] = {
            "model": r["model"], "label": r.get("label", r["model"]), "role": r.get("role"),
            "params_m": r["params"] / 1e6, "gflops_per_clip": gflops,
            "gmacs_per_clip": None if gflops is None else gflops / 2,
            "flops_lower_bound": bool(r.get("uncounted_compute_ops")), "threads": r.get("threads"),
        }
        for b in batches:
            row[f"ms_per_clip_b{b}"] = _ms(r, b)
            cpu_ms = r.get("cpu_time_ms_per_clip", {}).get(str(b))
            row[f"cpu_time_ms_per_clip_b{b}"] = None if cpu_ms is None else float(cpu_ms)
            if row[f"ms_per_clip_b{b}"] is None:
                row[f"not_measured_b{b}"] = _not_measured_reason(r, b)
        for t in teachers:
            name = t["model"]
            row[f"params_ratio_vs_{name}"] = _ratio(t["params"], r["params"])
            row[f"gflops_ratio_vs_{name}"] = _ratio(t.get("gflops_per_clip"), gflops)
            for b in batches:
                row[f"latency_ratio_vs_{name}_b{b}"] = _ratio(_ms(t, b), _ms(r, b))
        rows.append(row)
    return rows


def fmt_number(x: float | None) -> str:
    """Three significant figures, thousands separated: 391.7 → '392', 0.00693 → '0.00693'."""
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


def fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{fmt_number(x)}×"


def markdown(rows: list[Mapping[str, Any]], batch_sizes: Iterable[int] = (1, 32)) -> str:
    """A Markdown table of :func:`table` rows, with footnotes for anything not measured or not exact."""
    batches = sorted({int(b) for b in batch_sizes})
    teachers = [r for r in rows if r.get("role") == TEACHER]
    head = ["Model", "Role", "Params (M)", "GFLOPs/clip"] + [f"CPU ms/clip (wall), batch {b}" for b in batches]
    head += [f"GFLOPs ratio {t['label']} / model" for t in teachers]
    head += [f"Latency ratio {t['label']} / model, batch {b}" for b in batches for t in teachers]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    notes: list[str] = []

    def mark(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f"[{notes.index(text) + 1}]"

    for r in rows:
        g = fmt_number(r.get("gflops_per_clip"))
        if r.get("flops_lower_bound"):
            g = "≥ " + g + " " + mark("uncounted compute kernels were seen: a lower bound (see uncounted_compute_ops)")
        cells = [r["label"], r.get("role") or "", fmt_number(r["params_m"]), g]
        for b in batches:
            ms = r.get(f"ms_per_clip_b{b}")
            cells.append(fmt_number(ms) if ms is not None
                         else "not measured " + mark(f"{r['label']}, batch {b}: {r.get(f'not_measured_b{b}')}"))
        cells += [fmt_ratio(r.get(f"gflops_ratio_vs_{t['model']}")) for t in teachers]
        cells += [fmt_ratio(r.get(f"latency_ratio_vs_{t['model']}_b{b}")) for b in batches for t in teachers]
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines += [f"[{i + 1}] {text}" for i, text in enumerate(notes)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- the study's table
COMODO_ORDER = ("timesformer", "videomae", "mantis", "moment", "dilated_cnn", "imu_student")
# EgoDistill's Φ (N frames + IMU; VisOnly: the frames only), registered in MODELS by
# comodo.study.egodistill.efficiency, which study_table imports (this module does not import it: it imports us).
EGODISTILL_ORDER = ("egodistill_n1", "egodistill_n2", "egodistill_n4", "visonly_n1")
ORDER = COMODO_ORDER + EGODISTILL_ORDER
TABLE_BATCHES = (1, 32)
# EgoDistill (Tan et al., NeurIPS 2023) reports its IMU+frame student at ~200x fewer GFLOPs than its video
# model: the reference line of the efficiency figure (their figure, not measured here).
EGODISTILL_GFLOPS_RATIO = 200.0
# quick=True: the video teachers shrunk to CI size (2-4 frames of 32², one or two layers of width 32).
QUICK_TEACHER_CONFIGS: dict[str, dict[str, Any]] = {
    "timesformer": {"image_size": 32, "patch_size": 16, "num_frames": 2, "hidden_size": 32,
                    "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64},
    "videomae": {"image_size": 32, "patch_size": 16, "num_frames": 4, "tubelet_size": 2, "hidden_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
}


@dataclass(frozen=True)
class StudyPlan:
    """What :func:`study_table` measures: models, the batch sizes timed per role (``model_batch_sizes``
    replaces them for the models it names), the time budget per model and batch size (see the adaptive
    protocol in the module docstring), threads, and config overrides."""

    quick: bool = False
    models: tuple[str, ...] = ORDER
    teacher_batch_sizes: tuple[int, ...] = (1,)
    student_batch_sizes: tuple[int, ...] = TABLE_BATCHES
    time_budget_s: float = 1.0
    student_warmup: int | None = 1  # warm-up runs at every student batch size (None: the adaptive default)
    teacher_warmup: int | None = None  # warm-up runs of the teachers (None: the adaptive default)
    threads: int = 1
    config_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    model_batch_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def batch_sizes(self, model_name: str) -> tuple[int, ...]:
        if model_name in self.model_batch_sizes:
            return tuple(self.model_batch_sizes[model_name])
        return self.teacher_batch_sizes if MODELS[model_name].role == TEACHER else self.student_batch_sizes

    def warmup(self, model_name: str) -> int | None:
        return self.teacher_warmup if MODELS[model_name].role == TEACHER else self.student_warmup

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def study_plan(quick: bool = False) -> StudyPlan:
    """The study's plan (about 45 s of measuring on one idle core; quick about 10 s).

    Full: every model at its real size; teachers timed at batch 1 (one timed run, ~4 s each on one core,
    with no separate warm-up run: the FLOP count's forward pass just before it has run every kernel at
    that shape), COMODO's students at batch 1 and 32 (one warm-up run at each: a first batch-32 run pays
    for allocating its buffers, up to 1.6× the next ones for Mantis-8M), EgoDistill's Φ
    (:data:`EGODISTILL_ORDER`) at batch 1 only (one warm-up run; a batch-32 forward of Φ is 32 to 128
    ResNet-18 passes, 5–16 s on one core: the table says so, with the extrapolated cost); 0.5 s of timed runs per cell
    (at least 3, or 1 when a run is longer); one thread. ``benchmarks/bench_efficiency.py`` keeps its own,
    longer protocol (and times Φ at batch 32). Quick: the teachers shrunk (:data:`QUICK_TEACHER_CONFIGS`,
    labelled "[custom config]"), every student at real size, batch 1 only, 0.2 s per cell.
    """
    if quick:
        return StudyPlan(quick=True, student_batch_sizes=(1,), time_budget_s=0.2,
                         config_overrides=copy.deepcopy(QUICK_TEACHER_CONFIGS))
    return StudyPlan(time_budget_s=0.5, teacher_warmup=0, model_batch_sizes={m: (1,) for m in EGODISTILL_ORDER})


def _skipped_reason(result: Mapping[str, Any], batch: int, plan: StudyPlan) -> str:
    """Why ``batch`` was not timed, with what it would have cost (extrapolated from the smallest batch)."""
    if plan.quick:
        return "not timed (quick=True)"
    timed = result["latency_ms_per_clip"]
    if not timed:
        return "not timed (no batch size planned)"
    per_clip_s = timed[min(timed, key=int)] / 1000
    option = "--teacher-batch-sizes" if result["role"] == TEACHER else "--student-batch-sizes"
    return (f"not timed: one batch-{batch} forward ≈ {batch} × {fmt_number(per_clip_s)} s ≈ "
            f"{fmt_number(batch * per_clip_s / 60)} min on {result['threads']} thread(s), past this table's budget "
            f"(`python benchmarks/bench_efficiency.py {option} 1,{batch}` times it)")


def register_models() -> dict[str, ModelSpec]:
    """:data:`MODELS` with EgoDistill's Φ registered (:mod:`comodo.study.egodistill.efficiency` imports this
    module, so it is imported here, when a table is measured, not at import time)."""
    import comodo.study.egodistill.efficiency  # noqa: F401  (registers EGODISTILL_ORDER in MODELS)

    return MODELS


def models_code() -> dict[str, str]:
    """The hashes of the sources that build the registry's models and their inputs (this module, Φ's sizes
    and architecture, EgoDistill's IMU length, the encoders), by path inside the package: what a cached
    count or measurement of them depends on beside the libraries."""
    from pathlib import Path

    from comodo.io import file_hash

    package = Path(__file__).resolve().parents[1]
    sources = sorted([Path(__file__), package / "study" / "egodistill" / "efficiency.py",
                      package / "egodistill" / "student.py", package / "egodistill" / "clips.py",
                      *(package / "encoders").glob("*.py")])
    return {p.relative_to(package).as_posix(): file_hash(p) for p in sources}


def measurements_key(plan: StudyPlan) -> dict[str, Any]:
    """What a table of measurements depends on, beside the load of the machine: the plan, the CPU (model,
    torch's capability, cores), torch's and transformers' versions and the code that builds and times the
    models (:func:`models_code`)."""
    import transformers

    from comodo.study.cli import machine

    return {"plan": plan.to_dict(), "machine": machine(), "torch": torch.__version__,
            "transformers": transformers.__version__, "code": models_code()}


def study_table(quick: bool = False, plan: StudyPlan | None = None, progress: bool = False,
                remeasure: bool = False) -> dict[str, Any]:
    """The study's table of measurements, measured once per machine and code: read from
    ``<cache>/efficiency/table_<key>.json`` (:func:`measurements_key`) when it is there, else measured by
    :func:`measure_table` and written there (atomically). ``remeasure`` measures again (and replaces it).
    A cold and a warm call return the same object (the JSON as written)."""
    import json

    from comodo.io import stable_hash, write_json
    from comodo.paths import cache_root

    plan = plan or study_plan(quick)
    key = measurements_key(plan)
    path = cache_root() / "efficiency" / f"table_{stable_hash(key)}.json"
    if path.exists() and not remeasure:
        try:
            cached = json.loads(path.read_text())
            if isinstance(cached, dict) and cached.get("key") == json.loads(json.dumps(key)) \
                    and isinstance(cached.get("table"), dict):
                if progress:
                    print(f"measurements of {key['machine']} read from {path} (remeasure=True measures again)")
                return cached["table"]
        except (OSError, ValueError):
            pass
        print(f"{path}: not a table of measurements for this plan and machine; measuring again", flush=True)
    table = measure_table(plan, progress=progress)
    write_json(path, {"key": key, "table": table})
    return json.loads(path.read_text())["table"]


def measure_table(plan: StudyPlan, progress: bool = False) -> dict[str, Any]:
    """Measure every model of ``plan`` with :func:`measure`.

    Returns ``plan`` (dict), ``results`` (one :func:`measure` result per model), ``rows`` (:func:`table` at
    batch 1 and 32, each with the ``input_name`` of its model: what it reads on the device, the figure's
    colours), ``markdown`` (:func:`markdown` of the rows), ``threads``, ``torch`` (version), ``cpu_count``
    and ``seconds`` (wall time of the whole table). ``progress`` prints one line per model.
    """
    register_models()
    started = time.perf_counter()
    results = []
    for name in plan.models:
        batches = plan.batch_sizes(name)
        r = measure(name, batch_sizes=batches, threads=plan.threads, time_budget_s=plan.time_budget_s,
                    warmup=plan.warmup(name), config_overrides=plan.config_overrides.get(name))
        r["not_measured"].update({str(b): _skipped_reason(r, b, plan) for b in TABLE_BATCHES if b not in batches})
        results.append(r)
        if progress:
            ms = ", ".join(f"batch {b}: {fmt_number(v)}" for b, v in r["latency_ms_per_clip"].items())
            print(f"{r['label']}: {fmt_number(r['params_m'])} M params, {fmt_number(r['gflops_per_clip'])} "
                  f"GFLOPs/clip, ms/clip {ms} ({r['seconds']['total']:.0f} s)", flush=True)
    rows = [{**row, "input_name": MODELS[row["model"]].input_name} for row in table(results, TABLE_BATCHES)]
    return {"plan": plan.to_dict(), "results": results, "rows": rows, "markdown": markdown(rows, TABLE_BATCHES),
            "threads": plan.threads, "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "seconds": time.perf_counter() - started}
