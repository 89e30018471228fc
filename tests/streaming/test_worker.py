"""The worker end to end: a simulated store clip → real Kafka events and blurred segments.

Checks the events (one per frame per camera, contract-valid, floor positions near the
simulator's truth) and the segments (complete files, announced on Kafka, and no visible face
left unblurred by the evaluation's leakage check).
"""

from __future__ import annotations

import csv
import json
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from data_contracts.events import FrameDetections, VideoSegment
from data_contracts.topics import DETECTIONS, SEGMENTS
from storeheat.config import StoreConfig, load_store_config
from storeheat.evaluation.leakage import combine_leakage, measure_leakage
from storeheat.sim.run import simulate
from streaming.config import WorkerConfig
from streaming.publisher import Ack
from streaming.worker import CameraState, WorkerReport, build_worker, cameras_due
from tests.streaming.conftest import YOLOX_NANO, YUNET
from tests.streaming.runtime_helpers import read_topic

SECONDS = 8.0
SEED = 11


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(out=out, cameras=2, seconds=SECONDS, seed=SEED)
    return out


def short_segments(store: StoreConfig, seconds: float) -> StoreConfig:
    return store.model_copy(
        update={"storage": store.storage.model_copy(update={"segment_seconds": seconds})})


@pytest.fixture(scope="module")
def worker_run(sim_run: Path, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, object]:
    """Run the worker once over the whole clip (every frame) and collect what it did."""
    tmp = tmp_path_factory.mktemp("worker")
    store = short_segments(load_store_config(sim_run / "store-video.yaml"), 2.0)
    cfg = WorkerConfig(model=str(YOLOX_NANO), face_model=str(YUNET), realtime=False,
                       journal_dir=str(tmp / "journal"), metrics_port=0, threads=1)
    acks: list[Ack] = []
    lock = threading.Lock()

    def on_ack(a: Ack) -> None:
        with lock:
            acks.append(a)

    worker = build_worker(store, config=cfg, bootstrap=kafka_bootstrap, on_ack=on_ack,
                          hot_url=(tmp / "hot").as_uri(), source_base_dir=sim_run)
    health: list[tuple[int, dict[str, object]]] = []
    metrics_text: list[str] = []

    def probe() -> None:
        # /healthz and /metrics while the worker runs
        while worker._server is None and not worker.stopping:
            time.sleep(0.05)
        while not worker.stopping and worker._server is not None:
            url = worker._server.url
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                    health.append((r.status, json.loads(r.read())))
                with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                    metrics_text.append(r.read().decode())
                return
            except OSError:
                time.sleep(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    threads_before = worker.processor._pool is not None
    report = worker.run()
    prober.join(timeout=10)
    return {"report": report, "acks": acks, "tmp": tmp, "health": health,
            "frame_threads": (threads_before, worker.processor._pool is not None),
            "metrics": metrics_text, "registry": worker.metrics.registry,
            "epochs": {cid: st.epoch for cid, st in worker.cameras.items()}}


def test_the_worker_closes_the_frame_threads_of_the_pipeline_it_built(
    worker_run: dict[str, object]
) -> None:
    assert worker_run["frame_threads"] == (True, False)  # running, then shut down at stop


def _frames(sim_run: Path) -> dict[str, int]:
    info = json.loads((sim_run / "run.json").read_text())
    return {c["id"]: int(c["frames"]) for c in info["cameras"]}


def _events(kafka_bootstrap: str, worker_run: dict[str, object]) -> list[FrameDetections]:
    acks = [a for a in worker_run["acks"] if a.topic == DETECTIONS.name]  # type: ignore[attr-defined]
    got = read_topic(kafka_bootstrap, DETECTIONS.name, want=[a.event_id for a in acks])
    epochs = set(worker_run["epochs"].values())  # type: ignore[attr-defined]
    return [FrameDetections.from_dict(v) for _, v in got if v["stream_epoch"] in epochs]


def test_one_contract_valid_event_per_frame_and_camera(
    sim_run: Path, kafka_bootstrap: str, worker_run: dict[str, object]
) -> None:
    report = worker_run["report"]
    assert isinstance(report, WorkerReport)
    frames = _frames(sim_run)
    assert dict(report.processed) == frames  # offline mode: no frame skipped or dropped
    assert sum(report.dropped.values()) == 0 and sum(report.skipped.values()) == 0
    assert report.journal_depth == 0 and report.events_lost == 0
    events = _events(kafka_bootstrap, worker_run)
    per_camera: dict[str, list[int]] = defaultdict(list)
    for e in events:
        per_camera[e.camera_id].append(e.frame_index)
        assert e.store_id == "demo-store" and e.frame_width == 640 and e.frame_height == 360
    assert {c: sorted(set(ix)) for c, ix in per_camera.items()} == {
        c: list(range(n)) for c, n in frames.items()}
    assert sum(len(e.detections) for e in events) > 0


def _truth_positions(sim_run: Path) -> dict[tuple[float, int], tuple[float, float]]:
    out = {}
    with open(sim_run / "trajectories.csv") as fh:
        for row in csv.DictReader(fh):
            out[(round(float(row["t"]), 1), int(row["person_id"]))] = (
                float(row["x"]), float(row["y"]))
    return out


def _gt_boxes(sim_run: Path, camera: str) -> dict[int, list[tuple[int, np.ndarray]]]:
    gt = np.loadtxt(sim_run / "mot" / camera / "gt" / "gt.txt", delimiter=",", ndmin=2)
    out: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for f, pid, x, y, w, h, consider, _, vis in gt:
        if consider and vis >= 0.7:  # a mostly visible person: the foot point is in view
            out[int(f)].append((int(pid), np.array([x, y, x + w, y + h])))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_floor_positions_are_within_tolerance_of_the_truth(
    sim_run: Path, kafka_bootstrap: str, worker_run: dict[str, object]
) -> None:
    truth = _truth_positions(sim_run)
    errors = []
    for e in _events(kafka_bootstrap, worker_run):
        gt = _gt_boxes(sim_run, e.camera_id)[e.frame_index + 1]
        t = round(e.frame_index / 5.0, 1)
        for d in e.detections:
            if not d.on_floor:
                continue
            box = np.array([d.x1, d.y1, d.x2, d.y2])
            best = max(gt, key=lambda g: _iou(box, g[1]), default=None)
            if best is None or _iou(box, best[1]) < 0.5 or (t, best[0]) not in truth:
                continue
            tx, ty = truth[(t, best[0])]
            assert d.floor_x is not None and d.floor_y is not None
            errors.append(float(np.hypot(d.floor_x - tx, d.floor_y - ty)))
    assert len(errors) >= 20, f"too few matched detections to judge ({len(errors)})"
    errs = np.array(errors)
    # Box bottoms are a few pixels off the true feet; far from the camera a pixel is
    # decimetres. Median within 0.75 m, nine in ten within 2 m.
    assert float(np.median(errs)) <= 0.75, f"median floor error {np.median(errs):.2f} m"
    assert float(np.quantile(errs, 0.9)) <= 2.0, f"p90 floor error {np.quantile(errs, 0.9):.2f}"


def _heads(sim_run: Path, camera: str) -> dict[int, tuple[np.ndarray, list[bool]]]:
    rows: dict[int, list[tuple[list[float], bool]]] = defaultdict(list)
    with open(sim_run / "heads" / f"{camera}.csv") as fh:
        for r in csv.DictReader(fh):
            box = [float(r["face_x"]), float(r["face_y"]), float(r["face_w"]), float(r["face_h"])]
            rows[int(r["frame"])].append((box, r["face_visible"] == "1"))
    return {f: (np.array([b for b, _ in v]), [vis for _, vis in v]) for f, v in rows.items()}


def _read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def test_segments_are_complete_announced_and_leak_no_face(
    sim_run: Path, kafka_bootstrap: str, worker_run: dict[str, object]
) -> None:
    report = worker_run["report"]
    assert isinstance(report, WorkerReport)
    seg_acks = [a for a in worker_run["acks"] if a.topic == SEGMENTS.name]  # type: ignore[attr-defined]
    assert len(seg_acks) == report.segments > 0
    got = read_topic(kafka_bootstrap, SEGMENTS.name, want=[a.event_id for a in seg_acks])
    epochs = worker_run["epochs"]
    segments = [VideoSegment.from_dict(v) for _, v in got
                if v["stream_epoch"] in set(epochs.values())]  # type: ignore[attr-defined]
    assert {s.event_id for s in segments} == {a.event_id for a in seg_acks}
    frames = _frames(sim_run)
    assert {c: sum(s.frame_count for s in segments if s.camera_id == c) for c in frames} == frames
    reports = []
    for cam in frames:
        reference = _read_video(sim_run / "video" / f"{cam}.mp4")
        heads = _heads(sim_run, cam)
        epoch = epochs[cam]  # type: ignore[index]
        for seg in (s for s in segments if s.camera_id == cam):
            path = Path(seg.uri.removeprefix("file://"))
            assert path.stat().st_size == seg.bytes
            assert seg.end_time - seg.start_time <= __import__("datetime").timedelta(seconds=2)
            first = round((seg.start_time.timestamp() * 1000 - epoch) / 200)
            output = _read_video(path)
            assert len(output) == seg.frame_count
            for k, out_img in enumerate(output):
                frame_no = first + k + 1  # sim frames are 1-based
                boxes, visible = heads.get(frame_no, (np.zeros((0, 4)), []))
                reports.append(measure_leakage(reference[frame_no - 1], out_img, boxes,
                                               visible=visible))
    total = combine_leakage(reports)
    assert total.visible > 0, "the clip should show some faces"
    assert total.leaked == 0, f"{total.leaked} of {total.visible} visible faces not blurred"
    assert not list(Path(str(worker_run["tmp"])).rglob("*.partial.mp4"))


def test_health_and_metrics_endpoints_answer_while_running(
    worker_run: dict[str, object]
) -> None:
    health = worker_run["health"]
    assert health, "the /healthz probe never got an answer"
    status, body = health[0]  # type: ignore[index]
    assert status == 200 and body["status"] == "ok" and body["store_id"] == "demo-store"
    assert set(body["cameras"]) == {"cam-entrance", "cam-aisles"}
    text = worker_run["metrics"][0]  # type: ignore[index]
    for name in ("storeheat_worker_frames_processed_total", "storeheat_worker_stage_seconds",
                 "storeheat_worker_journal_depth", "storeheat_worker_capture_to_ack_seconds"):
        assert name in text
    registry = worker_run["registry"]
    detect = registry.get_sample_value(  # type: ignore[attr-defined]
        "storeheat_worker_stage_seconds_count", {"stage": "detect"})
    assert detect is not None and detect > 0


def test_sigterm_stops_gracefully_flushing_events_and_closing_the_segment(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import uuid

    import yaml

    from storeheat.paths import REPO_ROOT
    from tests.streaming.runtime_helpers import free_ports

    clip = tmp_path / "clip.mp4"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 5.0, (320, 180))
    for i in range(10):
        out.write(np.full((180, 320, 3), 20 * i, np.uint8))
    out.release()
    data = yaml.safe_load((REPO_ROOT / "configs" / "demo-store.yaml").read_text())
    cam = dict(data["cameras"][0], source=clip.name, id="cam-sigterm")
    store_id = f"sigterm-{uuid.uuid4().hex[:8]}"  # this run's events only, on any broker
    data.update(cameras=[cam], store_id=store_id)
    (tmp_path / "store.yaml").write_text(yaml.safe_dump(data))
    [port] = free_ports(1)
    cmd = [sys.executable, "-m", "storeheat.cli", "worker", "--config",
           str(tmp_path / "store.yaml"), "--loop", "--no-faces", "--model", str(YOLOX_NANO),
           "--threads", "1", "--bootstrap", kafka_bootstrap, "--hot-video",
           (tmp_path / "hot").as_uri(), "--journal-dir", str(tmp_path / "j"),
           "--metrics-port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 180
        processed = 0.0
        while processed < 5 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    for line in r.read().decode().splitlines():
                        if line.startswith("storeheat_worker_frames_processed_total{"):
                            processed = float(line.rsplit(" ", 1)[1])
            except OSError:
                pass
            time.sleep(0.5)
        assert processed >= 5, "the worker did not get going"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    n = summary["processed"]["cam-sigterm"]
    assert n >= 5 and summary["journal_depth"] == 0 and summary["segments"] >= 1
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(r["msg"] == "stopping" and r.get("signal") == "SIGTERM" for r in logs)
    events = read_topic(kafka_bootstrap, DETECTIONS.name, timeout_s=30,
                        where={"store_id": store_id})
    assert len({v["event_id"] for _, v in events}) == n  # every processed frame was flushed
    segs = read_topic(kafka_bootstrap, SEGMENTS.name, timeout_s=30,
                      where={"store_id": store_id})
    assert len(segs) == summary["segments"]  # the open segment was closed and announced
    for _, seg in segs:
        assert Path(str(seg["uri"]).removeprefix("file://")).is_file()


def test_json_logs_carry_fields_but_never_pixels() -> None:
    import logging

    from streaming.cli import JsonLogFormatter
    from streaming.sources import Frame

    frame = np.full((4, 4, 3), 7, np.uint8)
    record = logging.LogRecord("streaming.worker", logging.INFO, __file__, 1, "frame seen", (),
                               None)
    record.camera = "cam-1"
    record.image = frame  # a mistake a future change could make
    record.frames = [frame]
    record.raw = frame.tobytes()
    record.wrapped = Frame("cam-1", frame, __import__("datetime").datetime.now(), 0, 1)
    line = JsonLogFormatter().format(record)
    out = json.loads(line)
    assert out["camera"] == "cam-1" and out["msg"] == "frame seen"
    assert out["image"].startswith("<array shape=(4, 4, 3)")
    assert out["frames"][0].startswith("<array") and out["raw"] == "<48 bytes omitted>"
    assert "image" not in out["wrapped"] and "7, 7" not in line


@pytest.mark.parametrize(
    ("rhythm", "expected"),
    [
        # Genlocked cameras: the others' frames are due now.
        ({"a": (9.8, 0.2), "b": (9.8, 0.2)}, ["a", "b"]),
        # Independent cameras at another phase (due in 50 and 100 ms): do not hold.
        ({"a": (9.85, 0.2), "b": (9.9, 0.2)}, []),
        # One due in 10 ms, one later: hold for the first only.
        ({"a": (9.81, 0.2), "b": (9.9, 0.2)}, ["a"]),
        # A frame a little late is still expected.
        ({"a": (9.75, 0.2)}, ["a"]),
        # Rhythm unknown yet (first frames): waited for, as every camera was before.
        ({"a": (None, None), "b": (9.85, 0.2)}, ["a"]),
        # Overdue by more than an interval: stalled, not waited for.
        ({"a": (9.5, 0.2)}, []),
        ({}, []),
    ],
)
def test_batcher_waits_only_for_cameras_about_to_deliver(
    rhythm: dict[str, tuple[float | None, float | None]], expected: list[str]
) -> None:
    assert cameras_due(10.0, 0.015, rhythm) == expected


def test_camera_state_learns_the_interval_between_frames() -> None:
    st = CameraState(camera=None, source=None)  # type: ignore[arg-type]
    for t in (1.0, 1.2, 1.4, 1.6):
        st.note_arrival(t)
    assert st.last_arrival == 1.6 and st.interval == pytest.approx(0.2)
    st.note_arrival(2.6)  # one long gap moves the average a fifth of the way
    assert st.interval == pytest.approx(0.36)
