"""The demo's closing report: zone table from gold and accuracy against the simulator's truth.

Reads gold with the ``deltalake`` package (no JVM) and the ground truth a simulated run wrote
beside its videos (``occupancy.csv``, ``zone_visits.csv``), and scores them with
:mod:`storeheat.evaluation` (definitions in docs/metrics.md).
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from storeheat.config import StoreConfig, load_store_config
from storeheat.evaluation.dwell import compare_dwell
from storeheat.evaluation.heatmap import compare_heatmaps


def _read_gold(name: str, *, store_id: str, start: datetime, end: datetime,
               root: str | None = None) -> pd.DataFrame:
    from deltalake import DeltaTable

    from spark_jobs.session import lake_root

    table = DeltaTable(f"{lake_root(root)}/{name}")
    df = table.to_pandas(filters=[("store_id", "=", store_id)])
    if df.empty:
        return df
    ts = pd.to_datetime(df["bucket_start"], utc=True)
    return df[(ts >= pd.Timestamp(start)) & (ts < pd.Timestamp(end))].reset_index(drop=True)


def occupancy_grids(config: StoreConfig, measured: pd.DataFrame, truth: pd.DataFrame
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Person-seconds per (cell_y, cell_x) summed over the window, measured and true."""
    cell = config.heatmap.cell_m
    ny = int(np.ceil(config.floor.depth_m / cell))
    nx = int(np.ceil(config.floor.width_m / cell))
    m = np.zeros((ny, nx))
    t = np.zeros((ny, nx))
    if not measured.empty:
        rows = measured[np.isclose(measured["cell_m"], cell)]
        np.add.at(m, (rows["cell_y"].clip(0, ny - 1).to_numpy(int),
                      rows["cell_x"].clip(0, nx - 1).to_numpy(int)),
                  rows["person_seconds"].to_numpy(float))
    if not truth.empty:
        np.add.at(t, (truth["row"].clip(0, ny - 1).to_numpy(int),
                      truth["col"].clip(0, nx - 1).to_numpy(int)),
                  truth["person_seconds"].to_numpy(float))
    return m, t


def build_report(*, run_dir: Path, start: datetime, end: datetime,
                 root: str | None = None) -> dict[str, Any]:
    """Zone table and accuracy figures of a simulated run processed by the pipeline."""
    config = load_store_config(run_dir / "store.yaml")
    cells = _read_gold("gold_heatmap_cells", store_id=config.store_id, start=start, end=end,
                       root=root)
    metrics = _read_gold("gold_zone_metrics", store_id=config.store_id, start=start, end=end,
                         root=root)
    visits = _read_gold("gold_zone_visits", store_id=config.store_id, start=start, end=end,
                        root=root)
    true_occ = pd.read_csv(run_dir / "occupancy.csv")
    true_visits = pd.read_csv(run_dir / "zone_visits.csv")
    m, t = occupancy_grids(config, cells, true_occ)
    heat = compare_heatmaps(m, t)
    measured_visits = pd.DataFrame()
    if not visits.empty:
        counted = visits[visits["counted"]]
        measured_visits = pd.DataFrame({
            "zone_id": counted["zone_id"],
            "track_id": counted["camera_id"] + "/" + counted["stream_epoch"].astype(str)
            + "/" + counted["track_id"].astype(str),
            "dwell_s": counted["dwell_s"],
        })
    dwell = compare_dwell(
        measured_visits if not measured_visits.empty else [],
        true_visits[["zone_id", "person_id", "dwell_s"]],
    )
    zones = []
    truth_by_zone = true_visits.groupby("zone_id")
    for zone in config.zones:
        rows = metrics[metrics["zone_id"] == zone.id] if not metrics.empty else metrics
        tz = truth_by_zone.get_group(zone.id) if zone.id in truth_by_zone.groups else None
        zones.append({
            "zone": zone.id,
            "visits": int(rows["visits"].sum()) if len(rows) else 0,
            "visitors": int(rows["distinct_visitors"].sum()) if len(rows) else 0,
            "dwell_p50_s": float(rows["dwell_p50_s"].median()) if len(rows) else float("nan"),
            "dwell_p90_s": float(rows["dwell_p90_s"].max()) if len(rows) else float("nan"),
            "peak": int(rows["peak_occupancy"].max()) if len(rows) else 0,
            "true_visitors": int(tz["person_id"].nunique()) if tz is not None else 0,
            "true_dwell_p50_s": float(tz["dwell_s"].median()) if tz is not None else float("nan"),
        })
    return {"zones": zones, "heatmap": heat.to_dict(), "dwell": dwell.to_dict()}


def _seconds(value: float) -> str:
    """``12.3s``, or ``–`` for a zone without visits (NaN)."""
    return "–" if value != value else f"{value:.1f}s"


def print_report(*, run_dir: Path, start: datetime, end: datetime,
                 root: str | None = None) -> dict[str, Any]:
    """Print the zone table and the accuracy figures; returns them too."""
    with warnings.catch_warnings():
        # Medians of zones nobody visited are NaN by design (printed as "–"), not a problem.
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        report = build_report(run_dir=run_dir, start=start, end=end, root=root)
    print(f"    zones, {start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC (measured | truth)")
    print(f"    {'zone':<10} {'visits':>6} {'visitors':>8} {'dwell p50':>9} {'dwell p90':>9} "
          f"{'peak':>4} | {'visitors':>8} {'dwell p50':>9}")
    for z in report["zones"]:
        print(f"    {z['zone']:<10} {z['visits']:>6} {z['visitors']:>8} "
              f"{_seconds(z['dwell_p50_s']):>9} {_seconds(z['dwell_p90_s']):>9} {z['peak']:>4} | "
              f"{z['true_visitors']:>8} {_seconds(z['true_dwell_p50_s']):>9}")
    h = report["heatmap"]
    d = report["dwell"]
    print("    accuracy against the simulation's truth (definitions: docs/metrics.md)")
    print(f"      heatmap: normalised L1 {h['normalised_l1']:.3f}, Pearson r "
          f"{h['pearson_r']:.3f}, person-seconds measured {h['measured_total']:.0f} vs true "
          f"{h['truth_total']:.0f}")
    print(f"      dwell:   mean abs error of zone mean dwell {d['mean_dwell_mae_s']:.1f} s, "
          f"of p50 {d['p50_dwell_mae_s']:.1f} s")
    print(f"      visitors: count error {d['visitor_count_error']:.1%} (sum over zones), "
          f"store {d['store_visitor_count_error']:.1%}")
    return report
