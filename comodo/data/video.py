"""Video files: write an H.264 mp4, probe it, decode chosen frames, choose frames uniformly.

Frame ``i`` of a file is the ``i``-th frame in presentation order; its time on the video clock is
``i / fps`` seconds (constant frame rate). Every failure to open or decode a file is one
:class:`ComodoError` naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np

from comodo.data.reuse import kept
from comodo.errors import ComodoError, check
from comodo.io import atomic_path

# What PyAV raises for unreadable input (FFmpegError subclasses OSError/ValueError on some builds).
_DECODE_ERRORS = (av.error.FFmpegError, OSError, ValueError, EOFError)
# Threads of the YUV → RGB conversion of each decoded frame (swscale). PyAV's default, 0, starts as many
# as the machine has cores for every frame: for the world's 64×64 frames that is a few thread hand-offs a
# frame, and where the other cores are busy (the study's workers, DataLoader workers, torchrun) each
# hand-off waits for a core: beside one busy process on 2 cores, decoding took 3.96× the time it takes on
# one thread, and 2.36× alone (`benchmarks/bench_decode.py`). One thread gives the same pixels (tested).
RGB_THREADS = 1


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` reports. ``duration_s = n_frames / fps`` (the frame clock)."""

    n_frames: int
    fps: float
    duration_s: float
    height: int
    width: int


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    *,
    qp: int = 18,
    keyframe_interval: int | None = None,
) -> None:
    """Encode ``frames`` (F, H, W, 3) uint8 RGB as H.264 (yuv420p) in an mp4, atomically.

    Args:
        path: the ``.mp4`` to write; replaced in one rename, never left half-written.
        frames: (F, H, W, 3) uint8, F ≥ 1; H and W must be even (yuv420p halves the chroma planes).
        fps: frame rate in Hz (> 0); frame ``i`` is stamped at ``i / fps`` s.
        qp: x264 constant quantiser (0 = lossless … 51); lower is closer to the input. A constant
            quantiser, not CRF: libx264's rate control gave different bytes for the same frames from
            one call to the next, and the world promises the same bytes for the same seed.
        keyframe_interval: frames between keyframes (x264 ``g``); ``None`` keeps the encoder default.
    """
    frames = np.asarray(frames)
    check(
        frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8,
        f"video frames for {path}: expected a (F, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}",
    )
    n, h, w, _ = frames.shape
    check(n >= 1, f"video frames for {path}: expected at least one frame, got 0")
    check(h % 2 == 0 and w % 2 == 0, f"video frames for {path}: H and W must be even for yuv420p, got {h}x{w}")
    check(math.isfinite(fps) and fps > 0, f"video fps for {path}: expected a positive number, got {fps}")
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = _h264_stream(container, rate)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.codec_context.time_base = 1 / rate
            # one encoder thread: x264's output depends on its thread count (64×64 clips encode fast)
            stream.codec_context.thread_count = 1
            options = {"qp": str(qp), "threads": "1"}
            if keyframe_interval is not None:
                options["g"] = str(int(keyframe_interval))
                options["keyint_min"] = str(int(keyframe_interval))
                options["sc_threshold"] = "0"
            stream.options = options
            for i, rgb in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts = i
                frame.time_base = 1 / rate
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))


def probe_video(path: str | Path) -> VideoInfo:
    """Frame count, rate (Hz), duration (s), and frame size of a video, without decoding it (once per
    file inside :func:`comodo.data.reuse.reuse`: a worker's runs open the same videos for their lengths)."""
    return kept(("probe", str(path)), lambda: _probe(path))


def _probe(path: str | Path) -> VideoInfo:
    path = _existing(path)
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container, path)
            fps = _fps(stream, path)
            n = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            h, w = stream.codec_context.height, stream.codec_context.width
    except _DECODE_ERRORS as e:
        raise _unreadable(path, e) from None
    check(n > 0, f"video {path}: no frames; expected a non-empty video")
    return VideoInfo(n_frames=int(n), fps=fps, duration_s=n / fps, height=int(h), width=int(w))


def read_frames(path: str | Path, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Decode the frames at ``indices`` (any order, repeats allowed); ``None`` decodes all of them.

    Returns:
        (len(indices), H, W, 3) uint8 RGB, in the order of ``indices``.

    Decoding starts at the keyframe before the first wanted frame (a seek, which assumes a constant
    frame rate) and stops after the last one. A corrupt file, a truncated one, or an index past the
    last decodable frame is a :class:`ComodoError` naming the file.
    """
    path = _existing(path)
    wanted = None if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted is not None and wanted.size and wanted.min() < 0:
        raise ComodoError(f"video {path}: frame indices must be ≥ 0, got {int(wanted.min())}")
    try:
        with av.open(str(path)) as container:
            stream = _video_stream(container, path)
            declared = int(stream.frames or 0)
            if wanted is not None and wanted.size == 0:
                h, w = stream.codec_context.height, stream.codec_context.width
                return np.zeros((0, h, w, 3), np.uint8)
            need = None if wanted is None else set(wanted.tolist())
            first = 0 if wanted is None else int(wanted.min())
            got = _decode(container, stream, path, need, first)
            if got is None:  # the seek landed after the first wanted frame: decode from the start
                container.seek(0, stream=stream, backward=True, any_frame=False)
                got = _decode(container, stream, path, need, 0, seek=False)
    except _DECODE_ERRORS as e:
        raise _unreadable(path, e) from None
    if wanted is None:
        n = len(got)
        check(n > 0, f"video {path}: no decodable frames; expected a non-empty video")
        check(
            declared == 0 or n >= declared,
            f"video {path}: truncated or corrupt, decoded {n} of {declared} frames",
        )
        return np.stack([got[i] for i in range(n)])
    missing = sorted(set(wanted.tolist()) - got.keys())
    check(
        not missing,
        f"video {path}: frame {missing[0] if missing else 0} not decodable "
        f"(file has {declared or len(got)} frames, or is truncated)",
    )
    return np.stack([got[int(i)] for i in wanted])


def sample_indices(n_available: int, num_frames: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """``num_frames`` frame indices spread uniformly over ``[start, stop)``, both ends included.

    ``floor(linspace(start, stop - 1, num_frames))`` — the rule of pytorchvideo's
    ``UniformTemporalSubsample`` that the reference applies to a clip's frames. When the range holds
    fewer frames than requested, indices repeat. ``stop`` defaults to ``n_available`` and is clipped
    to it; the range must keep at least one frame.

    Returns:
        (num_frames,) int64, non-decreasing, each in ``[start, min(stop, n_available))``.
    """
    stop = n_available if stop is None else min(int(stop), int(n_available))
    check(num_frames >= 1, f"num_frames: expected ≥ 1, got {num_frames}")
    check(
        0 <= start < stop,
        f"frame range [{start}, {stop}) of a {n_available}-frame video: expected at least one frame",
    )
    return np.floor(np.linspace(start, stop - 1, num_frames)).astype(np.int64)


def frame_range(fps: float, start_s: float, end_s: float, n_frames: int) -> tuple[int, int]:
    """Indices ``[first, stop)`` of the frames whose time ``i / fps`` lies in ``[start_s, end_s)``.

    ``stop`` is clipped to ``n_frames``. A range with no frame is a :class:`ComodoError`.
    """
    eps = 1e-6
    first = max(0, math.ceil(start_s * fps - eps))
    stop = min(int(n_frames), math.ceil(end_s * fps - eps))
    check(stop > first, f"no video frame in [{start_s}, {end_s}) s at {fps} fps ({n_frames} frames)")
    return first, stop


# --------------------------------------------------------------------------------------------------


def _h264_stream(container: av.container.OutputContainer, rate: Fraction) -> av.VideoStream:
    for name in ("libx264", "h264"):
        try:
            return container.add_stream(name, rate=rate)
        except (av.error.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
            continue
    raise ComodoError("no H.264 encoder in this PyAV build; expected libx264 or h264")


def _existing(path: str | Path) -> Path:
    path = Path(path)
    check(path.is_file(), f"video {path}: file not found")
    return path


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    check(len(container.streams.video) > 0, f"video {path}: no video stream; expected an mp4 with video")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


def _fps(stream: av.VideoStream, path: Path) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    check(rate is not None and float(rate) > 0, f"video {path}: no frame rate in the file")
    return float(rate)


def _unreadable(path: Path, e: BaseException) -> ComodoError:
    reason = (str(e).splitlines() or [type(e).__name__])[0]
    return ComodoError(f"video {path}: corrupt or truncated, cannot decode ({reason})")


def _decode(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    path: Path,
    need: set[int] | None,
    first: int,
    seek: bool = True,
) -> dict[int, np.ndarray] | None:
    """``{index: (H, W, 3) uint8}`` for the wanted indices (all when ``need`` is None).

    Returns ``None`` when a seek overshot ``first`` (the caller then decodes from the start).
    """
    last = None if need is None else max(need)
    out: dict[int, np.ndarray] = {}
    frames = _frames(container, stream)
    index = 0
    if seek and first > 0:
        fps = _fps(stream, path)
        start = stream.start_time or 0
        target = start + int(round(first / fps / float(stream.time_base)))
        container.seek(target, stream=stream, backward=True, any_frame=False)
        frames = _frames(container, stream)
        head = next(frames, None)
        if head is None or head.pts is None:
            return None
        index = int(round((head.pts - start) * float(stream.time_base) * fps))
        if index > first:
            return None
        frames = _chain(head, frames)
    for frame in frames:
        if need is None or index in need:
            out[index] = frame.to_ndarray(format="rgb24", threads=RGB_THREADS)
        if last is not None and index >= last:
            break
        index += 1
    return out


def _frames(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    yield from container.decode(stream)


def _chain(head: av.VideoFrame, rest: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    yield head
    yield from rest
