"""Each DAG runs end to end with ``dag.test()``: real Airflow, real spark-submit, real Delta.

The tasks ``spark-submit`` the real jobs against the test session's lake (``local[*]`` through
the ``spark_default`` connection); this process's Spark session seeds and reads the tables.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from data_contracts.tables import (
    GOLD_HEATMAP_CELLS,
    SILVER_DETECTIONS,
    SILVER_SEGMENTS,
    Table,
)
from tests.dags.conftest import DAGS_FOLDER
from tests.spark_jobs.events import frame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.integration

STORE = "dagstore"
HOUR_A = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
HOUR_B = HOUR_A + timedelta(hours=1)


@pytest.fixture(scope="module")
def dags(airflow_db: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            # dag.test() sits out retry delays; a failure here should fail at once.
            task.retries = 0
    return dict(bag.dags)


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _location(lake: str, table: Table) -> str:
    return f"{lake}/{table.name}"


def _produce(bootstrap: str, events: Sequence[Any]) -> None:
    from kafka import KafkaProducer

    from data_contracts.topics import record_key

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            producer.send(event.TOPIC, key=record_key(event.store_id, event.camera_id),
                          value=event.to_json())
        producer.flush(timeout=60)
    finally:
        producer.close()


def _gold_rows_in(spark: SparkSession, lake: str, start: datetime, end: datetime) -> int:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    location = _location(lake, GOLD_HEATMAP_CELLS)
    if not DeltaTable.isDeltaTable(spark, location):
        return 0
    return (
        spark.read.format("delta").load(location)
        .where((F.col("store_id") == STORE) & (F.col("bucket_start") >= F.lit(start))
               & (F.col("bucket_start") < F.lit(end)))
        .count()
    )


def test_ingest_then_hourly_rollup_where_a_failing_gate_blocks_only_its_window(
    dags: dict[str, Any], spark: SparkSession, clean_lake: str, spark_submit_env: str,
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyspark.sql import functions as F

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    # 20 frames (two people each) at the start of hour A and 20 at the start of hour B.
    frames = [frame(i, store_id=STORE, people=2) for i in range(20)]
    frames += [frame(36_000 + i, store_id=STORE, people=2) for i in range(20)]
    assert frames[20].capture_time == HOUR_B
    _produce(kafka_bootstrap, frames)

    # Ingest: Kafka → bronze → silver, one spark-submit.
    run = dags["storeheat_ingest"].test(logical_date=HOUR_B + timedelta(hours=2))
    assert _states(run) == {"kafka_to_silver": "success"}
    silver = spark.read.format("delta").load(_location(clean_lake, SILVER_DETECTIONS))
    assert silver.where(F.col("store_id") == STORE).count() == 40 * 2

    # Something wrote a contract-breaking row into hour B of silver (confidence above 1).
    bad = (
        silver.where((F.col("store_id") == STORE) & (F.col("capture_time") >= F.lit(HOUR_B)))
        .limit(1)
        .withColumn("confidence", F.lit(1.5))
        .withColumn("detection_index", F.lit(99).cast("long"))
    )
    bad.write.format("delta").mode("append").save(_location(clean_lake, SILVER_DETECTIONS))

    rollup = dags["storeheat_rollup_hourly"]
    # A manual run at hour X owns the hour before X (data interval [X - 1 h, X)).
    run_a = rollup.test(logical_date=HOUR_B, run_conf={"store_id": STORE})
    assert _states(run_a) == {"quality_gate": "success", "rollup": "success"}
    assert run_a.data_interval_start == HOUR_A and run_a.data_interval_end == HOUR_B
    rows_a = _gold_rows_in(spark, clean_lake, HOUR_A, HOUR_B)
    assert rows_a > 0

    run_b = rollup.test(logical_date=HOUR_B + timedelta(hours=1), run_conf={"store_id": STORE})
    assert str(run_b.state) == "failed"
    assert _states(run_b) == {"quality_gate": "failed", "rollup": "upstream_failed"}
    # Nothing was published for hour B; hour A is untouched.
    assert _gold_rows_in(spark, clean_lake, HOUR_B, HOUR_B + timedelta(hours=1)) == 0
    assert _gold_rows_in(spark, clean_lake, HOUR_A, HOUR_B) == rows_a


def _segment_rows(hot: Path, *, hot_url: str, ends: Sequence[datetime]) -> list[dict[str, Any]]:
    from data_contracts.events import make_event_id

    rows = []
    for n, end in enumerate(ends):
        path = hot / STORE / "cam1" / f"{n:05d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = f"blurred segment {n} ".encode() * (200 + n)
        path.write_bytes(payload)
        uri = f"{hot_url}/{STORE}/cam1/{n:05d}.mp4"
        start = end - timedelta(seconds=59)
        rows.append({
            "event_id": make_event_id(STORE, "cam1", uri), "store_id": STORE,
            "camera_id": "cam1", "stream_epoch": 1_764_064_800_000, "uri": uri,
            "start_time": start, "end_time": end, "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(), "codec": "mp4v",
            "frame_count": 590, "width": 640, "height": 480, "tier": "hot", "tier_uri": uri,
            "tier_changed_at": end, "start_date": start.date(),
        })
    return rows


def _write_segments(spark: SparkSession, lake: str, rows: list[dict[str, Any]]) -> None:
    from data_contracts.derive import spark_schema_of_columns
    from spark_jobs.session import ensure_tables

    ensure_tables(spark, [SILVER_SEGMENTS])
    schema = spark_schema_of_columns(SILVER_SEGMENTS.columns)
    df = spark.createDataFrame([tuple(r[f.name] for f in schema) for r in rows], schema)
    df.write.format("delta").mode("append").save(_location(lake, SILVER_SEGMENTS))


def test_video_tiering_moves_only_segments_older_than_the_hot_retention(
    dags: dict[str, Any], spark: SparkSession, clean_lake: str, spark_submit_env: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    hot, cold = tmp_path / "hot", tmp_path / "cold"
    hot_url, cold_url = hot.as_uri(), cold.as_uri()
    monkeypatch.setenv("STOREHEAT_HOT_VIDEO_URL", hot_url)
    monkeypatch.setenv("STOREHEAT_COLD_VIDEO_URL", cold_url)
    reference = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    # The demo store keeps segments hot for 24 h: one is 30 h old, one 2 h.
    rows = _segment_rows(hot, hot_url=hot_url,
                         ends=[reference - timedelta(hours=30), reference - timedelta(hours=2)])
    _write_segments(spark, clean_lake, rows)

    # Asset-triggered: no data interval, the reference is the run's trigger time.
    run = dags["storeheat_video_tiering"].test(logical_date=None, run_after=reference)
    assert _states(run) == {"hot_to_cold": "success"}

    after = {
        r["event_id"]: r
        for r in spark.read.format("delta").load(_location(clean_lake, SILVER_SEGMENTS))
        .collect()
    }
    old, recent = rows
    moved = after[old["event_id"]]
    assert moved["tier"] == "cold"
    assert moved["tier_uri"] == f"{cold_url}/{STORE}/cam1/00000.mp4"
    assert moved["tier_changed_at"].replace(tzinfo=UTC) == reference
    cold_file = cold / STORE / "cam1" / "00000.mp4"
    assert hashlib.sha256(cold_file.read_bytes()).hexdigest() == old["sha256"]
    assert not (hot / STORE / "cam1" / "00000.mp4").exists()
    kept = after[recent["event_id"]]
    assert (kept["tier"], kept["tier_uri"]) == ("hot", recent["uri"])
    assert (hot / STORE / "cam1" / "00001.mp4").exists()
    assert not (cold / STORE / "cam1" / "00001.mp4").exists()


def test_maintenance_compacts_the_days_partition_and_vacuums(
    dags: dict[str, Any], spark: SparkSession, clean_lake: str, spark_submit_env: str,
    tmp_path: Path,
) -> None:
    from delta.tables import DeltaTable

    day = date(2026, 11, 24)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    # Four appends of one segment each: four small files in the day's partition.
    for n in range(4):
        rows = _segment_rows(tmp_path / f"hot{n}", hot_url=(tmp_path / f"hot{n}").as_uri(),
                             ends=[noon + timedelta(minutes=n)])
        _write_segments(spark, clean_lake, rows)
    location = _location(clean_lake, SILVER_SEGMENTS)

    def files() -> int:
        return int(spark.sql(f"DESCRIBE DETAIL delta.`{location}`").collect()[0]["numFiles"])

    assert files() == 4
    # The daily run after midnight owns the previous day.
    run = dags["storeheat_maintenance"].test(logical_date=datetime(2026, 11, 25, 0, 30,
                                                                   tzinfo=UTC))
    assert _states(run) == {"optimize_and_vacuum": "success"}
    assert run.data_interval_start.date() == day
    assert files() == 1
    history = DeltaTable.forPath(spark, location).history().collect()
    operations = [h["operation"] for h in history]
    assert "OPTIMIZE" in operations
    optimize = next(h for h in history if h["operation"] == "OPTIMIZE")
    assert "start_date" in optimize["operationParameters"]["predicate"]
    assert spark.read.format("delta").load(location).count() == 4
    # VACUUM's retention lives in the table property (Delta 4 ignores RETAIN): 7 days.
    props = {r["key"]: r["value"]
             for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{location}`").collect()}
    assert props["delta.deletedFileRetentionDuration"] == "interval 168 hours"


def test_backfill_of_a_date_range_plans_one_rollup_per_hour(airflow_db: Path) -> None:
    import os
    import subprocess
    import sys

    airflow = str(Path(sys.executable).parent / "airflow")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")

    def cli(*args: str) -> str:
        proc = subprocess.run([airflow, *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    cli("dags", "reserialize")
    out = cli("backfill", "create", "--dag-id", "storeheat_rollup_hourly", "--dry-run",
              "--from-date", "2026-11-01T00:00:00+00:00", "--to-date", "2026-11-01T03:00:00+00:00")
    planned = sorted(set(re.findall(r"2026-11-01[ T](\d\d):00:00", out)))
    assert planned == ["00", "01", "02", "03"], out


def _detection_rows(frames: Sequence[Any]) -> list[dict[str, Any]]:
    rows = []
    for event in frames:
        base = event.model_dump(exclude={"detections"})
        for index, det in enumerate(event.detections):
            rows.append({**base, "detection_index": index, **det.model_dump(),
                         "capture_date": event.capture_time.date()})
    return rows


def test_gate_report_names_the_window_and_the_broken_expectation(
    spark: SparkSession, clean_lake: str,
) -> None:
    from data_contracts.derive import spark_schema_of_columns
    from spark_jobs.session import ensure_tables
    from storeheat.orchestration.quality_gate import check_window

    ensure_tables(spark, [SILVER_DETECTIONS])
    schema = spark_schema_of_columns(SILVER_DETECTIONS.columns)
    rows = _detection_rows([frame(i, store_id=STORE, people=2) for i in range(5)]
                           + [frame(36_000 + i, store_id=STORE, people=2) for i in range(5)])
    rows.append({**rows[-1], "detection_index": 99, "confidence": 1.5})
    df = spark.createDataFrame([tuple(r[f.name] for f in schema) for r in rows], schema)
    df.write.format("delta").mode("append").save(_location(clean_lake, SILVER_DETECTIONS))

    good = check_window(spark, store_id=STORE, start=HOUR_A, end=HOUR_B)
    assert good.passed and good.rows == 10 and good.evaluated > 0
    bad = check_window(spark, store_id=STORE, start=HOUR_B, end=HOUR_B + timedelta(hours=1))
    assert not bad.passed and bad.rows == 11
    lines = bad.text.splitlines()
    assert lines[0] == (
        "quality gate FAILED: storeheat.silver_detections store 'dagstore' window "
        "[2026-11-25T11:00:00+00:00, 2026-11-25T12:00:00+00:00): 11 rows, "
        f"{bad.evaluated} expectations")
    assert lines[1] == "1 expectation(s) failed:"
    assert lines[2].startswith("  - expect_column_values_to_be_between(confidence): unexpected 1")
    # Another store's window is not this store's problem.
    other = check_window(spark, store_id="elsewhere", start=HOUR_B, end=HOUR_B + timedelta(hours=1))
    assert other.passed and other.rows == 0
