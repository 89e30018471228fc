"""A whole run: determinism, file formats and the consistency of the ground truth."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storeheat.config import load_store_config
from storeheat.evaluation.motchallenge import read_sequence
from storeheat.sim.run import RunSummary, simulate
from storeheat.sim.world import STEP_S, NavGrid
from tests.storeheat.sim.conftest import SMALL


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_gives_byte_identical_outputs(normal_run: RunSummary, tmp_path: Path) -> None:
    again = simulate(out=tmp_path / "again", scenario="normal", cameras=2, seconds=4.0,
                     seed=7, resolution=SMALL)
    first, second = _tree(normal_run.out), _tree(again.out)
    assert sorted(first) == sorted(second)
    assert "video/cam-entrance.mp4" in first and "frames.csv" in first
    # every file, the mp4 included (OpenCV's mp4v encoder is deterministic here)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_another_seed_gives_another_world(normal_run: RunSummary, tmp_path: Path) -> None:
    other = simulate(out=tmp_path / "other", scenario="normal", cameras=2, seconds=1.0,
                     seed=8, resolution=SMALL, write_video=False)
    a = (normal_run.out / "trajectories.csv").read_text().splitlines()[1:20]
    b = (other.out / "trajectories.csv").read_text().splitlines()[1:20]
    assert a != b


def test_writes_every_documented_file(normal_run: RunSummary) -> None:
    out = normal_run.out
    for name in ("store.yaml", "store-video.yaml", "run.json", "frames.csv",
                 "trajectories.csv", "zone_visits.csv", "persons.csv", "occupancy.csv",
                 "occupancy.npz", "mot/cam-entrance/seqinfo.ini",
                 "mot/cam-entrance/gt/gt.txt", "heads/cam-aisles.csv",
                 "video/cam-aisles.mp4"):
        assert (out / name).is_file(), name
    assert normal_run.frames == {"cam-entrance": 20, "cam-aisles": 20}


def test_store_config_is_usable_by_the_worker(normal_run: RunSummary) -> None:
    store = load_store_config(normal_run.out / "store.yaml")
    assert [c.id for c in store.cameras] == ["cam-entrance", "cam-aisles"]
    cam = store.camera("cam-aisles")
    assert cam.resolution == SMALL
    assert cam.source == "sim://demo-store/cam-aisles?scenario=normal&seed=7"
    assert cam.homography.reprojection_error_m < 0.05
    video = load_store_config(normal_run.out / "store-video.yaml")
    assert video.camera("cam-aisles").source == "video/cam-aisles.mp4"


def test_mot_sequence_reads_with_the_evaluation_reader(normal_run: RunSummary) -> None:
    seq = read_sequence(normal_run.out / "mot" / "cam-aisles")
    assert seq.num_frames == 20
    assert seq.image_size == SMALL
    assert seq.frame_rate == 5.0
    assert seq.gt is not None and len(seq.gt) > 20
    assert seq.gt.rules == "MOT17"
    assert ((seq.gt.visibility >= 0) & (seq.gt.visibility <= 1)).all()


def test_projected_floor_positions_reproduce_the_boxes(normal_run: RunSummary) -> None:
    """The calibration maps each true floor position onto its box's bottom centre."""
    store = load_store_config(normal_run.out / "store.yaml")
    traj = pd.read_csv(normal_run.out / "trajectories.csv")
    checked = 0
    for cam in store.cameras:
        w, h = cam.resolution
        gt = pd.read_csv(normal_run.out / "mot" / cam.id / "gt" / "gt.txt", header=None,
                         names=["frame", "id", "x", "y", "w", "h", "consider", "cls", "vis"])
        gt["t"] = ((gt.frame - 1) / cam.fps).round(1)
        m = gt.merge(traj, left_on=["t", "id"], right_on=["t", "person_id"],
                     suffixes=("", "_floor"))
        assert len(m) == len(gt)  # every box is someone on the floor at that instant
        inside = (m.x >= 0) & (m.y >= 0) & (m.x + m.w <= w) & (m.y + m.h <= h) & (m.h >= 12)
        m = m[inside]
        px = cam.homography.floor_to_image(m[["x_floor", "y_floor"]].to_numpy())
        bottom = (m.y + m.h).to_numpy()
        # feet are the floor point ± half a stride: within a quarter of the box height
        dv = np.abs(px[:, 1] - bottom)
        assert (dv <= 0.25 * m.h.to_numpy() + 1.5).all()
        assert np.median(dv) <= 3.0
        assert ((px[:, 0] >= m.x - 1) & (px[:, 0] <= m.x + m.w + 1)).all()
        checked += len(m)
    assert checked > 50


def test_trajectories_stay_off_shelves_and_on_the_floor(normal_run: RunSummary) -> None:
    store = load_store_config(normal_run.out / "store.yaml")
    traj = pd.read_csv(normal_run.out / "trajectories.csv")
    nav = NavGrid(store)
    assert nav.is_free(traj[["x", "y"]].to_numpy()).all()
    assert traj.t.min() == 0.0 and traj.t.max() == pytest.approx(4.0 - STEP_S)


def test_zone_visits_and_occupancy_agree_with_trajectories(normal_run: RunSummary) -> None:
    out = normal_run.out
    traj = pd.read_csv(out / "trajectories.csv", keep_default_na=False)
    visits = pd.read_csv(out / "zone_visits.csv")
    # each trajectory row is STEP_S seconds in its zone; visits add up to the same time
    per_zone_traj = traj[traj.zone_id != ""].groupby("zone_id").size() * STEP_S
    per_zone_visits = visits.groupby("zone_id").dwell_s.sum()
    pd.testing.assert_series_equal(per_zone_traj.sort_index(), per_zone_visits.sort_index(),
                                   check_names=False, atol=1e-6)
    assert (visits.dwell_s > 0).all()
    with np.load(out / "occupancy.npz") as z:
        grid = z["person_seconds"]
        assert float(z["cell_m"]) == 0.5
        assert grid.shape == (1, 32, 48)  # one 15-minute bucket, 16 m / 0.5 by 24 m / 0.5
    assert grid.sum() == pytest.approx(len(traj) * STEP_S)
    occ = pd.read_csv(out / "occupancy.csv")
    assert occ.person_seconds.sum() == pytest.approx(grid.sum())


def test_frame_hashes_match_the_video_frame_count(normal_run: RunSummary) -> None:
    with (normal_run.out / "frames.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40
    assert {r["camera_id"] for r in rows} == {"cam-entrance", "cam-aisles"}
    assert all(len(r["sha256"]) == len(hashlib.sha256().hexdigest()) for r in rows)
    import cv2

    cap = cv2.VideoCapture(str(normal_run.out / "video" / "cam-aisles.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 20


def test_people_keep_their_distance(normal_run: RunSummary) -> None:
    """Avoidance is a soft social force: nearly no pair of people gets closer than 0.3 m."""
    traj = pd.read_csv(normal_run.out / "trajectories.csv")
    close = pairs = 0
    for _, g in traj.groupby("t"):
        p = g[["x", "y"]].to_numpy()
        iu = np.triu_indices(len(p), 1)
        d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))[iu]
        pairs += d.size
        close += int((d < 0.3).sum())
    assert pairs > 1000
    assert close / pairs < 0.005
