"""Datasets: video files and (soon) the dataset layouts that pair IMU windows with video clips."""

from comodo.data.video import VideoInfo, frame_range, probe_video, read_frames, sample_indices, write_video

__all__ = ["VideoInfo", "frame_range", "probe_video", "read_frames", "sample_indices", "write_video"]
