"""Contract round-trips and rejections, and the schemas derived from the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest

from data_contracts.derive import json_schema
from data_contracts.events import (
    DeadLetter,
    Detection,
    FrameDetections,
    VideoSegment,
    make_event_id,
)
from data_contracts.exceptions import ContractError

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def _frame(**overrides: object) -> dict:
    base: dict = dict(
        store_id="demo-store",
        camera_id="cam-1",
        stream_epoch=1_700_000_000_000,
        frame_index=42,
        capture_time=T0.isoformat(),
        model_version="yolox_nano.onnx@abc123",
        frame_width=640,
        frame_height=360,
        latency_ms=12.5,
        detections=[
            dict(track_id=3, confidence=0.9, x1=10, y1=20, x2=50, y2=200,
                 floor_x=4.5, floor_y=2.0, zone_id="entrance", on_floor=True),
            dict(track_id=None, confidence=0.4, x1=100, y1=20, x2=150, y2=100,
                 floor_x=None, floor_y=None, zone_id=None, on_floor=False),
        ],
    )
    base["event_id"] = make_event_id(
        base["store_id"], base["camera_id"], base["stream_epoch"], base["frame_index"]
    )
    base.update(overrides)
    return base


def test_round_trip_is_lossless() -> None:
    event = FrameDetections.from_dict(_frame())
    again = FrameDetections.from_json(event.to_json())
    assert again == event
    assert again.detections[0].zone_id == "entrance"
    assert again.capture_time == T0


def test_create_computes_deterministic_id() -> None:
    kwargs = dict(
        store_id="s", camera_id="c", stream_epoch=1, frame_index=2, capture_time=T0,
        model_version="m", frame_width=10, frame_height=10, latency_ms=0.0, detections=[],
    )
    a = FrameDetections.create(**kwargs)  # type: ignore[arg-type]
    b = FrameDetections.create(**kwargs)  # type: ignore[arg-type]
    assert a.event_id == b.event_id == make_event_id("s", "c", 1, 2)
    c = FrameDetections.create(**{**kwargs, "frame_index": 3})  # type: ignore[arg-type]
    assert c.event_id != a.event_id


def test_capture_time_normalised_to_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=2)))
    event = FrameDetections.from_dict(_frame(capture_time=local.isoformat()))
    assert event.capture_time.utcoffset() == timedelta(0)
    assert event.capture_time == T0


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"camera_id": "bad id!"}, "camera_id", "bad id!"),
        ({"frame_index": -1}, "frame_index", -1),
        ({"capture_time": "2026-11-25T10:00:00"}, "capture_time", "2026-11-25T10:00:00"),
        ({"frame_width": 0}, "frame_width", 0),
        ({"latency_ms": -3}, "latency_ms", -3),
        ({"unexpected": 1}, "unexpected", 1),
        ({"event_id": "0" * 32}, "<record>", None),
    ],
)
def test_rejections_name_field_and_value(change: dict, field: str, value: object) -> None:
    with pytest.raises(ContractError) as info:
        FrameDetections.from_dict(_frame(**change))
    err = info.value
    assert err.contract == "storeheat.detections.v1"
    fields = [v.field for v in err.violations]
    assert field in fields or (field == "<record>" and "event_id" in str(err))
    if value is not None:
        assert repr(value) in str(err)


@pytest.mark.parametrize(
    ("detection_change", "message"),
    [
        ({"confidence": 1.5}, "detections.0.confidence"),
        ({"x2": 5}, "box corners out of order"),
        ({"on_floor": True, "floor_x": None}, "floor_x/floor_y are missing"),
        ({"y2": 900}, "leaves the 640x360 frame"),
    ],
)
def test_detection_rules(detection_change: dict, message: str) -> None:
    data = _frame()
    data["detections"][0].update(detection_change)
    with pytest.raises(ContractError, match=message.replace("(", r"\(")):
        FrameDetections.from_dict(data)


def test_not_json_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="Invalid JSON"):
        FrameDetections.from_json(b"\xff\x00 not json")


def test_segment_rules() -> None:
    uri = "file:///tmp/hot/demo-store/cam-1/0001.mp4"
    seg = dict(
        event_id=make_event_id("demo-store", "cam-1", uri), store_id="demo-store",
        camera_id="cam-1", stream_epoch=0, uri=uri, start_time=T0.isoformat(),
        end_time=(T0 + timedelta(seconds=30)).isoformat(), bytes=1000, sha256="a" * 64,
        codec="mp4v", frame_count=150, width=640, height=360,
    )
    assert VideoSegment.from_json(VideoSegment.from_dict(seg).to_json()).uri == uri
    with pytest.raises(ContractError, match="end_time"):
        VideoSegment.from_dict({**seg, "end_time": (T0 - timedelta(seconds=1)).isoformat()})
    with pytest.raises(ContractError, match="sha256"):
        VideoSegment.from_dict({**seg, "sha256": "xyz"})


def test_dead_letter_error_type_closed_set() -> None:
    dl = dict(event_id="0" * 32, source="ingest", raw_base64="AA==", reason="r",
              error_type="parse", occurred_at=T0.isoformat())
    assert DeadLetter.from_dict(dl).error_type == "parse"
    with pytest.raises(ContractError, match="error_type"):
        DeadLetter.from_dict({**dl, "error_type": "other"})


def test_json_schema_agrees_with_model() -> None:
    schema = json_schema(FrameDetections)
    validator = jsonschema.Draft202012Validator(schema)
    good = json.loads(FrameDetections.from_dict(_frame()).to_json())
    assert list(validator.iter_errors(good)) == []
    bad = dict(good, frame_index=-5)
    assert [e.path[-1] for e in validator.iter_errors(bad)] == ["frame_index"]
    bad_conf = json.loads(json.dumps(good))
    bad_conf["detections"][0]["confidence"] = 2
    assert list(validator.iter_errors(bad_conf))


def test_detection_model_is_frozen() -> None:
    det = Detection(confidence=0.5, x1=0, y1=0, x2=1, y2=1, on_floor=False)
    with pytest.raises(ValueError):
        det.confidence = 0.1  # type: ignore[misc]
