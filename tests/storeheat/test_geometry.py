"""Homography fitting, projection both ways, and polygons."""

from __future__ import annotations

import numpy as np
import pytest

from storeheat.geometry import (
    CalibrationError,
    Homography,
    PolygonSet,
    fit_homography,
    points_in_polygon,
    polygon_area,
)

# A known homography (a tilted camera looking at the floor) to generate exact pairs.
H_TRUE = np.array([[0.02, 0.004, -1.0], [0.0005, -0.03, 12.0], [0.00001, 0.0012, 1.0]])


def _pairs(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    img = rng.uniform([20, 150], [620, 350], size=(n, 2))
    h = np.hstack([img, np.ones((n, 1))]) @ H_TRUE.T
    return img, h[:, :2] / h[:, 2:]


def test_fit_recovers_known_homography() -> None:
    img, floor = _pairs()
    hom = Homography.fit(img, floor)
    assert hom.reprojection_error_m < 1e-9
    np.testing.assert_allclose(hom.image_to_floor_matrix, H_TRUE / H_TRUE[2, 2], rtol=1e-6)
    back = hom.floor_to_image(floor)
    np.testing.assert_allclose(back, img, atol=1e-6)


def test_noisy_calibration_reports_its_error() -> None:
    img, floor = _pairs(10)
    noisy = floor + np.random.default_rng(2).normal(0, 0.05, floor.shape)
    hom = Homography.fit(img, noisy)
    assert 0.01 < hom.reprojection_error_m < 0.1


def test_points_above_horizon_are_not_invented() -> None:
    img, floor = _pairs()
    hom = Homography.fit(img, floor)
    # Row v where w = 0 is the horizon; anything above it has no floor point.
    v_horizon = -(H_TRUE[2, 2] + H_TRUE[2, 0] * 320) / H_TRUE[2, 1]
    out = hom.image_to_floor([[320, v_horizon - 50], [320, 300]])
    assert np.isnan(out[0]).all()
    assert np.isfinite(out[1]).all()


@pytest.mark.parametrize(
    ("image", "floor", "message"),
    [
        ([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 0]], "at least 4"),
        ([[0, 0], [1, 1], [2, 2], [3, 3]], [[0, 0], [1, 0], [1, 1], [0, 1]], "collinear"),
        ([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [0, 0], [0, 0], [0, 0]], "collinear"),
        ([[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 0], [1, 1], [0, 1]], "as many"),
    ],
)
def test_degenerate_calibration_is_rejected(image: list, floor: list, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        fit_homography(image, floor)


def test_points_in_polygon_and_area() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4]]
    concave = [[0, 0], [4, 0], [4, 4], [2, 1], [0, 4]]
    pts = [[1, 1], [5, 1], [2, 3], [3.9, 3.5]]
    assert points_in_polygon(pts, square).tolist() == [True, False, True, True]
    assert points_in_polygon(pts, concave).tolist() == [True, False, False, True]
    assert polygon_area(square) == 16.0
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        points_in_polygon([[1, 2, 3]], square)


def test_polygon_set_agrees_with_one_polygon_at_a_time() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4]]
    concave = [[0, 0], [4, 0], [4, 4], [2, 1], [0, 4]]
    triangle = [[1, 1], [6, 1], [1, 6]]  # with a horizontal edge
    polygons = PolygonSet([square, concave, triangle])
    pts = np.random.default_rng(0).uniform(-1, 7, size=(500, 2))
    expected = np.column_stack([points_in_polygon(pts, p) for p in (square, concave, triangle)])
    np.testing.assert_array_equal(polygons.contains(pts), expected)
    assert polygons.contains(np.zeros((0, 2))).shape == (0, 3)
    assert PolygonSet([]).contains([[1, 1]]).shape == (1, 0)
    with pytest.raises(ValueError, match="polygon 1: expected at least 3 points"):
        PolygonSet([square, [[0, 0], [1, 1]]])
