"""The one place where third-party metric libraries are adapted to NumPy 2.

Findings (trackeval 1.3.0, motmetrics 1.4.0, NumPy 2.2.6, November 2026):

* trackeval 1.3.0 (the maintained ``kovalp/TrackEval`` release) no longer uses the aliases
  NumPy 2 removed (``np.float``, ``np.int``, ``np.bool``): its ``HOTA``, ``CLEAR`` and
  ``Identity`` metric classes run unpatched under NumPy 2.2 even though the package declares
  ``numpy>=2.3.2`` for Python 3.11 (the lock overrides that; nothing in those classes needs
  2.3). It needs no shim; :func:`tracking_metric_classes` only builds the metrics with their
  config print-out turned off.
* motmetrics 1.4.0 calls ``np.asfarray`` (removed in NumPy 2.0) in
  ``motmetrics.distances.iou_matrix``. storeheat scores with trackeval; motmetrics serves as an
  independent cross-check in the tests and in :mod:`storeheat.evaluation.tracking`'s docs, and
  :func:`import_motmetrics` installs the shim before importing it.

Shims are added only when the attribute is missing, so a NumPy that still has it (1.x) is
left untouched.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt


def _asfarray(a: npt.ArrayLike, dtype: Any = np.float64) -> np.ndarray:
    """NumPy 1.x ``asfarray``: ``a`` as a float array (non-float dtypes become float64)."""
    if not np.issubdtype(np.dtype(dtype), np.inexact):
        dtype = np.float64
    return np.asarray(a, dtype=dtype)


def apply_numpy_shims() -> list[str]:
    """Restore the NumPy 1.x names that pinned metric libraries still call.

    Idempotent. Returns the names it added in this call (empty when nothing was missing).
    """
    added: list[str] = []
    if not hasattr(np, "asfarray"):
        np.asfarray = _asfarray  # type: ignore[attr-defined]
        added.append("asfarray")
    return added


def import_motmetrics() -> ModuleType:
    """Import motmetrics after applying the NumPy shims it needs."""
    apply_numpy_shims()
    import motmetrics

    return motmetrics


def tracking_metric_classes(*, iou_threshold: float = 0.5) -> tuple[Any, Any, Any]:
    """Build trackeval's ``HOTA``, ``CLEAR`` and ``Identity`` metric objects.

    Args:
        iou_threshold: Similarity a match needs for CLEAR and Identity (HOTA integrates over
            its own thresholds 0.05 … 0.95).

    Returns:
        ``(hota, clear, identity)`` instances with their config print-out disabled.
    """
    # Importing trackeval pulls its dataset modules too; keep it out of module import time.
    from trackeval.metrics import CLEAR, HOTA, Identity

    config = {"THRESHOLD": float(iou_threshold), "PRINT_CONFIG": False}
    return HOTA(), CLEAR(dict(config)), Identity(dict(config))
