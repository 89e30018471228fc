"""Blur leakage: the fraction of visible ground-truth faces left recognisable in an output frame.

The simulator renders each frame twice in memory: the unblurred *reference* and, after the
pipeline, the *output*. For every ground-truth face box flagged visible, the two crops are
compared in grey levels (0–255). Let ``L(x)`` be the Laplacian of Gaussian of the crop: a
Gaussian smoothing with sigma 0.7 px (so sensor noise or JPEG ringing does not pass for face
detail), then the 3×3 Laplacian ``4·c − up − down − left − right`` over the crop's interior.
``D(x) = var(L(x))`` is its fine-detail energy and
``C = corr(L(output), L(reference))`` the Pearson correlation of the two Laplacian images.

A face **leaks** (is not blurred) when either

1. the crops are practically identical: mean |output − reference| < ``identical_below``
   (default 1.0 grey level), whatever their detail; or
2. the reference has detail (``D(reference) >= min_reference_detail``, default 4.0) and the
   output keeps both its amount and its pattern: ``D(output) / D(reference) >=
   detail_ratio_threshold`` (default 0.5) **and** ``C >= correlation_threshold`` (default 0.5).

Why both parts of rule 2: a Gaussian blur removes detail (the ratio falls far below 0.5); a
pixelation or a mosaic keeps strong edges (the ratio can stay high) but at block borders
that do not line up with the face's own detail (the correlation falls); noise or
JPEG re-encoding of an unblurred face keeps both. Crops smaller than 3×3 pixels can only fail
rule 1.

Leakage = leaked faces / visible faces (0.0 when no face is visible: nothing could leak).
Nothing here writes or logs pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError


def _gray(image: npt.ArrayLike, argument: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        # Channel order does not matter for a comparison of two images in the same order.
        arr = arr[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0].astype(np.float64)
    elif arr.ndim == 2:
        arr = arr.astype(np.float64)
    else:
        raise InvalidInputError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}",
                                argument=argument)
    if np.issubdtype(np.asarray(image).dtype, np.floating) and arr.size and arr.max() <= 1.0:
        arr = arr * 255.0  # float images in [0, 1]
    return arr


def laplacian(gray: np.ndarray, *, sigma: float = 0.7) -> np.ndarray:
    """Laplacian of Gaussian over the interior of a 2-D array (shape shrinks by 2 per axis).

    Args:
        gray: Grey-level image.
        sigma: Gaussian pre-smoothing in pixels (0 for the plain 3×3 Laplacian).
    """
    if sigma > 0:
        gray = gaussian_filter(gray, sigma, mode="nearest")
    c = gray[1:-1, 1:-1]
    return 4.0 * c - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]


@dataclass(frozen=True)
class LeakageCriterion:
    """Thresholds of the leak decision (see the module docstring).

    Attributes:
        detail_ratio_threshold: Output/reference Laplacian variance at or above which detail
            counts as kept.
        correlation_threshold: Laplacian correlation at or above which the kept detail counts
            as the face's own.
        identical_below: Mean absolute grey-level difference below which crops are identical.
        min_reference_detail: Reference Laplacian variance below which only the identity rule
            applies (a flat crop carries no identity to compare).
        smoothing_sigma: Gaussian pre-smoothing of the Laplacian, in pixels.
    """

    detail_ratio_threshold: float = 0.5
    correlation_threshold: float = 0.5
    identical_below: float = 1.0
    min_reference_detail: float = 4.0
    smoothing_sigma: float = 0.7


@dataclass(frozen=True)
class FaceCheck:
    """The decision for one face box.

    Attributes:
        box: ``x, y, w, h`` clipped to the frame.
        visible: The ground-truth visible flag (invisible faces are not judged).
        leaked: True when the output face is not blurred.
        reason: ``"identical"``, ``"detail_kept"``, ``"blurred"``, ``"not_visible"`` or
            ``"outside_frame"``.
        detail_ratio: D(output) / D(reference), NaN when undefined.
        correlation: Laplacian correlation, NaN when undefined.
        mean_abs_diff: Mean absolute grey-level difference of the crops.
    """

    box: tuple[int, int, int, int]
    visible: bool
    leaked: bool
    reason: str
    detail_ratio: float
    correlation: float
    mean_abs_diff: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("detail_ratio", "correlation", "mean_abs_diff"):
            d[k] = None if not np.isfinite(d[k]) else float(d[k])
        return d


@dataclass(frozen=True)
class LeakageReport:
    """Leak decisions of one or more frames.

    Attributes:
        faces: One check per input face box.
        visible: Visible faces judged.
        leaked: Visible faces judged not blurred.
    """

    faces: tuple[FaceCheck, ...]
    visible: int
    leaked: int

    @property
    def leakage(self) -> float:
        """leaked / visible; 0.0 with no visible face."""
        return self.leaked / self.visible if self.visible else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"leakage": self.leakage, "visible": self.visible, "leaked": self.leaked,
                "faces": [f.to_dict() for f in self.faces]}


def check_face(
    reference: np.ndarray,
    output: np.ndarray,
    *,
    criterion: LeakageCriterion = LeakageCriterion(),
) -> tuple[bool, str, float, float, float]:
    """Decide whether one grey-level crop pair leaks.

    Returns:
        ``(leaked, reason, detail_ratio, correlation, mean_abs_diff)``.
    """
    mad = float(np.mean(np.abs(output - reference))) if reference.size else float("nan")
    if reference.size and mad < criterion.identical_below:
        return True, "identical", float("nan"), float("nan"), mad
    if min(reference.shape) < 3:
        return False, "blurred", float("nan"), float("nan"), mad
    lr = laplacian(reference, sigma=criterion.smoothing_sigma)
    lo = laplacian(output, sigma=criterion.smoothing_sigma)
    d_ref = float(lr.var())
    d_out = float(lo.var())
    if d_ref < criterion.min_reference_detail:
        return False, "blurred", float("nan"), float("nan"), mad
    ratio = d_out / d_ref
    dr = lr - lr.mean()
    do = lo - lo.mean()
    denom = float(np.sqrt(np.sum(dr * dr) * np.sum(do * do)))
    corr = float(np.sum(dr * do) / denom) if denom > 0 else 0.0
    leaked = ratio >= criterion.detail_ratio_threshold and corr >= criterion.correlation_threshold
    return leaked, ("detail_kept" if leaked else "blurred"), ratio, corr, mad


def measure_leakage(
    reference: npt.ArrayLike,
    output: npt.ArrayLike,
    boxes: npt.ArrayLike | Sequence[Sequence[float]],
    *,
    visible: Iterable[bool] | None = None,
    criterion: LeakageCriterion = LeakageCriterion(),
) -> LeakageReport:
    """Judge every ground-truth face box of one frame.

    Args:
        reference: The unblurred render, (H, W) or (H, W, 3), uint8 or float in [0, 1].
        output: The pipeline's frame, same shape and channel order.
        boxes: (N, 4) face boxes ``x, y, w, h`` in pixels.
        visible: Per-box visible flags; default all visible.
        criterion: Thresholds (defaults documented in the module docstring).

    Returns:
        The :class:`LeakageReport` of this frame.

    Raises:
        InvalidInputError: an image of the wrong rank, boxes not (N, 4), flags of another
            length (names the argument).
        InputMismatchError: ``output`` and ``reference`` differ in shape.
    """
    ref_arr = np.asarray(reference)
    out_arr = np.asarray(output)
    if ref_arr.shape != out_arr.shape:
        raise InputMismatchError(f"shape {out_arr.shape} differs from reference's "
                                 f"{ref_arr.shape}", argument="output")
    ref = _gray(ref_arr, "reference")
    out = _gray(out_arr, "output")
    box_arr = np.asarray(boxes, dtype=np.float64)
    if box_arr.size == 0:
        box_arr = box_arr.reshape(0, 4)
    if box_arr.ndim != 2 or box_arr.shape[1] != 4:
        raise InvalidInputError(f"expected (N, 4) boxes x, y, w, h, got shape {box_arr.shape}",
                                argument="boxes")
    flags = [True] * len(box_arr) if visible is None else [bool(v) for v in visible]
    if len(flags) != len(box_arr):
        raise InvalidInputError(f"has {len(flags)} flags for {len(box_arr)} boxes",
                                argument="visible")
    h, w = ref.shape
    checks: list[FaceCheck] = []
    for (bx, by, bw, bh), vis in zip(box_arr, flags, strict=True):
        x0, y0 = max(int(np.floor(bx)), 0), max(int(np.floor(by)), 0)
        x1, y1 = min(int(np.ceil(bx + bw)), w), min(int(np.ceil(by + bh)), h)
        clipped = (x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))
        nan = float("nan")
        if not vis:
            checks.append(FaceCheck(clipped, False, False, "not_visible", nan, nan, nan))
            continue
        if x1 <= x0 or y1 <= y0:
            # A visible face outside the frame has no pixels in the output to leak.
            checks.append(FaceCheck(clipped, True, False, "outside_frame", nan, nan, nan))
            continue
        leaked, reason, ratio, corr, mad = check_face(
            ref[y0:y1, x0:x1], out[y0:y1, x0:x1], criterion=criterion
        )
        checks.append(FaceCheck(clipped, True, leaked, reason, ratio, corr, mad))
    n_visible = sum(1 for c in checks if c.visible)
    return LeakageReport(faces=tuple(checks), visible=n_visible,
                         leaked=sum(1 for c in checks if c.leaked))


def combine_leakage(reports: Iterable[LeakageReport]) -> LeakageReport:
    """Pool frames: leakage over all visible faces of all frames."""
    faces: list[FaceCheck] = []
    for r in reports:
        faces.extend(r.faces)
    return LeakageReport(faces=tuple(faces), visible=sum(1 for f in faces if f.visible),
                         leaked=sum(1 for f in faces if f.leaked))
