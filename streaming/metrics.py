"""Prometheus metrics of the worker and its HTTP endpoint (``/metrics`` and ``/healthz``).

Every worker owns one :class:`WorkerMetrics` on its own ``CollectorRegistry`` (not the global
one), so several workers, tests or benchmarks in one process never share counters.

Metric names (all prefixed ``storeheat_worker_``):

=================================  =========  ================================================
name                               type       meaning
=================================  =========  ================================================
frames_read_total{camera}          counter    frames taken from the source (after fps pacing)
frames_processed_total{camera}     counter    frames through the pipeline and published
frames_skipped_total{camera}       counter    frames not processed because the worker was behind
frames_dropped_total{camera,reason} counter   frames dropped by the pipeline (fail-closed blur)
stage_seconds{stage}               histogram  per-stage time of a batch (decode, detect, ...)
capture_to_ack_seconds             histogram  capture time → Kafka acknowledgement
fps{camera}                        gauge      processed frames per second (last 10 s)
camera_up{camera}                  gauge      1 while the source delivers frames
source_errors_total{camera}        counter    source open/read failures
kafka_errors_total{kind}           counter    delivery failures, by kind
kafka_connected                    gauge      1 when events go straight to Kafka
journal_depth                      gauge      events waiting in the on-disk journal
journal_bytes                      gauge      bytes waiting in the journal
journal_full_total                 counter    events lost: journal full or disk full
events_published_total{topic}      counter    events acknowledged by Kafka
segments_total                     counter    video segments finished and announced
storage_errors_total{kind}         counter    segment write failures (disk full, ...)
=================================  =========  ================================================
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

#: Stages timed per batch (the pipeline's own stage names are added as they are reported).
STAGES = ("decode", "detect", "blur", "track", "project", "publish", "segment")

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class WorkerMetrics:
    """The worker's metrics on a private registry.

    Attributes:
        registry: The registry ``/metrics`` serves.
    """

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        p = "storeheat_worker_"
        r = self.registry
        self.frames_read = Counter(p + "frames_read", "Frames taken from sources.", ["camera"],
                                   registry=r)
        self.frames_processed = Counter(p + "frames_processed", "Frames processed and published.",
                                        ["camera"], registry=r)
        self.frames_skipped = Counter(p + "frames_skipped",
                                      "Frames skipped because the worker was behind real time.",
                                      ["camera"], registry=r)
        self.frames_dropped = Counter(p + "frames_dropped",
                                      "Frames dropped by the pipeline (fail-closed privacy).",
                                      ["camera", "reason"], registry=r)
        self.stage_seconds = Histogram(p + "stage_seconds", "Per-stage time of one batch.",
                                       ["stage"], buckets=_STAGE_BUCKETS, registry=r)
        self.capture_to_ack = Histogram(p + "capture_to_ack_seconds",
                                        "Capture time to Kafka acknowledgement.",
                                        buckets=_LATENCY_BUCKETS, registry=r)
        self.fps = Gauge(p + "fps", "Processed frames per second (last 10 s).", ["camera"],
                         registry=r)
        self.camera_up = Gauge(p + "camera_up", "1 while the camera's source delivers frames.",
                               ["camera"], registry=r)
        self.source_errors = Counter(p + "source_errors", "Source open/read failures.",
                                     ["camera"], registry=r)
        self.kafka_errors = Counter(p + "kafka_errors", "Kafka delivery failures.", ["kind"],
                                    registry=r)
        self.kafka_connected = Gauge(p + "kafka_connected",
                                     "1 when events go straight to Kafka, 0 while journaling.",
                                     registry=r)
        self.journal_depth = Gauge(p + "journal_depth", "Events waiting in the journal.",
                                   registry=r)
        self.journal_bytes = Gauge(p + "journal_bytes", "Bytes waiting in the journal.",
                                   registry=r)
        self.journal_full = Counter(p + "journal_full",
                                    "Events lost because the journal or its disk was full.",
                                    registry=r)
        self.events_published = Counter(p + "events_published", "Events acknowledged by Kafka.",
                                        ["topic"], registry=r)
        self.segments = Counter(p + "segments", "Video segments finished and announced.",
                                registry=r)
        self.storage_errors = Counter(p + "storage_errors", "Segment write failures.", ["kind"],
                                      registry=r)
        self._fps_lock = threading.Lock()
        self._fps_window: dict[str, deque[float]] = {}

    def observe_processed(self, camera: str, *, now: float | None = None) -> None:
        """Count one processed frame and update the camera's fps gauge (10 s window)."""
        self.frames_processed.labels(camera=camera).inc()
        t = time.monotonic() if now is None else now
        with self._fps_lock:
            window = self._fps_window.setdefault(camera, deque())
            window.append(t)
            while window and window[0] < t - 10.0:
                window.popleft()
            span = max(t - window[0], 1e-9) if len(window) > 1 else 0.0
            self.fps.labels(camera=camera).set((len(window) - 1) / span if span else 0.0)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)


HealthFn = Callable[[], tuple[bool, dict[str, Any]]]


class MetricsServer:
    """A small HTTP server: ``GET /metrics`` (Prometheus) and ``GET /healthz`` (JSON).

    ``/healthz`` answers 200 when ``health()`` says healthy, else 503, with the details as JSON.
    Runs in a daemon thread; :meth:`close` stops it.

    Attributes:
        port: The bound port (useful with ``port=0``).
    """

    def __init__(
        self,
        metrics: WorkerMetrics,
        health: HealthFn,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Bind and start serving.

        Args:
            metrics: What ``/metrics`` serves.
            health: Returns ``(healthy, details)`` for ``/healthz``.
            host: Bind address (loopback by default: metrics are not for the world).
            port: TCP port; 0 picks a free one.

        Raises:
            OSError: the port cannot be bound.
        """
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.split("?")[0] == "/metrics":
                    body, code, ctype = metrics.render(), 200, CONTENT_TYPE_LATEST
                elif self.path.split("?")[0] in ("/healthz", "/health"):
                    ok, details = health()
                    body = json.dumps({"status": "ok" if ok else "unhealthy", **details}).encode()
                    code, ctype = (200 if ok else 503), "application/json"
                else:
                    body, code, ctype = b"not found: try /metrics or /healthz\n", 404, "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # scrapes every few seconds would flood the worker's log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
