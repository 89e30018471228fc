"""Small builders of real contract events and bronze-shaped rows for the lake tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from data_contracts.events import Detection, FrameDetections, VideoSegment, make_event_id

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def frame(
    frame_index: int, *, camera_id: str = "cam1", store_id: str = "s1", people: int = 2
) -> FrameDetections:
    """A valid frame event with ``people`` detections (the first one off the floor)."""
    dets = []
    for i in range(people):
        on_floor = i > 0
        dets.append(
            Detection(
                track_id=i + 1,
                confidence=0.5 + 0.1 * (i % 5),
                x1=10.0 * i, y1=20.0, x2=10.0 * i + 30.0, y2=120.0,
                floor_x=1.0 + i if on_floor else None,
                floor_y=2.0 if on_floor else None,
                zone_id="aisle-1" if on_floor else None,
                on_floor=on_floor,
            )
        )
    return FrameDetections.create(
        store_id=store_id,
        camera_id=camera_id,
        stream_epoch=1_764_064_800_000,
        frame_index=frame_index,
        capture_time=T0 + timedelta(milliseconds=100 * frame_index),
        model_version="yolox-nano@test",
        frame_width=640,
        frame_height=480,
        latency_ms=12.5,
        detections=dets,
    )


def segment(n: int, *, camera_id: str = "cam1", store_id: str = "s1") -> VideoSegment:
    """A valid segment manifest."""
    uri = f"file:///tmp/hot/{store_id}/{camera_id}/{n:05d}.mp4"
    return VideoSegment(
        event_id=make_event_id(store_id, camera_id, uri),
        store_id=store_id,
        camera_id=camera_id,
        stream_epoch=1_764_064_800_000,
        uri=uri,
        start_time=T0 + timedelta(seconds=60 * n),
        end_time=T0 + timedelta(seconds=60 * n + 59),
        bytes=1000 + n,
        sha256="ab" * 32,
        codec="mp4v",
        frame_count=590,
        width=640,
        height=480,
    )


def broken(event: FrameDetections, **changes: Any) -> bytes:
    """The event's JSON with top-level fields replaced (or removed when the value is ...)."""
    data = json.loads(event.to_json())
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps(data).encode()


def broken_detection(event: FrameDetections, index: int, **changes: Any) -> bytes:
    """The event's JSON with fields of detection ``index`` replaced."""
    data = json.loads(event.to_json())
    data["detections"][index].update(changes)
    return json.dumps(data).encode()


def bronze_rows(values: Sequence[bytes | None], *, topic: str) -> list[tuple[Any, ...]]:
    """Bronze-shaped tuples (key, value, topic, partition, offset, kafka_timestamp)."""
    return [
        (b"s1/cam1", v, topic, 0, offset, T0 + timedelta(seconds=offset))
        for offset, v in enumerate(values)
    ]


BRONZE_DDL = (
    "key binary, value binary, topic string, partition int, offset long, "
    "kafka_timestamp timestamp"
)
