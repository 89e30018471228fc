"""Camera sources: video files, RTSP/HTTP streams, MOTChallenge image folders, the simulator.

A source yields :class:`Frame` objects (raw BGR pixels, which never leave the worker's memory,
with their capture time and index) at the camera's configured rate. :func:`open_source` picks
the class from the URL; :class:`CameraReader` wraps any source with the worker's policy: a lost,
stalled or broken source is reopened with exponential backoff, and every reopen starts a new
*stream epoch* (frame indices restart, track ids reset downstream).

URL forms (the ``source`` of a camera in the store YAML):

==============================  ==========================================================
``rtsp://``, ``rtsps://``,      :class:`StreamSource` (OpenCV/FFmpeg, open and read timeouts)
``http://``, ``https://``
``file:///path/x.mp4``, a path  :class:`VideoFileSource`
a folder (or its ``img1/``)     :class:`ImageFolderSource` (MOTChallenge; ``seqinfo.ini``)
``sim://<store>/<camera>``      :class:`SimSource` (the simulated store, live)
==============================  ==========================================================

Files and folders are played in real time by default (as a camera would deliver them), so the
worker's skip-when-behind logic and latency figures mean the same as on a live camera.
"""

from __future__ import annotations

import configparser
import contextlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
from numpy.typing import NDArray

from streaming.runtime_exceptions import SourceError, UnsupportedSourceError

Image = NDArray[np.uint8]
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame of one camera.

    Attributes:
        camera_id: The camera.
        image: Raw BGR ``uint8`` pixels (``H×W×3``). Unblurred: must never be written,
            logged or sent anywhere; excluded from ``repr`` so a log line cannot carry it.
        capture_time: When the frame was captured (UTC wall clock).
        index: Index of the frame within its stream epoch (0, 1, 2, ...).
        stream_epoch: Start of the stream session, ms since 1970 UTC.
        decode_seconds: Time spent decoding this frame (for the ``decode`` stage metric).
        received: Wall clock (s since 1970) when the worker got the frame: the start of the
            capture→ack latency. Equals ``capture_time`` for live sources; differs for
            files read as fast as possible and for the simulator's scenario clock.
    """

    camera_id: str
    image: Image = field(repr=False, compare=False)
    capture_time: datetime
    index: int
    stream_epoch: int
    decode_seconds: float = 0.0
    received: float = field(default_factory=time.time)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@runtime_checkable
class Source(Protocol):
    """What the worker needs from a camera source.

    ``open`` starts a stream epoch, ``read`` returns the next frame due (blocking at most
    about one frame interval in real-time mode), ``None`` at the normal end of a finite
    source; failures raise :class:`~streaming.runtime_exceptions.SourceError`.
    """

    camera_id: str
    url: str

    def open(self) -> int:
        """Open (or reopen) the source; returns the new stream epoch (ms since 1970 UTC)."""
        ...

    def read(self) -> Frame | None:
        """The next frame, or None when a finite source is exhausted."""
        ...

    def close(self) -> None:
        """Release the underlying capture."""
        ...


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (safe for logs and errors)."""
    return re.sub(r"(?<=://)[^/@\s]+@", "***@", url)


def _now_ms() -> int:
    return int(time.time() * 1000)


class _PacedSource:
    """Shared logic: fps decimation of a native-rate stream and real-time pacing."""

    def __init__(self, camera_id: str, url: str, *, fps: float, realtime: bool) -> None:
        if fps <= 0:
            raise ValueError(f"camera {camera_id!r}: fps must be positive, got {fps}")
        self.camera_id = camera_id
        self.url = redact_url(url)
        self.fps = fps
        self.realtime = realtime
        self._epoch = 0
        self._index = 0
        self._next_due = 0.0  # media seconds of the next frame to emit
        self._wall_start = 0.0  # monotonic time of media time 0 (real-time pacing)

    def _start_epoch(self) -> int:
        # Strictly increasing even when a source is reopened within the same millisecond.
        self._epoch = max(_now_ms(), self._epoch + 1)
        self._index = 0
        self._next_due = 0.0
        self._wall_start = time.monotonic()
        return self._epoch

    def _due(self, media_t: float) -> bool:
        """Whether the frame at ``media_t`` seconds is the next one to emit at ``fps``."""
        if media_t + 1e-6 < self._next_due:
            return False
        period = 1.0 / self.fps
        # Catch up without a burst when the native rate is irregular.
        self._next_due = max(self._next_due + period, media_t + period * 0.5)
        return True

    def _emit(self, image: Image, media_t: float, decode_s: float) -> Frame:
        if self.realtime:
            delay = self._wall_start + media_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            capture = datetime.now(UTC)
        else:
            capture = datetime.fromtimestamp(self._epoch / 1000.0 + media_t, tz=UTC)
        frame = Frame(self.camera_id, image, capture, self._index, self._epoch, decode_s)
        self._index += 1
        return frame


class VideoFileSource(_PacedSource):
    """A video file (mp4, avi, gif, ...) decoded with OpenCV, emitted at ``fps``.

    A file that cannot be opened, has no decodable frame, or stops decoding well before its
    declared frame count (truncated or corrupt) raises :class:`SourceError`; reaching the end
    normally returns None (or starts over with ``loop=True``, as a new stream epoch).
    """

    def __init__(self, camera_id: str, path: str | Path, *, fps: float = 5.0,
                 realtime: bool = True, loop: bool = False) -> None:
        """Describe the source; nothing is opened until :meth:`open`.

        Args:
            camera_id: Camera the frames belong to.
            path: The video file.
            fps: Frames per second to emit (the file's frames are decimated to it).
            realtime: Pace frames at the file's own speed (like a camera); False emits as
                fast as decoding allows, with capture times on the file's timeline.
            loop: Start over at the end instead of finishing.
        """
        super().__init__(camera_id, str(path), fps=fps, realtime=realtime)
        self.path = Path(path)
        self.loop = loop
        self._cap: Any = None
        self._native_fps = 0.0
        self._declared = 0
        self._decoded = 0

    def open(self) -> int:
        self.close()
        if not self.path.is_file():
            raise SourceError(self.camera_id, self.url, "file not found")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(self.camera_id, self.url, "cannot open as a video (corrupt or "
                              "unsupported container)")
        native = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._native_fps = native if 0.5 < native < 1000 else self.fps
        self._declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._decoded = 0
        self._cap = cap
        return self._start_epoch()

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(self.camera_id, self.url, "read before open")
        decode_s = 0.0
        while True:
            t0 = time.perf_counter()
            # grab() decodes; only frames that are due are converted to BGR by retrieve()
            # (a 10 fps file read at 5 fps skips every other conversion).
            ok = self._cap.grab()
            image = None
            if ok:
                media_t = self._decoded / self._native_fps
                self._decoded += 1
                if not self._due(media_t):
                    decode_s += time.perf_counter() - t0
                    continue
                ok, image = self._cap.retrieve()
            decode_s += time.perf_counter() - t0
            if not ok or image is None:
                self._check_end()
                if self.loop:
                    self.open()
                    decode_s = 0.0
                    continue
                return None
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            return self._emit(np.ascontiguousarray(image), media_t, decode_s)

    def _check_end(self) -> None:
        if self._decoded == 0:
            raise SourceError(self.camera_id, self.url, "no decodable frame (corrupt or empty "
                              "video)")
        # Containers may over-declare by a frame or two; a big shortfall is a broken file.
        if self._declared > 0 and self._decoded < 0.9 * self._declared - 2:
            raise SourceError(
                self.camera_id, self.url,
                f"decoding stopped at frame {self._decoded} of {self._declared} "
                "(truncated or corrupt video)",
            )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class StreamSource(_PacedSource):
    """A live RTSP or HTTP(S) stream through OpenCV's FFmpeg backend.

    Frames are read as they arrive (so the decoder's buffer never grows stale) and emitted
    at ``fps`` by wall clock; the capture time is when the frame was read. A stream that
    cannot be opened within ``open_timeout_s``, or delivers nothing for ``read_timeout_s``,
    raises :class:`SourceError` (transient): the reader reopens it with backoff.
    """

    def __init__(self, camera_id: str, url: str, *, fps: float = 5.0,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> None:
        super().__init__(camera_id, url, fps=fps, realtime=False)
        self._raw_url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._cap: Any = None

    def open(self) -> int:
        self.close()
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000),
        ]
        cap = cv2.VideoCapture(self._raw_url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(self.camera_id, self.url,
                              f"cannot open the stream (unreachable or not a video stream; "
                              f"open timeout {self.open_timeout_s:g} s)")
        self._cap = cap
        return self._start_epoch()

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(self.camera_id, self.url, "read before open")
        last_frame = time.monotonic()
        while True:
            # grab() decodes every frame the stream sends (so none goes stale in the buffer);
            # only the frames that are due are converted to BGR by retrieve(). On a 25 fps
            # MJPEG stream read at 5 fps that took a third less CPU than read() on each frame
            # (66 against 104 ms per second of a 1280×720 stream, 29 against 44 at 768×432).
            t0 = time.perf_counter()
            ok = self._cap.grab()
            decode_s = time.perf_counter() - t0
            now = time.monotonic()
            if ok and not self._due(now - self._wall_start):
                last_frame = now
                continue
            image = None
            if ok:
                t0 = time.perf_counter()
                ok, image = self._cap.retrieve()
                decode_s += time.perf_counter() - t0
            if ok and image is not None:
                return Frame(self.camera_id, np.ascontiguousarray(image), datetime.now(UTC),
                             self._next_index(), self._epoch, decode_s)
            # Read timeouts surface as failed reads; a short burst of them is a hiccup.
            if now - last_frame >= self.read_timeout_s or not self._cap.isOpened():
                raise SourceError(self.camera_id, self.url,
                                  f"stream lost or stalled (no frame for "
                                  f"{now - last_frame:.1f} s)")
            time.sleep(0.01)

    def _next_index(self) -> int:
        i = self._index
        self._index += 1
        return i

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderSource(_PacedSource):
    """A folder of numbered images, e.g. a MOTChallenge sequence's ``img1/``.

    Given the sequence folder, ``img1/`` inside it is used and the native rate is read from
    ``seqinfo.ini`` (``frameRate``); otherwise frames are assumed to be at ``fps``. An image
    that cannot be decoded raises :class:`SourceError` naming it.
    """

    def __init__(self, camera_id: str, path: str | Path, *, fps: float = 5.0,
                 realtime: bool = True, loop: bool = False) -> None:
        super().__init__(camera_id, str(path), fps=fps, realtime=realtime)
        root = Path(path)
        self.folder = root / "img1" if (root / "img1").is_dir() else root
        self.loop = loop
        self._files: list[Path] = []
        self._pos = 0
        self._native_fps = fps

    def open(self) -> int:
        if not self.folder.is_dir():
            raise SourceError(self.camera_id, self.url, "folder not found")
        self._files = sorted(p for p in self.folder.iterdir()
                             if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(self.camera_id, self.url,
                              f"no images ({', '.join(_IMAGE_SUFFIXES)}) in {self.folder}")
        self._native_fps = _seqinfo_rate(self.folder.parent) or self.fps
        self._pos = 0
        return self._start_epoch()

    def read(self) -> Frame | None:
        while True:
            if self._pos >= len(self._files):
                if not self._files:
                    raise SourceError(self.camera_id, self.url, "read before open")
                if self.loop:
                    self.open()
                    continue
                return None
            path = self._files[self._pos]
            media_t = self._pos / self._native_fps
            self._pos += 1
            if not self._due(media_t):
                continue
            t0 = time.perf_counter()
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            decode_s = time.perf_counter() - t0
            if image is None:
                raise SourceError(self.camera_id, self.url,
                                  f"cannot decode image {path.name} (corrupt or not an image)")
            return self._emit(np.asarray(image, dtype=np.uint8), media_t, decode_s)

    def close(self) -> None:
        self._files = []


def _seqinfo_rate(folder: Path) -> float | None:
    ini = folder / "seqinfo.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser()
    with contextlib.suppress(configparser.Error, OSError):
        parser.read(ini)
        rate = parser.getfloat("Sequence", "frameRate", fallback=0.0)
        return rate if rate > 0 else None
    return None


class SimSource(_PacedSource):
    """The simulated store's live camera (``sim://<store>/<camera>?scenario=..&seed=..``).

    Wraps :class:`storeheat.sim.source.SimulatedCameraSource`, which renders the camera at
    its fps (paced in real time, or as fast as it renders) and stamps each frame with the
    scenario's clock; that clock becomes the frame's capture time, so events line up with the
    simulator's ground truth. The frame's ground truth is dropped here: the worker never sees
    it.
    """

    def __init__(self, camera_id: str, url: str, *, fps: float = 5.0, realtime: bool = True,
                 store: Any = None, factory: Callable[[], Iterable[Any]] | None = None) -> None:
        """Describe the source.

        Args:
            camera_id: Camera the frames belong to.
            url: The ``sim://`` URL.
            fps: Frames per second (the simulator renders at the camera's own fps).
            realtime: Pace frames like a live camera.
            store: The :class:`~storeheat.config.StoreConfig` the URL refers to.
            factory: Builds the frame iterable (default: the simulator's source for ``url``
                in ``store``).
        """
        super().__init__(camera_id, url, fps=fps, realtime=realtime)
        self._store = store
        self._factory = factory
        self._iter: Iterator[Any] | None = None

    def _default_factory(self) -> Iterable[Any]:
        if self._store is None:
            raise UnsupportedSourceError(self.camera_id, self.url,
                                         "a sim:// source needs the store config")
        from storeheat.exceptions import StoreheatError
        from storeheat.sim.source import SimulatedCameraSource

        try:
            return SimulatedCameraSource.from_url(self.url, self._store,
                                                  realtime=self.realtime)
        except StoreheatError as exc:  # bad URL / scenario / camera: retrying cannot help
            raise UnsupportedSourceError(self.camera_id, self.url, str(exc)) from exc

    def open(self) -> int:
        self.close()
        self._iter = iter(self._factory() if self._factory else self._default_factory())
        return self._start_epoch()

    def read(self) -> Frame | None:
        if self._iter is None:
            raise SourceError(self.camera_id, self.url, "read before open")
        t0 = time.perf_counter()
        try:
            item = next(self._iter)
        except StopIteration:
            return None
        render_s = time.perf_counter() - t0
        image = np.ascontiguousarray(getattr(item, "frame", item), dtype=np.uint8)
        capture = getattr(item, "capture_time", None) or datetime.now(UTC)
        frame = Frame(self.camera_id, image, capture, self._index, self._epoch, render_s)
        self._index += 1
        return frame

    def close(self) -> None:
        closer = getattr(self._iter, "close", None)
        if callable(closer):
            closer()
        self._iter = None


def open_source(
    camera_id: str,
    url: str,
    *,
    fps: float = 5.0,
    realtime: bool = True,
    loop: bool = False,
    base_dir: Path | None = None,
    store: Any = None,
) -> Source:
    """The source class for ``url`` (see the module docstring); nothing is opened yet.

    Args:
        camera_id: Camera the frames belong to.
        url: The camera's ``source``.
        fps: Frames per second to emit.
        realtime: Pace files and folders at their own speed.
        loop: Restart files and folders at the end.
        base_dir: Folder relative paths are resolved against (the store YAML's folder).
        store: The store config (needed by ``sim://`` sources).

    Raises:
        UnsupportedSourceError: an unknown scheme, or a path that is neither file nor folder.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps", "rtmp", "http", "https"):
        return StreamSource(camera_id, url, fps=fps)
    if scheme == "sim":
        return SimSource(camera_id, url, fps=fps, realtime=realtime, store=store)
    if scheme == "file":
        path = Path(unquote(urlsplit(url).path))
    elif scheme in ("",) or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        path = Path(url)
    else:
        raise UnsupportedSourceError(
            camera_id, url, f"unknown scheme {scheme!r}; expected rtsp://, http(s)://, "
            "file:// or a path, or sim://<store>/<camera>")
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.is_dir():
        return ImageFolderSource(camera_id, path, fps=fps, realtime=realtime, loop=loop)
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        raise UnsupportedSourceError(camera_id, url, "a single image is not a camera; give "
                                     "the folder of a sequence")
    # A missing file is reported (and retried) when opened: it may be mounted later.
    return VideoFileSource(camera_id, path, fps=fps, realtime=realtime, loop=loop)


@dataclass
class Backoff:
    """Exponential backoff with jitter between reopen attempts.

    Attributes:
        initial_s: First delay.
        factor: Growth per failure.
        max_s: Ceiling.
        jitter: Relative random spread, so many cameras do not retry in lockstep.
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.1
    _failures: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (grows with consecutive failures)."""
        base = min(self.max_s, self.initial_s * self.factor ** self._failures)
        self._failures += 1
        return base * (1.0 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        """A success: the next failure starts from ``initial_s`` again."""
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures


class CameraReader:
    """Runs one source forever: open, read, and reopen with backoff after any failure.

    Calls ``on_frame(frame)`` for each frame, ``on_error(error)`` for each failure (the
    camera is down until the next frame), ``on_epoch(epoch)`` after each successful open.
    Stops when ``stop`` is set, when a finite source ends, or after a non-transient error.

    Attributes:
        finished: Set when the reader returned.
        last_error: The most recent failure (None after a frame arrived).
    """

    def __init__(
        self,
        source: Source,
        *,
        on_frame: Callable[[Frame], None],
        on_error: Callable[[SourceError], None] = lambda e: None,
        on_epoch: Callable[[int], None] = lambda e: None,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.source = source
        self.on_frame = on_frame
        self.on_error = on_error
        self.on_epoch = on_epoch
        self.stop = stop or threading.Event()
        self.backoff = backoff or Backoff()
        self.finished = threading.Event()
        self.last_error: SourceError | None = None
        self.ended_normally = False

    def run(self) -> None:
        """The read loop (blocking; the worker runs it in a thread per camera)."""
        try:
            while not self.stop.is_set():
                try:
                    epoch = self.source.open()
                    self.on_epoch(epoch)
                    while not self.stop.is_set():
                        frame = self.source.read()
                        if frame is None:
                            self.ended_normally = True
                            return
                        if self.last_error is not None:
                            self.last_error = None
                        self.backoff.reset()
                        self.on_frame(frame)
                except SourceError as exc:
                    self.last_error = exc
                    self.on_error(exc)
                    if not exc.transient:
                        return
                    with contextlib.suppress(SourceError):
                        self.source.close()
                    self.stop.wait(self.backoff.next_delay())
        finally:
            with contextlib.suppress(SourceError):
                self.source.close()
            self.finished.set()
