"""Silver transforms on tiny inline frames, and the silver batch job on real Delta tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from data_contracts.events import FrameDetections, VideoSegment
from data_contracts.tables import QUARANTINE, SILVER_DETECTIONS, SILVER_FRAMES, SILVER_SEGMENTS
from data_contracts.topics import DETECTIONS, SEGMENTS
from spark_jobs.silver import (
    process_bronze_batch,
    quarantine_rows,
    to_detections,
    to_frames,
    to_segments,
    valid_rows,
    validate_records,
    validate_with_gx,
)
from tests.spark_jobs.events import (
    BRONZE_DDL,
    broken,
    broken_detection,
    bronze_rows,
    frame,
    segment,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.integration


def _bronze(spark: SparkSession, values: Sequence[bytes | None], topic: str) -> DataFrame:
    return spark.createDataFrame(bronze_rows(values, topic=topic), BRONZE_DDL)


def _reasons(checked: DataFrame) -> dict[int, tuple[str | None, str | None]]:
    return {
        r["offset"]: (r["error_type"], r["reason"])
        for r in checked.select("offset", "error_type", "reason").collect()
    }


# (bytes, expected error_type, words the reason must contain); None = valid
CASES: list[tuple[bytes | None, str | None, tuple[str, ...]]] = [
    (frame(0).to_json(), None, ()),
    (b"\xff\xfe{not json", "parse", ("Invalid JSON",)),
    (None, "parse", ("value=null",)),
    (b"[1, 2, 3]", "parse", ()),
    (broken_detection(frame(1), 0, confidence=1.7), "contract",
     ("detections.0.confidence=1.7", "<= 1")),
    (broken(frame(2), store_id=...), "contract", ("store_id",)),
    (broken(frame(3), store_id="bad id!"), "contract", ("store_id=bad id!",)),
    (broken(frame(4), frame_index=-5), "contract", ("frame_index=-5", ">= 0")),
    # cross-field rule only the model knows: the id must be the hash of the frame's identity
    (broken(frame(5), event_id="0" * 32), "contract", ("event_id",)),
    (broken(frame(6), unknown_field=1), "contract", ("unknown_field",)),
    (broken_detection(frame(7), 1, x1=50.0, x2=10.0), "contract", ("box corners",)),
    (broken(frame(8), capture_time="not a time"), "contract", ("capture_time",)),
]


def test_validate_records_names_field_and_value_of_every_failure(spark: SparkSession) -> None:
    checked = validate_records(
        _bronze(spark, [c[0] for c in CASES], DETECTIONS.name), FrameDetections
    )
    got = _reasons(checked)
    for offset, (_, error_type, words) in enumerate(CASES):
        kind, reason = got[offset]
        assert kind == error_type, (offset, kind, reason)
        if error_type is None:
            assert reason is None
        else:
            assert reason, (offset, reason)
            for word in words:
                assert word in reason, (offset, word, reason)


def test_spark_rules_alone_come_from_the_column_specs(spark: SparkSession) -> None:
    values = [
        frame(0).to_json(),
        broken_detection(frame(1), 0, confidence=1.7),
        broken(frame(2), frame_width=0),
        broken(frame(3), camera_id="x" * 80),
    ]
    checked = validate_records(
        _bronze(spark, values, DETECTIONS.name), FrameDetections, model_check=False
    )
    got = _reasons(checked)
    assert got[0] == (None, None)
    assert got[1][1] == "detections.0.confidence=1.7: must be <= 1"
    assert got[2][1] == "frame_width=0: must be > 0"
    assert got[3][0] == "contract" and (got[3][1] or "").startswith("camera_id=xxx")


def test_quarantine_rows_keep_raw_bytes_and_reason(spark: SparkSession) -> None:
    raw = b"\x00\x01 garbage"
    checked = validate_records(
        _bronze(spark, [frame(0).to_json(), raw], DETECTIONS.name), FrameDetections
    )
    q = quarantine_rows(checked).collect()
    assert [r["value"] for r in q] == [bytearray(raw)]
    assert q[0]["error_type"] == "parse" and q[0]["offset"] == 1
    assert q[0]["topic"] == DETECTIONS.name and q[0]["key"] == bytearray(b"s1/cam1")
    assert quarantine_rows(checked).columns == [c.name for c in QUARANTINE.columns]


def test_detections_one_row_each_with_index_and_duplicates_removed(spark: SparkSession) -> None:
    f0, f1 = frame(0, people=3), frame(1, people=0)
    values = [f0.to_json(), f1.to_json(), f0.to_json()]  # f0 delivered twice
    valid = valid_rows(
        validate_records(_bronze(spark, values, DETECTIONS.name), FrameDetections)
    )
    frames = {r["event_id"]: r for r in to_frames(valid).collect()}
    assert set(frames) == {f0.event_id, f1.event_id}
    assert frames[f0.event_id]["detection_count"] == 3
    assert frames[f1.event_id]["detection_count"] == 0
    dets = to_detections(valid).orderBy("detection_index").collect()
    assert [d["detection_index"] for d in dets] == [0, 1, 2]
    assert {d["event_id"] for d in dets} == {f0.event_id}
    first = dets[0]
    assert first["on_floor"] is False and first["floor_x"] is None
    assert dets[1]["zone_id"] == "aisle-1" and dets[1]["floor_x"] == pytest.approx(2.0)
    assert first["capture_time"] == f0.capture_time.replace(tzinfo=None)
    assert to_detections(valid).columns == [c.name for c in SILVER_DETECTIONS.columns]
    assert to_frames(valid).columns == [c.name for c in SILVER_FRAMES.columns]


def test_segments_land_in_the_hot_tier(spark: SparkSession) -> None:
    seg = segment(3)
    valid = valid_rows(
        validate_records(_bronze(spark, [seg.to_json()], SEGMENTS.name), VideoSegment)
    )
    rows = to_segments(valid).collect()
    assert len(rows) == 1
    assert rows[0]["tier"] == "hot" and rows[0]["tier_uri"] == seg.uri
    assert str(rows[0]["start_date"]) == "2026-11-25"
    assert to_segments(valid).columns == [c.name for c in SILVER_SEGMENTS.columns]


def test_gx_suite_passes_valid_rows_and_names_a_broken_column(spark: SparkSession) -> None:
    valid = valid_rows(
        validate_records(_bronze(spark, [frame(0).to_json()], DETECTIONS.name), FrameDetections)
    )
    good = to_detections(valid)
    report = validate_with_gx(good, SILVER_DETECTIONS)
    assert report.success and report.evaluated > 10 and report.failures == ()

    from pyspark.sql import functions as F

    bad = good.withColumn("confidence", F.lit(3.0))
    report = validate_with_gx(bad, SILVER_DETECTIONS)
    assert not report.success
    assert any("confidence" in f for f in report.failures)


def test_batch_job_merges_exactly_once_and_counts_quarantine(
    spark: SparkSession, clean_lake: str
) -> None:
    from spark_jobs.session import ensure_tables

    ensure_tables(spark)
    values = [frame(i).to_json() for i in range(3)] + [
        b"not json",
        broken_detection(frame(9), 0, confidence=-1.0),
    ]
    batch = _bronze(spark, values, DETECTIONS.name).unionByName(
        _bronze(spark, [segment(1).to_json()], SEGMENTS.name)
    )
    stats = process_bronze_batch(spark, batch)
    assert (stats.frames, stats.detections, stats.segments) == (3, 6, 1)
    assert stats.quarantined == 2
    assert stats.by_reason == {"parse:<record>": 1, "contract:detections.0.confidence": 1}
    again = process_bronze_batch(spark, batch)  # a replayed batch adds nothing
    assert again.quarantined == 2
    count = spark.sql("SELECT count(*) AS n FROM storeheat.silver_detections").first()
    assert count is not None and count["n"] == 6
    frames_n = spark.sql("SELECT count(*) AS n FROM storeheat.silver_frames").first()
    assert frames_n is not None and frames_n["n"] == 3
    q = spark.sql("SELECT error_type, reason FROM storeheat.quarantine ORDER BY offset").collect()
    assert [r["error_type"] for r in q] == ["parse", "contract"]
    segs = spark.sql("SELECT tier FROM storeheat.silver_segments").collect()
    assert [r["tier"] for r in segs] == ["hot"]
