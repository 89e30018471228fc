"""``storeheat worker --processes N``: cameras split over supervised worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from data_contracts.topics import DETECTIONS
from streaming.supervisor import Supervisor, split_cameras, worker_command
from tests.streaming.conftest import YOLOX_NANO
from tests.streaming.runtime_helpers import read_topic


def test_cameras_are_dealt_round_robin_into_non_empty_groups() -> None:
    assert split_cameras(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert split_cameras(["a"], 4) == [["a"]]
    with pytest.raises(ValueError, match="processes"):
        split_cameras(["a"], 0)
    with pytest.raises(ValueError, match="no cameras"):
        split_cameras([], 2)
    argv = worker_command(["--config", "s.yaml"], cameras=["a", "c"], worker_id="w.1",
                          metrics_port=None)
    assert argv[1:] == ["-m", "storeheat.cli", "worker", "--config", "s.yaml", "--cameras",
                        "a", "c", "--worker-id", "w.1", "--metrics-port", "-1"]


def _script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_a_crashing_child_is_restarted_after_backoff_and_summaries_merge(tmp_path: Path) -> None:
    # The first run of "flaky" crashes; its restart finishes cleanly. "steady" just finishes.
    flaky = _script(tmp_path, "flaky", f"""
        import json, pathlib, sys
        marker = pathlib.Path({str(tmp_path / "ran-once")!r})
        if not marker.exists():
            marker.touch()
            sys.exit(3)
        print(json.dumps({{"processed": {{"cam-a": 4}}, "segments": 1}}))
    """)
    steady = _script(tmp_path, "steady", """
        import json
        print(json.dumps({"processed": {"cam-b": 6}, "dropped": {"cam-b": 1}}))
    """)
    sup = Supervisor({"w.1": flaky, "w.2": steady}, backoff_initial_s=0.2)
    assert sup.run(poll_s=0.05) == 0
    summary = sup.summary()
    assert summary["restarts"] == {"w.1": 1, "w.2": 0}
    assert summary["processed"] == {"cam-a": 4, "cam-b": 6}
    assert summary["dropped"] == {"cam-b": 1} and summary["segments"] == 1


def test_a_child_that_rejects_its_input_is_not_restarted(tmp_path: Path) -> None:
    # Exit code 2 is the CLI's "bad input" (e.g. a missing model file): no crash loop.
    bad = _script(tmp_path, "bad", """
        import sys
        print("storeheat worker: error: model file not found", file=sys.stderr)
        sys.exit(2)
    """)
    steady = _script(tmp_path, "steady", """
        import json
        print(json.dumps({"processed": {"cam-b": 3}}))
    """)
    sup = Supervisor({"w.1": bad, "w.2": steady}, backoff_initial_s=0.1)
    assert sup.run(poll_s=0.05) == 2
    summary = sup.summary()
    assert summary["restarts"] == {"w.1": 0, "w.2": 0}
    assert summary["processed"] == {"cam-b": 3}


def test_stop_reaches_every_child_which_stops_gracefully(tmp_path: Path) -> None:
    child = _script(tmp_path, "graceful", """
        import json, signal, sys, time
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        while not stop:
            time.sleep(0.05)
        print(json.dumps({"processed": {sys.argv[1]: 1}}))
    """)
    sup = Supervisor({"w.1": [*child, "cam-a"], "w.2": [*child, "cam-b"]},
                     stop_timeout_s=30.0)
    threading.Timer(1.0, sup.stop).start()
    t0 = time.monotonic()
    assert sup.run(poll_s=0.05) == 0
    assert time.monotonic() - t0 < 25  # stopped by SIGTERM, not killed at the timeout
    assert sup.summary()["processed"] == {"cam-a": 1, "cam-b": 1}


def test_worker_processes_serve_every_camera_once(tmp_path: Path, kafka_bootstrap: str) -> None:
    import yaml

    from storeheat.paths import REPO_ROOT

    frames = 8
    clip = tmp_path / "clip.mp4"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 5.0, (320, 180))
    for i in range(frames):
        out.write(np.full((180, 320, 3), 25 * i, np.uint8))
    out.release()
    data = yaml.safe_load((REPO_ROOT / "configs" / "demo-store.yaml").read_text())
    cams = [dict(data["cameras"][0], source=clip.name, id=f"cam-{k}") for k in range(3)]
    store_id = f"procs-{uuid.uuid4().hex[:8]}"  # this run's events only, on any broker
    data.update(cameras=cams, store_id=store_id)
    (tmp_path / "store.yaml").write_text(yaml.safe_dump(data))
    cmd = [sys.executable, "-m", "storeheat.cli", "worker", "--config",
           str(tmp_path / "store.yaml"), "--processes", "2", "--offline", "--no-faces",
           "--model", str(YOLOX_NANO), "--bootstrap", kafka_bootstrap, "--hot-video",
           (tmp_path / "hot").as_uri(), "--journal-dir", str(tmp_path / "j"),
           "--metrics-port", "-1", "--worker-id", "shop"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["processed"] == {f"cam-{k}": frames for k in range(3)}
    assert summary["restarts"] == {"shop.1": 0, "shop.2": 0}
    assert summary["journal_depth"] == 0
    # Each child kept its own journal.
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["shop.1", "shop.2"]
    events = read_topic(kafka_bootstrap, DETECTIONS.name, timeout_s=30,
                        where={"store_id": store_id})
    per_camera: dict[str, set[int]] = {}
    for _, v in events:
        per_camera.setdefault(str(v["camera_id"]), set()).add(int(str(v["frame_index"])))
    assert {cam: len(idx) for cam, idx in per_camera.items()} == {
        f"cam-{k}": frames for k in range(3)}


def test_vision_flags_reach_the_config_and_every_child() -> None:
    import argparse

    from streaming.cli import _SHARED_VALUE_FLAGS, _options, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["worker", "--detect-every", "2", "--face-every", "3"])
    opts = _options(args)
    assert opts["detect_every"] == 2 and opts["face_every"] == 3
    shared = dict(_SHARED_VALUE_FLAGS)
    assert shared["--detect-every"] == "detect_every" and shared["--face-every"] == "face_every"
