"""Benchmark: gold rollup time for a synthetic store-day written straight into silver.

The store: a ``12 x 10`` grid of cameras (120 by default) over a 120 m x 80 m floor, each
camera seeing its 10 m x 8 m cell plus a 1 m overlap band into its neighbours; 20 zones of
30 m x 16 m. Shoppers arrive with a daily curve (peaking at ``--peak-occupancy`` people in the
store), walk between random stops at 1.0-1.4 m/s and dwell 5-120 s at each, for 10-40 min.
Every camera sends ``--fps`` frames per second whether or not anyone is in view; each person
it sees is a detection (5 % missed, 0.1 m foot-point noise) with a per-camera track id that
changes whenever the person leaves and re-enters its view. No frames are rendered.

Silver is written with the ``deltalake`` package (no JVM) into a scratch lake, then
:func:`spark_jobs.gold.rollup_window` runs window by window (``--window-minutes``, as the
hourly Airflow rollup would) and the figures are printed: rows in, rows out, seconds.

Full size: ``python -m benchmarks.lake_rollup`` (120 cameras x 14 h x 5 fps, ~30 M frames).
Quick run: ``python -m benchmarks.lake_rollup --cameras 12 --hours 1``. The rollup time is
also given per million silver rows so scaled-down runs can be compared. A backfill is
cheapest in long windows (``--window-minutes 120``, ``--driver-memory 8g``): each window
also reads an hour of silver on either side. ``--keep`` then ``--reuse-silver
--rollup-from-hour H --rollup-hours N`` rolls up a slice of a day already generated.

What the profile showed (November 2026, event log of one window): at 12 cameras most of
the time was Delta's snapshot reconstruction (50 tasks per read, write and commit of each
gold table, plus a read back to count the rows); at 120 cameras the cross-camera fusion
join (25 M exploded probe rows sorted for a sort-merge join, half the window) and
repeated Parquet scans of the window's three hours of silver.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

CELL_W, CELL_D, OVERLAP = 10.0, 8.0, 1.0
GRID_COLS = 12
ZONE_W, ZONE_D = 30.0, 16.0
#: Relative arrival rate per opening hour (14 h: 08:00-22:00); 1.0 is the busiest hour.
DAY_CURVE = (0.25, 0.35, 0.45, 0.6, 0.85, 0.75, 0.55, 0.5, 0.6, 0.85, 1.0, 0.8, 0.5, 0.3)
OPEN = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class StoreShape:
    """Geometry of the synthetic store."""

    cameras: int

    @property
    def cols(self) -> int:
        return min(GRID_COLS, self.cameras)

    @property
    def rows(self) -> int:
        return math.ceil(self.cameras / self.cols)

    @property
    def width(self) -> float:
        return self.cols * CELL_W

    @property
    def depth(self) -> float:
        return self.rows * CELL_D

    def camera_ids(self) -> list[str]:
        return [f"cam-{i:03d}" for i in range(self.cameras)]


def store_config(shape: StoreShape, *, store_id: str = "bench-store") -> dict[str, Any]:
    """A store YAML mapping for the synthetic store (floor, shelves, zones, cameras)."""
    zones = []
    for zx in range(math.ceil(shape.width / ZONE_W)):
        for zy in range(math.ceil(shape.depth / ZONE_D)):
            x0, y0 = zx * ZONE_W, zy * ZONE_D
            x1, y1 = min(x0 + ZONE_W, shape.width), min(y0 + ZONE_D, shape.depth)
            zones.append({"id": f"z{zx}{zy}", "name": f"Zone {zx}.{zy}", "polygon":
                          [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]})
    shelves = []
    length = min(6.0, shape.depth - 4.0)
    for i, xv in enumerate(np.arange(4.0, shape.width - 2, 6.0)):
        for j, yv in enumerate(np.arange(2.0, shape.depth - length - 1, 10.0)):
            x, y = float(xv), float(yv)
            shelves.append({"id": f"shelf-{i}-{j}", "polygon": [[x, y], [x + 1, y],
                                                                 [x + 1, y + length],
                                                                 [x, y + length]]})
    cameras = []
    for c, cam_id in enumerate(shape.camera_ids()):
        cx, cy = c % shape.cols, c // shape.cols
        x0, y0 = cx * CELL_W, cy * CELL_D
        x1, y1 = x0 + CELL_W, y0 + CELL_D
        cameras.append({
            "id": cam_id,
            "source": f"sim://{store_id}/{cam_id}",
            "fps": 5,
            "resolution": [640, 360],
            # a top-down camera: its frame maps linearly onto its cell
            "calibration": [
                {"image": [0, 0], "floor": [x0, y0]},
                {"image": [640, 0], "floor": [x1, y0]},
                {"image": [640, 360], "floor": [x1, y1]},
                {"image": [0, 360], "floor": [x0, y1]},
            ],
        })
    return {
        "store_id": store_id,
        "name": f"Synthetic {shape.cameras}-camera store",
        "floor": {"width_m": shape.width, "depth_m": shape.depth},
        "shelves": shelves,
        "zones": zones,
        "cameras": cameras,
    }


def _hex_ids(values: np.ndarray) -> Any:
    """32-hex-digit strings of uint64 values, vectorised (an event id look-alike)."""
    import pyarrow as pa

    v = values.astype(np.uint64)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.full((len(v), 32), ord("0"), dtype=np.uint8)
    for k in range(16):
        out[:, 31 - k] = digits[((v >> np.uint64(4 * k)) & np.uint64(15)).astype(np.int64)]
    offsets = np.arange(0, 32 * (len(v) + 1), 32, dtype=np.int32)
    return pa.StringArray.from_buffers(len(v), pa.py_buffer(offsets), pa.py_buffer(out.ravel()))


def _shoppers(
    rng: np.random.Generator, *, hours: float, peak: int
) -> Iterator[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (arrival_s, t, x, y) per shopper: piecewise-linear walks with stops, in seconds."""
    mean_visit_s = 25 * 60
    peak_rate = peak / mean_visit_s
    t = 0.0
    while True:
        hour = min(int(t // 3600), len(DAY_CURVE) - 1)
        rate = peak_rate * DAY_CURVE[hour]
        t += rng.exponential(1.0 / rate)
        if t >= hours * 3600:
            return
        yield t, *_walk(rng)


_SHAPE: StoreShape | None = None


def _walk(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    assert _SHAPE is not None
    w, d = _SHAPE.width, _SHAPE.depth
    duration = rng.uniform(10 * 60, 40 * 60)
    speed = rng.uniform(1.0, 1.4)
    pts = [(0.5, 0.5)]
    times = [0.0]
    now = 0.0
    while now < duration:
        nx, ny = rng.uniform(0.5, w - 0.5), rng.uniform(0.5, d - 0.5)
        px, py = pts[-1]
        now += math.hypot(nx - px, ny - py) / speed
        pts.append((nx, ny))
        times.append(now)
        now += rng.uniform(5, 120)  # the stop
        pts.append((nx, ny))
        times.append(now)
    arr = np.asarray(pts)
    return np.asarray(times), arr[:, 0], arr[:, 1]


def generate_silver(
    root: Path, *, cameras: int, hours: float, fps: float, peak: int, seed: int,
    store_id: str = "bench-store",
) -> dict[str, int]:
    """Write silver_frames and silver_detections of one synthetic store-day with deltalake.

    Returns:
        Row counts (frames, detections, shoppers).
    """
    import pyarrow as pa
    from deltalake import write_deltalake

    global _SHAPE
    shape = StoreShape(cameras)
    _SHAPE = shape
    rng = np.random.default_rng(seed)
    dt = 1.0 / fps
    n_ticks = int(round(hours * 3600 * fps))
    phase = rng.uniform(0, dt, size=cameras)  # cameras are not synchronised
    epoch_ms = int(OPEN.timestamp() * 1000)

    # Sample every shopper at the tick grid: rows of (tick, x, y).
    ticks_l, xs_l, ys_l, pid_l = [], [], [], []
    n_shoppers = 0
    for pid, (arrive, t, x, y) in enumerate(_shoppers(rng, hours=hours, peak=peak)):
        n_shoppers += 1
        k0 = math.ceil(arrive * fps)
        k1 = min(n_ticks, int((arrive + t[-1]) * fps))
        if k1 <= k0:
            continue
        ks = np.arange(k0, k1)
        rel = ks * dt - arrive
        ticks_l.append(ks)
        xs_l.append(np.interp(rel, t, x))
        ys_l.append(np.interp(rel, t, y))
        pid_l.append(np.full(len(ks), pid))
    tick = np.concatenate(ticks_l)
    px, py = np.concatenate(xs_l), np.concatenate(ys_l)
    pid = np.concatenate(pid_l)

    # Which cameras see each point: its cell's camera and neighbours within the overlap band.
    ix = np.clip((px // CELL_W).astype(np.int64), 0, shape.cols - 1)
    iy = np.clip((py // CELL_D).astype(np.int64), 0, shape.rows - 1)
    parts = []
    for ddx in (-1, 0, 1):
        for ddy in (-1, 0, 1):
            cx, cy = ix + ddx, iy + ddy
            cam = cy * shape.cols + cx
            ok = (cx >= 0) & (cx < shape.cols) & (cy >= 0) & (cy < shape.rows) & (cam < cameras)
            ok &= (px >= cx * CELL_W - OVERLAP) & (px < (cx + 1) * CELL_W + OVERLAP)
            ok &= (py >= cy * CELL_D - OVERLAP) & (py < (cy + 1) * CELL_D + OVERLAP)
            idx = np.flatnonzero(ok)
            parts.append((idx, cam[idx]))
    sel = np.concatenate([p[0] for p in parts])
    cam = np.concatenate([p[1] for p in parts])
    keep = rng.random(len(sel)) > 0.05  # missed detections
    sel, cam = sel[keep], cam[keep]
    d_tick, d_pid = tick[sel], pid[sel]
    fx = np.clip(px[sel] + rng.normal(0, 0.1, len(sel)), 0, shape.width - 1e-6)
    fy = np.clip(py[sel] + rng.normal(0, 0.1, len(sel)), 0, shape.depth - 1e-6)

    # Per-camera track ids: a new track whenever a person (re)enters a camera's view.
    order = np.lexsort((d_tick, d_pid, cam))
    cam, d_pid, d_tick, fx, fy = cam[order], d_pid[order], d_tick[order], fx[order], fy[order]
    new = np.ones(len(cam), dtype=bool)
    new[1:] = (cam[1:] != cam[:-1]) | (d_pid[1:] != d_pid[:-1]) | (d_tick[1:] - d_tick[:-1] > 5)
    track = np.cumsum(new) - 1  # unique per camera too, which is all that is required

    # zone ids as codes into a small name table (strings per detection would take GBs)
    n_zy = math.ceil(shape.depth / ZONE_D)
    zone_names = pa.array([f"z{zx}{zy}" for zx in range(math.ceil(shape.width / ZONE_W))
                           for zy in range(n_zy)])
    zone = (fx // ZONE_W).astype(np.int64) * n_zy + (fy // ZONE_D).astype(np.int64)
    del tick, px, py, pid, sel, keep, order, new, parts, ix, iy

    # Frames (every camera, every tick) and detections, written an hour at a time.
    frames_root, dets_root = str(root / "silver_frames"), str(root / "silver_detections")
    cam_ids = np.asarray(shape.camera_ids())
    ticks_per_hour = int(3600 * fps)
    counts = {"frames": 0, "detections": 0, "shoppers": n_shoppers}
    d_order = np.lexsort((cam, d_tick))
    cam, d_tick, fx, fy, track, zone = (a[d_order] for a in (cam, d_tick, fx, fy, track, zone))
    bounds = np.searchsorted(d_tick, np.arange(0, n_ticks + ticks_per_hour, ticks_per_hour))
    for h, k0 in enumerate(range(0, n_ticks, ticks_per_hour)):
        k1 = min(n_ticks, k0 + ticks_per_hour)
        fk = np.repeat(np.arange(k0, k1), cameras)
        fc = np.tile(np.arange(cameras), k1 - k0)
        f_us = (OPEN.timestamp() * 1e6 + (fk * dt + phase[fc]) * 1e6).astype(np.int64)
        f_ids = _hex_ids((fc.astype(np.uint64) << np.uint64(40)) | fk.astype(np.uint64))
        lo, hi = bounds[h], bounds[h + 1]
        dk, dc = d_tick[lo:hi], cam[lo:hi]
        det_count = np.bincount((dk - k0) * cameras + dc, minlength=len(fk))
        capture_date = pa.array(np.asarray(f_us // 86_400_000_000, dtype=np.int32), pa.date32())
        frame_cols = {
            "event_id": f_ids,
            "store_id": pa.array([store_id] * len(fk)),
            "camera_id": pa.array(cam_ids[fc]),
            "stream_epoch": pa.array(np.full(len(fk), epoch_ms, dtype=np.int64)),
            "frame_index": pa.array(fk.astype(np.int64)),
            "capture_time": pa.array(f_us, pa.timestamp("us", tz="UTC")),
            "model_version": pa.array(["bench"] * len(fk)),
            "frame_width": pa.array(np.full(len(fk), 640, dtype=np.int64)),
            "frame_height": pa.array(np.full(len(fk), 360, dtype=np.int64)),
            "latency_ms": pa.array(rng.uniform(40, 120, len(fk))),
        }
        frames = pa.table({**frame_cols, "detection_count": pa.array(det_count.astype(np.int64)),
                           "capture_date": capture_date})
        write_deltalake(frames_root, frames, mode="append",
                        partition_by=["store_id", "capture_date"])
        # detections: frame columns looked up by the frame's row in this hour
        row = (dk - k0) * cameras + dc
        first = np.ones(len(row), dtype=bool)
        first[1:] = row[1:] != row[:-1]
        starts = np.flatnonzero(first)
        det_index = np.arange(len(row)) - np.repeat(starts, np.diff(np.append(starts, len(row))))
        n = len(row)
        dets = pa.table({
            **{k: v.take(pa.array(row)) for k, v in frame_cols.items()},
            "detection_index": pa.array(det_index.astype(np.int64)),
            "track_id": pa.array(track[lo:hi].astype(np.int64)),
            "confidence": pa.array(rng.uniform(0.4, 0.99, n)),
            "x1": pa.array(np.full(n, 100.0)), "y1": pa.array(np.full(n, 50.0)),
            "x2": pa.array(np.full(n, 160.0)), "y2": pa.array(np.full(n, 250.0)),
            "floor_x": pa.array(fx[lo:hi]),
            "floor_y": pa.array(fy[lo:hi]),
            "zone_id": zone_names.take(pa.array(zone[lo:hi])),
            "on_floor": pa.array(np.ones(n, dtype=bool)),
            "capture_date": capture_date.take(pa.array(row)),
        })
        write_deltalake(dets_root, dets, mode="append", partition_by=["store_id", "capture_date"])
        counts["frames"] += len(fk)
        counts["detections"] += n
    return counts


def _silver_counts(
    root: Path, *, start: datetime | None = None, end: datetime | None = None
) -> dict[str, int]:
    """Row counts of silver_frames and silver_detections.

    The whole tables' from the Delta log (no scan); with ``start``/``end``, the rows with
    capture_time in [start, end) (a scan of one column).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    def rows(name: str) -> int:
        table = DeltaTable(str(root / name))
        if start is None or end is None:
            actions = pa.table(table.get_add_actions(flatten=True))
            return int(sum(actions.column("num_records").to_pylist()))
        t = table.to_pyarrow_dataset().to_table(columns=["capture_time"]).column(0)
        inside = pc.and_(pc.greater_equal(t, pa.scalar(start, t.type)),
                         pc.less(t, pa.scalar(end, t.type)))
        return int(pc.sum(inside).as_py() or 0)

    return {"frames": rows("silver_frames"), "detections": rows("silver_detections"),
            "shoppers": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=120)
    parser.add_argument("--hours", type=float, default=14.0)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--peak-occupancy", type=int, default=300,
                        help="shoppers in the store at the busiest hour (full-size store)")
    parser.add_argument("--window-minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lake", default=None, help="scratch lake (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch lake")
    parser.add_argument("--reuse-silver", action="store_true",
                        help="with --lake: roll up the silver already there (no generation)")
    parser.add_argument("--driver-memory", default="4g",
                        help="Spark driver heap (all of Spark in local mode; default 4g)")
    parser.add_argument("--shuffle-partitions", type=int, default=8,
                        help="spark.sql.shuffle.partitions (default 8)")
    parser.add_argument("--rollup-from-hour", type=float, default=0.0,
                        help="roll up from this many hours after opening (default 0)")
    parser.add_argument("--rollup-hours", type=float, default=None,
                        help="roll up only this many hours (default: all generated); with "
                        "--reuse-silver, a slice of a full day already in the lake")
    args = parser.parse_args(argv)

    from storeheat.env import apply_tool_env

    apply_tool_env()
    # Occupancy scales with the floor the cameras cover.
    peak = max(1, round(args.peak_occupancy * args.cameras / 120))
    lake = Path(args.lake) if args.lake else Path(tempfile.mkdtemp(prefix="storeheat-bench-"))
    print(f"store: {args.cameras} cameras x {args.hours:g} h x {args.fps:g} fps, peak "
          f"{peak} shoppers; lake {lake}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    t0 = time.monotonic()
    if args.reuse_silver and args.lake and (lake / "silver_frames" / "_delta_log").exists():
        counts = _silver_counts(lake)
        print(f"silver reused: {counts['frames']:,} frames, {counts['detections']:,} "
              f"detections")
    else:
        counts = generate_silver(lake, cameras=args.cameras, hours=args.hours, fps=args.fps,
                                 peak=peak, seed=args.seed)
        t_gen = time.monotonic() - t0
        print(f"silver written in {t_gen:.1f} s: {counts['frames']:,} frames, "
              f"{counts['detections']:,} detections, {counts['shoppers']:,} shoppers")

    from spark_jobs.gold import GoldSettings, aligned_windows, rollup_window
    from spark_jobs.session import get_spark
    from storeheat.config import parse_store_config

    config = parse_store_config(store_config(StoreShape(args.cameras)))
    settings = GoldSettings.for_store(config)
    zones = [z.id for z in config.zones]
    t1 = time.monotonic()
    spark = get_spark(app_name="bench-gold", lake_root_url=lake, register_tables=False,
                      driver_memory=args.driver_memory,
                      shuffle_partitions=args.shuffle_partitions)
    t_session = time.monotonic() - t1
    start = OPEN + timedelta(hours=args.rollup_from_hour)
    end = OPEN + timedelta(hours=args.hours)
    if args.rollup_hours is not None:
        end = min(end, start + timedelta(hours=args.rollup_hours))
    if (start, end) != (OPEN, OPEN + timedelta(hours=args.hours)):
        # only part of the silver is rolled up: count what the rollup reads as rows in
        counts = _silver_counts(lake, start=start, end=end)
        print(f"rolling up {start:%H:%M}-{end:%H:%M}: {counts['frames']:,} frames, "
              f"{counts['detections']:,} detections")
    silver_rows = counts["frames"] + counts["detections"]
    totals: dict[str, int] = {}
    loads: list[float] = []
    t2 = time.monotonic()
    for w0, w1 in aligned_windows(start, end, minutes=args.window_minutes):
        res = rollup_window(spark, store_id="bench-store", start=w0, end=w1, settings=settings,
                            zone_ids=zones)
        for k, v in res.rows.items():
            totals[k] = totals.get(k, 0) + v
        loads.append(os.getloadavg()[0])
        print(f"  window {w0:%H:%M}-{w1:%H:%M}: {res.seconds:.1f} s  {res.rows}  load "
              f"{loads[-1]:.1f}", flush=True)
    t_roll = time.monotonic() - t2
    print(f"spark session start: {t_session:.1f} s (driver {args.driver_memory}, "
          f"{args.shuffle_partitions} shuffle partitions, {args.window_minutes}-minute "
          f"windows); 1-min load average after each window: mean "
          f"{sum(loads) / max(1, len(loads)):.1f}, max {max(loads, default=0.0):.1f} on "
          f"{os.cpu_count()} cores")
    print(f"gold rollup: {t_roll:.1f} s for {silver_rows:,} silver rows "
          f"({t_roll / silver_rows * 1e6:.1f} s per million rows, "
          f"{silver_rows / t_roll:,.0f} rows/s, {counts['detections'] / t_roll:,.0f} "
          f"detections/s); gold rows {totals}")
    full = 120 * 14 * 3600 * 5
    scale = full / counts["frames"]
    print(f"linear extrapolation to a full store-day (120 cameras x 14 h x 5 fps, "
          f"x{scale:.1f} frames): ~{t_roll * scale / 60:.0f} min on this machine")
    spark.stop()
    if not args.keep and not args.lake:
        shutil.rmtree(lake, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
