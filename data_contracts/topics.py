"""Kafka topics of storeheat: versioned names and their local defaults.

A breaking change to an event is a new topic version (``.v2``); readers accept both during a
migration. Partitions and retention here are the local defaults; a store config may override
them (``kafka.topics`` in the store YAML).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One Kafka topic.

    Attributes:
        name: Full versioned topic name.
        partitions: Partition count; records are keyed by ``store_id/camera_id`` so a camera's
            events stay ordered within one partition.
        retention_hours: How long the broker keeps records (the lake is the long-term store).
    """

    name: str
    partitions: int
    retention_hours: int


DETECTIONS = TopicSpec("storeheat.detections.v1", partitions=6, retention_hours=168)
SEGMENTS = TopicSpec("storeheat.segments.v1", partitions=3, retention_hours=168)
DEADLETTER = TopicSpec("storeheat.deadletter.v1", partitions=1, retention_hours=720)

ALL_TOPICS: tuple[TopicSpec, ...] = (DETECTIONS, SEGMENTS, DEADLETTER)


def record_key(store_id: str, camera_id: str) -> bytes:
    """The Kafka key of a camera's records: ``store_id/camera_id`` in UTF-8."""
    return f"{store_id}/{camera_id}".encode()
