"""The cached path of a gold window (what :func:`spark_jobs.gold.rollup_window` runs) gives the
same rows as the uncached one, and the counts a rollup reports are the rows it stored.

Expected values are the uncached computation of the same silver (both paths run on a real
local Spark) and, for the counts, the rows read back from the Delta tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from data_contracts.tables import (
    GOLD_HEATMAP_CELLS,
    GOLD_TRACKS,
    GOLD_ZONE_METRICS,
    GOLD_ZONE_VISITS,
)
from spark_jobs import gold
from spark_jobs.gold import GoldSettings
from tests.spark_jobs.test_gold import DT, T0, Silver, _gold_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.integration


def _edge_silver() -> Silver:
    """Two cameras around the end of [T0, T0 + 15 min): tracks crossing it, fused points."""
    end = T0 + timedelta(minutes=15)
    s = Silver()
    s.walk(start=end - timedelta(seconds=1), n=20, track=1, x0=1.0, y=1.0, dx=0.1, zone="a",
           camera="c1", first_index=1000)
    for j in range(15):
        s.frame(t=end + timedelta(seconds=0.05 + DT * j), index=j, camera="c0",
                people=[(5, 1.0 + 0.1 * (j + 5), 1.0, "a")])
    s.walk(start=T0 - timedelta(seconds=10), n=100, track=2, x0=5.0, y=5.0, dx=0.0, zone="b",
           camera="c1")
    s.walk(start=T0 + timedelta(minutes=3), n=30, track=3, x0=2.0, y=1.2, dx=0.05, zone="a",
           camera="c2", first_index=4000)
    s.walk(start=T0 + timedelta(minutes=3, seconds=0.1), n=30, track=9, x0=2.1, y=1.2,
           dx=0.05, zone="a", camera="c0", first_index=5000)
    s.frame(t=end + timedelta(minutes=2), index=2000, camera="c1")
    return s


def _sorted(df: DataFrame) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=repr)


def test_cached_window_gives_the_uncached_rows(spark: SparkSession) -> None:
    frames, dets = _edge_silver().dataframes(spark)
    window = {"start": T0, "end": T0 + timedelta(minutes=15), "settings": GoldSettings(),
              "zone_ids": ["a", "b", "c"]}
    plain = gold.compute_window(frames, dets, **window)  # type: ignore[arg-type]
    cached = gold.compute_window(frames, dets, persist=True, **window)  # type: ignore[arg-type]
    try:
        for name in ("heatmap_cells", "zone_visits", "zone_metrics", "tracks"):
            expected = _sorted(getattr(plain, name))
            assert expected, name  # the scenario gives rows in every table
            assert _sorted(getattr(cached, name)) == expected, name
    finally:
        cached.release()
    assert cached.cached  # the cached path did cache, and released without error


def test_reported_rows_are_the_rows_stored(spark: SparkSession, clean_lake: str) -> None:
    _edge_silver().write(spark)
    w = (T0, T0 + timedelta(minutes=15))
    # A wider rollup first, so that the window's files also hold the next window's rows:
    # the narrower rerun must report its own rows only, not those it copies out.
    gold.rollup_window(spark, store_id="s1", start=w[0], end=w[1] + timedelta(minutes=15),
                       zone_ids=["a", "b"])
    res = gold.rollup_window(spark, store_id="s1", start=w[0], end=w[1], zone_ids=["a", "b"])
    for table in (GOLD_HEATMAP_CELLS, GOLD_ZONE_VISITS, GOLD_ZONE_METRICS, GOLD_TRACKS):
        i = [c.name for c in table.columns].index("bucket_start")
        stored = [r for r in _gold_rows(spark, clean_lake, table, "s1") if r[i] < w[1]]
        assert res.rows[table.name] == len(stored) > 0, table.name



def test_fusion_matches_a_brute_force_pair_search(spark: SparkSession) -> None:
    import random

    from pyspark.sql import functions as F

    rng = random.Random(5)
    s = Silver()
    # 4 cameras, 60 frames each over 3 s, 0-3 people per frame in a 6 m x 4 m corner:
    # crowded enough that the grid cells, the pre-filter cells and the time slots all
    # have points on both sides of their edges.
    for c in range(4):
        for k in range(60):
            people = [(k % 7, rng.uniform(0, 6), rng.uniform(0, 4), "a")
                      for _ in range(rng.randint(0, 3))]
            s.frame(t=T0 + timedelta(seconds=0.05 * k + 0.013 * c), index=k, camera=f"c{c}",
                    people=people)
    radius, tol = 0.5, 0.2
    pts = [d for d in s.detections if d["on_floor"]]
    expected = {
        (p["event_id"], p["detection_index"])
        for p in pts
        if any(
            q["camera_id"] < p["camera_id"]
            and abs((q["capture_time"] - p["capture_time"]).total_seconds()) <= tol
            and (q["floor_x"] - p["floor_x"]) ** 2 + (q["floor_y"] - p["floor_y"]) ** 2
            <= radius**2
            for q in pts
        )
    }
    assert 0 < len(expected) < len(pts)  # some, not all, are duplicates
    _, dets = s.dataframes(spark)
    floor = dets.where(F.col("on_floor"))
    got = {(r.event_id, r.detection_index)
           for r in gold.duplicate_ids(floor, floor, radius_m=radius, tolerance_s=tol).collect()}
    assert got == expected
