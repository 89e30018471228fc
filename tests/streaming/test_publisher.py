"""The publisher against a real Kafka broker: delivery, keys, journal fallback and replay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from data_contracts.events import FrameDetections
from data_contracts.topics import DETECTIONS, record_key
from streaming.journal import Journal, JournalRecord
from streaming.metrics import WorkerMetrics
from streaming.publisher import Ack, Publisher
from tests.streaming.runtime_helpers import frame_event, free_ports, read_topic, unique_epoch


def test_events_reach_kafka_keyed_by_camera_and_contract_valid(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    epoch = unique_epoch()
    acks: list[Ack] = []
    lock = threading.Lock()

    def on_ack(a: Ack) -> None:
        with lock:
            acks.append(a)

    metrics = WorkerMetrics()
    pub = Publisher(bootstrap=kafka_bootstrap, journal=Journal(tmp_path / "j"), metrics=metrics,
                    on_ack=on_ack)
    events = [frame_event(i, epoch=epoch, camera=f"cam-{i % 2}") for i in range(20)]
    for e in events:
        assert pub.publish(e, capture_time=e.capture_time)
    assert pub.flush(timeout_s=30)
    pub.close()
    got = read_topic(kafka_bootstrap, DETECTIONS.name, want=[e.event_id for e in events],
                     where={"stream_epoch": epoch})
    assert sorted(str(v["event_id"]) for _, v in got) == sorted(e.event_id for e in events)
    for key, value in got:
        assert key == record_key("demo-store", str(value["camera_id"]))
        FrameDetections.from_dict(value)  # raises if the record breaks the contract
    assert {a.event_id for a in acks} == {e.event_id for e in events}
    assert all(a.latency_s is not None and a.latency_s >= 0 and not a.replayed for a in acks)
    assert pub.journal.depth == 0
    count = metrics.registry.get_sample_value(
        "storeheat_worker_events_published_total", {"topic": DETECTIONS.name})
    assert count == 20


def test_unreachable_broker_journals_and_a_later_run_replays(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    epoch = unique_epoch()
    [dead_port] = free_ports(1)
    metrics = WorkerMetrics()
    down = Publisher(bootstrap=f"127.0.0.1:{dead_port}", journal=Journal(tmp_path / "j"),
                     metrics=metrics, bootstrap_timeout_s=1.0, replay_interval_s=30.0)
    events = [frame_event(i, epoch=epoch) for i in range(15)]
    for e in events:
        assert down.publish(e, capture_time=e.capture_time)  # kept, not lost
    assert not down.connected and down.journal.depth == 15
    assert metrics.registry.get_sample_value("storeheat_worker_journal_depth") == 15
    assert metrics.registry.get_sample_value("storeheat_worker_kafka_connected") == 0
    down.close(timeout_s=1)

    # The next run (broker reachable) replays the journal, in order, then sends directly.
    acks: list[Ack] = []
    up = Publisher(bootstrap=kafka_bootstrap, journal=Journal(tmp_path / "j"),
                   replay_interval_s=0.2, on_ack=acks.append)
    deadline = time.monotonic() + 60
    while not up.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert up.connected and up.journal.depth == 0
    later = frame_event(15, epoch=epoch)
    assert up.publish(later, capture_time=later.capture_time)
    up.close(timeout_s=30)
    events.append(later)
    got = read_topic(kafka_bootstrap, DETECTIONS.name, want=[e.event_id for e in events],
                     where={"stream_epoch": epoch})
    assert [v["frame_index"] for _, v in got] == list(range(16))  # one partition: in order
    assert [a.replayed for a in acks] == [True] * 15 + [False]


def test_full_journal_loses_events_with_a_metric_and_no_exception(tmp_path: Path) -> None:
    [dead_port] = free_ports(1)
    metrics = WorkerMetrics()
    pub = Publisher(bootstrap=f"127.0.0.1:{dead_port}",
                    journal=Journal(tmp_path / "j", max_bytes=2000), metrics=metrics,
                    bootstrap_timeout_s=1.0, replay_interval_s=30.0)
    epoch = unique_epoch()
    results = [pub.publish(frame_event(i, epoch=epoch)) for i in range(20)]
    pub.close(timeout_s=1)
    kept = sum(results)
    assert 0 < kept < 20 and results == [True] * kept + [False] * (20 - kept)
    assert pub.lost == 20 - kept
    assert metrics.registry.get_sample_value("storeheat_worker_journal_full_total") == 20 - kept


def test_journal_records_keep_topic_key_and_value(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    e = frame_event(0, epoch=unique_epoch())
    rec = JournalRecord(e.TOPIC, record_key(e.store_id, e.camera_id), e.to_json(), e.event_id,
                        1.5)
    j.append(rec)
    [entry] = j.peek(1)
    assert entry.record == rec
