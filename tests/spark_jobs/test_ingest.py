"""Kafka → bronze → silver with the real broker and real Delta tables.

Includes the fault test of issue 5: the ingest process is SIGKILLed at random points while
records are being produced, restarted several times, and silver must still hold every event
exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from data_contracts.events import FrameDetections, VideoSegment, _Contract
from data_contracts.tables import BRONZE_RECORDS, QUARANTINE, SILVER_DETECTIONS, SILVER_FRAMES
from data_contracts.topics import DETECTIONS, SEGMENTS, record_key
from spark_jobs.ingest import run_ingest
from spark_jobs.session import table_location
from spark_jobs.silver import run_silver
from storeheat.paths import REPO_ROOT
from tests.spark_jobs.events import broken, broken_detection, frame, segment

if TYPE_CHECKING:
    from kafka import KafkaProducer
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.integration


def _producer(bootstrap: str) -> KafkaProducer:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)


def _count(spark: SparkSession, sql: str) -> int:
    row = spark.sql(sql).first()
    assert row is not None
    return int(row[0])


def test_available_now_lands_every_record_once_and_quarantines_with_reasons(
    spark: SparkSession,
    clean_lake: str,
    kafka_bootstrap: str,
    kafka_topic: Callable[..., str],
) -> None:
    det_topic, seg_topic = kafka_topic(partitions=2), kafka_topic()
    topic_models: dict[str, type[_Contract]] = {
        det_topic: FrameDetections, seg_topic: VideoSegment
    }
    frames = [frame(i, people=i % 3) for i in range(8)]
    bad = {
        b"\x89PNG not json at all": "parse",
        broken_detection(frame(50), 0, confidence=2.5): "contract",
        broken(frame(51), event_id="f" * 32): "contract",
    }
    producer = _producer(kafka_bootstrap)
    for f in frames + frames[:3]:  # three duplicate deliveries
        producer.send(det_topic, key=record_key(f.store_id, f.camera_id), value=f.to_json())
    for raw in bad:
        producer.send(det_topic, key=b"s1/cam1", value=raw)
    producer.send(seg_topic, key=b"s1/cam1", value=segment(1).to_json())
    producer.flush()

    checkpoint = f"{clean_lake}/_checkpoints/test-ingest"
    first = run_ingest(spark, bootstrap=kafka_bootstrap, topics=[det_topic, seg_topic],
                       checkpoint_dir=checkpoint)
    assert first.records == 15
    again = run_ingest(spark, bootstrap=kafka_bootstrap, topics=[det_topic, seg_topic],
                       checkpoint_dir=checkpoint)
    assert again.records == 0  # the checkpoint remembers; nothing is read twice

    # more records after the first run are picked up by the next one
    late = frame(20, people=2)
    producer.send(det_topic, key=b"s1/cam1", value=late.to_json())
    producer.flush()
    producer.close()
    assert run_ingest(spark, bootstrap=kafka_bootstrap, topics=[det_topic, seg_topic],
                      checkpoint_dir=checkpoint).records == 1
    assert _count(spark, "SELECT count(*) FROM storeheat.bronze_records") == 16
    assert _count(
        spark,
        "SELECT count(*) FROM (SELECT DISTINCT topic, partition, offset "
        "FROM storeheat.bronze_records)",
    ) == 16

    silver_cp = f"{clean_lake}/_checkpoints/test-silver"
    stats = run_silver(spark, checkpoint_dir=silver_cp, topic_models=topic_models)
    assert stats.records == 16 and stats.quarantined == 3 and stats.segments == 1
    assert sum(stats.by_reason.values()) == 3
    expected_ids = {f.event_id for f in frames} | {late.event_id}
    got = spark.sql("SELECT event_id FROM storeheat.silver_frames").collect()
    assert sorted(r["event_id"] for r in got) == sorted(expected_ids)
    people = sum(len(f.detections) for f in frames) + len(late.detections)
    assert _count(spark, "SELECT count(*) FROM storeheat.silver_detections") == people
    rows = spark.sql("SELECT value, error_type, reason FROM storeheat.quarantine").collect()
    assert {bytes(r["value"]): r["error_type"] for r in rows} == bad
    assert all(r["reason"] for r in rows)
    assert any("detections.0.confidence=2.5" in r["reason"] for r in rows)
    assert any("event_id" in r["reason"] for r in rows)
    # a second silver run over an unchanged bronze adds nothing
    assert run_silver(spark, checkpoint_dir=silver_cp, topic_models=topic_models).records == 0
    assert _count(spark, "SELECT count(*) FROM storeheat.quarantine") == 3


def _ingest_process(lake: Path, bootstrap: str, log: Path, *, continuous: bool
                    ) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "spark_jobs.ingest", "--with-silver", "--bootstrap", bootstrap,
           "--lake-root", str(lake), "--topics", f"{DETECTIONS.name},{SEGMENTS.name}",
           "--max-offsets", "40", "--trigger", "1 second"]
    cmd.append("--continuous" if continuous else "--available-now")
    with open(log, "ab") as out:
        # Own process group: the kill takes the JVM child down with the Python driver.
        return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=dict(os.environ))


def _commits(table_dir: Path) -> int:
    log_dir = table_dir / "_delta_log"
    return len(list(log_dir.glob("*.json"))) if log_dir.exists() else 0


def test_ingest_killed_at_random_points_keeps_silver_exactly_once(
    spark: SparkSession, tmp_path: Path, kafka_bootstrap: str
) -> None:
    """SIGKILL the ingest+silver process several times while producing; no loss, no dupes."""
    seed = int(time.time())
    rng = random.Random(seed)
    store = f"kill{uuid.uuid4().hex[:8]}"  # the shared topics may hold other tests' events
    events = [frame(i, store_id=store, camera_id=f"cam{i % 3}", people=i % 4)
              for i in range(300)]
    lake = tmp_path / "lake"
    log = tmp_path / "ingest.log"

    done = threading.Event()
    dup_rng = random.Random(seed + 1)

    def produce() -> None:
        producer = _producer(kafka_bootstrap)
        for i, f in enumerate(events):
            producer.send(DETECTIONS.name, key=record_key(f.store_id, f.camera_id),
                          value=f.to_json())
            if i % 10 == 9:
                # a replayed delivery now and then (the worker's journal does this after a crash)
                dup = events[dup_rng.randrange(i)]
                producer.send(DETECTIONS.name, key=record_key(dup.store_id, dup.camera_id),
                              value=dup.to_json())
                producer.flush()
                time.sleep(4.0)  # keep producing across the kills below
        producer.flush()
        producer.close()
        done.set()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    kills = 0
    try:
        for _ in range(3):
            before = _commits(lake / "bronze_records") + _commits(lake / "silver_frames")
            proc = _ingest_process(lake, kafka_bootstrap, log, continuous=True)
            # Kill at a random moment once the process is doing work (it has committed
            # something since it started): mid-batch, mid-MERGE, between the two queries.
            deadline = time.monotonic() + 600
            while (time.monotonic() < deadline and proc.poll() is None
                   and _commits(lake / "bronze_records") + _commits(lake / "silver_frames")
                   <= before):
                time.sleep(0.5)
            time.sleep(rng.uniform(0.0, 12.0))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(timeout=60)
        thread.join(timeout=900)
        assert done.is_set(), "producer did not finish"
        final = _ingest_process(lake, kafka_bootstrap, log, continuous=False)
        assert final.wait(timeout=1800) == 0, log.read_text()[-4000:]
    finally:
        thread.join(timeout=5)
    assert kills == 3, f"seed {seed}: the process ended by itself: {log.read_text()[-2000:]}"
    def count(table_sql: str) -> int:
        row = spark.sql(table_sql).first()
        assert row is not None
        return int(row[0])

    frames_path = table_location(SILVER_FRAMES, root=str(lake))
    dets_path = table_location(SILVER_DETECTIONS, root=str(lake))
    bronze_path = table_location(BRONZE_RECORDS, root=str(lake))
    n = len(events)
    assert count(f"SELECT count(*) FROM delta.`{frames_path}` WHERE store_id = '{store}'") == n
    assert count(
        f"SELECT count(DISTINCT event_id) FROM delta.`{frames_path}` WHERE store_id = '{store}'"
    ) == n
    people = sum(len(f.detections) for f in events)
    assert count(
        f"SELECT count(*) FROM delta.`{dets_path}` WHERE store_id = '{store}'"
    ) == people
    # bronze holds each Kafka offset once, whatever the kills interrupted
    assert count(
        f"SELECT count(*) - count(DISTINCT topic, partition, offset) FROM delta.`{bronze_path}`"
    ) == 0
    produced = n + n // 10
    assert count(
        f"SELECT count(*) FROM delta.`{bronze_path}` WHERE CAST(key AS STRING) LIKE '{store}/%'"
    ) == produced
    assert count(
        f"SELECT count(*) FROM delta.`{table_location(QUARANTINE, root=str(lake))}` "
        f"WHERE CAST(key AS STRING) LIKE '{store}/%'"
    ) == 0
