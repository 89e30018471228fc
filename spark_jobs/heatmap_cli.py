"""``storeheat heatmap``: draw a store's occupancy over a time window as a PNG (no JVM)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def iso_time(text: str) -> datetime:
    """ISO 8601 time for argparse; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-02T09:00 or 2026-11-02T09:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(subparsers: Any) -> None:
    """Add the ``heatmap`` subcommand."""
    p = subparsers.add_parser(
        "heatmap",
        help="draw the occupancy heatmap of a store over a time window (PNG)",
        description="Read gold heatmap cells with deltalake (no Spark) and draw them over the "
        "store's floor plan with shelves, zones, a colour scale and the window.",
    )
    p.add_argument("--store", required=True, help="store id")
    p.add_argument("--from", dest="start", required=True, type=iso_time,
                   help="window start, ISO 8601 (UTC if no offset)")
    p.add_argument("--to", dest="end", required=True, type=iso_time,
                   help="window end (exclusive), ISO 8601")
    p.add_argument("--out", default="heatmap.png", help="PNG to write (default heatmap.png)")
    p.add_argument("--config", default=None,
                   help="store YAML (default: the file in configs/ or $STOREHEAT_STORE_CONFIG "
                   "whose store_id matches)")
    p.add_argument("--lake-root", default=None,
                   help="lake root (default $STOREHEAT_LAKE_ROOT or .state/lake)")
    p.add_argument("--cell-m", type=float, default=None,
                   help="cell size to draw if gold holds several (default: the config's)")
    p.add_argument("--log", action="store_true", help="logarithmic colour scale")
    p.add_argument("--dpi", type=int, default=120, help="PNG resolution (default 120)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the PNG and print where it went and what it shows."""
    import time

    from spark_jobs.heatmap import heatmap_png

    t0 = time.monotonic()
    if args.end <= args.start:
        raise SystemExit(f"storeheat heatmap: error: --to ({args.end.isoformat()}) must be "
                         f"after --from ({args.start.isoformat()})")
    path, grid = heatmap_png(
        store_id=args.store,
        start=args.start,
        end=args.end,
        out=args.out,
        config_path=args.config,
        root=args.lake_root,
        cell_m=args.cell_m,
        log_scale=args.log,
        dpi=args.dpi,
    )
    print(
        f"wrote {path}: store {grid.store_id}, {grid.buckets} bucket(s), "
        f"{grid.total_person_seconds / 3600:.2f} person-hours, {grid.rows_read} gold rows, "
        f"{time.monotonic() - t0:.2f} s"
    )
    return 0
