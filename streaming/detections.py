"""The one carrier of per-frame detections inside the worker.

A :class:`Detections` holds parallel numpy arrays, one row per detected person, and flows
detector → privacy → tracker → projection. It is immutable: every helper returns a new
instance, so a stage can never change what an earlier stage (or a test) still holds.

Examples:
    >>> import numpy as np
    >>> d = Detections(xyxy=np.array([[10, 20, 50, 120]]), confidence=np.array([0.9]))
    >>> len(d), d.track_id.tolist(), d.on_floor.tolist()
    (1, [-1], [False])
    >>> d.with_tracks(np.array([7])).track_id.tolist()
    [7]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.exceptions import DetectionsError

#: Track id of a detection that no confirmed track owns (yet).
UNTRACKED = -1
#: COCO class id of "person", the only class the worker keeps.
PERSON_CLASS_ID = 0


def _array(
    value: ArrayLike, *, name: str, dtype: type, shape: tuple[int | None, ...]
) -> NDArray[Any]:
    """Copy ``value`` into a read-only array of ``dtype``; check its shape (None = any)."""
    try:
        arr: NDArray[Any] = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise DetectionsError(f"{name}: cannot convert to {np.dtype(dtype).name}: {exc}") from exc
    if arr.ndim != len(shape) or any(
        want is not None and got != want for want, got in zip(shape, arr.shape, strict=False)
    ):
        expected = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        if len(shape) == 1:
            expected = "(N,)"
        raise DetectionsError(f"{name}: expected shape {expected}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False, init=False)
class Detections:
    """Person detections of one frame, as parallel arrays of length N.

    Attributes:
        xyxy: ``(N, 4) float32`` pixel boxes ``x1, y1, x2, y2`` with ``x1 <= x2``, ``y1 <= y2``.
        confidence: ``(N,) float32`` detector scores in ``[0, 1]``.
        class_id: ``(N,) int32`` class ids (0 = person); defaults to all persons.
        track_id: ``(N,) int64`` track ids, unique per camera and stream epoch;
            :data:`UNTRACKED` (-1) for detections no confirmed track owns.
        floor_xy: ``(N, 2) float64`` foot point on the store floor in metres; NaN where the
            point is not on the calibrated floor (or not projected yet).
        on_floor: ``(N,) bool``: True where ``floor_xy`` is a real floor point.
        zone_id: ``N`` zone ids (or None outside every zone).

    Raises:
        DetectionsError: on construction, when an array has the wrong shape or dtype, the
            lengths differ, a box is not finite or inverted, or a confidence is outside
            ``[0, 1]``; the message names the field, the expected and the actual value.
    """

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int32]
    track_id: NDArray[np.int64]
    floor_xy: NDArray[np.float64]
    on_floor: NDArray[np.bool_]
    zone_id: tuple[str | None, ...]

    def __init__(
        self,
        xyxy: ArrayLike,
        confidence: ArrayLike,
        class_id: ArrayLike | None = None,
        track_id: ArrayLike | None = None,
        floor_xy: ArrayLike | None = None,
        on_floor: ArrayLike | None = None,
        zone_id: Sequence[str | None] | None = None,
    ) -> None:
        boxes = _array(xyxy, name="xyxy", dtype=np.float32, shape=(None, 4))
        n = boxes.shape[0]
        set_ = object.__setattr__  # frozen dataclass: fields are set once, here
        set_(self, "xyxy", boxes)
        given: dict[str, Any] = {
            "confidence": confidence,
            "class_id": np.full(n, 0, dtype=np.int32) if class_id is None else class_id,
            "track_id": np.full(n, UNTRACKED, dtype=np.int64) if track_id is None else track_id,
            "floor_xy": np.full((n, 2), np.nan) if floor_xy is None else floor_xy,
            "on_floor": np.zeros(n, dtype=bool) if on_floor is None else on_floor,
        }
        specs: dict[str, tuple[type, tuple[int | None, ...]]] = {
            "confidence": (np.float32, (None,)),
            "class_id": (np.int32, (None,)),
            "track_id": (np.int64, (None,)),
            "floor_xy": (np.float64, (None, 2)),
            "on_floor": (np.bool_, (None,)),
        }
        for name, (dtype, shape) in specs.items():
            arr = _array(given[name], name=name, dtype=dtype, shape=shape)
            if arr.shape[0] != n:
                raise DetectionsError(
                    f"{name}: expected {n} rows (one per box in xyxy), got {arr.shape[0]}"
                )
            set_(self, name, arr)
        if zone_id is not None and isinstance(zone_id, str):
            raise DetectionsError("zone_id: expected a sequence of str or None, got a str")
        zones = (None,) * n if zone_id is None else tuple(zone_id)
        if len(zones) != n:
            raise DetectionsError(f"zone_id: expected {n} entries, got {len(zones)}")
        if any(z is not None and not isinstance(z, str) for z in zones):
            raise DetectionsError("zone_id: expected str or None entries")
        set_(self, "zone_id", zones)
        self._check_values()

    def _check_values(self) -> None:
        xyxy = self.xyxy
        n = len(self)
        if not np.isfinite(xyxy).all():
            raise DetectionsError("xyxy: expected finite coordinates, got NaN or inf")
        if n and ((xyxy[:, 2] < xyxy[:, 0]).any() or (xyxy[:, 3] < xyxy[:, 1]).any()):
            raise DetectionsError("xyxy: expected x1 <= x2 and y1 <= y2 in every box")
        conf = self.confidence
        if n and (not np.isfinite(conf).all() or conf.min() < 0.0 or conf.max() > 1.0):
            raise DetectionsError(
                f"confidence: expected values in [0, 1], got [{conf.min()}, {conf.max()}]"
            )
        on_floor = self.on_floor
        if n and np.isnan(self.floor_xy[on_floor]).any():
            raise DetectionsError("floor_xy: on_floor rows must have finite floor points")

    @classmethod
    def empty(cls) -> Detections:
        """No detections (a frame with nobody in it)."""
        return cls(xyxy=np.zeros((0, 4), dtype=np.float32), confidence=np.zeros(0))

    @classmethod
    def concatenate(cls, parts: Sequence[Detections]) -> Detections:
        """Rows of several containers, in order (e.g. tiles of one frame)."""
        if not parts:
            return cls.empty()
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            track_id=np.concatenate([p.track_id for p in parts]),
            floor_xy=np.concatenate([p.floor_xy for p in parts]),
            on_floor=np.concatenate([p.on_floor for p in parts]),
            zone_id=tuple(z for p in parts for z in p.zone_id),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def _replace(self, **changes: Any) -> Detections:
        values: dict[str, Any] = {
            "xyxy": self.xyxy,
            "confidence": self.confidence,
            "class_id": self.class_id,
            "track_id": self.track_id,
            "floor_xy": self.floor_xy,
            "on_floor": self.on_floor,
            "zone_id": self.zone_id,
        }
        values.update(changes)
        return Detections(**values)

    def with_tracks(self, track_id: ArrayLike) -> Detections:
        """A copy with ``track_id`` set (``(N,)``, -1 for unconfirmed detections)."""
        return self._replace(track_id=track_id)

    def with_floor(
        self,
        floor_xy: ArrayLike,
        *,
        on_floor: ArrayLike,
        zone_id: Sequence[str | None],
    ) -> Detections:
        """A copy with floor points, on-floor flags and zone ids set."""
        return self._replace(floor_xy=floor_xy, on_floor=on_floor, zone_id=tuple(zone_id))

    def filter(self, keep: ArrayLike) -> Detections:
        """The rows selected by a boolean mask ``(N,)`` or an index array, as a new instance.

        Raises:
            DetectionsError: a boolean mask of the wrong length.
        """
        sel = np.asarray(keep)
        if sel.dtype == np.bool_:
            if sel.shape != (len(self),):
                raise DetectionsError(
                    f"filter mask: expected shape ({len(self)},), got {sel.shape}"
                )
            idx = np.flatnonzero(sel)
        else:
            idx = sel.astype(np.int64).reshape(-1)
        return Detections(
            xyxy=self.xyxy[idx],
            confidence=self.confidence[idx],
            class_id=self.class_id[idx],
            track_id=self.track_id[idx],
            floor_xy=self.floor_xy[idx],
            on_floor=self.on_floor[idx],
            zone_id=tuple(self.zone_id[i] for i in idx),
        )

    def foot_points(self) -> NDArray[np.float64]:
        """Bottom-centre of each box ``(N, 2)``: where the person stands, in pixels."""
        b = self.xyxy.astype(np.float64)
        return np.stack([(b[:, 0] + b[:, 2]) / 2.0, b[:, 3]], axis=1)

    def clipped(self, *, width: int, height: int) -> Detections:
        """A copy with boxes clipped to a ``width × height`` frame."""
        b = self.xyxy.copy()
        b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
        b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
        return self._replace(xyxy=b)
