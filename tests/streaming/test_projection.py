"""Floor projection with a known homography: known floor points, flagged off-floor points."""

from __future__ import annotations

import numpy as np
import pytest

from storeheat.geometry import Homography
from streaming.detections import Detections
from streaming.projection import FloorProjector

# A camera whose image maps to the floor by x = u / 100, y = v / 100 (1 px = 1 cm).
SCALE = Homography.fit(
    [[0, 0], [1000, 0], [1000, 800], [0, 800]], [[0, 0], [10, 0], [10, 8], [0, 8]]
)
FLOOR = [[0, 0], [10, 0], [10, 8], [0, 8]]
ZONES = {
    "entrance": [[0, 0], [3, 0], [3, 3], [0, 3]],
    "checkout": [[7, 5], [10, 5], [10, 8], [7, 8]],
}


@pytest.mark.parametrize(
    ("box", "floor", "on_floor", "zone"),
    [
        ([90, 100, 110, 200], (1.0, 2.0), True, "entrance"),  # foot (100, 200)
        ([780, 400, 820, 650], (8.0, 6.5), True, "checkout"),
        ([480, 300, 520, 500], (5.0, 5.0), True, None),  # on the floor, in no zone
        ([1180, 300, 1220, 500], None, False, None),  # foot at x = 12 m: off the floor
        ([480, 600, 520, 900], None, False, None),  # foot at y = 9 m: off the floor
    ],
)
def test_known_points(
    box: list[float], floor: tuple[float, float] | None, on_floor: bool, zone: str | None
) -> None:
    projector = FloorProjector(SCALE, floor_polygon=FLOOR, zones=ZONES)
    dets = Detections(xyxy=[box], confidence=[0.9], track_id=[4])
    out = projector.project(dets)
    assert out.on_floor.tolist() == [on_floor]
    assert out.zone_id == (zone,)
    assert out.track_id.tolist() == [4]  # other columns carried over
    if floor is None:
        assert np.isnan(out.floor_xy).all()
    else:
        np.testing.assert_allclose(out.floor_xy[0], floor, atol=1e-6)
    assert np.isnan(dets.floor_xy).all()  # input untouched


def test_point_above_horizon_is_flagged_not_invented() -> None:
    # A perspective camera: image rows above v = 100 look above the horizon.
    image = [[200, 400], [800, 400], [1000, 700], [0, 700]]
    floor = [[0, 10], [10, 10], [10, 0], [0, 0]]
    hom = Homography.fit(image, floor)
    projector = FloorProjector(
        hom, floor_polygon=[[-100, -100], [100, -100], [100, 100], [-100, 100]]
    )
    horizon_v = float(-(hom.image_to_floor_matrix[2, 2]) / hom.image_to_floor_matrix[2, 1])
    above = horizon_v - 50
    dets = Detections(
        xyxy=np.array([[450, 500, 550, 650], [450, above - 100, 550, above]]),
        confidence=[0.9, 0.9],
    )
    out = projector.project(dets)
    assert out.on_floor.tolist() == [True, False]
    assert np.isfinite(out.floor_xy[0]).all() and np.isnan(out.floor_xy[1]).all()
    assert 0 < out.floor_xy[0, 1] < 10


def test_overlapping_zones_first_wins_and_empty_input() -> None:
    zones = {"a": [[0, 0], [5, 0], [5, 5], [0, 5]], "b": [[0, 0], [10, 0], [10, 8], [0, 8]]}
    projector = FloorProjector(SCALE, floor_polygon=FLOOR, zones=zones)
    out = projector.project(
        Detections(xyxy=[[90, 100, 110, 200], [690, 100, 710, 700]], confidence=[0.5, 0.5])
    )
    assert out.zone_id == ("a", "b")
    assert len(projector.project(Detections.empty())) == 0


@pytest.mark.parametrize(
    ("floor_polygon", "zones", "expected"),
    [
        ([[0, 0], [1, 1]], None, "floor_polygon: expected a"),
        (FLOOR, {"z": [[0, 0], [1, 0]]}, "zone 'z': expected a"),
    ],
)
def test_bad_polygons(
    floor_polygon: list[list[float]], zones: dict[str, list[list[float]]] | None, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        FloorProjector(SCALE, floor_polygon=floor_polygon, zones=zones)
