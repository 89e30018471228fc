"""The live sim:// source and the YOLO export."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from storeheat.sim.exceptions import SimulationError
from storeheat.sim.export import export_yolo
from storeheat.sim.run import RunSummary
from storeheat.sim.source import SimulatedCameraSource, parse_sim_url
from storeheat.sim.stores import load_layout


def test_source_replays_the_run_frame_for_frame(normal_run: RunSummary) -> None:
    from storeheat.config import load_store_config

    store = load_store_config(normal_run.out / "store.yaml")
    cam = store.camera("cam-aisles")
    src = SimulatedCameraSource.from_url(cam.source, store, realtime=False)
    with (normal_run.out / "frames.csv").open() as f:
        expected = [r for r in csv.DictReader(f) if r["camera_id"] == "cam-aisles"]
    got = []
    for item in src:
        if item.index >= 6:
            break
        got.append((item.index + 1, item.capture_time, hashlib.sha256(
            item.frame.tobytes()).hexdigest()))
        assert item.frame.shape == (180, 320, 3)
    assert [g[2] for g in got] == [r["sha256"] for r in expected[:6]]
    assert got[1][1].isoformat().startswith("2026-01-07T12:00:00.200")


def test_realtime_source_paces_at_the_camera_fps() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def clock() -> float:
        return now[0]

    def sleep(s: float) -> None:
        sleeps.append(round(s, 6))
        now[0] += s

    layout = load_layout()
    src = SimulatedCameraSource(layout, "cam-entrance", scenario="quiet", seed=1, seconds=1.0,
                                realtime=True, clock=clock, sleep=sleep)
    frames = list(src)
    assert len(frames) == 5  # 1 s at 5 fps
    assert sleeps == [0.2, 0.2, 0.2, 0.2]
    assert src.fps == 5.0 and src.resolution == (640, 360)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("rtsp://cam/1", "expected sim://"),
        ("sim://demo-store", "expected sim://"),
        ("sim://demo-store/cam-1?colour=red", "unknown parameter"),
        ("sim://demo-store/cam-1?seed=x", "seed must be an integer"),
        ("sim://demo-store/cam-1?scenario=busy", "unknown scenario"),
    ],
)
def test_bad_sim_urls(url: str, words: str) -> None:
    with pytest.raises(SimulationError, match=words):
        parse_sim_url(url)


def test_source_for_other_store_or_unknown_camera() -> None:
    layout = load_layout()
    with pytest.raises(SimulationError, match="not the loaded store"):
        SimulatedCameraSource.from_url("sim://other/cam-aisles", layout)
    with pytest.raises(SimulationError, match="unknown camera"):
        SimulatedCameraSource.from_url("sim://demo-store/cam-nope", layout)


def test_yolo_export_keeps_seeds_and_cameras_apart(tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    result = export_yolo(out=out, scenario="normal", seeds=[1, 2, 3], cameras=3, seconds=0.4,
                         every=1, resolution=(320, 180))
    assert result.train_seeds == [1, 2] and result.val_seeds == [3]
    assert result.train_cameras == ["cam-entrance", "cam-aisles"]
    assert result.val_cameras == ["cam-checkout"]
    names = {split: sorted(p.stem for p in (out / "images" / split).glob("*.jpg"))
             for split in ("train", "val")}
    assert len(names["train"]) == 2 * 2 * 2 and len(names["val"]) == 1 * 1 * 2
    for stem in names["train"]:
        assert "-s3-" not in stem and "cam-checkout" not in stem
    for stem in names["val"]:
        assert "-s3-" in stem and "cam-checkout" in stem
    boxes = 0
    for split, stems in names.items():
        for stem in stems:
            lines = (out / "labels" / split / f"{stem}.txt").read_text().splitlines()
            for line in lines:
                cls, *vals = line.split()
                assert cls == "0" and len(vals) == 4
                assert all(0.0 <= float(v) <= 1.0 for v in vals)
            boxes += len(lines)
    assert boxes == sum(result.boxes.values()) and boxes > 20
    assert "names:\n  0: person" in (out / "data.yaml").read_text()
    split = json.loads((out / "split.json").read_text())
    assert split["val"]["seeds"] == [3]


def test_yolo_export_needs_two_seeds_and_cameras(tmp_path: Path) -> None:
    with pytest.raises(SimulationError) as info:
        export_yolo(out=tmp_path / "a", seeds=[1], cameras=3)
    assert info.value.argument == "--seeds"
    with pytest.raises(SimulationError) as info:
        export_yolo(out=tmp_path / "b", seeds=[1, 2], cameras=1)
    assert info.value.argument == "--cameras"
