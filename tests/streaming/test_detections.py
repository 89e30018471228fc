"""The Detections container: validation on construction, and pure helpers."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from streaming.detections import UNTRACKED, Detections
from streaming.exceptions import DetectionsError

BOX = [[10.0, 20.0, 50.0, 120.0]]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"xyxy": BOX, "confidence": [0.5]}, None),
        ({"xyxy": np.zeros((0, 4)), "confidence": np.zeros(0)}, None),
        ({"xyxy": [1, 2, 3, 4], "confidence": [0.5]}, "xyxy: expected shape (N, 4), got (4,)"),
        ({"xyxy": [[1, 2, 3]], "confidence": [0.5]}, "xyxy: expected shape (N, 4), got (1, 3)"),
        ({"xyxy": BOX, "confidence": [0.5, 0.4]}, "confidence: expected 1 rows"),
        ({"xyxy": BOX, "confidence": [[0.5]]}, "confidence: expected shape (N,), got (1, 1)"),
        ({"xyxy": BOX, "confidence": [1.5]}, "confidence: expected values in [0, 1]"),
        ({"xyxy": [[50, 20, 10, 120]], "confidence": [0.5]}, "expected x1 <= x2"),
        ({"xyxy": [[np.nan, 20, 10, 120]], "confidence": [0.5]}, "expected finite"),
        ({"xyxy": BOX, "confidence": [0.5], "track_id": [1, 2]}, "track_id: expected 1 rows"),
        ({"xyxy": BOX, "confidence": [0.5], "floor_xy": [1.0, 2.0]}, "floor_xy: expected shape"),
        ({"xyxy": BOX, "confidence": [0.5], "zone_id": ("a", "b")}, "zone_id: expected 1"),
        ({"xyxy": BOX, "confidence": [0.5], "zone_id": (3,)}, "zone_id: expected str or None"),
        ({"xyxy": BOX, "confidence": [0.5], "on_floor": [True]}, "on_floor rows must have"),
        ({"xyxy": [["a", "b", "c", "d"]], "confidence": [0.5]}, "xyxy: cannot convert"),
    ],
)
def test_validation(kwargs: dict[str, Any], expected: str | None) -> None:
    if expected is None:
        d = Detections(**kwargs)
        assert len(d) == len(kwargs["confidence"])
        assert d.xyxy.dtype == np.float32 and d.track_id.dtype == np.int64
    else:
        with pytest.raises(DetectionsError, match=re.escape(expected)):
            Detections(**kwargs)


def test_defaults_and_empty() -> None:
    d = Detections(xyxy=BOX, confidence=[0.9])
    assert d.track_id.tolist() == [UNTRACKED]
    assert d.class_id.tolist() == [0]
    assert np.isnan(d.floor_xy).all() and d.on_floor.tolist() == [False]
    assert d.zone_id == (None,)
    e = Detections.empty()
    assert len(e) == 0 and e.floor_xy.shape == (0, 2)


def test_arrays_are_read_only_copies() -> None:
    src = np.array(BOX)
    d = Detections(xyxy=src, confidence=[0.9])
    src[0, 0] = 999
    assert d.xyxy[0, 0] == 10
    with pytest.raises(ValueError):
        d.xyxy[0, 0] = 5


def test_helpers_return_new_instances() -> None:
    d = Detections(xyxy=[[0, 0, 10, 20], [5, 5, 15, 45]], confidence=[0.9, 0.4])
    t = d.with_tracks([3, UNTRACKED])
    assert t is not d and d.track_id.tolist() == [-1, -1] and t.track_id.tolist() == [3, -1]
    f = t.with_floor([[1.0, 2.0], [np.nan, np.nan]], on_floor=[True, False], zone_id=["z", None])
    assert f.zone_id == ("z", None) and t.zone_id == (None, None)
    assert f.track_id.tolist() == [3, -1]
    kept = f.filter(f.confidence > 0.5)
    assert len(kept) == 1 and kept.track_id.tolist() == [3] and kept.zone_id == ("z",)
    assert len(f) == 2
    assert f.filter(np.array([1])).confidence.tolist() == pytest.approx([0.4])
    with pytest.raises(DetectionsError, match="filter mask"):
        f.filter(np.array([True]))


def test_foot_points_and_clip() -> None:
    d = Detections(xyxy=[[-5, 10, 15, 130]], confidence=[0.9])
    assert d.foot_points().tolist() == [[5.0, 130.0]]
    c = d.clipped(width=100, height=100)
    assert c.xyxy.tolist() == [[0.0, 10.0, 15.0, 100.0]]


def test_concatenate() -> None:
    a = Detections(xyxy=BOX, confidence=[0.9], track_id=[1])
    b = Detections(xyxy=BOX, confidence=[0.8], zone_id=("z",))
    c = Detections.concatenate([a, b])
    assert c.track_id.tolist() == [1, -1] and c.zone_id == (None, "z")
    assert len(Detections.concatenate([])) == 0
