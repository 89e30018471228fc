"""Measure cross-camera fusion (a person seen by two cameras counts once) on the simulator.

Input: a ``storeheat sim`` run directory (``--no-video`` is enough). From its per-camera
ground truth (MOTChallenge boxes with visibility) we build the silver rows a perfect detector
and tracker would produce: every person at least ``--min-visibility`` visible becomes a
detection whose foot point (bottom centre of the box) is projected onto the floor through the
camera's calibrated homography, exactly as the worker does, so the projection error of real
calibration and partial occlusion is included. Then the gold heatmap is computed with fusion
off and with several fusion radii, and compared with the truth:

* ``seen truth``: person-seconds of people visible to at least one camera (what a perfect
  system could report);
* the store's true occupancy grid (``occupancy.npz``; people no camera sees are in it too),
  compared cell by cell with the normalised L1 error of :mod:`storeheat.evaluation.heatmap`.

Run: ``storeheat sim --cameras 3 --seconds 300 --no-video --out /tmp/run`` then
``python -m benchmarks.fusion_sim /tmp/run``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

Rows = list[tuple[Any, ...]]


def silver_rows(run: Path, *, min_visibility: float) -> tuple[Rows, Rows, dict[str, Any]]:
    """Silver frames and detections (as tuples in table column order) from a sim run."""
    from data_contracts.events import make_event_id
    from storeheat.config import load_store_config

    store = load_store_config(run / "store.yaml")
    info = json.loads((run / "run.json").read_text())
    start = datetime.fromisoformat(info["start_time"].replace("Z", "+00:00"))
    frames: list[tuple[Any, ...]] = []
    dets: list[tuple[Any, ...]] = []
    seen: dict[int, set[int]] = {}  # frame -> persons seen by any camera
    per_camera = 0
    for cam_info in info["cameras"]:
        cam = store.camera(cam_info["id"])
        fps = float(cam_info["fps"])
        gt = np.loadtxt(run / "mot" / cam.id / "gt" / "gt.txt", delimiter=",", ndmin=2)
        by_frame: dict[int, list[np.ndarray]] = {}
        for row in gt:
            if row[8] >= min_visibility:
                by_frame.setdefault(int(row[0]), []).append(row)
        w, h = cam.resolution
        for f in range(1, int(cam_info["frames"]) + 1):
            t = start + timedelta(seconds=(f - 1) / fps)
            eid = make_event_id(store.store_id, cam.id, 0, f)
            base = (eid, store.store_id, cam.id, 0, f, t, "sim-truth", w, h, 0.0)
            rows = by_frame.get(f, [])
            frames.append((*base, len(rows), t.date()))
            if not rows:
                continue
            arr = np.asarray(rows)
            feet = np.stack([arr[:, 2] + arr[:, 4] / 2, np.minimum(arr[:, 3] + arr[:, 5], h)],
                            axis=1)
            floor = cam.homography.image_to_floor(feet)
            zones = store.zone_of(floor)
            for i, r in enumerate(arr):
                x, y = float(floor[i, 0]), float(floor[i, 1])
                on = 0 <= x <= store.floor.width_m and 0 <= y <= store.floor.depth_m
                # pyspark accepts Python floats only, not numpy scalars
                x1, y1 = max(0.0, float(r[2])), max(0.0, float(r[3]))
                x2, y2 = min(float(w), float(r[2] + r[4])), min(float(h), float(r[3] + r[5]))
                dets.append((*base, i, int(r[1]), 0.9, x1, y1, max(x1, x2), max(y1, y2),
                             x if on else None, y if on else None,
                             zones[i] if on else None, on, t.date()))
                seen.setdefault(f, set()).add(int(r[1]))
                per_camera += 1
    fps0 = float(info["cameras"][0]["fps"])
    meta = {
        "store": store,
        "start": start,
        "seconds": float(info["seconds"]),
        "seen_truth_s": sum(len(v) for v in seen.values()) / fps0,
        "unfused_truth_s": per_camera / fps0,
    }
    return frames, dets, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="storeheat sim output directory")
    parser.add_argument("--min-visibility", type=float, default=0.3)
    parser.add_argument("--radii", type=float, nargs="+", default=[0.5, 1.0, 1.5])
    args = parser.parse_args(argv)

    from storeheat.env import apply_tool_env

    apply_tool_env()
    from data_contracts.derive import spark_schema_of_columns
    from data_contracts.tables import SILVER_DETECTIONS, SILVER_FRAMES
    from spark_jobs import gold
    from spark_jobs.session import get_spark
    from storeheat.evaluation.heatmap import normalised_l1

    frames, dets, meta = silver_rows(args.run, min_visibility=args.min_visibility)
    store = meta["store"]
    truth = np.load(args.run / "occupancy.npz")
    truth_grid = truth["person_seconds"].sum(axis=0)
    print(f"run {args.run}: {len(store.cameras)} cameras, {meta['seconds']:g} s, "
          f"{len(frames):,} frames, {len(dets):,} detections (visibility >= "
          f"{args.min_visibility})")
    print(f"truth: {truth_grid.sum():.0f} person-s in the store, {meta['seen_truth_s']:.0f} "
          f"seen by >= 1 camera, {meta['unfused_truth_s']:.0f} camera-person-s "
          f"(x{meta['unfused_truth_s'] / meta['seen_truth_s']:.2f} double counting without "
          f"fusion)")

    spark = get_spark(app_name="fusion-sim", register_tables=False)
    fdf = spark.createDataFrame(frames, spark_schema_of_columns(SILVER_FRAMES.columns))
    ddf = spark.createDataFrame(dets, spark_schema_of_columns(SILVER_DETECTIONS.columns))
    bucket = store.heatmap.bucket_minutes * 60
    s0 = meta["start"].timestamp()
    w0 = datetime.fromtimestamp(math.floor(s0 / bucket) * bucket, tz=UTC)
    w1 = datetime.fromtimestamp(math.ceil((s0 + meta["seconds"] + 1) / bucket) * bucket, tz=UTC)
    base = gold.GoldSettings.for_store(store)
    fr = gold.frame_intervals(fdf, default_interval_s=base.default_interval_s,
                              max_interval_s=base.max_interval_s)
    with_iv = gold.with_intervals(ddf, fr).cache()
    rows, cols = truth_grid.shape
    print(f"{'fusion radius':>14} {'person-s':>9} {'vs seen truth':>14} {'cell L1 vs truth':>17}"
          f" {'duplicates':>10} {'seconds':>8}")
    for radius in [0.0, *args.radii]:
        t = time.monotonic()
        fused = gold.fuse_cameras(with_iv, radius_m=max(radius, 1e-9),
                                  tolerance_s=base.fusion_tolerance_s)
        cells = gold.heatmap_cells(fused, cell_m=store.heatmap.cell_m,
                                   bucket_minutes=store.heatmap.bucket_minutes)
        got = cells.where(cells.bucket_start >= w0).where(cells.bucket_start < w1).select(
            "cell_x", "cell_y", "person_seconds").collect()
        dup = fused.where("duplicate").count() if radius > 0 else 0
        grid = np.zeros_like(truth_grid)
        for r in got:
            grid[min(max(r.cell_y, 0), rows - 1), min(max(r.cell_x, 0), cols - 1)] += \
                r.person_seconds
        total = grid.sum()
        label = "off" if radius == 0 else f"{radius:g} m"
        print(f"{label:>14} {total:9.0f} {total / meta['seen_truth_s'] - 1:+13.1%} "
              f"{normalised_l1(grid, truth_grid):17.3f} {dup:10,d} "
              f"{time.monotonic() - t:8.1f}", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
