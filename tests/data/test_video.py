"""comodo.data.video: write → probe → decode round trip, seeking, uniform sampling, bad files."""

from __future__ import annotations

import av
import numpy as np
import pytest

from comodo.data.video import frame_range, probe_video, read_frames, sample_indices, write_video
from comodo.errors import ComodoError


def _ramp(n: int, h: int = 32, w: int = 32) -> np.ndarray:
    """(n, h, w, 3) uint8; frame i is uniformly grey at level 4·i, so its index survives compression."""
    return np.stack([np.full((h, w, 3), 4 * i, np.uint8) for i in range(n)])


def _levels(frames: np.ndarray) -> np.ndarray:
    return np.round(frames.reshape(len(frames), -1).mean(1) / 4).astype(int)


@pytest.fixture(scope="module")
def ramp_mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "ramp.mp4"
    write_video(path, _ramp(60), fps=10, keyframe_interval=8)
    return path


def test_round_trip_and_probe(ramp_mp4):
    info = probe_video(ramp_mp4)
    assert (info.n_frames, info.fps, info.height, info.width) == (60, 10.0, 32, 32)
    assert info.duration_s == pytest.approx(6.0)
    frames = read_frames(ramp_mp4)
    assert frames.shape == (60, 32, 32, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(_levels(frames), np.arange(60))


def test_chosen_indices_any_order_with_repeats(ramp_mp4):
    idx = [37, 3, 3, 59, 16, 17]  # 37 and 59 need seeks past several keyframes
    np.testing.assert_array_equal(_levels(read_frames(ramp_mp4, idx)), idx)
    assert read_frames(ramp_mp4, []).shape == (0, 32, 32, 3)


def test_rgb_on_one_thread_gives_the_pixels_of_pyavs_threaded_default(tmp_path):
    """The YUV → RGB conversion runs on one thread (``RGB_THREADS``: no per-frame thread hand-offs on a busy
    CPU); its pixels equal PyAV's default, one thread per core, on frames with detail in every row."""
    from comodo.data import video

    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (12, 8, 12, 3), dtype=np.uint8)
    frames = blocks.repeat(8, axis=1).repeat(8, axis=2)  # (12, 64, 96, 3): 8×8 tiles of random colours
    path = tmp_path / "noise.mp4"
    write_video(path, frames, fps=10)
    with av.open(str(path)) as container:
        default = np.stack([f.to_ndarray(format="rgb24", threads=0) for f in container.decode(video=0)])
    assert video.RGB_THREADS == 1
    np.testing.assert_array_equal(read_frames(path), default)
    assert np.abs(read_frames(path).astype(int) - frames).mean() < 10  # the tiles survived encoding


def test_fractional_fps(tmp_path):
    path = tmp_path / "ntsc.mp4"
    write_video(path, _ramp(30), fps=29.97)
    assert probe_video(path).fps == pytest.approx(29.97, abs=1e-3)
    np.testing.assert_array_equal(_levels(read_frames(path, [29, 0, 15])), [29, 0, 15])


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ComodoError, match="even"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 31, 32, 3), np.uint8), fps=10)
    with pytest.raises(ComodoError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 32, 32, 3), np.float32), fps=10)
    with pytest.raises(ComodoError, match="fps"):
        write_video(tmp_path / "z.mp4", np.zeros((2, 32, 32, 3), np.uint8), fps=0)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_missing_garbage_and_truncated_files(tmp_path, ramp_mp4):
    with pytest.raises(ComodoError, match="not found"):
        read_frames(tmp_path / "nope.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for fn in (probe_video, read_frames):
        with pytest.raises(ComodoError, match="garbage.mp4"):
            fn(garbage)
    # moov atom at the end (our writer): cutting the file loses the index
    data = ramp_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ComodoError, match="cut.mp4"):
        read_frames(cut)


def test_truncated_faststart_file(tmp_path):
    """moov first (``faststart``): the header survives the cut but the frames do not."""
    full = tmp_path / "fast.mp4"
    with av.open(str(full), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=10)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        for i, rgb in enumerate(np.random.default_rng(1).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    data = full.read_bytes()
    cut = tmp_path / "fastcut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    assert probe_video(cut).n_frames == 40  # the header still claims 40 frames
    with pytest.raises(ComodoError, match="fastcut.mp4"):
        read_frames(cut)
    with pytest.raises(ComodoError, match="fastcut.mp4"):
        read_frames(cut, [39])


def test_index_past_end(ramp_mp4):
    with pytest.raises(ComodoError, match="frame 60"):
        read_frames(ramp_mp4, [5, 60])
    with pytest.raises(ComodoError, match="≥ 0"):
        read_frames(ramp_mp4, [-1])


def test_sample_indices_uniform_with_repeats():
    np.testing.assert_array_equal(sample_indices(100, 5, 0, 100), [0, 24, 49, 74, 99])
    np.testing.assert_array_equal(sample_indices(100, 4, 50, 60), [50, 53, 56, 59])
    short = sample_indices(3, 8)  # fewer frames than requested: repeats, in order
    assert short.tolist() == [0, 0, 0, 0, 1, 1, 1, 2]
    assert sample_indices(10, 4, 8, 50).max() == 9  # stop clipped to the video
    with pytest.raises(ComodoError):
        sample_indices(10, 4, 10, 20)


def test_frame_range():
    assert frame_range(10, 5.0, 10.0, 100) == (50, 100)
    assert frame_range(25, 0.0, 5.0, 80) == (0, 80)
    assert frame_range(29.97, 1.0, 2.0, 1000) == (30, 60)
    with pytest.raises(ComodoError):
        frame_range(10, 12.0, 13.0, 100)
