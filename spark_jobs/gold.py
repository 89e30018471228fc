"""Gold rollups: silver detections → heatmap cells, zone visits and metrics, tracks, busy periods.

Every transform here is a pure DataFrame → DataFrame function; :func:`rollup_window` reads
silver for one store and one time window, applies them and replaces that window in each gold
table (Delta ``replaceWhere`` on store and ``bucket_start``), so a rerun or a backfill of a
window gives the same rows and leaves every other window alone. :func:`main` is the
``spark-submit`` entry point.

Definitions (the numbers analysts see depend on them, so they are stated once, here):

* **Time buckets.** ``bucket_start`` = capture time floored to ``bucket_minutes`` (UTC epoch
  aligned). Rollup windows must start and end on bucket boundaries.
* **Person-seconds.** Each on-floor detection contributes its frame's interval: the measured
  gap to the same camera's next frame in the same stream epoch, capped at
  ``max_interval_s`` (an outage must not turn one frame into minutes of presence); the last
  frame of an epoch takes the previous gap, else ``default_interval_s`` (1 / fps).
* **Cross-camera fusion (a person seen by two cameras counts once).** Camera-priority
  suppression: a detection is a *duplicate* when a detection from another camera whose id
  sorts first was captured within ``fusion_tolerance_s`` and its floor point lies within
  ``fusion_radius_m``. Duplicates are dropped from person-seconds, heatmap cells and
  occupancy. The pair search is a grid join (cells of ``4 r``, time slots of ``4 tol``;
  each detection probes every cell/slot its ``r``/``tol`` box touches, ~3.4 keys on
  average), so it is linear in the number of detections. Known limits: two *different* people closer
  than ``r`` where the priority camera sees only one of them are merged (undercount), and
  foot points projected farther apart than ``r`` by calibration error stay double
  (overcount). Measured on the simulated store (``benchmarks/fusion_sim.py``: 3 cameras,
  perfect detector and tracker, foot points through the real calibration), total
  person-seconds against what at least one camera saw: without fusion +44.6 % (normal
  scenario) and +39.9 % (peak, 102 people); r = 0.5 m: +7.9 % and +3.1 %; r = 1.0 m:
  -10.3 % and -13.4 % (people merged in crowds). Hence the 0.5 m default.
* **Visits.** Per camera track: consecutive detections in the same zone form a run; a gap
  longer than ``max_gap_s`` ends it. Runs shorter than ``min_visit_s`` (boundary flicker)
  are dropped, then neighbouring runs of the same zone separated by at most ``max_gap_s``
  are merged. dwell = last detection + its interval − first detection. A visit is *counted*
  in zone metrics unless at least ``duplicate_share`` of its detections were fusion
  duplicates (then another camera's track already counts it). A visit belongs to the bucket
  in which it began.
* **Zone metrics** per (zone, bucket): counted visits and distinct tracks among them, dwell
  p50/p90 (exact percentiles), person-seconds, ``avg_occupancy`` = person-seconds / bucket
  length, and ``peak_occupancy`` = the most fused people in the zone within one time slot of
  ``tick_s`` (one frame per camera per slot, the first). Every zone gets a row in every bucket
  in which the store's cameras sent frames, so zeros are observed, not missing.
* **Tracks** per (camera, stream epoch, track id): first/last detection, duration, floor path
  length (sum of the straight steps between consecutive on-floor points), zone sequence of
  its visits. Tracks are per camera and are not fused (no identity crosses cameras).
* **Windows and tracks crossing them.** A track or visit belongs to the bucket containing its
  first detection. The rollup reads ``horizon_minutes`` of silver before the window (to know
  which tracks began earlier, which are left to the earlier window) and after it (to finish
  the tracks that began inside). Tracks or visits longer than the horizon are cut there.
  Heatmap cells and occupancy depend only on the detections inside each bucket. So a
  rollup only processes the window's detections, the rest of the tracks seen in it, and
  the frames around them (see :func:`compute_window`), not the whole horizon.
* **Busy periods.** A bucket is busy for a zone when its ``avg_occupancy`` exceeds
  ``mean + busy_k * std`` of the zone's buckets over the ``baseline_days`` ending at the
  window's end (read from ``gold_zone_metrics``), is at least ``busy_min_occupancy``, and the
  baseline has at least ``busy_min_baseline_buckets`` buckets. Consecutive busy buckets form
  one period; periods are cut at window boundaries. Backfilling an earlier window changes
  later baselines only when those windows are rerun.

Cost (``benchmarks/lake_rollup.py``): a window reads ``window + 2 * horizon`` of silver, so a
backfill is cheapest in long windows (``rollup_range(window_minutes=...)``, ``storeheat lake
gold --window-minutes``; the rows do not depend on the window length, except for tracks
longer than the horizon, which are cut at a different place) while the hourly
Airflow rollup keeps one-hour windows. Every session from
:func:`spark_jobs.session.get_spark` rebuilds Delta snapshots in 2 tasks instead of 50,
which was most of a small window's time.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from data_contracts.tables import (
    GOLD_BUSY_PERIODS,
    GOLD_HEATMAP_CELLS,
    GOLD_TABLES,
    GOLD_TRACKS,
    GOLD_ZONE_METRICS,
    GOLD_ZONE_VISITS,
    SILVER_DETECTIONS,
    SILVER_FRAMES,
    Table,
)
from spark_jobs.exceptions import LakeError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from storeheat.config import StoreConfig

log = logging.getLogger(__name__)

_US = 1_000_000
_TRACK_KEY = ("store_id", "camera_id", "stream_epoch", "track_id")

class RollupError(LakeError):
    """A rollup request is invalid (window not aligned to buckets, end before start)."""

    def __init__(self, message: str, *, store_id: str, start: datetime, end: datetime) -> None:
        self.store_id = store_id
        self.start = start
        self.end = end
        super().__init__(
            f"gold rollup of store {store_id!r} for [{start.isoformat()}, {end.isoformat()}): "
            f"{message}"
        )


@dataclass(frozen=True, slots=True)
class GoldSettings:
    """Parameters of the gold rollups (see the module docstring for what each one means).

    Attributes:
        cell_m: Heatmap grid cell, metres.
        bucket_minutes: Time bucket, minutes.
        default_interval_s: Frame interval when no gap can be measured (1 / fps).
        max_interval_s: Cap on a measured frame gap, seconds.
        fusion_radius_m: Cross-camera fusion radius, metres.
        fusion_tolerance_s: Cross-camera fusion time tolerance, seconds.
        tick_s: Time slot for instantaneous (peak) occupancy, seconds.
        max_gap_s: Longest gap inside one visit, seconds.
        min_visit_s: Shortest run counted as a visit, seconds.
        duplicate_share: Visits with at least this share of duplicate detections are not
            counted.
        horizon_minutes: Silver read before and after the window to place and finish tracks.
        busy_k: Busy threshold in standard deviations above the zone's mean.
        busy_min_occupancy: Busy buckets have at least this mean occupancy (people).
        busy_baseline_days: Days of zone metrics forming the usual level.
        busy_min_baseline_buckets: Fewer baseline buckets than this: no busy periods.
    """

    cell_m: float = 0.5
    bucket_minutes: int = 15
    default_interval_s: float = 0.2
    max_interval_s: float = 1.0
    fusion_radius_m: float = 0.5
    fusion_tolerance_s: float = 0.2
    tick_s: float = 0.2
    max_gap_s: float = 5.0
    min_visit_s: float = 1.0
    duplicate_share: float = 0.5
    horizon_minutes: int = 60
    busy_k: float = 2.0
    busy_min_occupancy: float = 1.0
    busy_baseline_days: int = 7
    busy_min_baseline_buckets: int = 8

    def __post_init__(self) -> None:
        positive = ("cell_m", "default_interval_s", "max_interval_s", "fusion_radius_m",
                    "fusion_tolerance_s", "tick_s", "max_gap_s", "busy_k")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"GoldSettings.{name} must be > 0, got {getattr(self, name)}")
        if not (1 <= self.bucket_minutes <= 1440 and 1440 % self.bucket_minutes == 0):
            raise ValueError(
                f"GoldSettings.bucket_minutes must divide a day (1..1440), got "
                f"{self.bucket_minutes}"
            )
        if not 0 < self.duplicate_share <= 1:
            raise ValueError(f"GoldSettings.duplicate_share must be in (0, 1], got "
                             f"{self.duplicate_share}")
        for name in ("min_visit_s", "horizon_minutes", "busy_min_occupancy",
                     "busy_baseline_days", "busy_min_baseline_buckets"):
            if getattr(self, name) < 0:
                raise ValueError(f"GoldSettings.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def bucket_seconds(self) -> int:
        return self.bucket_minutes * 60

    @classmethod
    def for_store(cls, config: StoreConfig, **overrides: float | int) -> GoldSettings:
        """Settings from a store config (grid cell, bucket, slowest camera's frame interval)."""
        fps = min(c.fps for c in config.cameras)
        base = cls(
            cell_m=config.heatmap.cell_m,
            bucket_minutes=config.heatmap.bucket_minutes,
            default_interval_s=1.0 / fps,
            tick_s=1.0 / max(c.fps for c in config.cameras),
            fusion_tolerance_s=1.0 / fps,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


# --- small column helpers ------------------------------------------------------------------


def _micros(col: str | Column) -> Column:
    from pyspark.sql import functions as F

    return F.unix_micros(F.col(col) if isinstance(col, str) else col)


def _floor_time(col: str, seconds: float) -> Column:
    """Timestamp floored to a multiple of ``seconds`` since the epoch (session-zone free)."""
    from pyspark.sql import functions as F

    step = int(round(seconds * _US))
    return F.timestamp_micros(F.floor(_micros(col) / step) * step)


def _utc_date(col: str) -> Column:
    """UTC calendar day of a timestamp, whatever the session time zone."""
    from pyspark.sql import functions as F

    return F.date_from_unix_date(F.floor(_micros(col) / (86_400 * _US)).cast("int"))


def _seconds_between(later: str | Column, earlier: str | Column) -> Column:
    return (_micros(later) - _micros(earlier)) / float(_US)


# --- transforms ----------------------------------------------------------------------------


def frame_intervals(
    frames: DataFrame,
    *,
    default_interval_s: float = 0.2,
    max_interval_s: float = 1.0,
    stream_bounds: DataFrame | None = None,
) -> DataFrame:
    """Add ``interval_s`` to each frame: how long its picture stands for.

    Args:
        frames: silver_frames rows (needs event_id, store_id, camera_id, stream_epoch,
            frame_index, capture_time).
        default_interval_s: Used when the camera's epoch has a single frame.
        max_interval_s: Cap on a measured gap.
        stream_bounds: When ``frames`` is only a time slice of each stream: store_id,
            camera_id, stream_epoch, ``first_us`` and ``last_us`` (capture times, epoch
            microseconds) of the whole streams. The intervals are then those the whole
            streams would give, for every frame at least ``max_interval_s`` + 1 s inside its
            slice (a neighbour outside the slice is farther away than the cap).

    Returns:
        ``frames`` with ``interval_s`` (seconds, > 0) and ``interval_us`` (the same in whole
        microseconds, what sums use).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    stream = ["store_id", "camera_id", "stream_epoch"]
    w = Window.partitionBy(*stream).orderBy("capture_time", "frame_index")
    nxt_time = F.lead("capture_time").over(w)
    prv_time = F.lag("capture_time").over(w)
    nxt = _seconds_between(nxt_time, F.col("capture_time"))
    prv = _seconds_between(F.col("capture_time"), prv_time)
    if stream_bounds is not None:
        # The slice holds every frame within the cap (+1 s) of the frames that matter, so a
        # neighbour missing from it but present in the stream is past the cap either way.
        beyond = F.lit(float(max_interval_s) + 1.0)
        t = _micros("capture_time")
        nxt = F.when(nxt_time.isNull() & (F.col("_last_us") > t), beyond).otherwise(nxt)
        prv = F.when(prv_time.isNull() & (F.col("_first_us") < t), beyond).otherwise(prv)
        frames = frames.join(
            F.broadcast(
                stream_bounds.select(
                    *stream, F.col("first_us").alias("_first_us"),
                    F.col("last_us").alias("_last_us"),
                )
            ),
            on=stream,
            how="inner",
        )
    gap = F.coalesce(
        F.when(nxt > 0, nxt), F.when(prv > 0, prv), F.lit(float(default_interval_s))
    )
    interval = F.least(gap, F.lit(float(max_interval_s)))
    # Sums run over whole microseconds (exact, order-independent), so a rerun of a window
    # gives bit-identical person-seconds whatever the partitioning.
    out = frames.withColumn("interval_us", F.round(interval * _US).cast("long")).withColumn(
        "interval_s", F.col("interval_us") / float(_US)
    )
    return out.drop("_first_us", "_last_us") if stream_bounds is not None else out


def with_intervals(detections: DataFrame, frames_with_interval: DataFrame) -> DataFrame:
    """Attach each detection's frame ``interval_s`` (joined on the frame's event_id)."""
    return detections.join(
        frames_with_interval.select("event_id", "interval_s", "interval_us"), on="event_id",
        how="inner",
    )


#: Fusion search grid, in fusion radii (space) and tolerances (time). Any size is exact (a
#: probe visits every cell its radius/tolerance box touches); larger cells mean fewer probe
#: rows per detection (here ~3.4 instead of 8 with cells of 2 r) but more candidate pairs per
#: cell, which are cheap to filter compared with shuffling probe rows.
_FUSION_CELL_RADII = 4.0
_FUSION_SLOT_TOLERANCES = 4.0


def _on_floor() -> Column:
    from pyspark.sql import functions as F

    return F.col("on_floor") & F.col("floor_x").isNotNull()


def duplicate_ids(
    probe: DataFrame, build: DataFrame, *, radius_m: float = 0.5, tolerance_s: float = 0.2
) -> DataFrame:
    """Keys of the ``probe`` detections that a ``build`` detection makes duplicates.

    A probe detection is a duplicate when a build detection of the same store, from a camera
    whose id sorts before its own, lies within ``radius_m`` on the floor and ``tolerance_s``
    in time. Both inputs must hold on-floor detections only. The pair search is a grid join:
    build rows go to their cell and time slot, probe rows to every cell and slot their
    radius/tolerance box touches, so it is linear in the number of detections.

    Args:
        probe: Detections to flag (event_id, detection_index, store_id, camera_id,
            capture_time, floor_x, floor_y).
        build: Detections that can make others duplicates (same columns; may overlap
            ``probe`` and may hold repeated rows).
        radius_m: Fusion radius, metres.
        tolerance_s: Fusion time tolerance, seconds.

    Returns:
        Distinct (event_id, detection_index) of the duplicates.
    """
    from pyspark.sql import functions as F

    cell = _FUSION_CELL_RADII * radius_m
    slot_us = max(1, int(round(_FUSION_SLOT_TOLERANCES * tolerance_s * _US)))
    tol_us = tolerance_s * _US
    reach_us = math.ceil(tol_us)
    # Widening the probe box by a hair only adds candidates; the exact test follows the join.
    reach_m = radius_m * (1 + 1e-9) + 1e-9
    t = _micros("capture_time")
    keyed_build = build.select(
        "store_id",
        F.floor(F.col("floor_x") / cell).alias("gx"),
        F.floor(F.col("floor_y") / cell).alias("gy"),
        F.floor(t / slot_us).alias("gt"),
        F.col("camera_id").alias("b_camera"),
        F.col("floor_x").alias("bx"),
        F.col("floor_y").alias("by"),
        t.alias("bt"),
    )

    def _span(lo: Column, hi: Column, step: float | int) -> Column:
        return F.explode(F.sequence(F.floor(lo / step), F.floor(hi / step)))

    # Exact pre-filter: a probe can only be a duplicate where a camera sorting before its own
    # saw someone within reach at some time. Per cell of twice the reach, the first camera
    # that saw anything there, spread to the 8 neighbouring cells (which hold every point
    # within reach of the cell, with half a cell to spare for rounding), is a small table
    # (floor area / cell area rows); probes whose cell's first camera is their own or a
    # later one skip the pair search. With cameras overlapping in bands, about half the
    # probes stay.
    mask_cell = 2.0 * reach_m
    first_cams = (
        build.select(
            "store_id",
            F.floor(F.col("floor_x") / mask_cell).alias("mx"),
            F.floor(F.col("floor_y") / mask_cell).alias("my"),
            "camera_id",
        )
        .groupBy("store_id", "mx", "my")
        .agg(F.min("camera_id").alias("first_camera"))
        .withColumn("dx", F.explode(F.array(*(F.lit(d) for d in (-1, 0, 1)))))
        .withColumn("dy", F.explode(F.array(*(F.lit(d) for d in (-1, 0, 1)))))
        .select("store_id", (F.col("mx") + F.col("dx")).alias("nx"),
                (F.col("my") + F.col("dy")).alias("ny"), "first_camera")
        .groupBy("store_id", "nx", "ny")
        .agg(F.min("first_camera").alias("first_camera"))
    )
    probe = (
        probe.withColumn("nx", F.floor(F.col("floor_x") / mask_cell))
        .withColumn("ny", F.floor(F.col("floor_y") / mask_cell))
        .join(F.broadcast(first_cams), on=["store_id", "nx", "ny"], how="inner")
        .where(F.col("first_camera") < F.col("camera_id"))
    )

    pts = probe.select(
        "event_id",
        "detection_index",
        "store_id",
        "camera_id",
        F.col("floor_x").alias("x"),
        F.col("floor_y").alias("y"),
        t.alias("t_us"),
    )
    keyed_probe = (
        pts.withColumn("gx", _span(F.col("x") - reach_m, F.col("x") + reach_m, cell))
        .withColumn("gy", _span(F.col("y") - reach_m, F.col("y") + reach_m, cell))
        .withColumn("gt", _span(F.col("t_us") - reach_us, F.col("t_us") + reach_us, slot_us))
    )
    r2 = radius_m * radius_m
    # A shuffled hash join on the (smaller) build side: a sort-merge join sorted every probe
    # row (~3.4 per detection) and was half of a window's time at 120 cameras.
    return (
        keyed_probe.join(
            keyed_build.hint("shuffle_hash"), on=["store_id", "gx", "gy", "gt"], how="inner"
        )
        .where(
            (F.col("b_camera") < F.col("camera_id"))
            & (F.abs(F.col("bt") - F.col("t_us")) <= tol_us)
            & ((F.col("bx") - F.col("x")) ** 2 + (F.col("by") - F.col("y")) ** 2 <= r2)
        )
        .select("event_id", "detection_index")
        .distinct()
    )


def _flag_duplicates(detections: DataFrame, dups: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return detections.join(
        dups.withColumn("duplicate", F.lit(True)), on=["event_id", "detection_index"],
        how="left",
    ).withColumn("duplicate", F.coalesce(F.col("duplicate"), F.lit(False)))


def fuse_cameras(
    detections: DataFrame, *, radius_m: float = 0.5, tolerance_s: float = 0.2
) -> DataFrame:
    """Flag detections another (higher-priority) camera already saw: ``duplicate`` column.

    A detection is a duplicate when a detection of the same store from a camera whose id sorts
    before its own lies within ``radius_m`` on the floor and ``tolerance_s`` in time.
    Detections off the floor are never duplicates (they count nowhere on the floor).
    See :func:`duplicate_ids` for the pair search.

    Args:
        detections: Rows with event_id, detection_index, store_id, camera_id, capture_time,
            floor_x, floor_y, on_floor.
        radius_m: Fusion radius, metres.
        tolerance_s: Fusion time tolerance, seconds.

    Returns:
        ``detections`` with a non-null boolean ``duplicate``.
    """
    pts = detections.where(_on_floor())
    return _flag_duplicates(
        detections, duplicate_ids(pts, pts, radius_m=radius_m, tolerance_s=tolerance_s)
    )


def heatmap_cells(
    detections: DataFrame, *, cell_m: float = 0.5, bucket_minutes: int = 15
) -> DataFrame:
    """Person-seconds and distinct tracks per floor cell and time bucket.

    Args:
        detections: Detections with ``interval_s`` and ``duplicate`` (from
            :func:`with_intervals` and :func:`fuse_cameras`).
        cell_m: Cell size, metres.
        bucket_minutes: Bucket length, minutes.

    Returns:
        Rows shaped like ``gold_heatmap_cells`` (non-empty cells only).
    """
    from pyspark.sql import functions as F

    kept = detections.where(
        F.col("on_floor") & F.col("floor_x").isNotNull() & ~F.col("duplicate")
    )
    track = F.when(
        F.col("track_id").isNotNull(),
        F.struct("camera_id", "stream_epoch", "track_id"),
    )
    cells = (
        kept.withColumn("bucket_start", _floor_time("capture_time", bucket_minutes * 60))
        .withColumn("cell_x", F.floor(F.col("floor_x") / cell_m).cast("long"))
        .withColumn("cell_y", F.floor(F.col("floor_y") / cell_m).cast("long"))
        .groupBy("store_id", "bucket_start", "cell_x", "cell_y")
        .agg(
            (F.sum("interval_us") / float(_US)).alias("person_seconds"),
            F.count_distinct(track).alias("distinct_tracks"),
            F.count(F.lit(1)).alias("detections"),
        )
    )
    return _conform(
        cells.withColumn("bucket_minutes", F.lit(bucket_minutes))
        .withColumn("cell_m", F.lit(float(cell_m)))
        .withColumn("bucket_date", _utc_date("bucket_start")),
        GOLD_HEATMAP_CELLS,
    )


def zone_visits(
    detections: DataFrame,
    *,
    bucket_minutes: int = 15,
    max_gap_s: float = 5.0,
    min_visit_s: float = 1.0,
    duplicate_share: float = 0.5,
) -> DataFrame:
    """Visits of camera tracks to zones (see the module docstring for the rules).

    Args:
        detections: Detections with ``interval_s`` and ``duplicate``; rows without a track id
            are ignored (an unconfirmed detection cannot be followed).
        bucket_minutes: Bucket length (a visit belongs to the bucket it began in).
        max_gap_s: Longest gap inside one visit.
        min_visit_s: Shorter runs are not visits.
        duplicate_share: Visits with at least this share of duplicate detections get
            ``counted = false``.

    Returns:
        Rows shaped like ``gold_zone_visits``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    d = detections.where(F.col("track_id").isNotNull()).select(
        *_TRACK_KEY,
        "capture_time",
        "frame_index",
        "zone_id",
        "interval_us",
        F.col("duplicate").cast("long").alias("dup"),
    )
    w = Window.partitionBy(*_TRACK_KEY).orderBy("capture_time", "frame_index")
    prev_zone = F.lag("zone_id").over(w)
    prev_time = F.lag("capture_time").over(w)
    new_run = (
        prev_time.isNull()
        | ~prev_zone.eqNullSafe(F.col("zone_id"))
        | (_seconds_between(F.col("capture_time"), prev_time) > max_gap_s)
    )
    runs = (
        d.withColumn("new_run", new_run.cast("long"))
        .withColumn("run", F.sum("new_run").over(w))
        .groupBy(*_TRACK_KEY, "run", "zone_id")
        .agg(
            F.min("capture_time").alias("enter_time"),
            F.max(_micros("capture_time") + F.col("interval_us")).alias("exit_us"),
            F.count(F.lit(1)).alias("detections"),
            F.sum("dup").alias("dups"),
        )
        .withColumn("exit_time", F.timestamp_micros("exit_us"))
        .where(F.col("zone_id").isNotNull())
        .where(_seconds_between("exit_time", "enter_time") >= min_visit_s)
    )
    w2 = Window.partitionBy(*_TRACK_KEY).orderBy("enter_time")
    prev_zone2 = F.lag("zone_id").over(w2)
    prev_exit = F.lag("exit_time").over(w2)
    new_visit = (
        prev_exit.isNull()
        | (prev_zone2 != F.col("zone_id"))
        | (_seconds_between(F.col("enter_time"), prev_exit) > max_gap_s)
    )
    visits = (
        runs.withColumn("new_visit", new_visit.cast("long"))
        .withColumn("visit", F.sum("new_visit").over(w2))
        .groupBy(*_TRACK_KEY, "visit", "zone_id")
        .agg(
            F.min("enter_time").alias("enter_time"),
            F.max("exit_time").alias("exit_time"),
            F.sum("detections").alias("detections"),
            F.sum("dups").alias("dups"),
        )
        .withColumn("dwell_s", _seconds_between("exit_time", "enter_time"))
        .withColumn("duplicate_share", F.col("dups") / F.col("detections"))
        .withColumn("counted", F.col("duplicate_share") < duplicate_share)
        .withColumn("bucket_start", _floor_time("enter_time", bucket_minutes * 60))
        .withColumn("bucket_minutes", F.lit(bucket_minutes))
        .withColumn("bucket_date", _utc_date("bucket_start"))
    )
    return _conform(visits, GOLD_ZONE_VISITS)


def zone_occupancy(
    detections: DataFrame, frames: DataFrame, *, bucket_minutes: int = 15, tick_s: float = 0.2
) -> DataFrame:
    """Person-seconds, mean and peak occupancy per (zone, bucket), from fused detections.

    Peak: per time slot of ``tick_s``, each camera contributes its first frame in the slot;
    the zone's count in the slot is the sum over cameras of that frame's non-duplicate
    detections in the zone. The peak is the highest slot count in the bucket.

    Args:
        detections: Detections with ``interval_s`` and ``duplicate``.
        frames: The frames the detections come from (to pick each camera's frame per slot).
        bucket_minutes: Bucket length.
        tick_s: Slot length for the instantaneous count.

    Returns:
        Columns store_id, zone_id, bucket_start, person_seconds, avg_occupancy,
        peak_occupancy (zones nobody entered are absent; see :func:`zone_metrics`).
    """
    from pyspark.sql import functions as F

    kept = detections.where(F.col("zone_id").isNotNull() & ~F.col("duplicate")).withColumn(
        "tick", _floor_time("capture_time", tick_s)
    )
    bucket_s = bucket_minutes * 60
    seconds = (
        kept.withColumn("bucket_start", _floor_time("capture_time", bucket_s))
        .groupBy("store_id", "zone_id", "bucket_start")
        .agg((F.sum("interval_us") / float(_US)).alias("person_seconds"))
        .withColumn("avg_occupancy", F.col("person_seconds") / float(bucket_s))
    )
    first_frames = (
        frames.withColumn("tick", _floor_time("capture_time", tick_s))
        .groupBy("store_id", "camera_id", "tick")
        .agg(F.min_by("event_id", F.struct("capture_time", "frame_index")).alias("event_id"))
    )
    peaks = (
        kept.join(first_frames.select("event_id"), on="event_id", how="left_semi")
        .groupBy("store_id", "zone_id", "tick")
        .agg(F.count(F.lit(1)).alias("people"))
        .withColumn("bucket_start", _floor_time("tick", bucket_s))
        .groupBy("store_id", "zone_id", "bucket_start")
        .agg(F.max("people").alias("peak_occupancy"))
    )
    return seconds.join(peaks, on=["store_id", "zone_id", "bucket_start"], how="left").fillna(
        0, subset=["peak_occupancy"]
    )


def zone_metrics(
    occupancy: DataFrame,
    visits: DataFrame,
    observed_buckets: DataFrame,
    zone_ids: DataFrame,
    *,
    bucket_minutes: int = 15,
) -> DataFrame:
    """One row per zone and observed bucket: visits, visitors, dwell, occupancy.

    Args:
        occupancy: Output of :func:`zone_occupancy`.
        visits: Output of :func:`zone_visits` (only ``counted`` visits are used).
        observed_buckets: store_id, bucket_start of every bucket with frames.
        zone_ids: store_id, zone_id of every zone to report (config zones plus zones seen).
        bucket_minutes: Bucket length.

    Returns:
        Rows shaped like ``gold_zone_metrics``.
    """
    from pyspark.sql import functions as F

    v = (
        visits.where(F.col("counted"))
        .groupBy("store_id", "zone_id", "bucket_start")
        .agg(
            F.count(F.lit(1)).alias("visits"),
            F.count_distinct(F.struct("camera_id", "stream_epoch", "track_id")).alias(
                "distinct_visitors"
            ),
            F.percentile("dwell_s", F.lit(0.5)).alias("dwell_p50_s"),
            F.percentile("dwell_s", F.lit(0.9)).alias("dwell_p90_s"),
        )
    )
    grid = observed_buckets.join(zone_ids, on="store_id", how="inner")
    keys = ["store_id", "zone_id", "bucket_start"]
    out = (
        grid.join(occupancy, on=keys, how="left")
        .join(v, on=keys, how="left")
        .fillna(0, subset=["visits", "distinct_visitors", "peak_occupancy"])
        .fillna(0.0, subset=["person_seconds", "avg_occupancy"])
        .withColumn("bucket_minutes", F.lit(bucket_minutes))
        .withColumn("bucket_date", _utc_date("bucket_start"))
    )
    return _conform(out, GOLD_ZONE_METRICS)


def tracks(detections: DataFrame, visits: DataFrame, *, bucket_minutes: int = 15) -> DataFrame:
    """One row per camera track: times, duration, floor path length, zone sequence.

    Args:
        detections: Detections (track_id null rows are ignored).
        visits: Output of :func:`zone_visits` (all visits, counted or not).
        bucket_minutes: Bucket length (a track belongs to the bucket it began in).

    Returns:
        Rows shaped like ``gold_tracks``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    d = detections.where(F.col("track_id").isNotNull())
    on_floor = F.col("on_floor") & F.col("floor_x").isNotNull()
    # Steps join consecutive on-floor points; detections off the floor are skipped over.
    floor_w = Window.partitionBy(*_TRACK_KEY, "on_floor_pt").orderBy(
        "capture_time", "frame_index"
    )
    steps = (
        d.withColumn("on_floor_pt", on_floor)
        .withColumn("px", F.lag("floor_x").over(floor_w))
        .withColumn("py", F.lag("floor_y").over(floor_w))
        .withColumn(
            "step",
            F.when(
                F.col("on_floor_pt") & F.col("px").isNotNull(),
                F.sqrt((F.col("floor_x") - F.col("px")) ** 2 + (F.col("floor_y") - F.col("py"))
                       ** 2),
            ).otherwise(F.lit(0.0)),
        )
        # whole micrometres: an exact, order-independent sum
        .withColumn("step_um", F.round(F.col("step") * 1e6).cast("long"))
    )
    per_track = steps.groupBy(*_TRACK_KEY).agg(
        F.min("capture_time").alias("start_time"),
        F.max("capture_time").alias("end_time"),
        (F.sum("step_um") / 1e6).alias("path_length_m"),
        F.count(F.lit(1)).alias("detections"),
    )
    seq = visits.groupBy(*_TRACK_KEY).agg(
        F.sort_array(F.collect_list(F.struct("enter_time", "zone_id"))).alias("vs")
    ).withColumn("zone_sequence", F.array_join(F.col("vs.zone_id"), ">"))
    out = (
        per_track.join(seq.select(*_TRACK_KEY, "zone_sequence"), on=list(_TRACK_KEY), how="left")
        .fillna("", subset=["zone_sequence"])
        .withColumn("duration_s", _seconds_between("end_time", "start_time"))
        .withColumn("bucket_start", _floor_time("start_time", bucket_minutes * 60))
        .withColumn("bucket_minutes", F.lit(bucket_minutes))
        .withColumn("bucket_date", _utc_date("bucket_start"))
    )
    return _conform(out, GOLD_TRACKS)


def busy_periods(
    metrics: DataFrame,
    *,
    start: datetime,
    end: datetime,
    bucket_minutes: int = 15,
    k: float = 2.0,
    min_occupancy: float = 1.0,
    min_baseline_buckets: int = 8,
) -> DataFrame:
    """Runs of buckets in [start, end) where a zone's mean occupancy is far above usual.

    Args:
        metrics: gold_zone_metrics rows forming the baseline (the window included).
        start, end: The window whose busy periods are reported (bucket aligned, UTC).
        bucket_minutes: Bucket length.
        k: Threshold = baseline mean + k * baseline standard deviation (population).
        min_occupancy: A busy bucket has at least this mean occupancy.
        min_baseline_buckets: Zones with a shorter baseline get no busy periods.

    Returns:
        Rows shaped like ``gold_busy_periods``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    base = metrics.groupBy("store_id", "zone_id").agg(
        # rounded: floating sums depend on partition order, reruns must match exactly
        F.round(F.avg("avg_occupancy"), 9).alias("baseline_mean"),
        F.round(F.stddev_pop("avg_occupancy"), 9).alias("baseline_std"),
        F.count(F.lit(1)).alias("baseline_buckets"),
    )
    bucket_us = bucket_minutes * 60 * _US
    in_window = (F.col("bucket_start") >= F.lit(start)) & (F.col("bucket_start") < F.lit(end))
    flagged = (
        metrics.where(in_window)
        .join(base, on=["store_id", "zone_id"], how="inner")
        .withColumn("threshold", F.col("baseline_mean") + k * F.col("baseline_std"))
        .where(
            (F.col("avg_occupancy") > F.col("threshold"))
            & (F.col("avg_occupancy") >= min_occupancy)
            & (F.col("baseline_buckets") >= min_baseline_buckets)
        )
    )
    w = Window.partitionBy("store_id", "zone_id").orderBy("bucket_start")
    prev = F.lag(_micros("bucket_start")).over(w)
    grouped = (
        flagged.withColumn(
            "new_period",
            (prev.isNull() | (_micros("bucket_start") - prev != bucket_us)).cast("long"),
        )
        .withColumn("period", F.sum("new_period").over(w))
        .groupBy("store_id", "zone_id", "period")
        .agg(
            F.min("bucket_start").alias("period_start"),
            F.max("bucket_start").alias("last_bucket"),
            F.count(F.lit(1)).alias("buckets"),
            F.max("avg_occupancy").alias("max_avg_occupancy"),
            F.max("peak_occupancy").alias("max_peak_occupancy"),
            F.first("baseline_mean").alias("baseline_mean"),
            F.first("baseline_std").alias("baseline_std"),
            F.first("threshold").alias("threshold"),
            F.first("baseline_buckets").alias("baseline_buckets"),
        )
        .withColumn("period_end", F.timestamp_micros(_micros("last_bucket") + bucket_us))
        .withColumn("bucket_start", F.col("period_start"))
        .withColumn("bucket_minutes", F.lit(bucket_minutes))
        .withColumn("bucket_date", _utc_date("bucket_start"))
    )
    return _conform(grouped, GOLD_BUSY_PERIODS)


def _conform(df: DataFrame, table: Table) -> DataFrame:
    """Select the table's columns in order, cast to its types."""
    from pyspark.sql import functions as F

    from data_contracts.derive import spark_schema_of_columns

    return df.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in spark_schema_of_columns(
            table.columns)]
    )


# --- the job -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What one rollup wrote.

    Attributes:
        store_id: The store.
        start, end: The window (UTC).
        rows: Rows written per gold table (0 for an empty window).
        seconds: Wall time of the rollup.
    """

    store_id: str
    start: datetime
    end: datetime
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone; give UTC times")
    return value.astimezone(UTC)


def check_window(
    *, store_id: str, start: datetime, end: datetime, bucket_minutes: int
) -> tuple[datetime, datetime]:
    """Validate a rollup window: time-zone aware, end after start, both on bucket boundaries.

    Returns:
        (start, end) in UTC.

    Raises:
        RollupError: naming the store, the window and what is wrong.
    """
    try:
        s, e = _aware(start, "start"), _aware(end, "end")
    except ValueError as exc:
        raise RollupError(str(exc), store_id=store_id, start=start, end=end) from None
    if e <= s:
        raise RollupError("end must be after start", store_id=store_id, start=s, end=e)
    step = bucket_minutes * 60
    for name, value in (("start", s), ("end", e)):
        if int(value.timestamp()) % step or value.microsecond:
            raise RollupError(
                f"{name} is not on a {bucket_minutes}-minute bucket boundary",
                store_id=store_id, start=s, end=e,
            )
    return s, e


def _ts_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')}Z'"


def _date_range(start: datetime, end: datetime) -> tuple[date, date]:
    """UTC days touched by [start, end)."""
    return start.date(), (end - timedelta(microseconds=1)).date()


def window_predicate(
    *, store_id: str, start: datetime, end: datetime, time_column: str = "bucket_start"
) -> str:
    """The SQL predicate selecting one store's rows of one window in a gold table."""
    d0, d1 = _date_range(start, end)
    sid = store_id.replace("'", "")
    return (
        f"store_id = '{sid}' AND bucket_date >= DATE '{d0.isoformat()}' "
        f"AND bucket_date <= DATE '{d1.isoformat()}' "
        f"AND {time_column} >= {_ts_literal(start)} AND {time_column} < {_ts_literal(end)}"
    )


def read_silver(
    spark: SparkSession, *, store_id: str, start: datetime, end: datetime, root: str | None = None
) -> tuple[DataFrame, DataFrame]:
    """silver_frames and silver_detections of one store with capture_time in [start, end).

    Raises:
        spark_jobs.exceptions.TableError: a silver table does not exist under the lake root.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.exceptions import TableError
    from spark_jobs.session import lake_root, session_lake_root, table_location

    lake = lake_root(root) if root is not None else session_lake_root(spark)
    d0, d1 = _date_range(start, end)
    out = []
    for table in (SILVER_FRAMES, SILVER_DETECTIONS):
        location = table_location(table, root=lake)
        if not DeltaTable.isDeltaTable(spark, location):
            raise TableError(
                "silver table is missing; run `storeheat lake init` and the silver job first",
                table=table.qualified_name, location=location,
            )
        df = spark.read.format("delta").load(location)
        out.append(
            df.where(
                (F.col("store_id") == store_id)
                & (F.col("capture_date") >= F.lit(d0))
                & (F.col("capture_date") <= F.lit(d1))
                & (F.col("capture_time") >= F.lit(start))
                & (F.col("capture_time") < F.lit(end))
            )
        )
    return out[0], out[1]


@dataclass(frozen=True, slots=True)
class GoldFrames:
    """The gold DataFrames of one window, before writing (useful to tests and notebooks).

    Attributes:
        cached: Intermediate DataFrames persisted for reuse; :meth:`release` frees them.
    """

    heatmap_cells: DataFrame
    zone_visits: DataFrame
    zone_metrics: DataFrame
    tracks: DataFrame
    cached: tuple[DataFrame, ...] = ()

    def release(self) -> None:
        """Unpersist the cached intermediates."""
        for df in self.cached:
            df.unpersist()


#: Silver columns the rollups read (narrow rows make the shuffles and the cache cheaper).
_FRAME_COLUMNS = ("event_id", "store_id", "camera_id", "stream_epoch", "frame_index",
                  "capture_time")
_DETECTION_COLUMNS = (*_FRAME_COLUMNS, "detection_index", "track_id", "floor_x", "floor_y",
                      "zone_id", "on_floor")
_STREAM_KEY = ("store_id", "camera_id", "stream_epoch")


def compute_window(
    frames: DataFrame,
    detections: DataFrame,
    *,
    start: datetime,
    end: datetime,
    settings: GoldSettings,
    zone_ids: Sequence[str] = (),
    persist: bool = False,
) -> GoldFrames:
    """Gold rows of [start, end) from silver frames and detections (already read with margins).

    Only what the window's rows depend on is computed: the detections inside the window,
    plus the detections before and after it of the tracks seen inside it (to place and finish
    those tracks and their visits); frame intervals for the frames around those detections;
    fusion flags for the detections from the window's start on (a visit or track that began
    earlier belongs to an earlier window, so flags before the start change no row here).
    The rows are the same as computing everything over the whole read range.

    Args:
        frames, detections: silver rows of one store covering at least
            [start - horizon, end + horizon) (less is fine: tracks are then cut earlier).
        start, end: The window; only rows whose bucket starts inside it are returned.
        settings: Rollup parameters.
        zone_ids: Zones to report even when nobody entered them.
        persist: Cache the detections, fused detections and visits, which the four outputs
            reuse (call :meth:`GoldFrames.release` afterwards); worth it when every output
            is computed, as :func:`rollup_window` does.

    Returns:
        The four gold DataFrames of the window (busy periods need the stored history; see
        :func:`busy_periods`).
    """
    from pyspark.sql import functions as F

    s = settings
    spark = frames.sparkSession
    frames = frames.select(*_FRAME_COLUMNS)
    detections = detections.select(*_DETECTION_COLUMNS)
    in_window = (F.col("capture_time") >= F.lit(start)) & (F.col("capture_time") < F.lit(end))
    bucket_in = (F.col("bucket_start") >= F.lit(start)) & (F.col("bucket_start") < F.lit(end))
    cached: list[DataFrame] = []

    if persist:
        # The read range is scanned by the hull, the track tails, the fusion build side and
        # the frame slice: reading it once into memory costs about one Parquet scan, a scan
        # of the cache a fraction of one (most of a window's time was these re-scans).
        detections = detections.cache()
        frames = frames.cache()
        cached += [detections, frames]

    # The detections that matter: the window's, and the rest of the tracks seen in it.
    inside = detections.where(in_window)
    seen = inside.where(F.col("track_id").isNotNull()).select(*_TRACK_KEY).distinct()
    tails = detections.where(~in_window & F.col("track_id").isNotNull()).join(
        F.broadcast(seen), on=list(_TRACK_KEY), how="left_semi"
    )
    needed = inside.unionByName(tails)
    if persist:
        needed = needed.cache()
        cached.append(needed)

    # Frame intervals on a slice of each stream around those detections; the streams' ends
    # (over everything read) keep the intervals at the slice edges what the whole read gives.
    t_us = _micros("capture_time")
    hull = needed.groupBy(*_STREAM_KEY).agg(
        F.min(t_us).alias("lo_us"), F.max(t_us).alias("hi_us")
    ).collect()
    hull_df = spark.createDataFrame(
        [tuple(r) for r in hull],
        "store_id string, camera_id string, stream_epoch long, lo_us long, hi_us long",
    )
    margin_us = int(math.ceil((s.max_interval_s + 1.0) * _US))
    sliced = (
        frames.join(F.broadcast(hull_df), on=list(_STREAM_KEY), how="inner")
        .where((t_us >= F.col("lo_us") - margin_us) & (t_us <= F.col("hi_us") + margin_us))
        .drop("lo_us", "hi_us")
    )
    bounds = frames.groupBy(*_STREAM_KEY).agg(
        F.min(t_us).alias("first_us"), F.max(t_us).alias("last_us")
    )
    fr = frame_intervals(
        sliced, default_interval_s=s.default_interval_s, max_interval_s=s.max_interval_s,
        stream_bounds=bounds,
    )

    # Fusion flags from the window's start on; the build side spans the probes' times plus the
    # tolerance (the latest probe is a track tail after the window).
    latest_us = max((int(r["hi_us"]) for r in hull), default=int(end.timestamp() * _US))
    reach_us = int(math.ceil((s.fusion_tolerance_s + 1.0) * _US))
    probe = needed.where(_on_floor() & (F.col("capture_time") >= F.lit(start)))
    build = detections.where(
        _on_floor()
        & (t_us >= int(start.timestamp() * _US) - reach_us)
        & (t_us <= max(latest_us, int(end.timestamp() * _US)) + reach_us)
    )
    dups = duplicate_ids(
        probe, build, radius_m=s.fusion_radius_m, tolerance_s=s.fusion_tolerance_s
    )
    # Both joins key on event_id alone, so the detections are shuffled once for the two.
    dup_sets = dups.groupBy("event_id").agg(F.collect_set("detection_index").alias("_dups"))
    det = (
        with_intervals(needed, fr)
        .join(dup_sets, on="event_id", how="left")
        .withColumn(
            "duplicate",
            F.coalesce(F.array_contains(F.col("_dups"), F.col("detection_index")),
                       F.lit(False)),
        )
        .drop("_dups")
    )
    fr_w = frames.where(in_window)
    if persist:
        # Cached by track, so the visits' and tracks' window functions need no shuffle. Once
        # it and the window's frames are built, what they came from can go (most memory).
        det = det.repartition(*_TRACK_KEY).cache()
        det.count()
        fr_w = fr_w.cache()
        fr_w.count()
        for df in cached:
            df.unpersist()
        cached[:] = [det, fr_w]
    det_w = det.where(in_window)

    cells = heatmap_cells(det_w, cell_m=s.cell_m, bucket_minutes=s.bucket_minutes)
    all_visits = zone_visits(
        det,
        bucket_minutes=s.bucket_minutes,
        max_gap_s=s.max_gap_s,
        min_visit_s=s.min_visit_s,
        duplicate_share=s.duplicate_share,
    )
    if persist:
        # both the visits table and the tracks' zone sequences read them
        all_visits = all_visits.cache()
        cached.append(all_visits)
    visits_w = all_visits.where(bucket_in)
    occupancy = zone_occupancy(det_w, fr_w, bucket_minutes=s.bucket_minutes, tick_s=s.tick_s)
    observed = (
        fr_w.select("store_id", _floor_time("capture_time", s.bucket_seconds).alias(
            "bucket_start"))
        .distinct()
    )
    stores = fr_w.select("store_id").distinct()
    configured = spark.createDataFrame([(z,) for z in zone_ids], "zone_id string")
    zones = (
        stores.crossJoin(configured)
        .unionByName(det_w.where(F.col("zone_id").isNotNull()).select("store_id", "zone_id"))
        .distinct()
    )
    metrics = zone_metrics(
        occupancy, visits_w, observed, zones, bucket_minutes=s.bucket_minutes
    )
    trk = tracks(det, all_visits, bucket_minutes=s.bucket_minutes).where(bucket_in)
    return GoldFrames(
        heatmap_cells=cells, zone_visits=visits_w, zone_metrics=metrics, tracks=trk,
        cached=tuple(cached),
    )


def replace_window(
    spark: SparkSession,
    df: DataFrame,
    table: Table,
    *,
    store_id: str,
    start: datetime,
    end: datetime,
    root: str | None = None,
) -> int:
    """Replace one store's window of a gold table with ``df`` (Delta ``replaceWhere``).

    The table is created from its spec if missing. Rows of other stores or windows are left
    untouched; an empty ``df`` clears the window.

    Returns:
        Rows written.
    """
    location = ensure_gold_table(spark, table, root=root)
    # Counted before the write from a cached copy: the rows are computed once, and nothing
    # is read back (the commit's numOutputRows would also count rows of other windows that
    # replaceWhere copied out of rewritten files). Delta refuses rows outside the predicate,
    # so this is the count stored in the window.
    rows = df.cache()
    try:
        n = rows.count()
        (
            rows.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", window_predicate(store_id=store_id, start=start, end=end))
            .save(location)
        )
    finally:
        rows.unpersist()
    return int(n)


def rollup_window(
    spark: SparkSession,
    *,
    store_id: str,
    start: datetime,
    end: datetime,
    settings: GoldSettings | None = None,
    zone_ids: Sequence[str] = (),
    root: str | None = None,
) -> RollupResult:
    """Recompute every gold table of one store for [start, end) and replace that window.

    Idempotent: the same silver gives the same rows, and only this window is touched. A
    window without silver data clears the window and writes nothing (no error).

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        store_id: The store.
        start, end: UTC, time-zone aware, on bucket boundaries.
        settings: Rollup parameters (default :class:`GoldSettings`()).
        zone_ids: Zones that get a metrics row even when empty (the store config's zones).
        root: Lake root (default: the session's).

    Returns:
        Rows written per table and the wall time.

    Raises:
        RollupError: the window is not aligned or is empty/reversed.
        spark_jobs.exceptions.TableError: a silver table is missing, or a gold table exists
            with another schema.
    """
    s = settings or GoldSettings()
    start, end = check_window(
        store_id=store_id, start=start, end=end, bucket_minutes=s.bucket_minutes
    )
    t0 = time.monotonic()
    horizon = timedelta(minutes=s.horizon_minutes)
    pad = timedelta(seconds=max(s.max_interval_s, s.fusion_tolerance_s) + 1)
    margin = max(horizon, pad)
    frames, detections = read_silver(
        spark, store_id=store_id, start=start - margin, end=end + margin, root=root
    )
    gold = compute_window(
        frames, detections, start=start, end=end, settings=s, zone_ids=zone_ids, persist=True
    )
    rows: dict[str, int] = {}
    try:
        for table, df in (
            (GOLD_HEATMAP_CELLS, gold.heatmap_cells),
            (GOLD_ZONE_VISITS, gold.zone_visits),
            (GOLD_ZONE_METRICS, gold.zone_metrics),
            (GOLD_TRACKS, gold.tracks),
        ):
            rows[table.name] = replace_window(
                spark, df, table, store_id=store_id, start=start, end=end, root=root
            )
    finally:
        gold.release()
    rows[GOLD_BUSY_PERIODS.name] = _rollup_busy(
        spark, store_id=store_id, start=start, end=end, settings=s, root=root
    )
    seconds = time.monotonic() - t0
    log.info("gold rollup %s [%s, %s): %s in %.1f s", store_id, start, end, rows, seconds)
    return RollupResult(store_id=store_id, start=start, end=end, rows=rows, seconds=seconds)


def _rollup_busy(
    spark: SparkSession,
    *,
    store_id: str,
    start: datetime,
    end: datetime,
    settings: GoldSettings,
    root: str | None,
) -> int:
    from pyspark.sql import functions as F

    from spark_jobs.session import lake_root, session_lake_root, table_location

    lake = lake_root(root) if root is not None else session_lake_root(spark)
    s = settings
    base_start = end - timedelta(days=s.busy_baseline_days)
    history = (
        spark.read.format("delta")
        .load(table_location(GOLD_ZONE_METRICS, root=lake))
        .where(
            (F.col("store_id") == store_id)
            & (F.col("bucket_minutes") == s.bucket_minutes)
            & (F.col("bucket_date") >= F.lit(base_start.date()))
            & (F.col("bucket_start") >= F.lit(base_start))
            & (F.col("bucket_start") < F.lit(end))
        )
    )
    periods = busy_periods(
        history,
        start=start,
        end=end,
        bucket_minutes=s.bucket_minutes,
        k=s.busy_k,
        min_occupancy=s.busy_min_occupancy,
        min_baseline_buckets=s.busy_min_baseline_buckets,
    )
    return replace_window(
        spark, periods, GOLD_BUSY_PERIODS, store_id=store_id, start=start, end=end, root=root
    )


def ensure_gold_table(spark: SparkSession, table: Table, *, root: str | None = None) -> str:
    """Create a gold table from its spec if missing; return its location.

    Under the session's lake root the table is also registered by name (``storeheat.<name>``)
    through :func:`spark_jobs.session.ensure_tables`; under another root (a benchmark's or a
    test's) it is created by path only.
    """
    from delta.tables import DeltaTable

    from data_contracts.derive import spark_schema_of_columns
    from spark_jobs.session import ensure_tables, lake_root, session_lake_root, table_location

    lake = lake_root(root) if root is not None else session_lake_root(spark)
    location = table_location(table, root=lake)
    exists = DeltaTable.isDeltaTable(spark, location)
    if lake == session_lake_root(spark):
        # An existing, registered table needs no DDL; a schema mismatch fails the write.
        if not (exists and spark.catalog.tableExists(table.qualified_name)):
            ensure_tables(spark, [table])
    elif not exists:
        (
            DeltaTable.createIfNotExists(spark)
            .location(location)
            .addColumns(spark_schema_of_columns(table.columns))
            .partitionedBy(*table.partition_by)
            .comment(table.description)
            .execute()
        )
    return location


def ensure_gold_tables(spark: SparkSession, *, root: str | None = None) -> list[str]:
    """Create every gold table if missing; return their locations."""
    return [ensure_gold_table(spark, t, root=root) for t in GOLD_TABLES]


def aligned_windows(
    start: datetime, end: datetime, *, minutes: int
) -> Iterable[tuple[datetime, datetime]]:
    """Split [start, end) into consecutive windows of ``minutes`` (the last may be shorter)."""
    step = timedelta(minutes=minutes)
    cur = start
    while cur < end:
        nxt = min(cur + step, end)
        yield cur, nxt
        cur = nxt


def range_windows(
    *, store_id: str, start: datetime, end: datetime, window_minutes: int, bucket_minutes: int
) -> list[tuple[datetime, datetime]]:
    """The windows a range is rolled up in, after checking the range and the window length.

    Returns:
        Consecutive (start, end) windows of ``window_minutes`` (the last may be shorter), UTC.

    Raises:
        RollupError: the range is not aligned, empty or reversed, or ``window_minutes`` is
            not a positive multiple of the bucket.
    """
    start, end = check_window(
        store_id=store_id, start=start, end=end, bucket_minutes=bucket_minutes
    )
    if window_minutes <= 0 or window_minutes % bucket_minutes:
        raise RollupError(
            f"window of {window_minutes} min is not a positive multiple of the "
            f"{bucket_minutes}-minute bucket", store_id=store_id, start=start, end=end,
        )
    return list(aligned_windows(start, end, minutes=window_minutes))


def rollup_range(
    spark: SparkSession,
    *,
    store_id: str,
    start: datetime,
    end: datetime,
    window_minutes: int = 60,
    settings: GoldSettings | None = None,
    zone_ids: Sequence[str] = (),
    root: str | None = None,
    on_window: Callable[[RollupResult], None] | None = None,
) -> list[RollupResult]:
    """Roll [start, end) up window by window (each replaced, as :func:`rollup_window` does).

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        store_id: The store.
        start, end: UTC, time-zone aware, on bucket boundaries.
        window_minutes: Window length, a multiple of the bucket (the last may be shorter).
        settings: Rollup parameters (default :class:`GoldSettings`()).
        zone_ids: Zones that get a metrics row even when empty.
        root: Lake root (default: the session's).
        on_window: Called with each window's result as soon as it is written (progress).

    Returns:
        One result per window, in time order.

    Raises:
        RollupError: see :func:`range_windows`.
        spark_jobs.exceptions.TableError: see :func:`rollup_window`.
    """
    s = settings or GoldSettings()
    results = []
    for w0, w1 in range_windows(store_id=store_id, start=start, end=end,
                                window_minutes=window_minutes,
                                bucket_minutes=s.bucket_minutes):
        res = rollup_window(spark, store_id=store_id, start=w0, end=w1, settings=s,
                            zone_ids=zone_ids, root=root)
        if on_window is not None:
            on_window(res)
        results.append(res)
    return results


def check_store(
    spark: SparkSession,
    *,
    store_id: str,
    configured: bool,
    start: datetime,
    end: datetime,
    root: str | None = None,
) -> None:
    """Refuse a store that neither has a store config nor any silver frame.

    A known store with no data in a window is fine (its windows come out empty); a store id
    nothing has ever heard of is most likely a typo.

    Args:
        spark: The session.
        store_id: The store.
        configured: Whether a store config describes it.
        start, end: The requested range (for the message).
        root: Lake root (default: the session's).

    Raises:
        RollupError: the store is unknown.
        spark_jobs.exceptions.TableError: silver_frames is missing.
    """
    if configured:
        return
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.exceptions import TableError
    from spark_jobs.session import lake_root, session_lake_root, table_location

    lake = lake_root(root) if root is not None else session_lake_root(spark)
    location = table_location(SILVER_FRAMES, root=lake)
    if not DeltaTable.isDeltaTable(spark, location):
        raise TableError(
            "silver table is missing; run `storeheat lake init` and the silver job first",
            table=SILVER_FRAMES.qualified_name, location=location,
        )
    frames = spark.read.format("delta").load(location)
    # store_id is a partition column: this reads the log, not the data.
    if frames.where(F.col("store_id") == store_id).limit(1).count() == 0:
        known = sorted(r[0] for r in frames.select("store_id").distinct().collect())
        raise RollupError(
            f"unknown store: no store config describes it and silver has no frames of it "
            f"(stores in silver: {', '.join(known) or 'none'})",
            store_id=store_id, start=start, end=end,
        )


# --- spark-submit entry point --------------------------------------------------------------


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spark_jobs.gold",
        description="Roll silver up into the gold tables for one store and time window.",
    )
    parser.add_argument("--store", required=True, help="store id")
    parser.add_argument("--start", required=True, type=_parse_time,
                        help="window start, ISO 8601 (UTC if no offset), on a bucket boundary")
    parser.add_argument("--end", required=True, type=_parse_time, help="window end (exclusive)")
    parser.add_argument("--config", default=None,
                        help="store YAML (zones, grid, fps); default $STOREHEAT_STORE_CONFIG "
                        "or configs/demo-store.yaml when its store_id matches")
    parser.add_argument("--lake-root", default=None, help="lake root (path or URL)")
    parser.add_argument("--cell-m", type=float, default=None, help="heatmap cell, metres")
    parser.add_argument("--bucket-minutes", type=int, default=None, help="time bucket, minutes")
    parser.add_argument("--window-minutes", type=int, default=None,
                        help="roll the range up in windows of this length (default: one window)")
    return parser


def settings_for(
    store_id: str, *, config_path: str | None = None, **overrides: float | int | None
) -> tuple[GoldSettings, list[str]]:
    """Rollup settings and zone ids for a store.

    Args:
        store_id: The store.
        config_path: Its YAML; default ``$STOREHEAT_STORE_CONFIG`` / ``configs/demo-store.yaml``,
            used only when its store_id matches (otherwise the defaults apply, no zones).
        overrides: GoldSettings fields to override (None = keep).

    Raises:
        storeheat.exceptions.ConfigError: ``config_path`` is unreadable, invalid, or describes
            another store.
    """
    from storeheat.config import default_store_config_path, load_store_config
    from storeheat.exceptions import ConfigError

    given = {k: v for k, v in overrides.items() if v is not None}
    config: StoreConfig | None
    if config_path is not None:
        config = load_store_config(config_path)
        if config.store_id != store_id:
            raise ConfigError(
                f"describes store {config.store_id!r}, not {store_id!r}", source=config_path,
                key="store_id",
            )
    else:
        try:
            config = load_store_config(default_store_config_path())
        except ConfigError:
            config = None
        if config is None or config.store_id != store_id:
            return GoldSettings(**given), []  # type: ignore[arg-type]
    return GoldSettings.for_store(config, **given), [z.id for z in config.zones]


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit spark_jobs/gold.py --store S --start T1 --end T2``: roll a window up."""
    from spark_jobs.session import get_spark
    from storeheat.env import apply_tool_env

    apply_tool_env()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    settings, zones = settings_for(
        args.store, config_path=args.config, cell_m=args.cell_m,
        bucket_minutes=args.bucket_minutes,
    )
    spark = get_spark(app_name=f"storeheat-gold-{args.store}", lake_root_url=args.lake_root)
    minutes = args.window_minutes or max(
        1, math.ceil((args.end - args.start).total_seconds() / 60)
    )
    for w_start, w_end in aligned_windows(args.start, args.end, minutes=minutes):
        result = rollup_window(
            spark, store_id=args.store, start=w_start, end=w_end, settings=settings,
            zone_ids=zones,
        )
        print(
            f"{result.store_id} [{result.start.isoformat()}, {result.end.isoformat()}): "
            + ", ".join(f"{k}={v}" for k, v in result.rows.items())
            + f" ({result.seconds:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
