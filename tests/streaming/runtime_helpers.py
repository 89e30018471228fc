"""Helpers shared by the worker-runtime tests: contract events, a real-topic reader, brokers."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from data_contracts.events import FrameDetections
from data_contracts.topics import ALL_TOPICS
from storeheat.services.kafka import LocalKafka, ensure_topics


def frame_event(i: int, *, epoch: int, camera: str = "cam-1", store: str = "demo-store"
                ) -> FrameDetections:
    """A contract-valid detections event for frame ``i`` of stream ``epoch`` (nobody in view)."""
    return FrameDetections.create(
        store_id=store, camera_id=camera, stream_epoch=epoch, frame_index=i,
        capture_time=datetime.now(UTC), model_version="test@000000000000", frame_width=640,
        frame_height=360, latency_ms=1.0, detections=[],
    )


def unique_epoch() -> int:
    """A stream epoch no other test uses (so a test reads back only its own events)."""
    return int(time.time() * 1000) * 1000 + uuid.uuid4().int % 1000


def read_topic(bootstrap: str, topic: str, *, want: Iterable[str] = (), timeout_s: float = 60.0,
               where: dict[str, object] | None = None) -> list[tuple[bytes, dict[str, object]]]:
    """All records of ``topic`` (from the beginning) whose value matches ``where``.

    Reads until every id in ``want`` was seen or ``timeout_s`` passed; returns
    ``(key, parsed value)`` pairs in arrival order.
    """
    from kafka import KafkaConsumer

    wanted = set(want)
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000)
    out: list[tuple[bytes, dict[str, object]]] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for msg in consumer:
                value = json.loads(msg.value)
                if where and any(value.get(k) != v for k, v in where.items()):
                    continue
                out.append((msg.key, value))
                seen.add(str(value.get("event_id")))
            if wanted and wanted <= seen:
                break
            if not wanted and out:
                break
    finally:
        consumer.close()
    return out


def free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def private_broker(root: Path) -> LocalKafka:
    """A broker of the test's own (free ports, data in ``root``), started, with the topics."""
    port, controller = free_ports(2)
    broker = LocalKafka(data_dir=root / "data", state_dir=root / "run", port=port,
                        controller_port=controller)
    broker.start()
    ensure_topics(broker.bootstrap, ALL_TOPICS)
    return broker
