"""``storeheat config check``: validate a store file and show what the worker will use."""

from __future__ import annotations

import argparse

from storeheat.config import default_store_config_path, load_store_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="validate and summarise a store config")
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a store YAML and print its cameras and zones")
    check.add_argument(
        "path", nargs="?", default=None,
        help="store YAML (default: $STOREHEAT_STORE_CONFIG or configs/demo-store.yaml)",
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    path = args.path or default_store_config_path()
    cfg = load_store_config(path)
    print(f"{path}: store {cfg.store_id!r} ({cfg.name or 'unnamed'}) is valid")
    print(f"  floor {cfg.floor.width_m} x {cfg.floor.depth_m} m, "
          f"{len(cfg.shelves)} shelves, {len(cfg.zones)} zones: "
          + ", ".join(z.id for z in cfg.zones))
    print(f"  {'camera':<16} {'fps':>5} {'resolution':>11} {'calib pts':>9} {'reproj err':>11}")
    for cam in cfg.cameras:
        w, h = cam.resolution
        print(f"  {cam.id:<16} {cam.fps:>5g} {f'{w}x{h}':>11} {len(cam.calibration):>9} "
              f"{cam.homography.reprojection_error_m:>9.3f} m")
    print(f"  lake root  {cfg.storage.resolved_lake_root()}")
    print(f"  hot video  {cfg.storage.resolved_hot_video()}")
    print(f"  cold video {cfg.storage.resolved_cold_video()}")
    kafka = cfg.kafka.resolved_bootstrap() or "local broker (storeheat services up)"
    print(f"  kafka      {kafka}")
    return 0
