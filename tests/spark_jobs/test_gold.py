"""Gold rollups on a real local Spark + Delta: transforms on tiny inline frames, whole windows.

Expected values are computed by hand from the inline data (frames 0.2 s apart, a person
walking 0.1 m per frame), not by running the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from data_contracts.derive import spark_schema_of_columns
from data_contracts.events import make_event_id
from data_contracts.tables import (
    GOLD_HEATMAP_CELLS,
    GOLD_TRACKS,
    GOLD_ZONE_METRICS,
    GOLD_ZONE_VISITS,
    SILVER_DETECTIONS,
    SILVER_FRAMES,
)
from spark_jobs import gold
from spark_jobs.gold import GoldSettings, RollupError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.integration


T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DT = 0.2  # 5 fps


@dataclass
class Silver:
    """Inline silver rows, built frame by frame."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    detections: list[dict[str, Any]] = field(default_factory=list)

    def frame(
        self,
        *,
        t: datetime,
        index: int,
        people: Sequence[tuple[int | None, float | None, float | None, str | None]] = (),
        store: str = "s1",
        camera: str = "c1",
        epoch: int = 0,
    ) -> None:
        """One frame; each person is (track_id, floor_x, floor_y, zone_id)."""
        base = {
            "event_id": make_event_id(store, camera, epoch, index),
            "store_id": store,
            "camera_id": camera,
            "stream_epoch": epoch,
            "frame_index": index,
            "capture_time": t,
            "model_version": "test",
            "frame_width": 640,
            "frame_height": 360,
            "latency_ms": 10.0,
            "capture_date": t.date(),
        }
        self.frames.append({**base, "detection_count": len(people)})
        for i, (track, x, y, zone) in enumerate(people):
            self.detections.append(
                {
                    **base,
                    "detection_index": i,
                    "track_id": track,
                    "confidence": 0.9,
                    "x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 150.0,
                    "floor_x": x,
                    "floor_y": y,
                    "zone_id": zone,
                    "on_floor": x is not None,
                }
            )

    def walk(
        self,
        *,
        start: datetime,
        n: int,
        track: int,
        x0: float,
        y: float,
        dx: float,
        zone: Iterable[str | None] | str | None,
        camera: str = "c1",
        first_index: int = 0,
        store: str = "s1",
    ) -> None:
        """``n`` frames 0.2 s apart with one person walking along x."""
        zones = [zone] * n if zone is None or isinstance(zone, str) else list(zone)
        for i in range(n):
            self.frame(
                t=start + timedelta(seconds=DT * i),
                index=first_index + i,
                people=[(track, x0 + dx * i, y, zones[i])],
                camera=camera,
                store=store,
            )

    def dataframes(self, spark: SparkSession) -> tuple[DataFrame, DataFrame]:
        return _df(spark, self.frames, SILVER_FRAMES), _df(spark, self.detections,
                                                           SILVER_DETECTIONS)

    def write(self, spark: SparkSession, *, mode: str = "append") -> None:
        from spark_jobs.session import ensure_tables, session_lake_root, table_location

        ensure_tables(spark, [SILVER_FRAMES, SILVER_DETECTIONS])
        root = session_lake_root(spark)
        for rows, table in ((self.frames, SILVER_FRAMES), (self.detections, SILVER_DETECTIONS)):
            _df(spark, rows, table).write.format("delta").mode(mode).save(
                table_location(table, root=root)
            )


def _df(spark: SparkSession, rows: list[dict[str, Any]], table: Any) -> DataFrame:
    schema = spark_schema_of_columns(table.columns)
    return spark.createDataFrame([tuple(r[f.name] for f in schema) for r in rows], schema)


def _utc(value: Any) -> Any:
    # Spark hands timestamps back as naive local times; make them comparable with UTC ones.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone(UTC)
    return value


def _rows(df: DataFrame, *order: str) -> list[dict[str, Any]]:
    return [{k: _utc(v) for k, v in r.asDict().items()} for r in df.orderBy(*order).collect()]


def _compute(spark: SparkSession, silver: Silver, **kw: Any) -> gold.GoldFrames:
    frames, dets = silver.dataframes(spark)
    settings = kw.pop("settings", GoldSettings())
    return gold.compute_window(
        frames, dets, start=kw.pop("start", T0), end=kw.pop("end", T0 + timedelta(hours=1)),
        settings=settings, **kw,
    )


# --- pure transforms --------------------------------------------------------------------


def test_frame_intervals_use_measured_gap_capped(spark: SparkSession) -> None:
    s = Silver()
    for i, sec in enumerate([0.0, 0.2, 0.5, 10.5]):  # gaps 0.2, 0.3, 10.0 (capped to 1.0)
        s.frame(t=T0 + timedelta(seconds=sec), index=i)
    s.frame(t=T0, index=0, camera="c2")  # a lone frame: default interval
    frames, _ = s.dataframes(spark)
    out = gold.frame_intervals(frames, default_interval_s=0.25, max_interval_s=1.0)
    got = [(r.camera_id, r.frame_index, round(r.interval_s, 6))
           for r in out.orderBy("camera_id", "frame_index").collect()]
    # the last frame of c1 takes its previous (capped) gap
    assert got == [("c1", 0, 0.2), ("c1", 1, 0.3), ("c1", 2, 1.0), ("c1", 3, 1.0),
                   ("c2", 0, 0.25)]


def test_single_track_cells_visits_dwell_path(spark: SparkSession) -> None:
    # 10 frames, 0.2 s apart; x = 1.0 .. 1.9 at y = 1.0; first five in zone a, then zone b.
    s = Silver()
    s.walk(start=T0, n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone=["a"] * 5 + ["b"] * 5)
    g = _compute(spark, s, zone_ids=["a", "b", "c"])

    cells = _rows(g.heatmap_cells, "cell_x")
    assert [(c["cell_x"], c["cell_y"]) for c in cells] == [(2, 2), (3, 2)]
    assert [c["person_seconds"] for c in cells] == pytest.approx([1.0, 1.0])
    assert [c["distinct_tracks"] for c in cells] == [1, 1]
    assert all(c["bucket_start"] == T0 and c["bucket_minutes"] == 15 for c in cells)

    visits = _rows(g.zone_visits, "enter_time")
    assert [(v["zone_id"], v["dwell_s"], v["detections"], v["counted"]) for v in visits] == [
        ("a", pytest.approx(1.0), 5, True),
        ("b", pytest.approx(1.0), 5, True),
    ]

    metrics = {m["zone_id"]: m for m in _rows(g.zone_metrics, "zone_id")}
    assert set(metrics) == {"a", "b", "c"}  # c: configured, nobody came, still reported
    assert metrics["a"]["visits"] == 1 and metrics["a"]["distinct_visitors"] == 1
    assert metrics["a"]["dwell_p50_s"] == pytest.approx(1.0)
    assert metrics["a"]["person_seconds"] == pytest.approx(1.0)
    assert metrics["a"]["avg_occupancy"] == pytest.approx(1.0 / 900)
    assert metrics["a"]["peak_occupancy"] == 1
    assert metrics["c"]["visits"] == 0 and metrics["c"]["peak_occupancy"] == 0
    assert metrics["c"]["dwell_p50_s"] is None

    (track,) = _rows(g.tracks, "track_id")
    assert track["start_time"] == T0
    assert track["end_time"] == T0 + timedelta(seconds=1.8)
    assert track["duration_s"] == pytest.approx(1.8)
    assert track["path_length_m"] == pytest.approx(0.9)
    assert track["zone_sequence"] == "a>b"
    assert track["detections"] == 10


def test_dwell_percentiles_and_flicker(spark: SparkSession) -> None:
    # Track 1: 3 s in zone a, one frame of flicker into b, 1 s more in a: one visit of 4.2 s.
    # Tracks 2..4: 2 s, 4 s, 6 s in zone a, each seen by its own camera (so that the last
    # frame of every track is its camera's last: its interval is the previous gap).
    s = Silver()
    zones = ["a"] * 15 + ["b"] + ["a"] * 5
    s.walk(start=T0, n=21, track=1, x0=1.0, y=1.0, dx=0.0, zone=zones)
    for k, secs in enumerate([2, 4, 6]):
        s.walk(start=T0 + timedelta(minutes=1 + k), n=secs * 5, track=2 + k, x0=3.0, y=3.0,
               dx=0.0, zone="a", camera=f"c{k + 2}")
    g = _compute(spark, s)
    visits = _rows(g.zone_visits.where("zone_id = 'a'"), "enter_time")
    assert [v["dwell_s"] for v in visits] == pytest.approx([4.2, 2.0, 4.0, 6.0])
    assert g.zone_visits.where("zone_id = 'b'").count() == 0  # 0.2 s is not a visit
    (m,) = _rows(g.zone_metrics.where("zone_id = 'a'"), "zone_id")
    assert m["visits"] == 4 and m["distinct_visitors"] == 4
    # exact percentiles of [2, 4, 4.2, 6] with linear interpolation
    assert m["dwell_p50_s"] == pytest.approx(4.1)
    assert m["dwell_p90_s"] == pytest.approx(4.2 + 0.7 * (6.0 - 4.2))
    (t1,) = _rows(g.tracks.where("track_id = 1"), "track_id")
    assert t1["zone_sequence"] == "a"


def test_overlapping_cameras_count_a_person_once(spark: SparkSession) -> None:
    s = Silver()
    # Person P seen by c1 (track 1) and c2 (track 7), c2's foot point 0.3 m off and 0.05 s late.
    s.walk(start=T0, n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone="a", camera="c1")
    for i in range(10):
        s.frame(
            t=T0 + timedelta(seconds=DT * i + 0.05), index=i, camera="c2",
            # Q, 5 m away in zone a too, is seen by c2 only
            people=[(7, 1.0 + 0.1 * i, 1.3, "a"), (8, 6.0, 1.0, "a")],
        )
    g = _compute(spark, s)
    summed = g.heatmap_cells.agg({"person_seconds": "sum"}).first()
    assert summed is not None
    total = summed[0]
    assert total == pytest.approx(4.0)  # P 2 s + Q 2 s; without fusion it would be 6 s
    visits = {(v["camera_id"], v["track_id"]): v for v in _rows(g.zone_visits, "track_id")}
    assert visits[("c1", 1)]["counted"] and visits[("c2", 8)]["counted"]
    assert not visits[("c2", 7)]["counted"]
    assert visits[("c2", 7)]["duplicate_share"] == pytest.approx(1.0)
    (m,) = _rows(g.zone_metrics, "zone_id")
    assert m["visits"] == 2 and m["distinct_visitors"] == 2
    assert m["peak_occupancy"] == 2
    assert m["person_seconds"] == pytest.approx(4.0)


def test_fusion_leaves_distant_or_late_points_alone(spark: SparkSession) -> None:
    s = Silver()
    s.frame(t=T0, index=0, camera="c1", people=[(1, 2.0, 2.0, "a")])
    # 1.2 m away (beyond r = 1 m) and, separately, 0.5 s later (beyond tolerance 0.2 s)
    s.frame(t=T0, index=0, camera="c2", people=[(1, 3.2, 2.0, "a")])
    s.frame(t=T0 + timedelta(seconds=0.5), index=0, camera="c3", people=[(1, 2.0, 2.0, "a")])
    # the same place and time, but c0 sorts first: c1's detection would be the duplicate
    s.frame(t=T0 + timedelta(seconds=5), index=1, camera="c1", people=[(1, 2.0, 2.0, "a")])
    s.frame(t=T0 + timedelta(seconds=5), index=0, camera="c0", people=[(1, 2.5, 2.0, "a")])
    _, dets = s.dataframes(spark)
    out = gold.fuse_cameras(dets, radius_m=1.0, tolerance_s=0.2)
    got = {(r.camera_id, r.frame_index): r.duplicate for r in out.collect()}
    assert got == {("c1", 0): False, ("c2", 0): False, ("c3", 0): False, ("c1", 1): True,
                   ("c0", 0): False}


def test_busy_periods_flag_runs_above_usual(spark: SparkSession) -> None:
    start = T0
    bucket = timedelta(minutes=15)
    levels = [1.0] * 10 + [10.0, 12.0] + [1.0] * 4 + [7.0]  # 17 buckets
    rows = [
        ("s1", "a", start + i * bucket, occ, int(occ) + 1) for i, occ in enumerate(levels)
    ]
    metrics = spark.createDataFrame(
        rows, "store_id string, zone_id string, bucket_start timestamp, avg_occupancy double, "
        "peak_occupancy long",
    )
    mean = sum(levels) / len(levels)
    std = math.sqrt(sum((x - mean) ** 2 for x in levels) / len(levels))
    threshold = mean + 1.5 * std  # 1.5 sigma: 10, 12 are above it, 7 is not
    assert 7.0 < threshold < 10.0
    out = _rows(
        gold.busy_periods(metrics, start=start, end=start + 17 * bucket, k=1.5,
                          min_occupancy=1.0, min_baseline_buckets=8),
        "period_start",
    )
    assert [(p["period_start"], p["period_end"], p["buckets"]) for p in out] == [
        (start + 10 * bucket, start + 12 * bucket, 2)
    ]
    assert out[0]["max_avg_occupancy"] == 12.0 and out[0]["max_peak_occupancy"] == 13
    assert out[0]["threshold"] == pytest.approx(threshold)
    # too little history: nothing is flagged
    assert gold.busy_periods(metrics, start=start, end=start + 17 * bucket, k=1.5,
                             min_baseline_buckets=18).count() == 0


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (T0, T0, "end must be after start"),
        (T0 + timedelta(minutes=5), T0 + timedelta(hours=1), "bucket boundary"),
        (T0.replace(tzinfo=None), T0 + timedelta(hours=1), "no time zone"),
    ],
)
def test_bad_windows_are_rejected(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(RollupError, match=message) as info:
        gold.check_window(store_id="s1", start=start, end=end, bucket_minutes=15)
    assert "s1" in str(info.value) and not info.value.transient


# --- whole windows on Delta -------------------------------------------------------------


def _gold_rows(spark: SparkSession, root: str, table: Any, store: str) -> list[tuple[Any, ...]]:
    from spark_jobs.session import table_location

    df = spark.read.format("delta").load(table_location(table, root=root))
    cols = [c.name for c in table.columns]
    rows = df.where(df.store_id == store).select(*cols).collect()
    return sorted(tuple(_utc(v) for v in r) for r in rows)


def test_rollup_is_idempotent_and_backfill_replaces_only_its_window(
    spark: SparkSession, clean_lake: str
) -> None:
    s = Silver()
    s.walk(start=T0 + timedelta(minutes=1), n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone="a")
    s.walk(start=T0 + timedelta(minutes=16), n=10, track=2, x0=4.0, y=4.0, dx=0.1, zone="b",
           first_index=100)
    s.write(spark)
    w1 = (T0, T0 + timedelta(minutes=15))
    w2 = (T0 + timedelta(minutes=15), T0 + timedelta(minutes=30))
    settings = GoldSettings(horizon_minutes=5)
    tables = (GOLD_HEATMAP_CELLS, GOLD_ZONE_VISITS, GOLD_ZONE_METRICS, GOLD_TRACKS)

    def rollup(w: tuple[datetime, datetime]) -> dict[str, int]:
        return gold.rollup_window(spark, store_id="s1", start=w[0], end=w[1],
                                  settings=settings, zone_ids=["a", "b"]).rows

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        return {t.name: _gold_rows(spark, clean_lake, t, "s1") for t in tables}

    rows = rollup((w1[0], w2[1]))  # both buckets at once
    assert rows["gold_tracks"] == 2 and rows["gold_zone_metrics"] == 4  # 2 zones x 2 buckets
    first = snapshot()

    # Rerunning one bucket's window alone gives the very same rows and leaves the other alone.
    assert rollup(w2)["gold_tracks"] == 1
    assert snapshot() == first

    # Late data arrives for window 1 only; its backfill changes window 1 and nothing else.
    late = Silver()
    late.walk(start=T0 + timedelta(minutes=5), n=5, track=3, x0=2.0, y=2.0, dx=0.0, zone="a",
              first_index=500)
    late.write(spark)
    rollup(w1)
    after = snapshot()

    def in_w2(rows: list[tuple[Any, ...]], table: Any) -> list[tuple[Any, ...]]:
        i = [c.name for c in table.columns].index("bucket_start")
        return [r for r in rows if r[i] >= w2[0]]

    for t in tables:
        assert in_w2(after[t.name], t) == in_w2(first[t.name], t)
        assert in_w2(after[t.name], t)  # window 2 still has its rows
    assert len(after["gold_tracks"]) == 3
    metrics_a = [r for r in after["gold_zone_metrics"] if r[1] == "a" and r[2] == T0]
    assert metrics_a[0][4] == 2  # visits in zone a, window 1: tracks 1 and 3


def test_empty_window_gives_empty_result_and_clears_old_rows(
    spark: SparkSession, clean_lake: str
) -> None:
    from delta.tables import DeltaTable

    from spark_jobs.session import table_location

    s = Silver()
    s.walk(start=T0 + timedelta(minutes=1), n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone="a")
    s.write(spark)
    w = (T0, T0 + timedelta(minutes=15))
    gold.rollup_window(spark, store_id="s1", start=w[0], end=w[1], zone_ids=["a"])
    assert _gold_rows(spark, clean_lake, GOLD_HEATMAP_CELLS, "s1")

    # The window's silver is deleted (e.g. a retention purge): the rerun finds no data, says
    # so with zero rows (no error) and empties the window in gold too.
    for t in (SILVER_DETECTIONS, SILVER_FRAMES):
        DeltaTable.forPath(spark, table_location(t, root=clean_lake)).delete("store_id = 's1'")
    res = gold.rollup_window(spark, store_id="s1", start=w[0], end=w[1], zone_ids=["a"])
    assert set(res.rows.values()) == {0}
    for t in (GOLD_HEATMAP_CELLS, GOLD_ZONE_METRICS, GOLD_TRACKS, GOLD_ZONE_VISITS):
        assert _gold_rows(spark, clean_lake, t, "s1") == []
    names = {t.name for t in spark.catalog.listTables("storeheat")}
    assert {"gold_heatmap_cells", "gold_zone_metrics", "gold_tracks",
            "gold_busy_periods"} <= names


def test_main_rolls_up_from_the_command_line(
    spark: SparkSession, clean_lake: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Silver()
    s.walk(start=T0 + timedelta(minutes=1), n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone="a",
           store="cli-store")
    s.write(spark)
    code = gold.main(["--store", "cli-store", "--start", "2026-11-02T10:00:00Z",
                      "--end", "2026-11-02T10:30:00", "--lake-root", clean_lake])
    assert code == 0
    out = capsys.readouterr().out
    assert "cli-store [2026-11-02T10:00:00+00:00, 2026-11-02T10:30:00+00:00)" in out
    assert "gold_heatmap_cells=2" in out and "gold_tracks=1" in out
    assert len(_gold_rows(spark, clean_lake, GOLD_TRACKS, "cli-store")) == 1


def test_missing_silver_is_a_clear_error(spark: SparkSession, clean_lake: str) -> None:
    from spark_jobs.exceptions import TableError

    with pytest.raises(TableError, match="silver_frames.*missing"):
        gold.rollup_window(spark, store_id="s1", start=T0, end=T0 + timedelta(minutes=15))


def test_window_edges_keep_tails_of_tracks_and_their_fusion(
    spark: SparkSession, clean_lake: str
) -> None:
    w1 = (T0, T0 + timedelta(minutes=15))
    s = Silver()
    # c1 track 1 starts 1 s before w1 ends and goes on 2.8 s into w2; from w2's start c0
    # (sorting first) sees the same person 0.05 s later, so 15 of its 20 detections are
    # duplicates, all of them after the window.
    s.walk(start=w1[1] - timedelta(seconds=1), n=20, track=1, x0=1.0, y=1.0, dx=0.1, zone="a",
           camera="c1", first_index=1000)
    for j in range(15):
        s.frame(t=w1[1] + timedelta(seconds=0.05 + DT * j), index=j, camera="c0",
                people=[(5, 1.0 + 0.1 * (j + 5), 1.0, "a")])
    # c1 track 2 began 10 s before w1 and stands in zone b until 9.8 s into it.
    s.walk(start=T0 - timedelta(seconds=10), n=100, track=2, x0=5.0, y=5.0, dx=0.0, zone="b",
           camera="c1")
    # c1's next frame comes 2 min after track 1's last one: that frame stands for the cap, 1 s
    s.frame(t=w1[1] + timedelta(minutes=2), index=2000, camera="c1")
    s.write(spark)
    res = gold.rollup_window(spark, store_id="s1", start=w1[0], end=w1[1], zone_ids=["a", "b"])
    assert res.rows["gold_zone_visits"] == 1 and res.rows["gold_tracks"] == 1

    from spark_jobs.session import table_location

    def read(table: Any) -> list[dict[str, Any]]:
        df = spark.read.format("delta").load(table_location(table, root=clean_lake))
        return [{k: _utc(v) for k, v in r.asDict().items()} for r in df.collect()]

    (visit,) = read(GOLD_ZONE_VISITS)
    assert (visit["camera_id"], visit["track_id"], visit["zone_id"]) == ("c1", 1, "a")
    assert visit["enter_time"] == w1[1] - timedelta(seconds=1)
    assert visit["dwell_s"] == pytest.approx(4.8)  # 3.8 s of detections + the capped 1 s
    assert visit["detections"] == 20
    assert visit["duplicate_share"] == pytest.approx(0.75) and not visit["counted"]
    (track,) = read(GOLD_TRACKS)
    assert (track["track_id"], track["detections"], track["zone_sequence"]) == (1, 20, "a")
    assert track["duration_s"] == pytest.approx(3.8)
    assert track["path_length_m"] == pytest.approx(1.9)
    cells = {(c["cell_x"], c["cell_y"]): c for c in read(GOLD_HEATMAP_CELLS)}
    # track 2: 50 frames inside w1, the last standing for the 1 s cap (next frame 14 min on)
    assert cells[(10, 10)]["person_seconds"] == pytest.approx(49 * DT + 1.0)
    assert cells[(2, 2)]["person_seconds"] == pytest.approx(5 * DT)  # track 1 before w2
    assert set(cells) == {(10, 10), (2, 2)}
    metrics = {m["zone_id"]: m for m in read(GOLD_ZONE_METRICS)}
    assert metrics["a"]["visits"] == 0 and metrics["b"]["visits"] == 0  # began earlier


def test_lake_gold_command_rolls_up_a_range_and_reports_errors(
    spark: SparkSession, clean_lake: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from storeheat.cli import main as storeheat_main

    s = Silver()
    s.walk(start=T0 + timedelta(minutes=1), n=10, track=1, x0=1.0, y=1.0, dx=0.1, zone="a",
           store="cmd-store")
    s.walk(start=T0 + timedelta(minutes=16), n=10, track=2, x0=4.0, y=4.0, dx=0.1, zone="b",
           first_index=100, store="cmd-store")
    s.write(spark)
    argv = ["lake", "gold", "--store", "cmd-store", "--from", "2026-11-02T10:00Z", "--to",
            "2026-11-02T10:30", "--window-minutes", "15", "--lake-root", clean_lake]
    assert storeheat_main(argv) == 0  # reruns replace windows: see the idempotence test
    out = capsys.readouterr().out
    assert "cmd-store [2026-11-02T10:00:00+00:00, 2026-11-02T10:15:00+00:00)" in out
    assert "cmd-store [2026-11-02T10:15:00+00:00, 2026-11-02T10:30:00+00:00)" in out
    # 10 frames 0.1 m apart from x = 1.0 and 4.0: cells 2, 3 and 8, 9 along x
    assert "2 window(s) of store cmd-store" in out and "gold_heatmap_cells=4" in out
    assert "gold_tracks=2" in out and "gold_zone_visits=2" in out
    tables = (GOLD_HEATMAP_CELLS, GOLD_ZONE_VISITS, GOLD_ZONE_METRICS, GOLD_TRACKS)
    first = {t.name: _gold_rows(spark, clean_lake, t, "cmd-store") for t in tables}
    assert len(first["gold_tracks"]) == 2

    bad = [
        (["--store", "nowhere", "--from", "2026-11-02T10:00", "--to", "2026-11-02T10:30"],
         "unknown store: no store config describes it and silver has no frames of it"),
        (["--store", "cmd-store", "--from", "2026-11-02T10:30", "--to", "2026-11-02T10:00"],
         "end must be after start"),
        (["--store", "cmd-store", "--from", "2026-11-02T10:05", "--to", "2026-11-02T10:30"],
         "start is not on a 15-minute bucket boundary"),
        (["--store", "cmd-store", "--from", "2026-11-02T10:00", "--to", "2026-11-02T10:30",
          "--window-minutes", "20"], "window of 20 min is not a positive multiple"),
    ]
    for args, message in bad:
        assert storeheat_main(["lake", "gold", *args, "--lake-root", clean_lake]) == 2
        err = capsys.readouterr().err
        assert message in err, err
    assert {t.name: _gold_rows(spark, clean_lake, t, "cmd-store") for t in tables} == first
