"""The per-frame vision pipeline of the worker: detect → track → blur → project.

:class:`FrameProcessor` takes one frame from each of several cameras, runs the detector and
the appearance embedder once over the batch's frames that are due for detection (one
forward pass where the model allows; with ``detect_every`` > 1 the other frames' tracks are
coasted instead), then per camera, each camera's frame on one of ``frame_threads`` threads:
DeepSORT, the privacy blur, floor projection. Models are
built by the caller and passed in; per-camera state (tracker, blur memory, projector) lives
in :class:`CameraStages`, created by :meth:`FrameProcessor.start_camera` for each stream
epoch.

Tracking runs before the blur so the blur memory can follow tracks (a face seen in track 7's
box stays blurred where track 7 goes). The tracker and embedder see raw pixels, in memory
only; what leaves is the blurred image, the detections and the timings.

Failure is closed: if the detector fails, every frame it was given is dropped; if the blur
of one frame fails, that frame is dropped. A dropped :class:`ProcessedFrame` has no image.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from streaming.detections import Detections
from streaming.detector import Detector
from streaming.exceptions import InferenceError, PrivacyError
from streaming.privacy import (
    BlurMemory,
    FaceFinder,
    anonymise,
    far_field_regions,
    near_field_regions,
)
from streaming.projection import FloorProjector
from streaming.tracker import CameraTracker, Embedder, HistogramEmbedder

Frame = NDArray[np.uint8]


@dataclass(frozen=True)
class TrackerOptions:
    """DeepSORT settings shared by all cameras of a worker (see :class:`CameraTracker`)."""

    max_age: int = 15
    n_init: int = 3
    max_cosine_distance: float | None = None  # None: the embedder's own gate
    max_iou_distance: float = 0.7
    nn_budget: int = 30


@dataclass(frozen=True)
class PrivacyOptions:
    """Blur settings (see :func:`streaming.privacy.anonymise` and :class:`BlurMemory`)."""

    head_fraction: float = 0.3
    face_pad: float = 0.25
    method: Literal["pixelate", "gaussian"] = "pixelate"
    memory_frames: int = 5
    memory_growth: float = 0.15
    #: Run the face detector on every n-th frame of a camera (1 = every frame). Between runs,
    #: faces are covered by the head regions of person boxes and by the blur memory, which
    #: carries the last faces along their tracks; must stay below ``memory_frames``.
    face_every: int = 1
    #: Blur the far band of each calibrated view where a standing person would be shorter
    #: than this many pixels (see :func:`streaming.privacy.far_field_regions`): detectors miss
    #: such people, so their faces would otherwise go unblurred. 0 turns it off; a camera's
    #: explicit ``privacy_mask`` replaces it.
    far_field_min_person_px: float = 64.0
    #: Blur the bottom band of each calibrated view where a person cut off by the frame edge
    #: shows less than this fraction of their height (see
    #: :func:`streaming.privacy.near_field_regions`): the detector misses a head and
    #: shoulders alone. 0 turns it off; a camera's explicit ``privacy_mask`` replaces it.
    near_field_visible_fraction: float = 0.6

    def __post_init__(self) -> None:
        if not 0.0 <= self.near_field_visible_fraction <= 1.0:
            raise ValueError(
                "near_field_visible_fraction: expected 0..1, got "
                f"{self.near_field_visible_fraction}"
            )
        if self.far_field_min_person_px < 0:
            raise ValueError(
                f"far_field_min_person_px: expected >= 0, got {self.far_field_min_person_px}"
            )
        if not 1 <= self.face_every <= self.memory_frames:
            raise ValueError(
                f"face_every: expected 1..memory_frames ({self.memory_frames}), "
                f"got {self.face_every}"
            )


@dataclass
class CameraStages:
    """Per-camera, per-epoch state of the pipeline.

    Attributes:
        camera_id: The camera.
        epoch: Its stream epoch.
        tracker: Its DeepSORT tracker (ids unique within this camera and epoch).
        memory: Its blur memory.
        projector: Its floor projector, or None for an uncalibrated camera (detections then
            stay ``on_floor = False``).
        privacy_mask: ``(K, 4)`` pixel regions blurred in every frame of this camera, or None.
        frames: Frames processed in this epoch.
    """

    camera_id: str
    epoch: int
    tracker: CameraTracker
    memory: BlurMemory
    projector: FloorProjector | None
    privacy_mask: NDArray[np.float64] | None = None
    frames: int = 0
    #: Offset of this camera's face-detector and person-detector frames (``face_every`` or
    #: ``detect_every`` > 1): cameras take turns, so a batch does not pay for every camera's
    #: detection at once.
    phase: int = 0
    #: Frames since the person detector last ran on this camera.
    since_detect: int = 0

    def takes_turn(self, every: int, *, offset: int = 0) -> bool:
        """Whether this camera's next frame is its turn for a stage run on every ``every``-th
        frame (``offset`` shifts one such stage's turns against another's)."""
        return (self.frames + self.phase + offset) % every == 0


@dataclass(frozen=True)
class ProcessedFrame:
    """The result of one camera frame.

    Attributes:
        camera_id: The camera.
        epoch: The stream epoch the track ids belong to.
        image: The blurred frame, or None when the frame was dropped.
        detections: Persons with track ids, floor points and zones (empty when dropped).
        timings_ms: Per stage: ``detect`` and ``embed`` (this frame's share of the batch;
            absent on a frame the detector skipped), ``track``, ``privacy``, ``project``, and
            ``total`` (batch stages shared + own).
        dropped: True when the frame must not be published (fail closed).
        drop_reason: Why (``detector_failed``, ``face_detector_failed``, ``blur_failed``...).
        model_version: The detector's version, for the event.
        frame_size: ``(width, height)`` of the frame.
    """

    camera_id: str
    epoch: int
    image: Frame | None
    detections: Detections
    timings_ms: Mapping[str, float]
    dropped: bool
    drop_reason: str | None
    model_version: str
    frame_size: tuple[int, int]


@dataclass
class FrameProcessor:
    """Runs the vision stages for batches of frames from several cameras.

    Attributes:
        detector: Person detector (built by the caller, e.g. :func:`load_detector`).
        face_detector: Face detector for the blur, or None (head regions and memory only).
        embedder: Appearance features for the tracker, batched across cameras.
        tracker_options: DeepSORT settings for new cameras / epochs.
        privacy_options: Blur settings.
        track_conf: Detections below this confidence are neither tracked nor published;
            they only add head regions to the blur. Load the detector with a lower threshold
            than this to get them: a false blur costs a little picture, a missed person a face.
        detect_every: Run the person detector on every n-th frame of a camera (cameras take
            turns). On the frames between, the tracks seen last are moved along their
            velocity (:meth:`CameraTracker.coast`) and stand in for detections: their head
            regions are blurred and they are published; the face detector, the blind bands
            and the blur memory run as on any frame.

    Example::

        processor = FrameProcessor(detector=load_detector(path), face_detector=FaceDetector())
        processor.start_camera("cam-1", epoch=1, projector=FloorProjector(...))
        [result] = processor.process([("cam-1", frame)])
    """

    detector: Detector
    face_detector: FaceFinder | None
    embedder: Embedder = field(default_factory=HistogramEmbedder)
    tracker_options: TrackerOptions = field(default_factory=TrackerOptions)
    privacy_options: PrivacyOptions = field(default_factory=PrivacyOptions)
    track_conf: float = 0.0
    detect_every: int = 1
    frame_threads: int = 1
    _cameras: dict[str, CameraStages] = field(default_factory=dict, init=False, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Between detector frames the blur memory keeps the last head regions in place; it
        # must outlive the gap.
        if not 1 <= self.detect_every <= self.privacy_options.memory_frames:
            raise ValueError(
                f"detect_every: expected 1..memory_frames ({self.privacy_options.memory_frames}), "
                f"got {self.detect_every}"
            )
        if not 1 <= self.frame_threads <= 16:
            raise ValueError(f"frame_threads: expected 1..16, got {self.frame_threads}")
        if self.frame_threads > 1:
            self._pool = ThreadPoolExecutor(self.frame_threads, thread_name_prefix="frame")

    def close(self) -> None:
        """Stop the frame threads (idle ones; safe to call twice)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def start_camera(
        self,
        camera_id: str,
        *,
        epoch: int,
        projector: FloorProjector | None,
        privacy_mask: Sequence[Sequence[float]] | NDArray[np.float64] | None = None,
    ) -> CameraStages:
        """(Re)start a camera's stream epoch: fresh tracker (ids from 1) and blur memory.

        Args:
            camera_id: The camera.
            epoch: Its new stream epoch.
            projector: Its floor projector, or None when uncalibrated.
            privacy_mask: ``(K, 4)`` pixel boxes ``x1, y1, x2, y2`` always blurred (e.g. the
                far end of the view, where people are too small to be detected).

        Raises:
            ValueError: a privacy mask that is not ``(K, 4)``.
        """
        mask = None
        if privacy_mask is not None:
            mask = np.asarray(privacy_mask, dtype=np.float64)
            if mask.size == 0:
                mask = mask.reshape(0, 4)
            if mask.ndim != 2 or mask.shape[1] != 4:
                raise ValueError(
                    f"camera {camera_id}: privacy_mask: expected (K, 4) boxes, got {mask.shape}"
                )
        opts = self.tracker_options
        # The tracker counts detector frames: with the detector on every n-th frame, a track
        # is confirmed and given up after as much time as with it on every frame.
        every = self.detect_every
        stages = CameraStages(
            camera_id=camera_id,
            epoch=epoch,
            tracker=CameraTracker(
                camera_id=camera_id,
                epoch=epoch,
                embedder=self.embedder,
                max_age=max(1, math.ceil(opts.max_age / every)),
                n_init=max(1, math.ceil(opts.n_init / every)),
                max_cosine_distance=opts.max_cosine_distance,
                max_iou_distance=opts.max_iou_distance,
                nn_budget=opts.nn_budget,
                step_frames=every,
            ),
            memory=BlurMemory(
                ttl_frames=self.privacy_options.memory_frames,
                grow_per_frame=self.privacy_options.memory_growth,
            ),
            projector=projector,
            privacy_mask=mask,
            phase=sum(1 for c in self._cameras if c != camera_id),
        )
        self._cameras[camera_id] = stages
        return stages

    def _blind_bands(self, projector: FloorProjector, shape: tuple[int, ...]
                     ) -> NDArray[np.float64]:
        """The parts of a calibrated view where people are too small or too cut off to detect."""
        opts = self.privacy_options
        width, height = int(shape[1]), int(shape[0])
        bands: list[NDArray[np.int32]] = [np.zeros((0, 4), dtype=np.int32)]
        if opts.far_field_min_person_px > 0:
            bands.append(far_field_regions(projector.homography, width=width, height=height,
                                           min_person_px=opts.far_field_min_person_px))
        if opts.near_field_visible_fraction > 0:
            bands.append(near_field_regions(
                projector.homography, width=width, height=height,
                min_visible_fraction=opts.near_field_visible_fraction))
        return np.concatenate(bands).astype(np.float64)

    def stop_camera(self, camera_id: str) -> None:
        """Forget a camera's state (its tracks and blur memory)."""
        self._cameras.pop(camera_id, None)

    @property
    def cameras(self) -> Mapping[str, CameraStages]:
        return dict(self._cameras)

    def process(self, batch: Sequence[tuple[str, Frame]]) -> list[ProcessedFrame]:
        """Process one frame per camera; results in the same order.

        Args:
            batch: ``(camera_id, BGR frame)`` pairs, each camera at most once, each started
                with :meth:`start_camera`. The frames are not modified nor kept.

        Returns:
            One :class:`ProcessedFrame` per input.

        Raises:
            KeyError: a camera was not started.
            ValueError: a camera appears twice in the batch.
        """
        return list(self.process_each(batch))

    def process_each(self, batch: Sequence[tuple[str, Frame]]) -> Iterator[ProcessedFrame]:
        """As :meth:`process`, but each frame's result is handed out as soon as it is ready.

        The detector and embedder still run once for the whole batch; then tracking, blur
        and projection run camera by camera (on ``frame_threads`` threads, results still in
        batch order), and a caller that publishes each result as it comes does not make the
        first frames of a batch wait for the last ones' blur.
        The batch is checked before anything runs (same errors as :meth:`process`).
        """
        ids = [cam for cam, _ in batch]
        if len(set(ids)) != len(ids):
            raise ValueError(f"one frame per camera per batch, got cameras {ids}")
        for cam in ids:
            if cam not in self._cameras:
                raise KeyError(f"camera {cam!r} not started (call start_camera first)")
        return self._run(batch)

    def _run(self, batch: Sequence[tuple[str, Frame]]) -> Iterator[ProcessedFrame]:
        if not batch:
            return
        # With the face detector on every n-th frame too, the person detector takes the frames
        # between: then every frame has a fresh source of blur regions.
        offset = 1 if self.privacy_options.face_every > 1 else 0
        detect = [stages.frames == 0 or stages.takes_turn(self.detect_every, offset=offset)
                  for stages in (self._cameras[cam] for cam, _ in batch)]
        picked = [item for item, d in zip(batch, detect, strict=True) if d]
        frames = [frame for _, frame in picked]
        n = max(len(frames), 1)
        t0 = time.perf_counter()
        failed = False
        try:
            detections = self.detector.detect_batch(frames) if frames else []
        except InferenceError:
            failed, detections = True, []
        t1 = time.perf_counter()
        confident = [d.confidence >= self.track_conf for d in detections]
        strong = [d.filter(k) for d, k in zip(detections, confident, strict=True)]
        weak = [d.filter(~k) for d, k in zip(detections, confident, strict=True)]
        features = self.embedder.embed_batch(
            [(frame, d.xyxy) for frame, d in zip(frames, strong, strict=True)]
        ) if strong else []
        t2 = time.perf_counter()
        shared = {"detect": (t1 - t0) * 1000 / n, "embed": (t2 - t1) * 1000 / n}
        found = iter(zip(strong, weak, features, strict=True))
        jobs: list[Callable[[], ProcessedFrame]] = []
        for (cam, frame), d in zip(batch, detect, strict=True):
            if not d:
                jobs.append(partial(self._per_camera, cam, frame, None, shared={}))
            elif failed:
                jobs.append(partial(self._dropped, cam, frame, "detector_failed", {}))
            else:
                jobs.append(partial(self._per_camera, cam, frame, next(found), shared=shared))
        if self._pool is None or len(jobs) == 1:
            for job in jobs:
                yield job()
            return
        # Every camera's frame at once, handed out in batch order as each is ready.
        for future in [self._pool.submit(job) for job in jobs]:
            yield future.result()

    def _per_camera(
        self,
        camera_id: str,
        frame: Frame,
        found: tuple[Detections, Detections, NDArray[np.float32]] | None,
        *,
        shared: dict[str, float],
    ) -> ProcessedFrame:
        """Track, blur and project one frame: ``found`` holds the detector's confident and
        faint boxes with the confident ones' features, or is None on a frame the detector
        skipped (the tracks are coasted instead)."""
        stages = self._cameras[camera_id]
        opts = self.privacy_options
        t0 = time.perf_counter()
        if found is None:
            stages.since_detect += 1
            tracked = stages.tracker.coast(min(stages.since_detect / self.detect_every, 1.0))
            faint = Detections.empty()
        else:
            detections, faint, features = found
            stages.since_detect = 0
            tracked = stages.tracker.update(detections, features=features)
        t1 = time.perf_counter()
        timings = dict(shared, track=(t1 - t0) * 1000)
        run_faces = stages.takes_turn(opts.face_every)
        stages.frames += 1
        if stages.privacy_mask is None and stages.projector is not None:
            # Computed once per epoch, from the first frame's size.
            stages.privacy_mask = self._blind_bands(stages.projector, frame.shape)
        try:
            blurred = anonymise(
                frame,
                Detections.concatenate([tracked, faint]) if len(faint) else tracked,
                face_detector=self.face_detector if run_faces else None,
                memory=stages.memory,
                head_fraction=opts.head_fraction,
                face_pad=opts.face_pad,
                method=opts.method,
                static_regions=stages.privacy_mask,
            )
        except PrivacyError as exc:
            timings["privacy"] = (time.perf_counter() - t1) * 1000
            return self._dropped(camera_id, frame, exc.reason, timings)
        t2 = time.perf_counter()
        projected = stages.projector.project(tracked) if stages.projector else tracked
        t3 = time.perf_counter()
        timings.update(privacy=(t2 - t1) * 1000, project=(t3 - t2) * 1000)
        timings["total"] = sum(timings.values())
        return ProcessedFrame(
            camera_id=camera_id,
            epoch=stages.epoch,
            image=blurred.frame,
            detections=projected,
            timings_ms=timings,
            dropped=False,
            drop_reason=None,
            model_version=self.detector.model_version,
            frame_size=(int(frame.shape[1]), int(frame.shape[0])),
        )

    def _dropped(
        self, camera_id: str, frame: Frame, reason: str, timings: dict[str, float]
    ) -> ProcessedFrame:
        timings = dict(timings)
        timings["total"] = sum(timings.values())
        shape = getattr(frame, "shape", (0, 0))
        return ProcessedFrame(
            camera_id=camera_id,
            epoch=self._cameras[camera_id].epoch,
            image=None,
            detections=Detections.empty(),
            timings_ms=timings,
            dropped=True,
            drop_reason=reason,
            model_version=self.detector.model_version,
            frame_size=(int(shape[1]), int(shape[0])) if len(shape) >= 2 else (0, 0),
        )
