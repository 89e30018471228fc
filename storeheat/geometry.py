"""Floor geometry: homographies between a camera image and the store floor, and polygons.

Coordinates: image points are pixels ``(u, v)`` with the origin at the top-left corner; floor
points are metres ``(x, y)`` in the store's frame, origin at a corner of the floor, ``x`` along
its width and ``y`` along its depth. All functions are pure and take/return numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


class CalibrationError(ValueError):
    """The calibration points cannot define a homography (too few, collinear, degenerate)."""


def _as_points(points: ArrayLike, *, name: str) -> FloatArray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected an (N, 2) array of points, got shape {arr.shape}")
    return arr


def apply_homography(matrix: FloatArray, points: ArrayLike) -> FloatArray:
    """Map ``(N, 2)`` points through a 3×3 homography; points mapped to infinity become NaN."""
    pts = _as_points(points, name="points")
    homog = np.hstack([pts, np.ones((pts.shape[0], 1))]) @ matrix.T
    w = homog[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = homog[:, :2] / w
    out[np.abs(w[:, 0]) < 1e-12] = np.nan
    return out


def _normalisation(points: FloatArray) -> FloatArray:
    """Hartley normalisation: centre on the mean and scale to mean distance sqrt(2)."""
    centre = points.mean(axis=0)
    dist = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()
    scale = np.sqrt(2.0) / dist if dist > 0 else 1.0
    return np.array(
        [[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]], [0.0, 0.0, 1.0]]
    )


def fit_homography(image_points: ArrayLike, floor_points: ArrayLike) -> FloatArray:
    """Least-squares homography mapping image points to floor points (normalised DLT).

    Args:
        image_points: ``(N, 2)`` pixel coordinates, N >= 4.
        floor_points: ``(N, 2)`` floor coordinates in metres, same order.

    Returns:
        The 3×3 matrix ``H`` with ``floor ~ H @ [u, v, 1]``, scaled so ``H[2, 2] == 1``.

    Raises:
        CalibrationError: fewer than 4 pairs, or points that do not span a plane (three or
            more collinear in a 4-point set, repeated points), so no unique homography exists.
    """
    src = _as_points(image_points, name="image_points")
    dst = _as_points(floor_points, name="floor_points")
    if src.shape != dst.shape:
        raise CalibrationError(
            f"calibration needs as many image points as floor points, got {len(src)} and {len(dst)}"
        )
    if len(src) < 4:
        raise CalibrationError(f"calibration needs at least 4 point pairs, got {len(src)}")
    for name, pts in (("image", src), ("floor", dst)):
        centred = pts - pts.mean(axis=0)
        sv = np.linalg.svd(centred, compute_uv=False)
        if sv[-1] <= 1e-9 * max(sv[0], 1e-12):
            raise CalibrationError(f"calibration {name} points are collinear or repeated")
    t_src, t_dst = _normalisation(src), _normalisation(dst)
    s = apply_homography(t_src, src)
    d = apply_homography(t_dst, dst)
    rows = []
    for (x, y), (u, v) in zip(s, d, strict=True):
        rows.append([-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u])
        rows.append([0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v])
    a = np.asarray(rows)
    _, sv, vt = np.linalg.svd(a)
    h_norm = vt[-1].reshape(3, 3)
    h = np.linalg.inv(t_dst) @ h_norm @ t_src
    if abs(h[2, 2]) < 1e-12 or abs(np.linalg.det(h)) < 1e-12:
        raise CalibrationError("calibration points give a degenerate (singular) homography")
    return h / h[2, 2]


@dataclass(frozen=True)
class Homography:
    """A camera's image ↔ floor mapping, fitted from calibration point pairs.

    Attributes:
        image_to_floor_matrix: 3×3 matrix mapping pixels to metres.
        reprojection_error_m: RMS distance (metres) between the calibration floor points and
            the image points mapped through the fitted matrix: how far off the fit is.
        visible_w_sign: Sign of the homogeneous ``w`` of image points that see the floor; an
            image point with the opposite sign lies above the horizon.
    """

    image_to_floor_matrix: FloatArray
    reprojection_error_m: float
    visible_w_sign: float = 1.0

    @classmethod
    def fit(cls, image_points: ArrayLike, floor_points: ArrayLike) -> Homography:
        """Fit from ≥ 4 point pairs; raises :class:`CalibrationError` when degenerate."""
        h = fit_homography(image_points, floor_points)
        src = _as_points(image_points, name="image_points")
        mapped = apply_homography(h, src)
        diff = mapped - _as_points(floor_points, name="floor_points")
        err = float(np.sqrt(np.nanmean((diff**2).sum(axis=1))))
        w = np.hstack([src, np.ones((len(src), 1))]) @ h[2]
        return cls(
            image_to_floor_matrix=h,
            reprojection_error_m=err,
            visible_w_sign=1.0 if float(np.median(w)) >= 0 else -1.0,
        )

    @property
    def floor_to_image_matrix(self) -> FloatArray:
        inv = np.linalg.inv(self.image_to_floor_matrix)
        return inv / inv[2, 2]

    def image_to_floor(self, points: ArrayLike) -> FloatArray:
        """Pixels ``(N, 2)`` → metres ``(N, 2)``; points on/above the horizon become NaN."""
        pts = _as_points(points, name="points")
        homog = np.hstack([pts, np.ones((pts.shape[0], 1))]) @ self.image_to_floor_matrix.T
        out = apply_homography(self.image_to_floor_matrix, pts)
        # w of the other sign: the ray meets the floor plane behind the camera (above horizon).
        out[homog[:, 2] * self.visible_w_sign <= 0] = np.nan
        return out

    def floor_to_image(self, points: ArrayLike) -> FloatArray:
        """Metres ``(N, 2)`` → pixels ``(N, 2)``."""
        return apply_homography(self.floor_to_image_matrix, points)


def points_in_polygon(points: ArrayLike, polygon: ArrayLike) -> NDArray[np.bool_]:
    """Which of ``(N, 2)`` points lie inside a simple polygon (even-odd rule, vectorised).

    Points exactly on an edge may fall either way; zones should not rely on edge hits. A
    polygon of fewer than 3 points contains nothing. For many calls against the same
    polygons, build a :class:`PolygonSet` once.
    """
    pts = _as_points(points, name="points")
    poly = _as_points(polygon, name="polygon")
    if len(poly) < 3:
        return np.zeros(len(pts), dtype=bool)
    return PolygonSet([poly]).contains(pts)[:, 0]


class PolygonSet:
    """Several fixed polygons tested together: one vectorised pass over all their edges.

    Even-odd rule (points exactly on an edge may fall either way), for code that tests many
    small batches of points against the same polygons (a worker's floor and zones, every
    frame): the edges are prepared once, so a call costs a handful of array operations
    whatever the number of polygons.
    """

    def __init__(self, polygons: Sequence[ArrayLike]) -> None:
        """Args: ``(K_i >= 3, 2)`` polygons. Raises ValueError for one of another shape."""
        polys = [_as_points(p, name=f"polygon {i}") for i, p in enumerate(polygons)]
        for i, poly in enumerate(polys):
            if poly.shape[0] < 3:
                raise ValueError(f"polygon {i}: expected at least 3 points, got {poly.shape[0]}")
        self.count = len(polys)
        if not polys:
            return
        start = np.concatenate([p for p in polys])
        end = np.concatenate([np.roll(p, -1, axis=0) for p in polys])
        self._x1, self._y1 = start[:, 0], start[:, 1]
        self._y2 = end[:, 1]
        dy = self._y2 - self._y1
        with np.errstate(divide="ignore", invalid="ignore"):
            # Horizontal edges never cross a row; their slope is never used.
            self._dxdy = np.where(dy != 0, (end[:, 0] - self._x1) / dy, 0.0)
        self._offsets = np.cumsum([0] + [len(p) for p in polys[:-1]])

    def contains(self, points: ArrayLike) -> NDArray[np.bool_]:
        """``(N, count)``: whether each point lies inside each polygon."""
        pts = _as_points(points, name="points")
        if self.count == 0 or len(pts) == 0:
            return np.zeros((len(pts), self.count), dtype=bool)
        x, y = pts[:, 0:1], pts[:, 1:2]
        crosses = (self._y1 > y) != (self._y2 > y)
        inside = crosses & (x < self._x1 + (y - self._y1) * self._dxdy)
        counts = np.add.reduceat(inside.astype(np.int32), self._offsets, axis=1)
        return np.asarray(counts % 2 == 1)


def polygon_area(polygon: ArrayLike) -> float:
    """Absolute area of a simple polygon (shoelace formula)."""
    poly = _as_points(polygon, name="polygon")
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)
