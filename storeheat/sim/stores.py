"""The store a run simulates: a layout plus cameras calibrated from their poses.

The demo store is ``configs/demo-store.yaml`` (24 × 16 m, four shelves, eight zones, three
cameras). ``--cameras N`` takes the store's first N cameras; past those, the extra poses of
:data:`EXTRA_POSES` are added (up to :data:`MAX_CAMERAS`). Every camera's calibration is
recomputed from its pose by :func:`~storeheat.sim.camera.calibration_points`, so the written
store config is exactly the geometry that rendered the frames.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import yaml

from storeheat.config import Camera, CameraPose, StoreConfig, load_store_config
from storeheat.paths import REPO_ROOT
from storeheat.sim.camera import PinholeCamera, calibration_points
from storeheat.sim.exceptions import SimulationError

DEMO_STORE_PATH = REPO_ROOT / "configs" / "demo-store.yaml"

#: Cameras added beyond the store's own, in order (ids, poses) — sized for the demo store.
EXTRA_POSES: tuple[tuple[str, CameraPose], ...] = (
    ("cam-produce", CameraPose(position_m=(0.5, 15.5), height_m=4.0, yaw_deg=-40.0,
                               tilt_deg=35.0, hfov_deg=90.0)),
    ("cam-dairy", CameraPose(position_m=(13.0, 15.6), height_m=4.5, yaw_deg=-90.0,
                             tilt_deg=32.0, hfov_deg=95.0)),
    ("cam-overview", CameraPose(position_m=(23.6, 0.4), height_m=5.5, yaw_deg=150.0,
                                tilt_deg=28.0, hfov_deg=100.0)),
)
MAX_CAMERAS = 6


def load_layout(path: str | Path | None = None) -> StoreConfig:
    """The store layout to simulate (default: the demo store)."""
    return load_store_config(path or DEMO_STORE_PATH)


def sim_source(store_id: str, camera_id: str, *, scenario: str | None = None,
               seed: int | None = None) -> str:
    """``sim://<store>/<camera>[?scenario=...&seed=...]``: the live source of a camera."""
    query = {}
    if scenario is not None:
        query["scenario"] = scenario
    if seed is not None:
        query["seed"] = str(int(seed))
    base = f"sim://{store_id}/{camera_id}"
    return f"{base}?{urlencode(query)}" if query else base


def calibrated_store(layout: StoreConfig, *, cameras: int | None = None,
                     scenario: str | None = None, seed: int | None = None) -> StoreConfig:
    """The layout with ``cameras`` cameras, each calibrated from its pose.

    Args:
        layout: Store layout; its cameras need poses.
        cameras: How many cameras (default: the layout's own).
        scenario: Written into each camera's ``sim://`` source (with ``seed``) so the worker
            can replay exactly this run live; None writes plain ``sim://store/camera``.
        seed: See ``scenario``.

    Raises:
        SimulationError: ``cameras`` below 1 or above what is available (argument
            ``--cameras``), a camera without pose or that sees no floor (``camera <id>``).
    """
    n = len(layout.cameras) if cameras is None else int(cameras)
    available = len(layout.cameras) + len(EXTRA_POSES)
    if n < 1:
        raise SimulationError(f"must be at least 1, got {n}", argument="--cameras")
    if n > min(available, MAX_CAMERAS):
        raise SimulationError(f"at most {min(available, MAX_CAMERAS)} cameras are available "
                              f"for store {layout.store_id!r}, got {n}", argument="--cameras")
    template = layout.cameras[0]
    specs: list[tuple[str, CameraPose | None, Camera | None]] = [
        (c.id, c.pose, c) for c in layout.cameras
    ] + [(cid, pose, None) for cid, pose in EXTRA_POSES]
    out: list[Camera] = []
    for cid, pose, base in specs[:n]:
        cam_base = base or template
        if pose is None:
            raise SimulationError("has no pose: the simulator needs position_m, height_m, "
                                  "yaw_deg, tilt_deg and hfov_deg to render it",
                                  argument=f"camera {cid}")
        pin = PinholeCamera.from_pose(cid, pose, cam_base.resolution)
        calib = calibration_points(pin, layout)
        out.append(Camera(
            id=cid,
            source=sim_source(layout.store_id, cid, scenario=scenario, seed=seed),
            fps=cam_base.fps,
            resolution=cam_base.resolution,
            calibration=calib,
            floor_region=base.floor_region if base else None,
            pose=pose,
        ))
    return layout.model_copy(update={"cameras": out})


def with_resolution(store: StoreConfig, resolution: tuple[int, int]) -> StoreConfig:
    """The store with every camera at ``resolution`` (recalibrated for it)."""
    cams = [c.model_copy(update={"resolution": tuple(resolution)}) for c in store.cameras]
    moved = store.model_copy(update={"cameras": cams})
    out = []
    for cam in moved.cameras:
        pin = PinholeCamera.from_config(cam)
        out.append(Camera(id=cam.id, source=cam.source, fps=cam.fps,
                          resolution=tuple(resolution),  # type: ignore[arg-type]
                          calibration=calibration_points(pin, moved),
                          floor_region=cam.floor_region, pose=cam.pose))
    return store.model_copy(update={"cameras": out})


def store_yaml(store: StoreConfig) -> str:
    """YAML of a store config, points as ``[x, y]`` (what ``storeheat sim`` writes)."""
    data = store.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def demo_store_text() -> str:
    """What ``configs/demo-store.yaml`` should hold: the demo layout, calibrated."""
    header = (
        "# The example store: a 24 x 16 m supermarket seen by three cameras.\n"
        "# Calibration pairs are computed from each camera's pose by the simulator's pinhole\n"
        "# model (storeheat/sim/camera.py); `storeheat sim` writes the same cameras (with the\n"
        "# run's scenario and seed in the sim:// source) beside its ground truth.\n"
        "# Regenerate: python -m storeheat.sim.stores\n"
    )
    return header + store_yaml(calibrated_store(load_layout()))


if __name__ == "__main__":
    DEMO_STORE_PATH.write_text(demo_store_text())
    print(f"wrote {DEMO_STORE_PATH}")
