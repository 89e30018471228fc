"""Camera sources on real files, folders and a local HTTP stream; reopen with backoff."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from streaming.runtime_exceptions import SourceError, UnsupportedSourceError
from streaming.sources import (
    Backoff,
    CameraReader,
    Frame,
    ImageFolderSource,
    StreamSource,
    VideoFileSource,
    open_source,
    redact_url,
)


def write_clip(path: Path, *, frames: int = 30, fps: float = 15.0, size: tuple[int, int] = (96, 64)
               ) -> Path:
    """A small mp4 whose frame i has a bright square at x = 2*i (so frames are distinguishable)."""
    w, h = size
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert out.isOpened()
    for i in range(frames):
        img = np.zeros((h, w, 3), np.uint8)
        img[10:30, 2 * i % (w - 20): 2 * i % (w - 20) + 20] = 255
        out.write(img)
    out.release()
    return path


def read_all(source: VideoFileSource | ImageFolderSource | StreamSource, limit: int = 1000
             ) -> list[Frame]:
    source.open()
    frames: list[Frame] = []
    while len(frames) < limit:
        f = source.read()
        if f is None:
            break
        frames.append(f)
    source.close()
    return frames


def test_video_file_is_decimated_to_the_camera_fps(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "a.mp4", frames=30, fps=15.0)
    frames = read_all(VideoFileSource("cam-1", clip, fps=5.0, realtime=False))
    assert len(frames) == 10  # 2 s of video at 5 fps
    assert [f.index for f in frames] == list(range(10))
    assert len({f.stream_epoch for f in frames}) == 1
    gaps = np.diff([f.capture_time.timestamp() for f in frames])
    np.testing.assert_allclose(gaps, 0.2, atol=0.01)
    assert frames[0].image.shape == (64, 96, 3) and frames[0].image.dtype == np.uint8
    assert "image" not in repr(frames[0])  # pixels never end up in a log line


def test_loop_restarts_with_a_new_epoch(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "a.mp4", frames=6, fps=5.0)
    src = VideoFileSource("cam-1", clip, fps=5.0, realtime=False, loop=True)
    frames = read_all(src, limit=14)
    epochs = sorted({f.stream_epoch for f in frames})
    assert len(frames) == 14 and len(epochs) == 3
    assert [f.index for f in frames if f.stream_epoch == epochs[1]] == list(range(6))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.mp4", "file not found"),
        (lambda p: (p / "junk.mp4").write_bytes(b"\x00not a video" * 500) and p / "junk.mp4",
         "cannot open|no decodable frame"),
    ],
)
def test_unreadable_files_name_camera_and_file(tmp_path: Path, make, match: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    src = VideoFileSource("cam-x", path, realtime=False)
    with pytest.raises(SourceError, match=match) as info:
        read_all(src)
    assert "cam-x" in str(info.value) and str(path) in str(info.value)
    assert info.value.transient


@pytest.mark.parametrize(("fourcc", "suffix", "match"), [
    ("MJPG", ".avi", "decoding stopped at frame"),   # index lost, frames decodable up to the cut
    ("mp4v", ".mp4", "cannot open as a video"),      # mp4's index (moov) is at the end: gone
])
def test_truncated_file_is_an_error(tmp_path: Path, fourcc: str, suffix: str, match: str) -> None:
    path = tmp_path / f"cut{suffix}"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 15.0, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(60):
        out.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    out.release()
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])
    src = VideoFileSource("cam-t", path, fps=15.0, realtime=False)
    good = 0
    with pytest.raises(SourceError, match=match) as info:
        src.open()
        while src.read() is not None:
            good += 1
    assert good < 60 and info.value.transient and "cam-t" in str(info.value)


def test_image_folder_reads_motchallenge_layout(tmp_path: Path) -> None:
    seq = tmp_path / "SEQ-01"
    (seq / "img1").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SEQ-01\nframeRate=10\nseqLength=8\n")
    for i in range(1, 9):
        img = np.full((20, 30, 3), i * 20, np.uint8)
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), img)
    src = open_source("cam-m", str(seq), fps=5.0, realtime=False)
    assert isinstance(src, ImageFolderSource)
    frames = read_all(src)
    # 8 frames at 10 fps decimated to 5 fps: frames 1, 3, 5, 7
    assert len(frames) == 4
    assert [int(f.image.mean()) // 10 for f in frames] == [2, 6, 10, 14]


def test_corrupt_image_in_folder_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "img1").mkdir()
    cv2.imwrite(str(tmp_path / "img1" / "000001.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "img1" / "000002.jpg").write_bytes(b"garbage")
    src = ImageFolderSource("cam-c", tmp_path, fps=100.0, realtime=False)
    with pytest.raises(SourceError, match="000002.jpg"):
        read_all(src)


class MjpegCamera:
    """A local IP camera: MJPEG over HTTP (multipart/x-mixed-replace), 25 fps; can stall."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        cam = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while True:
                        if cam.stalled.is_set():
                            time.sleep(0.05)
                            continue
                        ok, buf = cv2.imencode(".jpg", np.full((64, 96, 3), i % 250, np.uint8))
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         b"Content-Length: " + str(len(buf)).encode()
                                         + b"\r\n\r\n" + buf.tobytes() + b"\r\n")
                        i += 1
                        time.sleep(0.04)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mjpeg_camera() -> Iterator[MjpegCamera]:
    cam = MjpegCamera()
    yield cam
    cam.stalled.clear()
    cam.close()


def test_http_camera_is_read_at_the_camera_fps(mjpeg_camera: MjpegCamera) -> None:
    src = open_source("cam-h", mjpeg_camera.url, fps=5.0)
    assert isinstance(src, StreamSource)
    src.open()
    frames = [src.read() for _ in range(4)]
    src.close()
    assert all(f is not None and f.image.shape == (64, 96, 3) for f in frames)
    assert [f.index for f in frames if f is not None] == [0, 1, 2, 3]


class CountingCapture:
    """Stands in for OpenCV's capture in a unit test of the decimation: 25 frames a second."""

    def __init__(self) -> None:
        self.grabbed = self.retrieved = 0

    def grab(self) -> bool:
        time.sleep(0.04)
        self.grabbed += 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        self.retrieved += 1
        return True, np.full((8, 8, 3), self.grabbed % 250, np.uint8)

    def isOpened(self) -> bool:  # noqa: N802
        return True

    def release(self) -> None:
        return


def test_stream_converts_only_the_frames_it_emits() -> None:
    """Every frame of a 25 fps stream is decoded (grab), so the buffer never goes stale, but
    only the 5 a second that are emitted are converted to BGR (retrieve)."""
    src = StreamSource("cam-d", "rtsp://127.0.0.1/x", fps=5.0)
    cap = CountingCapture()
    src._cap = cap
    src._start_epoch()
    frames = [src.read() for _ in range(5)]
    assert [f.index for f in frames if f is not None] == [0, 1, 2, 3, 4]
    assert cap.retrieved == 5
    # ~5 grabbed for each one emitted; 2 leaves room for a loaded machine's slow sleeps
    assert cap.grabbed >= 2 * 5


def test_stalled_stream_is_reported_and_reopened(mjpeg_camera: MjpegCamera) -> None:
    src = StreamSource("cam-s", mjpeg_camera.url, fps=5.0, read_timeout_s=1.0)
    frames: list[Frame] = []
    errors: list[SourceError] = []
    stop = threading.Event()

    def on_frame(f: Frame) -> None:
        frames.append(f)
        if len(frames) == 3:
            mjpeg_camera.stalled.set()  # the camera freezes after 3 frames
        if len(frames) == 6:
            stop.set()

    def on_error(e: SourceError) -> None:
        errors.append(e)
        mjpeg_camera.stalled.clear()  # ... and comes back

    reader = CameraReader(src, on_frame=on_frame, on_error=on_error, stop=stop,
                          backoff=Backoff(initial_s=0.05))
    thread = threading.Thread(target=reader.run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(errors) >= 1 and "stalled" in str(errors[0])
    epochs = sorted({f.stream_epoch for f in frames})
    assert len(frames) == 6 and len(epochs) >= 2  # a reopen starts a new stream epoch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_stream_is_a_transient_error_without_credentials() -> None:
    url = f"rtsp://admin:secret@127.0.0.1:{_free_port()}/stream"
    src = StreamSource("cam-r", url, open_timeout_s=2.0)
    with pytest.raises(SourceError, match="cannot open the stream") as info:
        src.open()
    assert info.value.transient and "secret" not in str(info.value)
    assert "cam-r" in str(info.value)


@pytest.mark.parametrize(
    ("url", "error"),
    [("ftp://host/x", UnsupportedSourceError), ("/tmp/one-image.png", UnsupportedSourceError)],
)
def test_unsupported_urls(url: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        open_source("cam-u", url)
    assert info.value.transient is False  # type: ignore[attr-defined]


def test_redact_url() -> None:
    assert redact_url("rtsp://u:p@cam.local:554/s") == "rtsp://***@cam.local:554/s"
    assert redact_url("/data/x.mp4") == "/data/x.mp4"


class _Flaky:
    """A real file source that fails to open the first ``fail`` times (stream going down)."""

    def __init__(self, inner: VideoFileSource, fail: int) -> None:
        self.inner, self.fail = inner, fail
        self.camera_id, self.url = inner.camera_id, inner.url
        self.opens = 0

    def open(self) -> int:
        self.opens += 1
        if self.opens <= self.fail:
            raise SourceError(self.camera_id, self.url, "connection refused")
        return self.inner.open()

    def read(self) -> Frame | None:
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


def test_reader_reopens_with_backoff_and_reports_each_error(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "a.mp4", frames=10, fps=10.0)
    flaky = _Flaky(VideoFileSource("cam-f", clip, fps=10.0, realtime=False), fail=3)
    frames: list[Frame] = []
    errors: list[SourceError] = []
    backoff = Backoff(initial_s=0.01, max_s=0.05)
    reader = CameraReader(flaky, on_frame=frames.append, on_error=errors.append, backoff=backoff)
    reader.run()
    assert flaky.opens == 4 and len(errors) == 3
    assert len(frames) == 10 and reader.ended_normally and reader.last_error is None
    assert backoff.failures == 0  # reset by the first frame


def test_backoff_grows_and_is_capped() -> None:
    b = Backoff(initial_s=1.0, factor=2.0, max_s=5.0, jitter=0.0)
    assert [b.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_simulated_camera_is_read_with_the_scenario_clock() -> None:
    from storeheat.config import load_store_config
    from storeheat.paths import REPO_ROOT
    from streaming.sources import SimSource

    store = load_store_config(REPO_ROOT / "configs" / "demo-store.yaml")
    url = "sim://demo-store/cam-aisles?seed=3&seconds=1"
    src = open_source("cam-aisles", url, fps=5.0, realtime=False, store=store)
    assert isinstance(src, SimSource)
    frames = []
    src.open()
    while (f := src.read()) is not None:
        frames.append(f)
    src.close()
    assert len(frames) == 5 and [f.index for f in frames] == list(range(5))
    assert frames[0].image.shape == (360, 640, 3)
    gaps = np.diff([f.capture_time.timestamp() for f in frames])
    np.testing.assert_allclose(gaps, 0.2, atol=1e-6)  # the scenario's clock, not the wall's


def test_sim_url_for_another_store_is_not_retried() -> None:
    from storeheat.config import load_store_config
    from storeheat.paths import REPO_ROOT

    store = load_store_config(REPO_ROOT / "configs" / "demo-store.yaml")
    src = open_source("cam-aisles", "sim://other-store/cam-aisles", store=store)
    with pytest.raises(UnsupportedSourceError, match="other-store") as info:
        src.open()
    assert info.value.transient is False
