"""Blurred video segments: fixed-length mp4 files in the hot tier, announced when complete.

A :class:`SegmentWriter` per camera encodes the pipeline's blurred frames into mp4 files of
``segment_seconds`` each, aligned to multiples of that length in capture time (a 30 s segment
starts at :00 or :30), so segment boundaries are the same whatever the worker's start time.
A new segment also starts when the stream epoch or the frame size changes.

The writer accepts only :class:`~streaming.pipeline.ProcessedFrame` objects that the pipeline
did not drop, whose image is the blurred one; a raw array or a dropped frame raises
:class:`~streaming.runtime_exceptions.UnblurredFrameError`, so unblurred pixels cannot be
encoded by mistake.

A segment is written under a hidden partial name (``.<name>.partial.mp4``) and moved to its
final name only after it was closed, checked (a complete mp4 has its ``moov`` index; a full
disk leaves it out) and hashed; only then is its :class:`~data_contracts.events.VideoSegment`
returned for publishing. Layout of the hot tier::

    <hot>/<store_id>/<camera_id>/<YYYY-MM-DD>/<camera_id>-<epoch>-<start ms>.mp4

For a local hot tier (a path or ``file://``) the file is encoded in place and renamed
atomically; for any other fsspec URL it is encoded in a local staging folder, uploaded under
the partial name and then moved.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import cv2

from data_contracts.events import VideoSegment, make_event_id
from streaming.pipeline import ProcessedFrame
from streaming.runtime_exceptions import SegmentError, UnblurredFrameError

log = logging.getLogger(__name__)

#: Codec of the segments: MPEG-4 Part 2, the one every OpenCV build can encode.
CODEC = "mp4v"


def _local_root(url: str) -> Path | None:
    """The folder of a local hot tier (plain path or ``file://``), else None."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and url[1:3] in (":\\", ":/")):
        return Path(url)
    return None


def mp4_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete mp4 (None when it is): top-level boxes must tile the
    file exactly and include ``ftyp``, ``mdat`` and the ``moov`` index written at close."""
    try:
        size = path.stat().st_size
        if size == 0:
            return "file is empty"
        seen: set[str] = set()
        with open(path, "rb") as fh:
            pos = 0
            while pos < size:
                fh.seek(pos)
                head = fh.read(16)
                if len(head) < 8:
                    return f"truncated box header at byte {pos}"
                box_size, kind = struct.unpack(">I4s", head[:8])
                if box_size == 1:
                    box_size = struct.unpack(">Q", head[8:16])[0]
                elif box_size == 0:
                    box_size = size - pos
                if box_size < 8 or pos + box_size > size:
                    return f"box {kind!r} at byte {pos} runs past the end (truncated file)"
                seen.add(kind.decode("latin-1"))
                pos += box_size
    except OSError as exc:
        return f"cannot read: {exc}"
    missing = {"ftyp", "mdat", "moov"} - seen
    return f"missing {sorted(missing)} (incomplete write)" if missing else None


@dataclass
class _Open:
    """The segment being written."""

    start_bucket: datetime
    epoch: int
    size: tuple[int, int]
    local_path: Path
    final_uri: str
    writer: Any
    first_time: datetime
    last_time: datetime
    frames: int = 0


class SegmentWriter:
    """Writes one camera's blurred frames into fixed-length mp4 segments in the hot tier.

    Not thread-safe: the worker's video thread owns it.

    Attributes:
        store_id: Store of the camera.
        camera_id: The camera.
        hot_url: fsspec URL (or local path) of the hot video tier.
        segment_seconds: Segment length.
        fps: Frame rate written into the files (the camera's processing rate).
    """

    def __init__(
        self,
        *,
        store_id: str,
        camera_id: str,
        hot_url: str,
        segment_seconds: float = 60.0,
        fps: float = 5.0,
        staging_dir: Path | None = None,
        min_free_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        """Describe the writer; files are created with the first frame.

        Args:
            store_id: Store id (first folder level).
            camera_id: Camera id.
            hot_url: Hot tier URL.
            segment_seconds: Length of a segment, seconds (capture time).
            fps: Frame rate stamped in the mp4 (the camera's processing fps).
            staging_dir: Local folder for encoding before upload (remote tiers only).
            min_free_bytes: A segment is not started when its disk has less free space
                (:class:`SegmentError` instead of a half-written file).
        """
        if segment_seconds <= 0 or fps <= 0:
            raise ValueError(f"segment_seconds and fps must be positive: {segment_seconds}, {fps}")
        self.store_id = store_id
        self.camera_id = camera_id
        self.hot_url = hot_url.rstrip("/")
        self.segment_seconds = segment_seconds
        self.fps = fps
        self.min_free_bytes = min_free_bytes
        self._local = _local_root(self.hot_url)
        if self._local is None:
            from storeheat.paths import state_dir

            self._staging = staging_dir or state_dir() / "video" / "staging"
        else:
            self._staging = self._local
        self._open: _Open | None = None

    def _bucket(self, t: datetime) -> datetime:
        length = self.segment_seconds
        secs = t.timestamp()
        return datetime.fromtimestamp(secs - secs % length, tz=UTC)

    def _relative(self, bucket: datetime, epoch: int) -> str:
        day = bucket.strftime("%Y-%m-%d")
        ms = int(bucket.timestamp() * 1000)
        return f"{self.store_id}/{self.camera_id}/{day}/{self.camera_id}-{epoch}-{ms}.mp4"

    def add(self, frame: ProcessedFrame, *, capture_time: datetime) -> VideoSegment | None:
        """Append one blurred frame; returns the segment that this frame completed, if any.

        Args:
            frame: A pipeline result that was not dropped (its image is blurred).
            capture_time: The frame's capture time (aware).

        Returns:
            The finished previous segment when this frame starts a new one, else None.

        Raises:
            UnblurredFrameError: ``frame`` is not a non-dropped :class:`ProcessedFrame`.
            SegmentError: the file cannot be created, written or finished (disk full, tier
                unreachable); the frame is not in any segment and writing resumes with the
                next frame.
        """
        if not isinstance(frame, ProcessedFrame):
            raise UnblurredFrameError(
                f"camera {self.camera_id!r}: segments take pipeline results (ProcessedFrame), "
                f"got {type(frame).__name__}; raw pixels are never written"
            )
        if frame.dropped or frame.image is None:
            raise UnblurredFrameError(
                f"camera {self.camera_id!r}: frame was dropped by the pipeline "
                f"({frame.drop_reason}); a dropped frame has no blurred image to write"
            )
        image = frame.image
        size = (int(image.shape[1]), int(image.shape[0]))
        bucket = self._bucket(capture_time)
        finished: VideoSegment | None = None
        cur = self._open
        if cur is not None and (
            cur.start_bucket != bucket or cur.epoch != frame.epoch or cur.size != size
        ):
            finished = self.finish()
        if self._open is None:
            self._open = self._start(bucket, frame.epoch, size, capture_time)
        seg = self._open
        seg.writer.write(image)
        seg.frames += 1
        seg.last_time = capture_time
        return finished

    def _start(self, bucket: datetime, epoch: int, size: tuple[int, int],
               first_time: datetime) -> _Open:
        rel = self._relative(bucket, epoch)
        final_uri = f"{self.hot_url}/{rel}"
        local_final = (self._local or self._staging) / rel
        local_path = local_final.with_name(f".{local_final.stem}.partial.mp4")
        try:
            local_path.parent.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(local_path.parent).free
        except OSError as exc:
            raise SegmentError(final_uri, f"cannot create its folder: {exc}") from exc
        if free < self.min_free_bytes:
            raise SegmentError(
                final_uri, f"disk full: {free} bytes free in {local_path.parent}, need at "
                f"least {self.min_free_bytes}")
        writer = cv2.VideoWriter(str(local_path), cv2.VideoWriter.fourcc(*CODEC), self.fps, size)
        if not writer.isOpened():
            writer.release()
            with contextlib.suppress(OSError):
                local_path.unlink()
            raise SegmentError(final_uri, f"cannot open an mp4 writer at {local_path}")
        return _Open(bucket, epoch, size, local_path, final_uri, writer, first_time, first_time)

    def finish(self) -> VideoSegment | None:
        """Close the current segment (if any), move it into place and describe it.

        Returns:
            Its :class:`VideoSegment`, or None when no segment was open.

        Raises:
            SegmentError: the file is incomplete (disk full mid-write) or cannot be moved or
                uploaded; the partial file is removed.
        """
        seg, self._open = self._open, None
        if seg is None:
            return None
        seg.writer.release()
        problem = mp4_problem(seg.local_path)
        if problem is not None:
            with contextlib.suppress(OSError):
                seg.local_path.unlink()
            raise SegmentError(seg.final_uri, f"not written completely (disk full or write "
                               f"error): {problem}")
        digest = hashlib.sha256()
        try:
            with open(seg.local_path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            nbytes = seg.local_path.stat().st_size
            self._publish_file(seg)
        except OSError as exc:
            with contextlib.suppress(OSError):
                seg.local_path.unlink()
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            raise SegmentError(seg.final_uri, ("disk full: " if full else "") + str(exc)) from exc
        # A one-frame segment has start == end; the contract needs end >= start only.
        end = max(seg.last_time, seg.first_time)
        return VideoSegment.from_dict(dict(
            event_id=make_event_id(self.store_id, self.camera_id, seg.final_uri),
            store_id=self.store_id,
            camera_id=self.camera_id,
            stream_epoch=seg.epoch,
            uri=seg.final_uri,
            start_time=seg.first_time,
            end_time=end,
            bytes=nbytes,
            sha256=digest.hexdigest(),
            codec=CODEC,
            frame_count=seg.frames,
            width=seg.size[0],
            height=seg.size[1],
        ))

    def _publish_file(self, seg: _Open) -> None:
        final_name = seg.local_path.parent / seg.local_path.name[1:].replace(".partial", "")
        if self._local is not None:
            os.replace(seg.local_path, final_name)
            return
        import fsspec

        fs, path = fsspec.core.url_to_fs(seg.final_uri)
        partial = path.rsplit("/", 1)
        remote_partial = f"{partial[0]}/.{partial[1][:-4]}.partial.mp4"
        fs.makedirs(partial[0], exist_ok=True)
        fs.put_file(str(seg.local_path), remote_partial)
        fs.mv(remote_partial, path)
        seg.local_path.unlink()

    def abort(self) -> None:
        """Drop the current segment without publishing it (its partial file is removed)."""
        seg, self._open = self._open, None
        if seg is not None:
            seg.writer.release()
            with contextlib.suppress(OSError):
                seg.local_path.unlink()

    @property
    def open_frames(self) -> int:
        """Frames in the segment being written (0 when none is open)."""
        return self._open.frames if self._open else 0


def segment_span(segment: VideoSegment) -> timedelta:
    """Capture-time span of a segment (end - start)."""
    return segment.end_time - segment.start_time
