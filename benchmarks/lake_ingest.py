"""Benchmark: detections per second from Kafka into silver on this machine.

Starts a local Kafka broker on free ports (or uses ``KAFKA_BOOTSTRAP_SERVERS``) and a Spark
session on a fresh lake in a temporary folder, then:

1. times the jar resolve (cached, and into an empty cache — Maven's ``~/.m2`` may still be
   warm), the broker start and the Spark session start;
2. runs a small **warm-up** wave through Kafka → bronze → silver and prints it as the *cold*
   figure: the first batch of a fresh JVM pays class loading, JIT and table creation (tens of
   seconds), which a long-running ingest pays once;
3. runs ``--waves`` measured waves of ``--frames`` frame events each (``--cameras`` cameras at
   5 fps, ``--people`` detections per frame, ``--bad`` malformed records mixed in), each
   ingested and then silvered through the same checkpoints, so silver grows wave by wave as
   it does in production. For each stage it prints the wall time, the CPU seconds of the
   Spark process tree (JVM and its Python workers; the broker excluded) and the load average,
   because on a shared 2-core machine the wall time mostly measures the neighbours.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from data_contracts.events import Detection, FrameDetections
from data_contracts.topics import TopicSpec, record_key

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FPS = 5


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


def _events(
    first: int, n: int, *, people: int, cameras: int, store: str
) -> list[tuple[bytes, bytes]]:
    """(key, value) of frames ``first .. first+n-1``, round-robin over cameras at 5 fps."""
    t0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    out = []
    for i in range(first, first + n):
        cam, index = i % cameras, i // cameras
        dets = [
            Detection(track_id=(index // 50) * people + p, confidence=0.5 + 0.4 * (p % 2),
                      x1=40.0 * p, y1=5.0, x2=40.0 * p + 40.0, y2=200.0,
                      floor_x=1.0 + p + 0.01 * (index % 100), floor_y=2.0 + 0.1 * cam,
                      zone_id=f"zone-{p % 4}", on_floor=True)
            for p in range(people)
        ]
        event = FrameDetections.create(
            store_id=store, camera_id=f"cam{cam:02d}", stream_epoch=1, frame_index=index,
            capture_time=t0 + timedelta(seconds=index / FPS), model_version="bench",
            frame_width=640, frame_height=480, latency_ms=10.0, detections=dets,
        )
        out.append((record_key(store, event.camera_id), event.to_json()))
    return out


def _stat_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of ``pid`` and its reaped children)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by process ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parent, seconds = _stat_cpu(int(name))
        except OSError:  # the process ended while we looked
            continue
        children.setdefault(parent, []).append(int(name))
        cpu[int(name)] = seconds
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


@dataclass
class Stage:
    """Wall and CPU seconds of one timed stage, and the load average after it."""

    wall: float = 0.0
    cpu: float = 0.0
    load: float = 0.0


@contextmanager
def timed(spark: SparkSession) -> Iterator[Stage]:
    """Time the block: wall clock, and CPU of this process plus the Spark JVM's tree."""
    gateway = spark.sparkContext._gateway
    jvm_pid = gateway.proc.pid if gateway is not None and gateway.proc is not None else None

    def cpu() -> float:
        own = _stat_cpu(os.getpid())[1]
        return own + (tree_cpu_seconds(jvm_pid) if jvm_pid else 0.0)

    stage = Stage()
    c0, t0 = cpu(), time.monotonic()
    yield stage
    stage.wall, stage.cpu = time.monotonic() - t0, cpu() - c0
    stage.load = os.getloadavg()[0]


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], bad: int,
             tag: str) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                             batch_size=512 * 1024)
    t = time.monotonic()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    for i in range(bad):
        producer.send(topic, key=b"bench/cam00", value=f"{{broken {tag} {i}".encode())
    producer.flush()
    producer.close()
    return time.monotonic() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20000, help="frame events per measured wave")
    p.add_argument("--waves", type=int, default=2, help="measured waves")
    p.add_argument("--warmup-frames", type=int, default=2000,
                   help="frames of the warm-up wave (the cold figure)")
    p.add_argument("--people", type=int, default=3, help="detections per frame")
    p.add_argument("--cameras", type=int, default=12)
    p.add_argument("--bad", type=int, default=50, help="malformed records per wave")
    p.add_argument("--partitions", type=int, default=6, help="Kafka partitions of the topic")
    p.add_argument("--driver-memory", default="2g")
    p.add_argument("--no-model-check", dest="model_check", action="store_false",
                   help="validate with the column-spec rules only (no pydantic UDF)")
    args = p.parse_args()

    from storeheat.env import apply_tool_env

    apply_tool_env()
    from spark_jobs import session as sess
    from storeheat.services.jars import resolve
    from storeheat.services.kafka import LocalKafka, ensure_topics

    tmp = Path(tempfile.mkdtemp(prefix="storeheat-bench-"))
    total_frames = args.warmup_frames + args.waves * args.frames
    print(f"{args.waves} waves x {args.frames} frames x {args.people} people from "
          f"{args.cameras} cameras (+ {args.warmup_frames} warm-up frames), {args.bad} bad "
          f"records per wave, {args.partitions} Kafka partitions; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
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
        t = time.monotonic()
        events = _events(0, total_frames, people=args.people, cameras=args.cameras,
                         store="bench")
        print(f"built {len(events)} events in {time.monotonic() - t:.1f} s")

        t = time.monotonic()
        spark = sess.get_spark(app_name="bench-lake-ingest", lake_root_url=tmp / "lake",
                               state_dir=tmp / "spark", driver_memory=args.driver_memory)
        print(f"spark session start (cached jars): {time.monotonic() - t:.1f} s")
        from data_contracts.events import FrameDetections as FD
        from spark_jobs.ingest import run_ingest
        from spark_jobs.silver import run_silver

        def wave(name: str, records: list[tuple[bytes, bytes]]) -> tuple[float, float]:
            dt = _produce(bootstrap, topic, records, args.bad, name)
            print(f"[{name}] produced {len(records) + args.bad} records in {dt:.1f} s")
            with timed(spark) as b:
                res = run_ingest(spark, bootstrap=bootstrap, topics=[topic],
                                 checkpoint_dir=str(tmp / "cp" / "ingest"))
            print(f"[{name}] kafka -> bronze: {res.records} records in {b.wall:.1f} s "
                  f"({res.batches} batches) = {res.records / b.wall:.0f} records/s; "
                  f"{b.cpu:.1f} CPU s = {res.records / max(b.cpu, 1e-9):.0f} records/CPU-s; "
                  f"load {b.load:.1f}")
            with timed(spark) as s:
                st = run_silver(spark, checkpoint_dir=str(tmp / "cp" / "silver"),
                                topic_models={topic: FD}, model_check=args.model_check)
            print(f"[{name}] bronze -> silver (model check {'on' if args.model_check else 'off'}"
                  f"): {st.frames} frames, {st.detections} detections, {st.quarantined} "
                  f"quarantined in {s.wall:.1f} s ({st.batches} batches) = "
                  f"{st.detections / s.wall:.0f} detections/s; {s.cpu:.1f} CPU s = "
                  f"{st.detections / max(s.cpu, 1e-9):.0f} detections/CPU-s; load {s.load:.1f}")
            both = b.wall + s.wall
            print(f"[{name}] kafka -> silver: {st.detections / both:.0f} detections/s, "
                  f"{st.frames / both:.0f} frames/s wall; "
                  f"{st.detections / max(b.cpu + s.cpu, 1e-9):.0f} detections/CPU-s")
            return st.detections, both

        wave("cold", events[: args.warmup_frames])
        dets = wall = 0.0
        for w in range(args.waves):
            lo = args.warmup_frames + w * args.frames
            d, dt = wave(f"wave {w + 1}", events[lo: lo + args.frames])
            dets, wall = dets + d, wall + dt
        rows = _count(spark, f"{tmp / 'lake'}/silver_detections")
        print(f"measured waves: {dets:.0f} detections in {wall:.1f} s = {dets / wall:.0f} "
              f"detections/s Kafka -> silver; silver_detections holds {rows} rows; load "
              f"average now {os.getloadavg()[0]:.1f}")
        spark.stop()
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _count(spark: SparkSession, path: str) -> int:
    row = spark.read.format("delta").load(path).selectExpr("count(*) AS n").first()
    return int(row["n"]) if row is not None else 0


if __name__ == "__main__":
    main()
