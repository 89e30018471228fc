"""Occupancy heatmap PNG over the floor plan, read straight from gold (no JVM).

``gold_heatmap_cells`` is read with the ``deltalake`` package (partition pruning on store and
day, then a filter on ``bucket_start``), summed over the requested window into a floor grid,
and drawn with matplotlib's Agg backend over the store's floor plan: shelves, zone outlines
and labels, a colour scale and the time window in the title.

The grid shows person-seconds per cell over the window (fused across cameras); the colour bar
also gives the equivalent mean number of people per cell.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from data_contracts.tables import GOLD_HEATMAP_CELLS
from spark_jobs.exceptions import LakeError
from spark_jobs.session import lake_root as resolve_lake_root
from storeheat.config import StoreConfig, default_store_config_path, load_store_config
from storeheat.exceptions import ConfigError
from storeheat.paths import REPO_ROOT

if TYPE_CHECKING:
    import pyarrow as pa


class HeatmapError(LakeError):
    """A heatmap could not be drawn. Names the store and the window."""

    def __init__(self, message: str, *, store_id: str) -> None:
        self.store_id = store_id
        super().__init__(message)


class UnknownStoreError(HeatmapError):
    """No store config (floor plan) or no gold data exists for the store id."""


class EmptyWindowError(HeatmapError):
    """The store has gold data, but none in the requested window."""


@dataclass(frozen=True)
class HeatmapGrid:
    """Person-seconds per floor cell summed over a window.

    Attributes:
        store_id: The store.
        start, end: The window (UTC).
        cell_m: Cell size, metres.
        person_seconds: Array of shape (rows, cols) indexed ``[cell_y, cell_x]``.
        buckets: Distinct time buckets that had data in the window.
        rows_read: Gold rows read.
    """

    store_id: str
    start: datetime
    end: datetime
    cell_m: float
    person_seconds: np.ndarray
    buckets: int
    rows_read: int

    @property
    def total_person_seconds(self) -> float:
        return float(self.person_seconds.sum())

    @property
    def window_seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _config_files(search_dirs: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    env = os.environ.get("STOREHEAT_STORE_CONFIG")
    if env:
        files.append(Path(env))
    for d in search_dirs:
        if d.is_dir():
            files.extend(sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")))
    files.append(default_store_config_path())
    return list(dict.fromkeys(files))


def find_store_config(
    store_id: str,
    *,
    config_path: str | os.PathLike[str] | None = None,
    search_dirs: Sequence[Path] = (REPO_ROOT / "configs",),
) -> StoreConfig:
    """The store config (floor plan) for ``store_id``.

    Args:
        store_id: The store.
        config_path: Use this YAML (its store_id must match).
        search_dirs: Folders whose ``*.yaml`` files are searched otherwise (plus
            ``$STOREHEAT_STORE_CONFIG``).

    Raises:
        UnknownStoreError: no config describes the store (lists the stores that do).
        storeheat.exceptions.ConfigError: ``config_path`` is invalid.
    """
    if config_path is not None:
        config = load_store_config(config_path)
        if config.store_id != store_id:
            raise UnknownStoreError(
                f"store {store_id!r}: {config_path} describes store {config.store_id!r}",
                store_id=store_id,
            )
        return config
    known: list[str] = []
    for path in _config_files(search_dirs):
        try:
            config = load_store_config(path)
        except ConfigError:
            continue  # another store's broken file must not hide this one
        if config.store_id == store_id:
            return config
        known.append(config.store_id)
    raise UnknownStoreError(
        f"unknown store {store_id!r}: no store config describes it (searched "
        f"{', '.join(str(d) for d in search_dirs)} and $STOREHEAT_STORE_CONFIG; known stores: "
        f"{sorted(set(known)) or 'none'}); pass --config with its YAML",
        store_id=store_id,
    )


def _dataset(root: str, store_id: str) -> Any:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    location = f"{root}/{GOLD_HEATMAP_CELLS.name}"
    try:
        return DeltaTable(location).to_pyarrow_dataset()
    except TableNotFoundError:
        raise UnknownStoreError(
            f"store {store_id!r}: no gold heatmap table at {location}; run the gold rollup "
            f"(spark_jobs.gold) first",
            store_id=store_id,
        ) from None


def read_cells(
    *, store_id: str, start: datetime, end: datetime, root: str | None = None
) -> pa.Table:
    """Gold heatmap rows of one store with ``bucket_start`` in [start, end), via deltalake.

    Raises:
        UnknownStoreError: the gold table does not exist.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    lake = resolve_lake_root(root)
    dataset = _dataset(lake, store_id)
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    ts_type = dataset.schema.field("bucket_start").type
    flt = (
        (ds.field("store_id") == store_id)
        & (ds.field("bucket_date") >= pa.scalar(s.date(), pa.date32()))
        & (ds.field("bucket_date") <= pa.scalar((e - timedelta(microseconds=1)).date(),
                                                 pa.date32()))
        & (ds.field("bucket_start") >= pa.scalar(s, ts_type))
        & (ds.field("bucket_start") < pa.scalar(e, ts_type))
    )
    return dataset.to_table(
        columns=["bucket_start", "cell_m", "cell_x", "cell_y", "person_seconds"], filter=flt
    )


def _store_extent(root: str, store_id: str) -> tuple[datetime, datetime] | None:
    """First and last bucket of a store in gold (None when it has no rows)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = _dataset(root, store_id)
    tbl = dataset.to_table(columns=["bucket_start"], filter=ds.field("store_id") == store_id)
    if tbl.num_rows == 0:
        return None
    mm = pc.min_max(tbl.column("bucket_start")).as_py()
    return _as_utc(mm["min"]), _as_utc(mm["max"])


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_grid(
    config: StoreConfig,
    *,
    start: datetime,
    end: datetime,
    root: str | None = None,
    cell_m: float | None = None,
) -> HeatmapGrid:
    """Sum the store's gold cells over [start, end) into a floor grid.

    Args:
        config: The store (floor size and default cell size).
        start, end: UTC window (time-zone aware).
        root: Lake root (default ``$STOREHEAT_LAKE_ROOT`` or ``.state/lake``).
        cell_m: Cell size to draw when gold holds several; default the config's.

    Raises:
        UnknownStoreError: gold has no rows at all for the store.
        EmptyWindowError: gold has rows for the store, but none in the window (says where
            its data lies).
        ValueError: the window is not time-zone aware or ends before it starts.
    """
    import pyarrow.compute as pc

    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("heatmap window times must be time-zone aware (UTC)")
    if end <= start:
        raise ValueError(f"heatmap window ends ({end.isoformat()}) before it starts "
                         f"({start.isoformat()})")
    lake = resolve_lake_root(root)
    store_id = config.store_id
    tbl = read_cells(store_id=store_id, start=start, end=end, root=lake)
    if tbl.num_rows == 0:
        extent = _store_extent(lake, store_id)
        if extent is None:
            raise UnknownStoreError(
                f"store {store_id!r} has no gold heatmap data in {lake} (no rollup has run "
                f"for it)",
                store_id=store_id,
            )
        raise EmptyWindowError(
            f"store {store_id!r} has no heatmap data between {_fmt(start)} and {_fmt(end)} "
            f"(its gold data covers buckets from {_fmt(extent[0])} to {_fmt(extent[1])})",
            store_id=store_id,
        )
    sizes = sorted(set(tbl.column("cell_m").to_pylist()))
    want = cell_m if cell_m is not None else config.heatmap.cell_m
    size = want if want in sizes else sizes[0]
    if len(sizes) > 1 or size != want:
        tbl = tbl.filter(pc.equal(tbl.column("cell_m"), size))
    ncols = max(1, math.ceil(config.floor.width_m / size - 1e-9))
    nrows = max(1, math.ceil(config.floor.depth_m / size - 1e-9))
    cx = np.asarray(tbl.column("cell_x").to_numpy(), dtype=np.int64)
    cy = np.asarray(tbl.column("cell_y").to_numpy(), dtype=np.int64)
    ps = np.asarray(tbl.column("person_seconds").to_numpy(), dtype=np.float64)
    # Foot points projected just outside the floor are clamped to its edge cells.
    cx = np.clip(cx, 0, ncols - 1)
    cy = np.clip(cy, 0, nrows - 1)
    grid = np.zeros((nrows, ncols), dtype=np.float64)
    np.add.at(grid, (cy, cx), ps)
    buckets = len(set(tbl.column("bucket_start").to_pylist()))
    return HeatmapGrid(
        store_id=store_id,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        cell_m=float(size),
        person_seconds=grid,
        buckets=buckets,
        rows_read=tbl.num_rows,
    )


def _fmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_heatmap(
    grid: HeatmapGrid,
    config: StoreConfig,
    *,
    out: str | os.PathLike[str],
    dpi: int = 120,
    log_scale: bool = False,
) -> Path:
    """Draw the grid over the floor plan and write a PNG.

    Args:
        grid: From :func:`load_grid`.
        config: The store (floor, shelves, zones, camera poses).
        out: PNG path (parent folders are created).
        dpi: Resolution.
        log_scale: Logarithmic colour scale (shows quiet areas next to a crowded checkout).

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Polygon as MplPolygon
    from matplotlib.patches import Rectangle

    w, d = config.floor.width_m, config.floor.depth_m
    fig_w = 10.0
    fig_h = max(4.0, fig_w * d / w * 0.9 + 1.2)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=dpi)
    try:
        data = np.ma.masked_less_equal(grid.person_seconds, 0.0)
        vmax = float(data.max()) if data.count() else 1.0
        norm: Normalize = (
            LogNorm(vmin=max(vmax / 1e3, 1e-3), vmax=vmax) if log_scale
            else Normalize(vmin=0.0, vmax=vmax)
        )
        nrows, ncols = grid.person_seconds.shape
        ax.add_patch(Rectangle((0, 0), w, d, facecolor="#f4f4f0", edgecolor="black", lw=1.5,
                               zorder=0))
        img = ax.imshow(
            data, origin="lower", extent=(0, ncols * grid.cell_m, 0, nrows * grid.cell_m),
            cmap="inferno_r", norm=norm, interpolation="nearest", zorder=1, alpha=0.9,
        )
        for shelf in config.shelves:
            ax.add_patch(MplPolygon(shelf.polygon, closed=True, facecolor="#8c8c8c",
                                    edgecolor="#444444", lw=0.8, zorder=2, alpha=0.85))
        for zone in config.zones:
            pts = np.asarray(zone.polygon, dtype=float)
            ax.add_patch(MplPolygon(pts, closed=True, fill=False, edgecolor="#1f5fbf", lw=1.2,
                                    ls="--", zorder=3))
            cx, cy = pts.mean(axis=0)
            ax.text(cx, cy, zone.name or zone.id, ha="center", va="center", fontsize=8,
                    color="#0b2e6b", zorder=4,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                          "alpha": 0.7})
        for cam in config.cameras:
            if cam.pose is not None:
                px, py = cam.pose.position_m
                ax.plot([px], [py], marker="^", color="#2a9d3a", ms=7, zorder=5)
                ax.text(px, py, f" {cam.id}", fontsize=6, color="#2a9d3a", zorder=5,
                        va="bottom")
        ax.set_xlim(0, w)
        ax.set_ylim(0, d)
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        name = f"{config.name} ({config.store_id})" if config.name else config.store_id
        ax.set_title(
            f"{name}\n{_fmt(grid.start)} → {_fmt(grid.end)}  ·  "
            f"{grid.total_person_seconds / 3600:.1f} person-hours  ·  "
            f"{grid.cell_m:g} m cells",
            fontsize=10,
        )
        bar = fig.colorbar(img, ax=ax, shrink=0.85, pad=0.09)
        bar.set_label(f"person-seconds per {grid.cell_m:g} m cell")
        # Second scale on the bar: the same value as mean people in the cell.
        span = grid.window_seconds

        def to_people(v: Any) -> Any:
            return np.asarray(v, dtype=float) / span

        def to_seconds(v: Any) -> Any:
            return np.asarray(v, dtype=float) * span

        secax = bar.ax.secondary_yaxis("left", functions=(to_people, to_seconds))
        secax.set_ylabel("mean people in cell", fontsize=7)
        secax.tick_params(labelsize=6)
        fig.tight_layout()
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def heatmap_png(
    *,
    store_id: str,
    start: datetime,
    end: datetime,
    out: str | os.PathLike[str],
    config_path: str | os.PathLike[str] | None = None,
    root: str | None = None,
    cell_m: float | None = None,
    log_scale: bool = False,
    dpi: int = 120,
) -> tuple[Path, HeatmapGrid]:
    """Find the store, read its gold cells for the window and write the PNG.

    Raises:
        UnknownStoreError: no config or no gold data for the store.
        EmptyWindowError: no data in the window.
    """
    config = find_store_config(store_id, config_path=config_path)
    grid = load_grid(config, start=start, end=end, root=root, cell_m=cell_m)
    path = render_heatmap(grid, config, out=out, dpi=dpi, log_scale=log_scale)
    return path, grid
