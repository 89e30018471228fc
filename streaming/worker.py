"""The worker process: several cameras → vision pipeline → Kafka events and blurred segments.

One :class:`Worker` serves several cameras of one store:

* a **reader thread per camera** runs its source (:class:`~streaming.sources.CameraReader`:
  reopen with backoff, new stream epoch per reopen) and leaves only the *latest* frame in the
  camera's mailbox; a frame replaced before it was processed is counted as skipped, so the
  worker never falls behind real time (``realtime=False`` makes readers wait instead, for
  offline runs where every frame counts);
* the **processing loop** takes the waiting frames of all cameras as one batch, runs the
  :class:`~streaming.pipeline.FrameProcessor` (one detector pass for the batch), publishes one
  ``FrameDetections`` event per processed frame and camera as soon as that frame is blurred
  (oldest frame first), then hands the batch's blurred images to the video thread;
* the **video thread** encodes them into each camera's :class:`~streaming.segments.SegmentWriter`
  off the processing loop (encoding is ≈ 2 ms a frame that no event has to wait for), and
  the processing loop announces the segments it finished.

Failures stay local: a camera whose source fails is reported (metric, log, ``/healthz``) and
retried while the others continue; a frame whose blur failed is dropped and counted; a full
journal or a full disk is an error line and a metric, never a crash. :meth:`Worker.stop`
(SIGTERM in the CLI) stops the readers, closes every open segment, flushes the producer and
leaves whatever Kafka did not acknowledge in the journal for the next run.

Logs never contain pixels: frames are logged by camera, epoch and index only.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from data_contracts.events import Detection, FrameDetections
from storeheat.config import Camera, StoreConfig
from streaming.config import WorkerConfig
from streaming.detections import UNTRACKED, Detections
from streaming.journal import Journal
from streaming.metrics import MetricsServer, WorkerMetrics
from streaming.pipeline import FrameProcessor, ProcessedFrame
from streaming.projection import FloorProjector
from streaming.publisher import Ack, Publisher
from streaming.runtime_exceptions import SegmentError, SourceError
from streaming.segments import SegmentWriter
from streaming.sources import Backoff, CameraReader, Frame, Source, open_source

log = logging.getLogger(__name__)

#: Pipeline timing keys → the stage names of the metrics and the benchmark.
_STAGE_NAMES = {"detect": "detect", "embed": "embed", "track": "track", "privacy": "blur",
                "project": "project"}


class _Mailbox:
    """The latest frame of one camera (one slot)."""

    def __init__(self, *, lossless: bool, changed: threading.Condition) -> None:
        self.frame: Frame | None = None
        self.lossless = lossless
        self._changed = changed
        self._space = threading.Condition(threading.Lock())

    def put(self, frame: Frame, stop: threading.Event) -> bool:
        """Leave ``frame``; True when it replaced an unprocessed one (a skip)."""
        if self.lossless:
            with self._space:
                while self.frame is not None and not stop.is_set():
                    self._space.wait(0.1)
            if stop.is_set():
                return False  # stopping: the frame is simply not read, not skipped
        with self._changed:
            skipped = self.frame is not None
            self.frame = frame
            self._changed.notify_all()
        return skipped

    def take(self) -> Frame | None:
        """Remove and return the waiting frame (caller holds the shared condition)."""
        frame, self.frame = self.frame, None
        if frame is not None and self.lossless:
            with self._space:
                self._space.notify_all()
        return frame


@dataclass
class CameraState:
    """What the worker knows about one camera (shown by ``/healthz``)."""

    camera: Camera
    source: Source
    reader: CameraReader | None = None
    thread: threading.Thread | None = None
    mailbox: _Mailbox | None = None
    segments: SegmentWriter | None = None
    epoch: int | None = None
    up: bool = False
    last_error: str | None = None
    errors: int = 0
    processed: int = 0
    skipped: int = 0
    dropped: int = 0
    last_log: dict[str, float] = field(default_factory=dict)
    #: When its latest frame arrived (monotonic s) and the usual gap between frames (a
    #: moving average): the batcher waits for this camera only if it is about to deliver.
    last_arrival: float | None = None
    interval: float | None = None

    def note_arrival(self, now: float) -> None:
        if self.last_arrival is not None:
            gap = now - self.last_arrival
            self.interval = gap if self.interval is None else 0.8 * self.interval + 0.2 * gap
        self.last_arrival = now

    def summary(self) -> dict[str, Any]:
        return {"up": self.up, "epoch": self.epoch, "processed": self.processed,
                "skipped": self.skipped, "dropped": self.dropped, "errors": self.errors,
                "last_error": self.last_error,
                "finished": bool(self.reader and self.reader.finished.is_set())}


@dataclass(frozen=True)
class WorkerReport:
    """What a run did (returned by :meth:`Worker.run`, logged at the end).

    Attributes:
        processed: Frames processed and published, per camera.
        skipped: Frames skipped because the worker was behind, per camera.
        dropped: Frames dropped by the pipeline (fail closed), per camera.
        segments: Segments finished and announced.
        journal_depth: Events left in the journal at the end.
        events_lost: Events lost to a full journal.
        source_errors: Source failures, per camera.
    """

    processed: Mapping[str, int]
    skipped: Mapping[str, int]
    dropped: Mapping[str, int]
    segments: int
    journal_depth: int
    events_lost: int
    source_errors: Mapping[str, int]


def to_contract(dets: Detections, *, width: int, height: int) -> list[Detection]:
    """The contract's detections of one frame (boxes clipped to the frame)."""
    clipped = dets.clipped(width=width, height=height)
    out = []
    for i in range(len(clipped)):
        x1, y1, x2, y2 = (float(v) for v in clipped.xyxy[i])
        on_floor = bool(clipped.on_floor[i])
        track = int(clipped.track_id[i])
        out.append(Detection(
            track_id=None if track == UNTRACKED else track,
            confidence=float(np.clip(clipped.confidence[i], 0.0, 1.0)),
            x1=x1, y1=y1, x2=x2, y2=y2,
            floor_x=float(clipped.floor_xy[i, 0]) if on_floor else None,
            floor_y=float(clipped.floor_xy[i, 1]) if on_floor else None,
            zone_id=clipped.zone_id[i] if on_floor else None,
            on_floor=on_floor,
        ))
    return out


def cameras_due(now: float, wait: float,
                rhythm: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    """The cameras worth holding a batch for: those whose next frame is due within ``wait``.

    Cameras whose frames come at the same instant (genlocked, or replayed together) are worth
    batching: one detector pass for all. Independent cameras come at their own phase, and
    holding a ready frame for one that is not due for another 50 ms only adds latency. A
    camera's next frame is due at its last arrival plus its usual interval. One with no
    rhythm known yet is waited for, as every camera was before; one overdue by more than an
    interval is taken to be stalled and is not.

    Args:
        now: Monotonic time.
        wait: Longest hold (s).
        rhythm: ``(last arrival, interval)`` of each live camera without a frame, by id.
    """
    due: list[str] = []
    for cid, (last, interval) in rhythm.items():
        if last is None or interval is None:
            due.append(cid)
        elif now - interval <= last + interval <= now + wait:
            due.append(cid)
    return due


def projector_for(store: StoreConfig, camera: Camera) -> FloorProjector:
    """The floor projector of a camera: its homography, floor region and the store's zones."""
    return FloorProjector(
        camera.homography,
        floor_polygon=camera.floor_region or store.floor.polygon,
        zones=store.zone_polygons(),
    )


class Worker:
    """Serves several cameras of one store in one process (see the module docstring).

    Attributes:
        store: The store.
        cameras: Per camera state, by id.
        metrics: The worker's metrics.
        publisher: Where events go.
    """

    def __init__(
        self,
        store: StoreConfig,
        *,
        processor: FrameProcessor,
        publisher: Publisher,
        config: WorkerConfig | None = None,
        cameras: Sequence[str] | None = None,
        metrics: WorkerMetrics | None = None,
        sources: Mapping[str, Source] | None = None,
        hot_url: str | None = None,
        source_base_dir: Path | None = None,
        owns_processor: bool = False,
    ) -> None:
        """Wire the parts; nothing runs until :meth:`run`.

        Args:
            store: Store config (cameras, calibration, zones, hot tier, segment length).
            processor: The vision pipeline (models already loaded).
            publisher: Kafka publisher with its journal.
            config: Worker settings.
            cameras: Camera ids to serve (default: all of the store's).
            metrics: Metrics to update (default: a fresh registry).
            sources: Source per camera id, overriding the store's URLs (tests, benchmarks).
            hot_url: Hot tier URL (default: the store's resolved hot tier).
            source_base_dir: Folder relative source paths are resolved against (the store
                YAML's folder).
            owns_processor: Close ``processor`` (its frame threads) when the worker stops;
                leave it False for a pipeline the caller goes on using.

        Raises:
            ConfigError: an unknown camera id.
            UnsupportedSourceError: a camera's source URL cannot be read by any source.
        """
        self.store = store
        self.config = config or WorkerConfig()
        self.processor = processor
        self._owns_processor = owns_processor
        self.publisher = publisher
        self.metrics = metrics or publisher.metrics or WorkerMetrics()
        self.hot_url = hot_url or store.storage.resolved_hot_video()
        chosen = [store.camera(c) for c in cameras] if cameras else list(store.cameras)
        self._stop = threading.Event()
        self._changed = threading.Condition(threading.Lock())
        self.cameras: dict[str, CameraState] = {}
        for cam in chosen:
            src = (sources or {}).get(cam.id) or open_source(
                cam.id, cam.source, fps=cam.fps, realtime=self.config.realtime,
                loop=self.config.loop, base_dir=source_base_dir, store=store)
            self.cameras[cam.id] = CameraState(camera=cam, source=src)
        self._projectors = {cam.id: projector_for(store, cam) for cam in chosen}
        self._heartbeat = time.monotonic()
        self._running = False
        self._segments_done = 0
        self._server: MetricsServer | None = None
        self._started = time.monotonic()
        # Blurred frames waiting for the video thread (bounded: when encoding cannot keep up,
        # the processing loop waits and the readers skip frames rather than memory grow),
        # and the segments it finished, for the processing loop to announce.
        self._video: queue.Queue[tuple[CameraState, ProcessedFrame, datetime] | None] = (
            queue.Queue(maxsize=max(8, 2 * len(self.cameras))))
        self._video_thread: threading.Thread | None = None
        self._finished: queue.SimpleQueue[Any] = queue.SimpleQueue()

    # -- control --------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to end (safe from a signal handler or another thread)."""
        self._stop.set()
        with contextlib.suppress(RuntimeError), self._changed:
            self._changed.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, details)`` for ``/healthz``: healthy while the loop turns (< 10 s ago)."""
        alive = self._running and time.monotonic() - self._heartbeat < 10.0
        cams = {cid: st.summary() for cid, st in self.cameras.items()}
        degraded = (not self.publisher.connected) or any(
            not c["up"] and not c["finished"] for c in cams.values())
        return alive, {"store_id": self.store.store_id, "degraded": degraded,
                       "cameras": cams, **self.publisher.stats()}

    # -- readers --------------------------------------------------------------------------

    def _start_readers(self) -> None:
        for cid, st in self.cameras.items():
            st.mailbox = _Mailbox(lossless=not self.config.realtime, changed=self._changed)
            reader = CameraReader(
                st.source,
                on_frame=self._frame_callback(st),
                on_error=self._error_callback(st),
                on_epoch=self._epoch_callback(st),
                stop=self._stop,
                backoff=Backoff(initial_s=self.config.backoff_initial_s,
                                max_s=self.config.backoff_max_s),
            )
            st.reader = reader
            st.thread = threading.Thread(target=self._run_reader, args=(st,),
                                         name=f"camera-{cid}", daemon=True)
            self.metrics.camera_up.labels(camera=cid).set(0)
            st.thread.start()

    def _run_reader(self, st: CameraState) -> None:
        assert st.reader is not None
        try:
            st.reader.run()
        finally:
            st.up = False
            self.metrics.camera_up.labels(camera=st.camera.id).set(0)
            with self._changed:
                self._changed.notify_all()

    def _frame_callback(self, st: CameraState) -> Callable[[Frame], None]:
        cid = st.camera.id

        def on_frame(frame: Frame) -> None:
            if not st.up:
                st.up = True
                self.metrics.camera_up.labels(camera=cid).set(1)
                log.info("camera up", extra={"camera": cid, "epoch": frame.stream_epoch})
            st.last_error = None
            st.note_arrival(time.monotonic())
            self.metrics.frames_read.labels(camera=cid).inc()
            assert st.mailbox is not None
            if st.mailbox.put(frame, self._stop):
                st.skipped += 1
                self.metrics.frames_skipped.labels(camera=cid).inc()

        return on_frame

    def _error_callback(self, st: CameraState) -> Callable[[SourceError], None]:
        cid = st.camera.id

        def on_error(exc: SourceError) -> None:
            st.up = False
            st.errors += 1
            st.last_error = str(exc)
            self.metrics.camera_up.labels(camera=cid).set(0)
            self.metrics.source_errors.labels(camera=cid).inc()
            log.error("camera source failed; retrying" if exc.transient
                      else "camera source failed; giving up",
                      extra={"camera": cid, "url": exc.url, "reason": exc.reason,
                             "failures": st.errors})

        return on_error

    def _epoch_callback(self, st: CameraState) -> Callable[[int], None]:
        def on_epoch(epoch: int) -> None:
            log.info("camera stream opened", extra={"camera": st.camera.id, "epoch": epoch})

        return on_epoch

    # -- processing -----------------------------------------------------------------------

    def _all_finished(self) -> bool:
        return all(st.reader is not None and st.reader.finished.is_set()
                   and (st.mailbox is None or st.mailbox.frame is None)
                   for st in self.cameras.values())

    def _next_batch(self) -> list[Frame]:
        """Wait for frames; take the latest of each camera (waiting briefly for stragglers)."""
        with self._changed:
            while not self._stop.is_set():
                ready = [st for st in self.cameras.values()
                         if st.mailbox is not None and st.mailbox.frame is not None]
                if ready:
                    break
                if self._all_finished():
                    return []
                self._heartbeat = time.monotonic()
                self._changed.wait(0.5)
            else:
                return []
        wait = self.config.batch_wait_ms / 1000.0
        if wait > 0 and len(ready) < len(self.cameras):
            now = time.monotonic()
            deadline = now + wait
            due = cameras_due(now, wait, {
                cid: (st.last_arrival, st.interval) for cid, st in self.cameras.items()
                if self._is_live(st) and st.mailbox is not None and st.mailbox.frame is None})
            with self._changed:
                while due and time.monotonic() < deadline:
                    mailboxes = [self.cameras[cid].mailbox for cid in due]
                    if all(m is not None and m.frame is not None for m in mailboxes):
                        break
                    self._changed.wait(max(0.0, deadline - time.monotonic()))
        batch: list[Frame] = []
        with self._changed:
            for st in self.cameras.values():
                if st.mailbox is None or len(batch) >= self.config.max_batch:
                    continue
                frame = st.mailbox.take()
                if frame is not None:
                    batch.append(frame)
        return batch

    @staticmethod
    def _is_live(st: CameraState) -> bool:
        return st.up and st.reader is not None and not st.reader.finished.is_set()

    def _process(self, batch: list[Frame]) -> None:
        for frame in batch:
            st = self.cameras[frame.camera_id]
            if st.epoch != frame.stream_epoch:
                # New stream epoch: fresh tracker ids and blur memory for this camera.
                self.processor.start_camera(frame.camera_id, epoch=frame.stream_epoch,
                                            projector=self._projectors[frame.camera_id])
                st.epoch = frame.stream_epoch
        # Oldest first, each published as soon as it is blurred (see process_each).
        batch = sorted(batch, key=lambda f: f.received)
        results = self.processor.process_each([(f.camera_id, f.image) for f in batch])
        stage_sums: dict[str, float] = {}
        published: list[tuple[Frame, ProcessedFrame]] = []
        for frame, res in zip(batch, results, strict=True):
            self.metrics.stage_seconds.labels(stage="decode").observe(frame.decode_seconds)
            for key, ms in res.timings_ms.items():
                name = _STAGE_NAMES.get(key)
                if name is not None:
                    stage_sums[name] = stage_sums.get(name, 0.0) + ms / 1000.0
            if self._emit(frame, res):
                published.append((frame, res))
        for name, seconds in stage_sums.items():
            self.metrics.stage_seconds.labels(stage=name).observe(seconds)
        # Video after the whole batch is published, on the video thread: encoding a frame
        # holds back neither the events of the frames behind it nor the next batch.
        if self._video_thread is not None:
            for frame, res in published:
                self._video.put((self.cameras[frame.camera_id], res, frame.capture_time))
        self._announce_finished()

    def _run_video(self) -> None:
        """The video thread: encode queued frames until the None that ends the run."""
        while (item := self._video.get()) is not None:
            st, res, capture = item
            t0 = time.perf_counter()
            try:
                self._write_segment(st, res, capture)
            except Exception:  # a bug here must not stop the video of every camera
                log.exception("video segment failed unexpectedly",
                              extra={"camera": st.camera.id})
                self.metrics.storage_errors.labels(kind="write").inc()
            self.metrics.stage_seconds.labels(stage="segment").observe(
                time.perf_counter() - t0)

    def _announce_finished(self) -> None:
        """Announce the segments the video thread finished (from the processing loop)."""
        while True:
            try:
                done = self._finished.get_nowait()
            except queue.Empty:
                return
            self._announce(done)

    def _emit(self, frame: Frame, res: ProcessedFrame) -> bool:
        """Publish a frame's event (or count its drop); True when it was published."""
        st = self.cameras[frame.camera_id]
        cid = frame.camera_id
        if res.dropped:
            st.dropped += 1
            reason = res.drop_reason or "unknown"
            self.metrics.frames_dropped.labels(camera=cid, reason=reason).inc()
            self._log_limited(st, "dropped", logging.WARNING, "frame dropped (fail closed)",
                              camera=cid, epoch=frame.stream_epoch, index=frame.index,
                              reason=res.drop_reason)
            return False
        t0 = time.perf_counter()
        latency_ms = max(0.0, (time.time() - frame.received) * 1000)
        event = FrameDetections.create(
            store_id=self.store.store_id,
            camera_id=cid,
            stream_epoch=frame.stream_epoch,
            frame_index=frame.index,
            capture_time=frame.capture_time,
            model_version=res.model_version,
            frame_width=frame.width,
            frame_height=frame.height,
            latency_ms=latency_ms,
            detections=to_contract(res.detections, width=frame.width, height=frame.height),
        )
        self.publisher.publish(event, capture_time=datetime.fromtimestamp(frame.received, UTC))
        t1 = time.perf_counter()
        self.metrics.stage_seconds.labels(stage="publish").observe(t1 - t0)
        st.processed += 1
        self.metrics.observe_processed(cid)
        return True

    def _write_segment(self, st: CameraState, res: ProcessedFrame, capture: datetime) -> None:
        if st.segments is None:
            st.segments = SegmentWriter(
                store_id=self.store.store_id, camera_id=st.camera.id, hot_url=self.hot_url,
                segment_seconds=self.store.storage.segment_seconds, fps=st.camera.fps)
        try:
            done = st.segments.add(res, capture_time=capture)
        except SegmentError as exc:
            self._segment_failed(st, exc)
            return
        if done is not None:
            self._finished.put(done)

    def _segment_failed(self, st: CameraState, exc: SegmentError) -> None:
        kind = ("incomplete" if "not written completely" in exc.reason
                else "disk_full" if "disk full" in exc.reason else "write")
        self.metrics.storage_errors.labels(kind=kind).inc()
        self._log_limited(st, f"segment-{kind}", logging.ERROR, "video segment failed",
                          camera=st.camera.id, uri=exc.uri, reason=exc.reason)

    def _announce(self, segment: Any) -> None:
        self.publisher.publish(segment, capture_time=None)
        self._segments_done += 1
        self.metrics.segments.inc()
        log.info("segment finished", extra={"camera": segment.camera_id, "uri": segment.uri,
                                            "frames": segment.frame_count,
                                            "bytes": segment.bytes})

    def _log_limited(self, st: CameraState, key: str, level: int, msg: str,
                     **fields: Any) -> None:
        """Log at most once per 10 s per camera and kind (a dead disk must not flood logs)."""
        now = time.monotonic()
        if now - st.last_log.get(key, 0.0) >= 10.0:
            st.last_log[key] = now
            log.log(level, msg, extra=fields)

    # -- run ------------------------------------------------------------------------------

    def run(self) -> WorkerReport:
        """Serve the cameras until :meth:`stop`, ``duration_s``, or every source ended.

        Returns:
            A :class:`WorkerReport` of the run.
        """
        cfg = self.config
        if cfg.metrics_port is not None:
            self._server = MetricsServer(self.metrics, self.health, host=cfg.metrics_host,
                                         port=cfg.metrics_port)
            log.info("metrics endpoint", extra={"url": self._server.url + "/metrics",
                                                "health": self._server.url + "/healthz"})
        self._running = True
        self._started = time.monotonic()
        if cfg.segments:
            self._video_thread = threading.Thread(target=self._run_video, name="video",
                                                  daemon=True)
            self._video_thread.start()
        self._start_readers()
        log.info("worker started", extra={"store": self.store.store_id,
                                          "cameras": list(self.cameras),
                                          "realtime": cfg.realtime})
        try:
            while not self._stop.is_set():
                elapsed = time.monotonic() - self._started
                if cfg.duration_s is not None and elapsed >= cfg.duration_s:
                    break
                batch = self._next_batch()
                self._heartbeat = time.monotonic()
                if not batch:
                    if self._all_finished() or self._stop.is_set():
                        break
                    continue
                self._process(batch)
        finally:
            report = self._shutdown()
        return report

    def _shutdown(self) -> WorkerReport:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        for st in self.cameras.values():
            if st.thread is not None:
                st.thread.join(timeout=5.0)
        video_done = True
        if self._video_thread is not None:
            timeout = self.config.stop_timeout_s
            deadline = time.monotonic() + timeout
            # After the frames already queued: they are encoded first. A video thread stuck
            # on a dead disk must not hang the stop, so neither wait is unbounded.
            with contextlib.suppress(queue.Full):
                self._video.put(None, timeout=timeout)
            self._video_thread.join(timeout=max(0.0, deadline - time.monotonic()))
            video_done = not self._video_thread.is_alive()
            if not video_done:
                log.error("video thread did not finish in time; open segments are left "
                          "unannounced", extra={"timeout_s": self.config.stop_timeout_s})
        if self._owns_processor:
            self.processor.close()  # the reader threads are gone: no frame comes any more
        self._announce_finished()
        for st in self.cameras.values():
            if st.segments is not None and video_done:
                try:
                    done = st.segments.finish()
                except SegmentError as exc:
                    self._segment_failed(st, exc)
                    done = None
                if done is not None:
                    self._announce(done)
        self.publisher.close(timeout_s=self.config.stop_timeout_s)
        self._running = False
        if self._server is not None:
            self._server.close()
        report = WorkerReport(
            processed={c: s.processed for c, s in self.cameras.items()},
            skipped={c: s.skipped for c, s in self.cameras.items()},
            dropped={c: s.dropped for c, s in self.cameras.items()},
            segments=self._segments_done,
            journal_depth=self.publisher.journal.depth,
            events_lost=self.publisher.lost,
            source_errors={c: s.errors for c, s in self.cameras.items()},
        )
        log.info("worker stopped", extra={"processed": sum(report.processed.values()),
                                          "skipped": sum(report.skipped.values()),
                                          "dropped": sum(report.dropped.values()),
                                          "segments": report.segments,
                                          "journal_depth": report.journal_depth})
        return report


def build_processor(config: WorkerConfig) -> FrameProcessor:
    """The vision pipeline with the models named in ``config`` (loaded and checked now).

    Raises:
        ModelLoadError: a model file is missing or unreadable.
    """
    import cv2

    from streaming.detector import load_detector
    from streaming.pipeline import PrivacyOptions
    from streaming.privacy import FaceDetector
    from streaming.tracker import HistogramEmbedder, NoAppearance

    # OpenCV (YuNet, resizing) would otherwise use every core of the machine in each worker
    # process; one process per core is how the worker scales.
    cv2.setNumThreads(config.threads)
    # The detector keeps the fainter boxes too: they widen the blur, only the confident
    # ones are tracked and published.
    detector = load_detector(config.model, imgsz=config.imgsz,
                             conf=min(config.conf, config.privacy_conf), threads=config.threads)
    faces = (FaceDetector(config.face_model, max_side=config.face_max_side,
                          threads=config.threads)
             if config.faces else None)
    embedder = HistogramEmbedder() if config.embedder == "histogram" else NoAppearance()
    return FrameProcessor(detector=detector, face_detector=faces, embedder=embedder,
                          track_conf=config.conf, detect_every=config.detect_every,
                          frame_threads=config.frame_threads,
                          privacy_options=PrivacyOptions(face_every=config.face_every))


def build_worker(
    store: StoreConfig,
    *,
    config: WorkerConfig | None = None,
    cameras: Sequence[str] | None = None,
    bootstrap: str | None = None,
    processor: FrameProcessor | None = None,
    sources: Mapping[str, Source] | None = None,
    on_ack: Callable[[Ack], None] | None = None,
    hot_url: str | None = None,
    source_base_dir: Path | None = None,
) -> Worker:
    """A ready :class:`Worker`: models loaded, journal opened, producer connected (or
    journaling when Kafka is away).

    Args:
        store: The store.
        config: Worker settings.
        cameras: Camera ids to serve (default: all).
        bootstrap: Kafka bootstrap servers (default: the store's / the environment's /
            the local broker).
        processor: A pipeline to use instead of building one from ``config``.
        sources: Sources overriding the store's URLs.
        on_ack: Called for each record Kafka acknowledged.
        hot_url: Hot tier override.
        source_base_dir: Folder relative source paths are resolved against.

    Raises:
        ModelLoadError, ConfigError, JournalError, UnsupportedSourceError.
    """
    cfg = config or WorkerConfig()
    if bootstrap is None:
        from storeheat.services.kafka import bootstrap_servers

        bootstrap = store.kafka.resolved_bootstrap() or bootstrap_servers()
    metrics = WorkerMetrics()
    journal = Journal(cfg.resolved_journal_dir(store.store_id), max_bytes=cfg.journal_max_bytes,
                      fsync=cfg.journal_fsync)
    if journal.depth:
        log.info("journal from an earlier run will be replayed",
                 extra={"journal": str(journal.path), "events": journal.depth})
    publisher = Publisher(bootstrap=bootstrap, journal=journal, metrics=metrics,
                          client_id=f"storeheat-{store.store_id}-{cfg.worker_id}",
                          delivery_timeout_s=cfg.delivery_timeout_s,
                          bootstrap_timeout_s=cfg.bootstrap_timeout_s, on_ack=on_ack)
    built = None
    try:
        if processor is None:
            processor = built = build_processor(cfg)
        return Worker(store, processor=processor, publisher=publisher, config=cfg,
                      cameras=cameras, metrics=metrics, sources=sources, hot_url=hot_url,
                      source_base_dir=source_base_dir, owns_processor=built is not None)
    except BaseException:
        if built is not None:
            built.close()
        publisher.close(timeout_s=1.0)
        raise
