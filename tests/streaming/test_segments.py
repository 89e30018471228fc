"""Blurred video segments: fixed length, complete files only, hashes, blurred frames only."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import fsspec
import numpy as np
import pytest

from streaming.detections import Detections
from streaming.pipeline import ProcessedFrame
from streaming.runtime_exceptions import SegmentError, UnblurredFrameError
from streaming.segments import SegmentWriter, mp4_problem

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def blurred(i: int, *, epoch: int = 1, size: tuple[int, int] = (160, 96)) -> ProcessedFrame:
    w, h = size
    img = np.full((h, w, 3), (i * 7) % 255, np.uint8)
    return ProcessedFrame(camera_id="cam-1", epoch=epoch, image=img, detections=Detections.empty(),
                          timings_ms={}, dropped=False, drop_reason=None,
                          model_version="m@0", frame_size=size)


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_segments_have_fixed_length_and_describe_their_file(tmp_path: Path) -> None:
    w = SegmentWriter(store_id="demo-store", camera_id="cam-1", hot_url=tmp_path.as_uri(),
                      segment_seconds=2.0, fps=5.0)
    done = []
    for i in range(25):  # 5 s at 5 fps → segments [0, 2), [2, 4), [4, 5)
        seg = w.add(blurred(i), capture_time=T0 + timedelta(seconds=i * 0.2))
        if seg:
            done.append(seg)
    assert len(done) == 2 and w.open_frames == 5
    last = w.finish()
    assert last is not None
    done.append(last)
    assert [s.frame_count for s in done] == [10, 10, 5]
    assert done[0].start_time == T0 and done[1].start_time == T0 + timedelta(seconds=2)
    for seg in done:
        path = Path(seg.uri.removeprefix("file://"))
        assert path.is_file() and path.parent.name == "2026-11-25"
        data = path.read_bytes()
        assert seg.bytes == len(data) and seg.sha256 == hashlib.sha256(data).hexdigest()
        assert count_frames(path) == seg.frame_count
        assert (seg.width, seg.height, seg.codec) == (160, 96, "mp4v")
        assert mp4_problem(path) is None
    assert not list(tmp_path.rglob(".*partial*"))  # no partial file left behind


def test_epoch_change_starts_a_new_segment(tmp_path: Path) -> None:
    w = SegmentWriter(store_id="s", camera_id="cam-1", hot_url=str(tmp_path), segment_seconds=60)
    assert w.add(blurred(0, epoch=1), capture_time=T0) is None
    seg = w.add(blurred(1, epoch=2), capture_time=T0 + timedelta(seconds=1))
    assert seg is not None and seg.stream_epoch == 1 and seg.frame_count == 1
    assert w.finish() is not None and w.finish() is None


def test_only_pipeline_blurred_frames_are_accepted(tmp_path: Path) -> None:
    w = SegmentWriter(store_id="s", camera_id="cam-1", hot_url=str(tmp_path))
    raw = np.zeros((96, 160, 3), np.uint8)
    with pytest.raises(UnblurredFrameError, match="raw pixels are never written"):
        w.add(raw, capture_time=T0)  # type: ignore[arg-type]
    dropped = ProcessedFrame(camera_id="cam-1", epoch=1, image=None, detections=Detections.empty(),
                             timings_ms={}, dropped=True, drop_reason="blur_failed",
                             model_version="m@0", frame_size=(160, 96))
    with pytest.raises(UnblurredFrameError, match="blur_failed"):
        w.add(dropped, capture_time=T0)
    assert not list(tmp_path.rglob("*.mp4"))


def test_remote_tier_gets_the_file_only_when_complete(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    w = SegmentWriter(store_id="s", camera_id="cam-1", hot_url="memory://hot", segment_seconds=10,
                      staging_dir=tmp_path / "staging")
    for i in range(3):
        w.add(blurred(i), capture_time=T0 + timedelta(seconds=i))
    assert not fs.exists("/hot/s")  # nothing uploaded while the segment is open
    seg = w.finish()
    assert seg is not None and seg.uri.startswith("memory://hot/s/cam-1/")
    data = fs.cat_file(seg.uri)
    assert len(data) == seg.bytes and hashlib.sha256(data).hexdigest() == seg.sha256
    assert not list((tmp_path / "staging").rglob("*.mp4"))
    assert [p for p in fs.find("/hot") if "partial" in p] == []


def test_low_disk_space_is_a_clear_error_and_no_file(tmp_path: Path) -> None:
    w = SegmentWriter(store_id="s", camera_id="cam-1", hot_url=str(tmp_path),
                      min_free_bytes=1 << 62)
    with pytest.raises(SegmentError, match="disk full") as info:
        w.add(blurred(0), capture_time=T0)
    assert info.value.transient and "cam-1" in str(info.value)
    assert not list(tmp_path.rglob("*.mp4"))


@pytest.mark.parametrize(
    ("cut", "match"),
    [(0, "empty"), (100, "past the end|missing"), (-200, "past the end|missing")],
)
def test_incomplete_mp4_is_detected(tmp_path: Path, cut: int, match: str) -> None:
    w = SegmentWriter(store_id="s", camera_id="cam-1", hot_url=str(tmp_path))
    w.add(blurred(0), capture_time=T0)
    seg = w.finish()
    assert seg is not None
    path = Path(seg.uri)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    problem = mp4_problem(path)
    assert problem is not None
    assert re.search(match, problem)
