"""Tracking: DeepSORT (deep-sort-realtime) per camera and stream epoch, with cheap appearance.

Track ids are plain integers counted from 1 by one :class:`CameraTracker`; a tracker belongs to
exactly one (camera, stream epoch), so ids are unique there and mean nothing elsewhere — no
identity crosses cameras or restarts. Appearance features stay inside the worker.

deep-sort-realtime's built-in ``mobilenet`` embedder resizes every crop to 224×224 and runs
MobileNetV2 crop by crop: ≈ 150 ms per frame on this CPU, more than the detector. The
embedders here are the cheap replacements (figures in ``benchmarks/vision.py``):

- :class:`HistogramEmbedder`: HSV colour histograms of the upper and lower body, no network
  (≈ 0.1 ms per person);
- :class:`MobileNetEmbedder`: the same MobileNetV2 weights, crops of all cameras in one
  batch at a small person-shaped input (default 64×128 instead of 224×224);
- :class:`NoAppearance`: motion and IoU only (SORT-like), the floor to compare against.

An embedder computes features for several frames at once (:meth:`Embedder.embed_batch`) so the
worker can batch crops across cameras; :meth:`CameraTracker.update` takes the features.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from streaming.detections import UNTRACKED, Detections
from streaming.exceptions import ModelLoadError

Frame = NDArray[np.uint8]
Features = NDArray[np.float32]


def _crops(frame: Frame, xyxy: NDArray[np.float32]) -> list[Frame]:
    """Box crops clipped to the frame (at least 1×1, so every box gets a feature)."""
    h, w = frame.shape[:2]
    out = []
    for x1, y1, x2, y2 in np.asarray(xyxy, dtype=np.float64).reshape(-1, 4):
        left, top = int(np.clip(np.floor(x1), 0, w - 1)), int(np.clip(np.floor(y1), 0, h - 1))
        right = int(np.clip(np.ceil(x2), left + 1, w))
        bottom = int(np.clip(np.ceil(y2), top + 1, h))
        out.append(frame[top:bottom, left:right])
    return out


def _normalise(feats: NDArray[Any]) -> Features:
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return np.asarray(feats / np.maximum(norms, 1e-12), dtype=np.float32)


class Embedder(Protocol):
    """Appearance features for person boxes.

    Attributes:
        name: Short label for logs and benchmarks.
        max_cosine_distance: The appearance gate that suits these features (DeepSORT never
            matches a track and a detection further apart than this).
    """

    name: str
    max_cosine_distance: float

    def embed_batch(self, items: Sequence[tuple[Frame, NDArray[np.float32]]]) -> list[Features]:
        """Features for the boxes of several frames (``(frame, xyxy)`` pairs), in one call.

        Returns:
            One ``(N_i, D) float32`` array per item, L2-normalised rows.
        """
        ...


class NoAppearance:
    """A constant feature: association by motion and IoU only (the SORT baseline)."""

    name = "none"
    max_cosine_distance = 0.5  # every distance is 0: the gate never bites

    def embed_batch(self, items: Sequence[tuple[Frame, NDArray[np.float32]]]) -> list[Features]:
        return [np.ones((len(xyxy), 1), dtype=np.float32) for _, xyxy in items]


class HistogramEmbedder:
    """HSV colour histograms of the upper body and the legs, concatenated.

    The crop is shrunk to ``size`` first (cost independent of box size), the head (top
    ``skip_top`` of the box, blurred later and unstable) is skipped, and the rest is split into
    torso and legs. Each part gives a hue × saturation histogram plus a value histogram;
    square roots (Hellinger) make the cosine distance DeepSORT uses behave like a histogram
    distance.
    """

    name = "hsv-hist"
    # On MOT17-mini ground truth (02/04/05/10/13, 3-7 frames apart) the same person is at
    # cosine distance p50 0.03 / p95 0.08, different persons p5 0.17 / p50 0.35.
    max_cosine_distance = 0.2

    def __init__(
        self,
        *,
        hue_bins: int = 16,
        sat_bins: int = 4,
        val_bins: int = 8,
        size: tuple[int, int] = (32, 64),
        skip_top: float = 0.15,
    ) -> None:
        """Args: histogram bins per channel; ``size`` = (width, height) of the shrunk crop."""
        self.hue_bins, self.sat_bins, self.val_bins = hue_bins, sat_bins, val_bins
        self.size = size
        self.skip_top = skip_top

    @property
    def dim(self) -> int:
        return 2 * (self.hue_bins * self.sat_bins + self.val_bins)

    def _feature(self, crop: Frame) -> NDArray[np.float64]:
        small = cv2.resize(crop, self.size, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        h = hsv.shape[0]
        top = int(h * self.skip_top)
        mid = top + (h - top) // 2
        parts = []
        for part in (hsv[top:mid], hsv[mid:]):
            hs = cv2.calcHist(
                [part], [0, 1], None, [self.hue_bins, self.sat_bins], [0, 180, 0, 256]
            ).ravel()
            v = cv2.calcHist([part], [2], None, [self.val_bins], [0, 256]).ravel()
            total = max(float(part.shape[0] * part.shape[1]), 1.0)
            parts.extend([hs / total, v / total])
        return np.sqrt(np.concatenate(parts))

    def embed_batch(self, items: Sequence[tuple[Frame, NDArray[np.float32]]]) -> list[Features]:
        out: list[Features] = []
        for frame, xyxy in items:
            crops = _crops(frame, xyxy)
            if not crops:
                out.append(np.zeros((0, self.dim), dtype=np.float32))
                continue
            out.append(_normalise(np.stack([self._feature(c) for c in crops])))
        return out


class MobileNetEmbedder:
    """deep-sort-realtime's MobileNetV2 features, batched across frames, at a small input.

    Uses the weights shipped in the deep-sort-realtime package (no download). Crops of all
    frames of one call go through the network as one batch; ``input_size`` (width, height)
    keeps a person's aspect ratio instead of squashing to 224×224.
    """

    def __init__(
        self,
        *,
        input_size: tuple[int, int] = (64, 128),
        weights: str | Path | None = None,
        threads: int = 1,
        max_batch: int = 64,
    ) -> None:
        """Load the network.

        Args:
            input_size: (width, height) crops are resized to; multiples of 32.
            weights: MobileNetV2 bottleneck weights; default: the package's own file.
            threads: torch CPU threads.
            max_batch: Largest batch sent through the network at once.

        Raises:
            ModelLoadError: the weights file is missing or unreadable.
        """
        import torch
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

        if weights is None:
            import deep_sort_realtime

            weights = (
                Path(deep_sort_realtime.__file__).parent
                / "embedder"
                / "weights"
                / "mobilenetv2_bottleneck_wts.pt"
            )
        path = Path(weights)
        if not path.is_file():
            raise ModelLoadError(path, "MobileNetV2 embedder weights not found")
        torch.set_num_threads(threads)
        model = MobileNetV2_bottle(input_size=224, width_mult=1.0)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as exc:  # torch raises several types for a bad checkpoint
            raise ModelLoadError(path, f"not a MobileNetV2 state dict: {exc}") from exc
        model.eval()
        self._torch = torch
        self._model = model
        self.input_size = input_size
        self.max_batch = max_batch
        self.name = f"mobilenet-{input_size[0]}x{input_size[1]}"
        # Small inputs give noisier features: on MOT17-mini ground truth the same person is at
        # p95 0.42 (64×128) vs 0.20 (224×224), different persons at p5 0.36 vs 0.18.
        small = input_size[0] * input_size[1] < 160 * 160
        self.max_cosine_distance = 0.4 if small else 0.2
        self._mean = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255.0
        self._std = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255.0

    def _blob(self, crops: list[Frame]) -> NDArray[np.float32]:
        resized = np.stack(
            [cv2.resize(c, self.input_size, interpolation=cv2.INTER_LINEAR) for c in crops]
        )
        rgb = resized[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((rgb - self._mean) / self._std).transpose(0, 3, 1, 2))

    def embed_batch(self, items: Sequence[tuple[Frame, NDArray[np.float32]]]) -> list[Features]:
        crops: list[Frame] = []
        counts = []
        for frame, xyxy in items:
            c = _crops(frame, xyxy)
            crops.extend(c)
            counts.append(len(c))
        feats: Features = np.zeros((0, 1280), dtype=np.float32)
        if crops:
            chunks = []
            with self._torch.inference_mode():
                for i in range(0, len(crops), self.max_batch):
                    blob = self._torch.from_numpy(self._blob(crops[i : i + self.max_batch]))
                    chunks.append(self._model(blob).numpy())
            feats = _normalise(np.concatenate(chunks))
        out, start = [], 0
        for n in counts:
            out.append(feats[start : start + n])
            start += n
        return out


def _strided_kalman(step: int) -> Any:
    """DeepSORT's Kalman filter for updates ``step`` frames apart.

    Its noise weights are per frame: the motion noise of a prediction (position and velocity,
    velocities being per step) and the first velocity guess of a new track are scaled by
    ``step``; the measurement noise of a box is not.
    """
    from deep_sort_realtime.deep_sort.kalman_filter import KalmanFilter

    class StridedKalmanFilter(KalmanFilter):  # type: ignore[misc]
        def _scaled(self, position: float, velocity: float, fn: Any, *args: Any) -> Any:
            saved: tuple[float, float] = (self._std_weight_position,  # type: ignore[has-type]
                                          self._std_weight_velocity)  # type: ignore[has-type]
            self._std_weight_position, self._std_weight_velocity = position, velocity
            try:
                return fn(*args)
            finally:
                self._std_weight_position, self._std_weight_velocity = saved

        def initiate(self, measurement: Any) -> Any:
            return self._scaled(self._std_weight_position, self._std_weight_velocity * step,
                                super().initiate, measurement)

        def predict(self, mean: Any, covariance: Any) -> Any:
            return self._scaled(self._std_weight_position * step,
                                self._std_weight_velocity * step,
                                super().predict, mean, covariance)

    return StridedKalmanFilter()


class CameraTracker:
    """DeepSORT for one camera in one stream epoch.

    Attributes:
        camera_id: The camera this tracker belongs to.
        epoch: The stream epoch (a new epoch = a new tracker = ids from 1 again).
        embedder: Used by :meth:`update` when no features are passed in.
    """

    def __init__(
        self,
        *,
        camera_id: str,
        epoch: int,
        embedder: Embedder | None = None,
        max_age: int = 15,
        n_init: int = 3,
        max_cosine_distance: float | None = None,
        max_iou_distance: float = 0.7,
        nn_budget: int = 30,
        step_frames: int = 1,
    ) -> None:
        """Create the tracker.

        Args:
            camera_id: Camera id (for errors and the caller's bookkeeping).
            epoch: Stream epoch.
            embedder: Appearance features; default :class:`HistogramEmbedder`.
            max_age: Frames a track survives without a detection (15 = 3 s at 5 fps).
            n_init: Consecutive detections before a track is confirmed (gets an id out).
            max_cosine_distance: Appearance gate: larger distances never match; default
                the embedder's own :attr:`Embedder.max_cosine_distance`.
            max_iou_distance: IoU gate of the second (IoU) matching stage.
            nn_budget: Features remembered per track.
            step_frames: Frames between two updates (the pipeline's ``detect_every``): the
                motion model's uncertainty per step grows with it, so a person who walks
                twice as far between updates is still gated in.
        """
        from deep_sort_realtime.deepsort_tracker import DeepSort

        self.camera_id = camera_id
        self.epoch = epoch
        self.embedder: Embedder = embedder if embedder is not None else HistogramEmbedder()
        self._deepsort = DeepSort(
            max_age=max_age,
            n_init=n_init,
            max_cosine_distance=(
                self.embedder.max_cosine_distance
                if max_cosine_distance is None
                else max_cosine_distance
            ),
            max_iou_distance=max_iou_distance,
            nn_budget=nn_budget,
            embedder=None,  # features come from our embedders, batched across cameras
            bgr=True,
        )
        if step_frames < 1:
            raise ValueError(f"camera {camera_id}: step_frames: expected >= 1, got {step_frames}")
        if step_frames > 1:
            self._deepsort.tracker.kf = _strided_kalman(step_frames)

    def update(
        self,
        detections: Detections,
        *,
        frame: Frame | None = None,
        features: Features | None = None,
    ) -> Detections:
        """Advance the tracker one frame and label the detections with track ids.

        Args:
            detections: This frame's persons.
            frame: The frame, needed only when ``features`` is None.
            features: ``(N, D)`` appearance features of the detections (from
                :meth:`Embedder.embed_batch`), or None to compute them here.

        Returns:
            A copy of ``detections`` with ``track_id`` set: the id of the confirmed track that
            took each detection, :data:`~streaming.detections.UNTRACKED` otherwise.

        Raises:
            ValueError: neither frame nor features given, or features of the wrong length.
        """
        n = len(detections)
        if features is None:
            if frame is None:
                raise ValueError(f"camera {self.camera_id}: update needs a frame or features")
            features = self.embedder.embed_batch([(frame, detections.xyxy)])[0]
        if len(features) != n:
            raise ValueError(
                f"camera {self.camera_id}: expected {n} feature rows (one per detection), "
                f"got {len(features)}"
            )
        b = detections.xyxy.astype(np.float64)
        wh = b[:, 2:] - b[:, :2]
        # deep-sort-realtime silently drops zero-size boxes but not their features, which
        # would shift every later feature onto the wrong box: drop them here, together.
        usable = np.flatnonzero((wh[:, 0] > 0) & (wh[:, 1] > 0))
        raw = [
            ([b[i, 0], b[i, 1], wh[i, 0], wh[i, 1]], float(detections.confidence[i]), "person")
            for i in usable
        ]
        tracks = self._deepsort.update_tracks(
            raw, embeds=[features[i] for i in usable], others=[int(i) for i in usable]
        )
        ids = np.full(n, UNTRACKED, dtype=np.int64)
        for track in tracks:
            if track.is_confirmed() and track.time_since_update == 0:
                idx = track.get_det_supplementary()
                if idx is not None:
                    ids[int(idx)] = int(track.track_id)
        return detections.with_tracks(ids)

    def coast(self, fraction: float) -> Detections:
        """Where the tracks are ``fraction`` of a step after the last :meth:`update`.

        For frames the detector skips: the box of each track the last update saw is moved
        along its Kalman velocity without changing the tracker, so the next :meth:`update`
        matches as if no frame had come between. Confirmed tracks keep their id; tentative
        ones come out as :data:`~streaming.detections.UNTRACKED` (they widen the blur, they
        are not published as tracked). A track's confidence is that of its last detection.

        Args:
            fraction: Share of one tracker step since the last update, in ``[0, 1]`` (with
                the detector on every 2nd frame, the frame between is ``0.5``).

        Raises:
            ValueError: ``fraction`` outside ``[0, 1]``.
        """
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"camera {self.camera_id}: fraction: expected 0..1, got {fraction}")
        # Only the tracks the last update saw: the others are not published on a detector
        # frame either.
        tracks = [t for t in self._deepsort.tracker.tracks
                  if not t.is_deleted() and t.time_since_update == 0]
        if not tracks:
            return Detections.empty()
        # State: centre x, y, aspect ratio w/h, height, then their velocities per step.
        state = np.array([t.mean[:4] + fraction * t.mean[4:8] for t in tracks], dtype=np.float64)
        h = np.maximum(state[:, 3], 1.0)
        w = np.maximum(state[:, 2] * h, 1.0)
        xyxy = np.column_stack([state[:, 0] - w / 2, state[:, 1] - h / 2,
                                state[:, 0] + w / 2, state[:, 1] + h / 2])
        # DeepSORT keeps a track's detection score until its next prediction, i.e. until the
        # next update: every track seen by the last update still has it.
        conf = [min(max(float(t.det_conf or 0.0), 0.0), 1.0) for t in tracks]
        ids = [int(t.track_id) if t.is_confirmed() else UNTRACKED for t in tracks]
        return Detections(xyxy, conf, track_id=ids)

    @property
    def live_tracks(self) -> int:
        """Confirmed tracks the tracker currently keeps (seen or coasting)."""
        return sum(1 for t in self._deepsort.tracker.tracks if t.is_confirmed())
