"""Heatmap error: a measured occupancy grid against the simulator's true one.

Both grids hold the same quantity in the same units (for example person-seconds per floor
cell per time bucket) and have the same shape, typically ``(cells, time_buckets)`` or
``(rows, cols, time_buckets)``; every element is compared with the element at the same index.

Definitions (m = measured, t = truth, sums over every element):

* normalised L1 = sum |m - t| / sum |t|. 0 is perfect; 1 is as wrong as reporting an empty
  store; it is unbounded above. With an all-zero truth it is 0.0 when m is all zero too and
  +inf otherwise.
* Pearson r between the flattened grids: the spatial-temporal pattern regardless of scale.
  NaN when either grid is constant (the correlation is undefined).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError


def _grid(value: npt.ArrayLike, argument: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.size == 0:
        raise InvalidInputError(f"must be a non-empty array, got shape {arr.shape}",
                                argument=argument)
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("holds NaN or infinite values", argument=argument)
    if np.any(arr < 0):
        raise InvalidInputError("holds negative occupancy", argument=argument)
    return arr


def _pair(measured: npt.ArrayLike, truth: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    m = _grid(measured, "measured")
    t = _grid(truth, "truth")
    if m.shape != t.shape:
        raise InputMismatchError(f"shape {m.shape} differs from truth's {t.shape}",
                                 argument="measured")
    return m, t


def normalised_l1(measured: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """``sum |measured - truth| / sum truth`` (see the module docstring for edge cases).

    Raises:
        InvalidInputError: an empty, negative or non-finite grid (names the argument).
        InputMismatchError: the shapes differ (argument ``measured``).
    """
    m, t = _pair(measured, truth)
    total = float(t.sum())
    diff = float(np.abs(m - t).sum())
    if total == 0.0:
        return 0.0 if diff == 0.0 else float("inf")
    return diff / total


def pearson_r(measured: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """Pearson correlation of the flattened grids; NaN when either is constant.

    Raises:
        InvalidInputError, InputMismatchError: as :func:`normalised_l1`.
    """
    m, t = _pair(measured, truth)
    dm = m.ravel() - m.mean()
    dt = t.ravel() - t.mean()
    denom = float(np.sqrt(np.dot(dm, dm) * np.dot(dt, dt)))
    if denom == 0.0:
        return float("nan")
    return float(np.clip(np.dot(dm, dt) / denom, -1.0, 1.0))


@dataclass(frozen=True)
class HeatmapScores:
    """Heatmap comparison figures.

    Attributes:
        normalised_l1: See the module docstring.
        pearson_r: See the module docstring.
        measured_total: Sum of the measured grid.
        truth_total: Sum of the true grid.
    """

    normalised_l1: float
    pearson_r: float
    measured_total: float
    truth_total: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if not np.isfinite(v) else float(v)) for k, v in asdict(self).items()}


def compare_heatmaps(measured: npt.ArrayLike, truth: npt.ArrayLike) -> HeatmapScores:
    """Both heatmap figures and the grid totals at once.

    Raises:
        InvalidInputError, InputMismatchError: as :func:`normalised_l1`.
    """
    m, t = _pair(measured, truth)
    return HeatmapScores(
        normalised_l1=normalised_l1(m, t),
        pearson_r=pearson_r(m, t),
        measured_total=float(m.sum()),
        truth_total=float(t.sum()),
    )
