"""Heatmap PNGs from gold: read with deltalake (tables written by Spark and by delta-rs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import yaml

from spark_jobs import heatmap
from spark_jobs.heatmap import EmptyWindowError, UnknownStoreError
from storeheat.cli import main as storeheat_main
from storeheat.paths import REPO_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _store_yaml(tmp_path: Path, store_id: str) -> Path:
    """The demo store's floor plan under another store id."""
    data = yaml.safe_load((REPO_ROOT / "configs" / "demo-store.yaml").read_text())
    data["store_id"] = store_id
    path = tmp_path / f"{store_id}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _write_cells(root: Path, rows: list[tuple[str, datetime, int, int, float]]) -> None:
    """Gold heatmap rows written with delta-rs (store, bucket_start, cell_x, cell_y, p-s)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    table = pa.table(
        {
            "store_id": [r[0] for r in rows],
            "bucket_start": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "bucket_minutes": pa.array([15] * len(rows), pa.int32()),
            "cell_m": [0.5] * len(rows),
            "cell_x": pa.array([r[2] for r in rows], pa.int64()),
            "cell_y": pa.array([r[3] for r in rows], pa.int64()),
            "person_seconds": [r[4] for r in rows],
            "distinct_tracks": pa.array([1] * len(rows), pa.int64()),
            "detections": pa.array([1] * len(rows), pa.int64()),
            "bucket_date": pa.array([r[1].date() for r in rows], pa.date32()),
        }
    )
    write_deltalake(str(root / "gold_heatmap_cells"), table, mode="append",
                    partition_by=["store_id", "bucket_date"])


@pytest.fixture
def small_lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    _write_cells(
        root,
        [
            ("s1", T0, 2, 2, 30.0),
            ("s1", T0, 2, 2, 0.0),  # an explicit zero adds nothing
            ("s1", T0 + timedelta(minutes=15), 2, 2, 12.0),
            ("s1", T0 + timedelta(minutes=15), 40, 20, 6.0),
            ("s1", T0 + timedelta(hours=5), 3, 3, 99.0),  # outside the window asked for
            ("other", T0, 2, 2, 500.0),  # another store
            ("s1", T0 + timedelta(minutes=30), 100, 100, 1.0),  # off the floor: edge cell
        ],
    )
    return root


def test_grid_sums_the_window_only(small_lake: Path, tmp_path: Path) -> None:
    config = heatmap.find_store_config("s1", config_path=_store_yaml(tmp_path, "s1"))
    grid = heatmap.load_grid(config, start=T0, end=T0 + timedelta(hours=1), root=str(small_lake))
    assert grid.person_seconds.shape == (32, 48)  # 16 m x 24 m in 0.5 m cells
    assert grid.person_seconds[2, 2] == 42.0
    assert grid.person_seconds[20, 40] == 6.0
    assert grid.person_seconds[31, 47] == 1.0  # clamped to the corner cell
    assert grid.total_person_seconds == 49.0
    assert grid.buckets == 3


def test_png_is_written(small_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps" / "s1.png"
    path, grid = heatmap.heatmap_png(
        store_id="s1", start=T0, end=T0 + timedelta(hours=1), out=out,
        config_path=_store_yaml(tmp_path, "s1"), root=str(small_lake),
    )
    assert path == out and out.read_bytes()[:8] == PNG_MAGIC
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.shape[0] > 400 and img.shape[1] > 800
    # the drawing is not blank: many distinct colours (cells, shelves, zones, colour bar)
    assert len(np.unique(img.reshape(-1, img.shape[2]), axis=0)) > 50
    log_out = tmp_path / "log.png"
    heatmap.render_heatmap(grid, heatmap.find_store_config(
        "s1", config_path=_store_yaml(tmp_path, "s1")), out=log_out, log_scale=True)
    assert log_out.read_bytes()[:8] == PNG_MAGIC


def test_unknown_store_names_the_known_ones() -> None:
    with pytest.raises(UnknownStoreError, match=r"unknown store 'nowhere'.*demo-store"):
        heatmap.find_store_config("nowhere")


def test_store_without_gold_and_empty_window(small_lake: Path, tmp_path: Path) -> None:
    cfg = heatmap.find_store_config("s2", config_path=_store_yaml(tmp_path, "s2"))
    with pytest.raises(UnknownStoreError, match="'s2' has no gold heatmap data"):
        heatmap.load_grid(cfg, start=T0, end=T0 + timedelta(hours=1), root=str(small_lake))
    cfg1 = heatmap.find_store_config("s1", config_path=_store_yaml(tmp_path, "s1"))
    with pytest.raises(EmptyWindowError) as info:
        heatmap.load_grid(cfg1, start=T0 + timedelta(days=1), end=T0 + timedelta(days=2),
                          root=str(small_lake))
    msg = str(info.value)
    assert "2026-11-03 10:00 UTC" in msg and "2026-11-02 10:00 UTC to 2026-11-02 15:00 UTC" in msg
    with pytest.raises(UnknownStoreError, match="no gold heatmap table"):
        heatmap.load_grid(cfg1, start=T0, end=T0 + timedelta(hours=1),
                          root=str(tmp_path / "empty-lake"))


def test_cli_writes_png_and_reports_errors(
    small_lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _store_yaml(tmp_path, "s1")
    out = tmp_path / "cli.png"
    code = storeheat_main(["heatmap", "--store", "s1", "--from", "2026-11-02T10:00",
                           "--to", "2026-11-02T11:00Z", "--out", str(out), "--config", str(cfg),
                           "--lake-root", str(small_lake)])
    assert code == 0 and out.read_bytes()[:8] == PNG_MAGIC
    assert "3 bucket(s)" in capsys.readouterr().out

    code = storeheat_main(["heatmap", "--store", "s1", "--from", "2026-11-05T10:00",
                           "--to", "2026-11-05T11:00", "--out", str(tmp_path / "x.png"),
                           "--config", str(cfg), "--lake-root", str(small_lake)])
    err = capsys.readouterr().err
    assert code == 2 and "no heatmap data between 2026-11-05 10:00 UTC" in err
    assert not (tmp_path / "x.png").exists()

    code = storeheat_main(["heatmap", "--store", "nowhere", "--from", "2026-11-02T10:00",
                           "--to", "2026-11-02T11:00", "--lake-root", str(small_lake)])
    assert code == 2 and "unknown store 'nowhere'" in capsys.readouterr().err


@pytest.mark.integration
def test_reads_gold_written_by_the_spark_rollup(
    spark: SparkSession, clean_lake: str, tmp_path: Path
) -> None:
    from data_contracts.derive import spark_schema_of_columns
    from data_contracts.events import make_event_id
    from data_contracts.tables import SILVER_DETECTIONS, SILVER_FRAMES
    from spark_jobs.gold import rollup_window
    from spark_jobs.session import ensure_tables, table_location

    # one person, 10 frames 0.2 s apart, x 1.0 .. 1.9 m at y = 1.0 m: 1 s in cell (2, 2) and
    # 1 s in cell (3, 2)
    frames, dets = [], []
    for i in range(10):
        t = T0 + timedelta(minutes=2, seconds=0.2 * i)
        base = (make_event_id("s1", "c1", 0, i), "s1", "c1", 0, i, t, "m", 640, 360, 5.0)
        frames.append((*base, 1, date(2026, 11, 2)))
        dets.append((*base, 0, 1, 0.9, 1.0, 1.0, 9.0, 9.0, 1.0 + 0.1 * i, 1.0, "entrance",
                     True, date(2026, 11, 2)))
    ensure_tables(spark, [SILVER_FRAMES, SILVER_DETECTIONS])
    for rows, table in ((frames, SILVER_FRAMES), (dets, SILVER_DETECTIONS)):
        spark.createDataFrame(rows, spark_schema_of_columns(table.columns)).write.format(
            "delta").mode("append").save(table_location(table, root=clean_lake))
    rollup_window(spark, store_id="s1", start=T0, end=T0 + timedelta(minutes=15))

    cfg = heatmap.find_store_config("s1", config_path=_store_yaml(tmp_path, "s1"))
    grid = heatmap.load_grid(cfg, start=T0, end=T0 + timedelta(minutes=15), root=clean_lake)
    assert grid.person_seconds[2, 2] == pytest.approx(1.0)
    assert grid.person_seconds[2, 3] == pytest.approx(1.0)
    assert grid.total_person_seconds == pytest.approx(2.0)
    path = heatmap.render_heatmap(grid, cfg, out=tmp_path / "spark.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
