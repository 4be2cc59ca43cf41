"""Which files a cached result was computed from: the part of a cache key that names a user's files.

Every cache entry computed from files of a dataset (teacher embeddings, frame features, teacher
outputs, finished runs) includes their identity in its key, so a re-encoded, replaced or deleted
file is never answered from the cache.

A file is identified by one ``os.stat``: its path relative to the dataset root (posix), its size in
bytes and its modification time in ns; :func:`samples_identity` adds the resolved dataset root
itself, so the same split files under another root with other videos give another key. A stat, not
a content hash: it costs one system call per file, where a hash would read every byte of every
video (hundreds of GB for Ego4D) on every run, and a re-encode, a copy or a truncation changes the
size or the modification time. Nothing that changes between two identical runs enters the key
(access time, the current directory; nor the inode, which some network file systems renumber on
every mount), so a dataset left alone keeps its keys. What a stat cannot
see: a file rewritten with the same size within the file system's timestamp resolution, or with its
old modification time restored by hand (``touch -d``, ``cp -p`` over a file of equal size).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Sequence

from comodo.data.reuse import kept
from comodo.data.spec import Sample
from comodo.errors import ComodoError, check
from comodo.io import stable_hash


def file_identity(path: Path, root: Path, what: str = "video") -> dict:
    """``{"path", "size", "mtime_ns"}`` of one file: one stat, nothing read.

    Args:
        path: the file (as the dataset lists it).
        root: the dataset root; ``path`` is recorded relative to it (posix), or as its resolved
            absolute path when it lies outside the root.
        what: what the file is, for the error message (``video``, ``IMU``, ``split file``, …).

    Raises:
        ComodoError: ``"<what> <path>: file not found"`` when it is missing (or not a regular
            file), ``"... not readable"`` when it cannot be opened for reading.
    """
    path, root = Path(path), Path(root)
    try:
        st = os.stat(path)
    except OSError:
        raise ComodoError(f"{what} {path}: file not found") from None
    check(stat.S_ISREG(st.st_mode), f"{what} {path}: file not found (not a regular file)")
    check(os.access(path, os.R_OK), f"{what} {path}: not readable (permission denied)")
    return {"path": _relative(path, root), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def samples_identity(samples: Sequence[Sample], root: Path, video: bool = True, imu: bool = False) -> str:
    """A 16-hex-digit hash of what a split's cached results depend on.

    Covers the resolved ``root`` and, per sample, its uid, window, start and end (s, to the µs) and
    label, plus the :func:`file_identity` of its video (``video=True``) and/or IMU file
    (``imu=True``). Each file is stat'ed once however many windows share it.

    Inside :func:`comodo.data.reuse.reuse` it is computed once per samples, root and files asked for (a
    worker's runs key their caches with the same splits again and again).

    Raises:
        ComodoError: a sample without a video when ``video=True``; a missing or unreadable file.
    """
    return kept(("identity", tuple(samples), str(root), bool(video), bool(imu)),
                lambda: _samples_identity(samples, Path(root), video, imu))


def _samples_identity(samples: Sequence[Sample], root: Path, video: bool, imu: bool) -> str:
    seen: dict[Path, dict] = {}

    def ident(path: Path, what: str) -> dict:
        if path not in seen:
            seen[path] = file_identity(path, root, what)
        return seen[path]

    rows = []
    for s in samples:
        row: list = [s.uid, s.window, f"{s.start_s:.6f}", f"{s.end_s:.6f}", s.label]
        if video:
            check(s.video_path is not None, f"sample {s.key} (IMU {s.imu_path}): no video; "
                                            "expected a video for every clip the teacher encodes")
            row.append(ident(Path(s.video_path), "video"))
        if imu:
            row.append(ident(Path(s.imu_path), "IMU"))
        rows.append(row)
    return stable_hash({"root": root.resolve().as_posix(), "samples": rows})


def folder_identity(folder: Path, what: str = "checkpoint file") -> list[dict]:
    """The :func:`file_identity` of every file under ``folder`` (a checkpoint), in path order.

    A hub snapshot's files are links to its blobs: their stats are the blobs'.
    """
    folder = Path(folder)
    return [file_identity(p, folder, what) for p in sorted(folder.rglob("*")) if p.is_file()]


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as written, else as resolved, else its resolved absolute path."""
    try:
        return path.relative_to(root).as_posix()  # no system call
    except ValueError:
        pass
    resolved = path.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()
