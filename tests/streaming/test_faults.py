"""Faults: broker outage mid-run, broken camera sources, full disks.

The outage test stops and restarts a real broker of its own (free ports, data in a tmp
folder) while the worker runs; the window is seconds, not a minute, the mechanism the same.
Full disks are real write failures: the process under test runs with a file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored), so writes past it fail with ``EFBIG`` as they
would with ``ENOSPC``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from data_contracts.topics import DETECTIONS
from storeheat.config import StoreConfig, load_store_config
from storeheat.paths import REPO_ROOT
from streaming.config import WorkerConfig
from streaming.journal import Journal, JournalRecord
from streaming.metrics import WorkerMetrics
from streaming.pipeline import FrameProcessor
from streaming.publisher import Ack, Publisher
from streaming.sources import VideoFileSource, open_source
from streaming.worker import Worker, build_processor
from tests.streaming.conftest import YOLOX_NANO
from tests.streaming.runtime_helpers import free_ports, private_broker, read_topic

DEMO = REPO_ROOT / "configs" / "demo-store.yaml"


def noise_clip(path: Path, *, frames: int, fps: float = 5.0, size: tuple[int, int] = (320, 180)
               ) -> Path:
    rng = np.random.default_rng(1)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for _ in range(frames):
        out.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    out.release()
    return path


@pytest.fixture(scope="module")
def processor() -> FrameProcessor:
    return build_processor(WorkerConfig(model=str(YOLOX_NANO), faces=False, threads=1))


class RecordingPublisher(Publisher):
    """The real publisher, also remembering every event id the worker handed it."""

    def __init__(self, **kwargs: object) -> None:
        self.produced: list[str] = []
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def publish_record(self, record: JournalRecord) -> bool:
        if record.topic == DETECTIONS.name:
            self.produced.append(record.event_id)
        return super().publish_record(record)


def _wait(cond: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def test_broker_outage_mid_run_loses_no_event(tmp_path: Path, processor: FrameProcessor) -> None:
    broker = private_broker(tmp_path / "kafka")
    try:
        store = load_store_config(DEMO)
        clip = noise_clip(tmp_path / "clip.mp4", frames=20)
        source = VideoFileSource("cam-entrance", clip, fps=5.0, realtime=True, loop=True)
        acks: list[Ack] = []
        metrics = WorkerMetrics()
        pub = RecordingPublisher(bootstrap=broker.bootstrap, journal=Journal(tmp_path / "j"),
                                 metrics=metrics, delivery_timeout_s=3.0,
                                 bootstrap_timeout_s=2.0, replay_interval_s=0.5,
                                 on_ack=acks.append)
        worker = Worker(store, processor=processor, publisher=pub, cameras=["cam-entrance"],
                        config=WorkerConfig(segments=False, metrics_port=None),
                        sources={"cam-entrance": source}, metrics=metrics)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            _wait(lambda: len(acks) >= 10, 120, "10 acknowledged events before the outage")
            broker.stop()
            _wait(lambda: pub.journal.depth >= 15, 120, "events journaled during the outage")
            assert not pub.connected
            broker.start()
            _wait(lambda: pub.connected, 180, "the journal to drain after the restart")
            seen = len(pub.produced)
            _wait(lambda: len(pub.produced) >= seen + 5, 60, "direct sending again")
        finally:
            worker.stop()
            thread.join(timeout=60)
        produced = list(pub.produced)
        assert len(produced) >= 30 and len(set(produced)) == len(produced)
        got = read_topic(broker.bootstrap, DETECTIONS.name, want=produced, timeout_s=60)
        arrived = {str(v["event_id"]) for _, v in got}
        missing = set(produced) - arrived
        assert not missing, f"{len(missing)} of {len(produced)} events never arrived"
        assert pub.journal.depth == 0
        errors = sum(s.value for m in metrics.kafka_errors.collect() for s in m.samples
                     if s.name.endswith("_total"))
        assert errors >= 1
        assert any(a.replayed for a in acks)
    finally:
        broker.stop()


def test_broken_cameras_are_retried_while_the_others_continue(
    tmp_path: Path, processor: FrameProcessor
) -> None:
    store = load_store_config(DEMO)
    good = noise_clip(tmp_path / "good.mp4", frames=15)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(50_000))
    [dead] = free_ports(1)
    sources = {
        "cam-entrance": VideoFileSource("cam-entrance", good, fps=5.0, realtime=False),
        "cam-aisles": open_source("cam-aisles", str(corrupt), realtime=False),
        "cam-checkout": open_source("cam-checkout", f"rtsp://127.0.0.1:{dead}/live"),
    }
    for s in sources.values():
        if hasattr(s, "open_timeout_s"):
            s.open_timeout_s = 1.0  # type: ignore[attr-defined]
    metrics = WorkerMetrics()
    [dead_kafka] = free_ports(1)
    pub = Publisher(bootstrap=f"127.0.0.1:{dead_kafka}", journal=Journal(tmp_path / "j"),
                    metrics=metrics, bootstrap_timeout_s=1.0, replay_interval_s=60)
    cfg = WorkerConfig(segments=False, metrics_port=None, realtime=False,
                       backoff_initial_s=0.05, backoff_max_s=0.2)
    worker = Worker(store, processor=processor, publisher=pub, config=cfg, sources=sources,
                    metrics=metrics)
    health: list[dict[str, object]] = []

    def stop_when_good_camera_done() -> None:
        _wait(lambda: worker.cameras["cam-entrance"].processed >= 15
              and worker.cameras["cam-checkout"].errors >= 2, 120,
              "every frame of the good camera while the others fail")
        health.append(worker.health()[1])
        worker.stop()

    stopper = threading.Thread(target=stop_when_good_camera_done)
    stopper.start()
    report = worker.run()
    stopper.join()
    assert report.processed["cam-entrance"] == 15
    assert report.processed["cam-aisles"] == 0 and report.processed["cam-checkout"] == 0
    assert report.source_errors["cam-aisles"] >= 2  # reported, and retried
    assert report.source_errors["cam-checkout"] >= 2
    cams = health[0]["cameras"]
    assert "corrupt" in str(cams["cam-aisles"]["last_error"])  # type: ignore[index]
    assert "cannot open the stream" in str(cams["cam-checkout"]["last_error"])  # type: ignore[index]
    assert health[0]["degraded"] is True
    source_errors = metrics.registry.get_sample_value(
        "storeheat_worker_source_errors_total", {"camera": "cam-aisles"})
    assert source_errors is not None and source_errors >= 2
    # Kafka was unreachable throughout: the good camera's events wait in the journal.
    assert report.journal_depth == 15 and report.events_lost == 0


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


_JOURNAL_SCRIPT = """
import json, sys
from streaming.journal import Journal
from streaming.metrics import WorkerMetrics
from streaming.publisher import Publisher
from tests.streaming.runtime_helpers import frame_event
metrics = WorkerMetrics()
pub = Publisher(bootstrap=sys.argv[2], journal=Journal(sys.argv[1], file_bytes=1 << 30),
                metrics=metrics, bootstrap_timeout_s=1.0, replay_interval_s=60)
results = [pub.publish(frame_event(i, epoch=1)) for i in range(200)]
pub.close(timeout_s=1)
print(json.dumps({"kept": sum(results), "results": results, "lost": pub.lost,
                  "metric": metrics.registry.get_sample_value(
                      "storeheat_worker_journal_full_total")}))
"""


def test_full_disk_for_the_journal_is_an_error_and_a_metric(tmp_path: Path) -> None:
    [dead] = free_ports(1)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _JOURNAL_SCRIPT, str(tmp_path / "j"), f"127.0.0.1:{dead}"],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT,
        preexec_fn=lambda: _limit_file_size(20_000),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    kept = out["kept"]
    assert 0 < kept < 200 and out["results"] == [True] * kept + [False] * (200 - kept)
    assert out["lost"] == 200 - kept == out["metric"]
    assert "disk full" in proc.stderr and "Traceback" not in proc.stderr
    # What was written stays readable: the next run finds every kept event.
    assert Journal(tmp_path / "j").depth == kept


def _one_camera_store(tmp_path: Path, clip: Path, *, segment_seconds: float) -> Path:
    data = yaml.safe_load(DEMO.read_text())
    cam = data["cameras"][0]
    cam["source"] = str(clip)
    data["cameras"] = [cam]
    data["storage"] = {"segment_seconds": segment_seconds}
    data["store_id"] = f"diskfull-{uuid.uuid4().hex[:8]}"  # this run's events only
    path = tmp_path / "store.yaml"
    path.write_text(yaml.safe_dump(data))
    StoreConfig.model_validate(data)
    return path


def test_full_disk_for_segments_keeps_the_worker_publishing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    clip = noise_clip(tmp_path / "clip.mp4", frames=25, size=(640, 360))
    store = _one_camera_store(tmp_path, clip, segment_seconds=2.0)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # The clip is noise: one encoded frame alone is over 40 KB, so every segment fails, even
    # a one-frame segment (the last one, when the clip ends just after a 2 s boundary, has a
    # single frame: 120 KB and then 50 KB let it through). The journal stays far below.
    limit = 20_000
    cmd = [sys.executable, "-m", "storeheat.cli", "worker", "--config", str(store),
           "--offline", "--no-faces", "--model", str(YOLOX_NANO), "--threads", "1",
           "--bootstrap", kafka_bootstrap, "--hot-video", (tmp_path / "hot").as_uri(),
           "--journal-dir", str(tmp_path / "j"), "--metrics-port", "-1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          cwd=REPO_ROOT, preexec_fn=lambda: _limit_file_size(limit))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["processed"] == {"cam-entrance": 25}
    assert summary["segments"] == 0 and summary["events_lost"] == 0
    logs = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    failures = [r for r in logs if r["msg"] == "video segment failed"]
    assert failures and "not written completely" in failures[0]["reason"]
    assert len(failures) <= 3  # rate-limited: one line per 10 s, not one per frame
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "hot").rglob("*.mp4"))  # no partial or broken file left
    store_id = yaml.safe_load(store.read_text())["store_id"]
    got = read_topic(kafka_bootstrap, DETECTIONS.name, timeout_s=30,
                     where={"store_id": store_id})
    # every event of the run reached Kafka despite the full disk
    assert sorted(int(str(v["frame_index"])) for _, v in got) == list(range(25))
