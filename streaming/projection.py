"""Floor projection: each person's foot point → store floor metres → zone.

The foot point is the bottom-centre of the person box. It goes through the camera's
homography (:class:`storeheat.geometry.Homography`); a point that maps above the horizon, to
infinity, or outside the calibrated floor polygon gets NaN and ``on_floor = False`` — it is
flagged, never clamped or guessed. Zone ids come from point-in-polygon on the floor.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from storeheat.geometry import Homography, PolygonSet
from streaming.detections import Detections


class FloorProjector:
    """Projects detections of one camera onto the store floor.

    Attributes:
        homography: The camera's image → floor mapping.
        floor_polygon: ``(K, 2)`` metres: the floor area the calibration is valid for.
        zones: Zone id → ``(K, 2)`` polygon in metres; the first zone (in mapping order) that
            holds a point wins where zones overlap.
    """

    def __init__(
        self,
        homography: Homography,
        *,
        floor_polygon: ArrayLike,
        zones: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        """Args: see the class attributes. Raises ValueError for a polygon not ``(K>=3, 2)``."""
        self.homography = homography
        self.floor_polygon = self._polygon(floor_polygon, name="floor_polygon")
        self.zones = {
            zid: self._polygon(poly, name=f"zone {zid!r}") for zid, poly in (zones or {}).items()
        }
        # Column 0 the floor, then the zones in mapping order.
        self._polygons = PolygonSet([self.floor_polygon, *self.zones.values()])
        self._zone_ids = list(self.zones)

    @staticmethod
    def _polygon(points: ArrayLike, *, name: str) -> NDArray[np.float64]:
        arr = np.asarray(points, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
            raise ValueError(f"{name}: expected a (K >= 3, 2) polygon in metres, got {arr.shape}")
        return arr

    def project(self, detections: Detections) -> Detections:
        """A copy of ``detections`` with ``floor_xy``, ``on_floor`` and ``zone_id`` set."""
        n = len(detections)
        if n == 0:
            return detections.with_floor(np.zeros((0, 2)), on_floor=np.zeros(0, bool), zone_id=[])
        floor = self.homography.image_to_floor(detections.foot_points())
        finite: NDArray[np.bool_] = np.asarray(np.isfinite(floor).all(axis=1))
        on_floor = finite.copy()
        zone_ids: list[str | None] = [None] * n
        if finite.any():
            idx = np.flatnonzero(finite)
            inside = self._polygons.contains(floor[idx])
            on_floor[idx] = inside[:, 0]
            zones = inside[:, 1:] & inside[:, :1]
            if zones.shape[1]:
                first = zones.argmax(axis=1)  # the first zone that holds the point
                for i, row, z in zip(idx, zones, first, strict=True):
                    if row[z]:
                        zone_ids[int(i)] = self._zone_ids[int(z)]
        floor[~on_floor] = np.nan
        return detections.with_floor(floor, on_floor=on_floor, zone_id=zone_ids)
