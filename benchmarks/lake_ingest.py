"""Benchmark: detections per second from Kafka into silver on this machine.

Starts a local Kafka broker on free ports (or uses ``KAFKA_BOOTSTRAP_SERVERS``), produces
``--frames`` frame events with ``--people`` detections each (plus a few malformed records),
then times, on a fresh lake in a temporary folder:

* the jar resolve (cached, and into an empty cache — Maven's ``~/.m2`` may still be warm),
* the Spark session start,
* Kafka → bronze (``availableNow``),
* bronze → silver + quarantine (``availableNow``), optionally without the pydantic check.

Run: ``.state/venv/bin/python -m benchmarks.lake_ingest --frames 20000 --people 3``
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from data_contracts.events import Detection, FrameDetections
from data_contracts.topics import TopicSpec, record_key


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _events(n: int, people: int, store: str) -> list[bytes]:
    t0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    dets = [
        Detection(track_id=i, confidence=0.8, x1=10.0 * i, y1=5.0, x2=10.0 * i + 40.0, y2=200.0,
                  floor_x=1.0 + i, floor_y=2.0, zone_id="aisle-1", on_floor=True)
        for i in range(people)
    ]
    return [
        FrameDetections.create(
            store_id=store, camera_id=f"cam{i % 8}", stream_epoch=1, frame_index=i,
            capture_time=t0 + timedelta(milliseconds=200 * i), model_version="bench",
            frame_width=640, frame_height=480, latency_ms=10.0, detections=dets,
        ).to_json()
        for i in range(n)
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20000)
    p.add_argument("--people", type=int, default=3)
    p.add_argument("--bad", type=int, default=50, help="malformed records mixed in")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--no-model-check", dest="model_check", action="store_false",
                   help="validate with the column-spec rules only (no pydantic UDF)")
    args = p.parse_args()

    from storeheat.env import apply_tool_env

    apply_tool_env()
    from kafka import KafkaProducer

    from spark_jobs import session as sess
    from storeheat.services.jars import resolve
    from storeheat.services.kafka import LocalKafka, ensure_topics

    tmp = Path(tempfile.mkdtemp(prefix="storeheat-bench-"))
    print(f"{args.frames} frames x {args.people} people, {args.partitions} partitions; load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t = time.monotonic()
    resolve(sess.JAR_GROUP, [sess.DELTA_JAR, sess.KAFKA_JAR], exclude=sess.PROVIDED_BY_PYSPARK,
            cache_dir=tmp / "jars")
    print(f"jar resolve into an empty cache (~/.m2 as it is): {time.monotonic() - t:.1f} s")
    t = time.monotonic()
    sess.spark_jars()
    print(f"jar resolve, cached: {time.monotonic() - t:.3f} s")

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        port, cport = _free_ports(2)
        broker = LocalKafka(data_dir=tmp / "kafka" / "data", state_dir=tmp / "kafka" / "run",
                            port=port, controller_port=cport)
        t = time.monotonic()
        broker.start()
        bootstrap = broker.bootstrap
        print(f"kafka start: {time.monotonic() - t:.1f} s")
    try:
        topic = f"bench.{uuid.uuid4().hex[:8]}"
        ensure_topics(bootstrap, [TopicSpec(topic, args.partitions, 1)])
        values = _events(args.frames, args.people, "bench")
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                 batch_size=256 * 1024)
        t = time.monotonic()
        for i, v in enumerate(values):
            producer.send(topic, key=record_key("bench", f"cam{i % 8}"), value=v)
        for i in range(args.bad):
            producer.send(topic, key=b"bench/cam0", value=b"{broken " + str(i).encode())
        producer.flush()
        producer.close()
        produced = len(values) + args.bad
        print(f"produced {produced} records in {time.monotonic() - t:.1f} s")

        t = time.monotonic()
        spark = sess.get_spark(app_name="bench-lake-ingest", lake_root_url=tmp / "lake",
                               state_dir=tmp / "spark")
        print(f"spark session start (cached jars): {time.monotonic() - t:.1f} s")
        from data_contracts.events import FrameDetections as FD
        from spark_jobs.ingest import run_ingest
        from spark_jobs.silver import run_silver

        t = time.monotonic()
        res = run_ingest(spark, bootstrap=bootstrap, topics=[topic],
                         checkpoint_dir=str(tmp / "cp" / "ingest"))
        dt_b = time.monotonic() - t
        print(f"kafka -> bronze: {res.records} records in {dt_b:.1f} s = "
              f"{res.records / dt_b:.0f} records/s")
        dets = args.frames * args.people
        t = time.monotonic()
        st = run_silver(spark, checkpoint_dir=str(tmp / "cp" / "silver"),
                        topic_models={topic: FD}, model_check=args.model_check)
        dt_s = time.monotonic() - t
        print(f"bronze -> silver (model check {'on' if args.model_check else 'off'}): "
              f"{st.frames} frames, {st.detections} detections, {st.quarantined} "
              f"quarantined in {dt_s:.1f} s = {st.detections / dt_s:.0f} detections/s, "
              f"{st.records / dt_s:.0f} records/s")
        print(f"kafka -> silver end to end: {dets / (dt_b + dt_s):.0f} detections/s "
              f"({args.frames / (dt_b + dt_s):.0f} frames/s); load average now "
              f"{os.getloadavg()[0]:.1f}")
        spark.stop()
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
