"""Benchmark: ``storeheat heatmap`` render time from gold (deltalake read + matplotlib PNG).

Gold heatmap cells of a synthetic store-day are written with ``deltalake``: the
120-camera, 120 m x 80 m store of :mod:`benchmarks.lake_rollup` at 0.5 m cells (38,400
cells), 15-minute buckets over 14 hours, with ``--occupied`` of the cells non-empty in each
bucket (a busy day). Then :func:`spark_jobs.heatmap.heatmap_png` is timed for a one-hour
window and for the whole day, ``--repeat`` times each (median reported). The first call in
the process also pays for importing matplotlib and pyarrow; it is reported separately.

Run: ``python -m benchmarks.heatmap_render`` (``--cameras 12`` for a small store).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import yaml

from benchmarks.lake_rollup import OPEN, StoreShape, store_config


def write_gold_cells(
    root: Path, *, shape: StoreShape, hours: float, occupied: float, seed: int,
    store_id: str = "bench-store", cell_m: float = 0.5, bucket_minutes: int = 15,
) -> int:
    """Write one synthetic store-day of gold_heatmap_cells with deltalake; return row count."""
    import pyarrow as pa
    from deltalake import write_deltalake

    rng = np.random.default_rng(seed)
    nx, ny = math.ceil(shape.width / cell_m), math.ceil(shape.depth / cell_m)
    n_cells = nx * ny
    per_bucket = max(1, int(n_cells * occupied))
    buckets = int(hours * 60 / bucket_minutes)
    rows = 0
    for b in range(buckets):
        cells = rng.choice(n_cells, size=per_bucket, replace=False)
        start = OPEN + timedelta(minutes=b * bucket_minutes)
        n = len(cells)
        table = pa.table({
            "store_id": pa.array([store_id] * n),
            "bucket_start": pa.array([start] * n, pa.timestamp("us", tz="UTC")),
            "bucket_minutes": pa.array(np.full(n, bucket_minutes, dtype=np.int32)),
            "cell_m": pa.array(np.full(n, cell_m)),
            "cell_x": pa.array((cells % nx).astype(np.int64)),
            "cell_y": pa.array((cells // nx).astype(np.int64)),
            "person_seconds": pa.array(rng.exponential(20.0, n)),
            "distinct_tracks": pa.array(rng.integers(1, 6, n).astype(np.int64)),
            "detections": pa.array(rng.integers(1, 500, n).astype(np.int64)),
            "bucket_date": pa.array([start.date()] * n, pa.date32()),
        })
        write_deltalake(str(root / "gold_heatmap_cells"), table, mode="append",
                        partition_by=["store_id", "bucket_date"])
        rows += n
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=120)
    parser.add_argument("--hours", type=float, default=14.0)
    parser.add_argument("--occupied", type=float, default=0.3,
                        help="share of floor cells non-empty in each bucket")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)

    from storeheat.env import apply_tool_env

    apply_tool_env()
    tmp = Path(tempfile.mkdtemp(prefix="storeheat-heatmap-bench-"))
    try:
        shape = StoreShape(args.cameras)
        cfg = tmp / "store.yaml"
        cfg.write_text(yaml.safe_dump(store_config(shape)))
        t0 = time.monotonic()
        n = write_gold_cells(tmp / "lake", shape=shape, hours=args.hours,
                             occupied=args.occupied, seed=args.seed)
        print(f"gold: {n:,} heatmap rows ({args.cameras} cameras, {shape.width:g} x "
              f"{shape.depth:g} m, {args.hours:g} h) written in {time.monotonic() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        from spark_jobs.heatmap import heatmap_png

        windows = {
            "1 h": (OPEN + timedelta(hours=2), OPEN + timedelta(hours=3)),
            f"{args.hours:g} h (day)": (OPEN, OPEN + timedelta(hours=args.hours)),
        }
        first = True
        for label, (start, end) in windows.items():
            times, cpu = [], []
            for i in range(args.repeat + (1 if first else 0)):
                t, c = time.monotonic(), time.process_time()
                _, grid = heatmap_png(store_id="bench-store", start=start, end=end,
                                      out=tmp / f"h{i}.png", config_path=cfg,
                                      root=str(tmp / "lake"))
                elapsed, used = time.monotonic() - t, time.process_time() - c
                if first:
                    print(f"first call (imports included): {elapsed:.2f} s wall, "
                          f"{used:.2f} s CPU")
                    first = False
                    continue
                times.append(elapsed)
                cpu.append(used)
            # CPU time is the figure to compare on a shared machine; wall time includes waiting
            print(f"window {label}: {grid.rows_read:,} rows -> {grid.person_seconds.shape} "
                  f"grid -> PNG: median {statistics.median(times):.2f} s wall "
                  f"(min {min(times):.2f}, max {max(times):.2f}), median CPU "
                  f"{statistics.median(cpu):.2f} s, n={len(times)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
