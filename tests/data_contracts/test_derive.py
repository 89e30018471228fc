"""Spark schemas and GX suites come from the same column specs as the models."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts.derive import Column, columns_of, expectation_suite, spark_schema
from data_contracts.events import Detection, FrameDetections
from data_contracts.tables import SILVER_DETECTIONS, TABLES


def test_columns_carry_bounds_and_patterns_from_the_model() -> None:
    cols = {c.name: c for c in columns_of(Detection)}
    assert cols["confidence"] == Column(
        "confidence", "double", False, "Detector confidence in [0, 1].", ge=0.0, le=1.0
    )
    assert cols["track_id"].nullable and cols["track_id"].ge == 0
    assert cols["zone_id"].pattern is not None and cols["zone_id"].nullable


def test_silver_detections_contains_every_event_field() -> None:
    names = [c.name for c in SILVER_DETECTIONS.columns]
    frame_fields = [f for f in FrameDetections.model_fields if f != "detections"]
    for field in frame_fields + list(Detection.model_fields):
        assert field in names
    assert len(names) == len(set(names))
    assert set(SILVER_DETECTIONS.partition_by) <= set(names)
    for table in TABLES.values():
        cols = [c.name for c in table.columns]
        assert set(table.key) <= set(cols), table.name


def test_spark_schema_is_nested_like_the_json() -> None:
    schema = spark_schema(FrameDetections)
    assert schema["frame_index"].dataType.simpleString() == "bigint"
    assert not schema["frame_index"].nullable
    det = schema["detections"].dataType.elementType
    assert det["track_id"].nullable
    assert det["confidence"].dataType.simpleString() == "double"
    assert schema["capture_time"].dataType.simpleString() == "timestamp"


def _validate(df: pd.DataFrame) -> dict[str, bool]:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("t")
    asset = source.add_dataframe_asset("silver")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": df}
    )
    result = batch.validate(expectation_suite("silver_detections", SILVER_DETECTIONS.columns))
    return {
        f"{r.expectation_config.type}:{r.expectation_config.kwargs.get('column')}": r.success
        for r in result.results
    }


@pytest.fixture(scope="module")
def good_rows() -> pd.DataFrame:
    row = {c.name: None for c in SILVER_DETECTIONS.columns}
    row.update(
        event_id="a" * 32, store_id="demo-store", camera_id="cam-1", stream_epoch=0,
        frame_index=1, capture_time=pd.Timestamp("2026-11-25T10:00:00Z"), model_version="m",
        frame_width=640, frame_height=360, latency_ms=1.0, detection_index=0, track_id=1,
        confidence=0.8, x1=1.0, y1=1.0, x2=2.0, y2=2.0, floor_x=1.0, floor_y=1.0,
        zone_id="entrance", on_floor=True, capture_date=pd.Timestamp("2026-11-25").date(),
    )
    return pd.DataFrame([row, {**row, "detection_index": 1, "track_id": None}])


def test_gx_suite_passes_good_rows(good_rows: pd.DataFrame) -> None:
    results = _validate(good_rows)
    assert results and all(results.values()), {k: v for k, v in results.items() if not v}


def test_gx_suite_flags_the_broken_column(good_rows: pd.DataFrame) -> None:
    bad = good_rows.copy()
    bad.loc[0, "confidence"] = 1.7
    bad.loc[1, "camera_id"] = "no spaces allowed"
    failed = sorted(k for k, ok in _validate(bad).items() if not ok)
    assert failed == [
        "expect_column_values_to_be_between:confidence",
        "expect_column_values_to_match_regex:camera_id",
    ]
