"""Pinhole cameras of the simulated store, and the calibration they give the worker.

Convention (shared with ``configs/demo-store.yaml``): a camera at floor position
``position_m`` and height ``height_m`` looks along yaw ``yaw_deg`` (degrees from +x towards
+y), tilted ``tilt_deg`` below the horizontal. Its axes: forward
``(cos yaw cos tilt, sin yaw cos tilt, -sin tilt)``, right ``(sin yaw, -cos yaw, 0)``, up =
right × forward. A point ``P`` maps to ``u = w/2 + f (d·right)/(d·fwd)``,
``v = h/2 - f (d·up)/(d·fwd)`` with ``d = P - C`` and ``f = (w/2) / tan(hfov/2)``; pixel
coordinates start at the top-left corner of the image (0-based), as in the store config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from storeheat.config import CalibrationPoint, Camera, CameraPose, StoreConfig
from storeheat.sim.exceptions import SimulationError

#: Calibration points are taken from this floor grid (metres) ...
CALIBRATION_GRID_M = 0.5
#: ... at least this many pixels inside the frame ...
CALIBRATION_MARGIN_PX = 20.0
#: ... and this many of them, spread over the image.
CALIBRATION_POINTS = 8


@dataclass(frozen=True)
class PinholeCamera:
    """A calibrated pinhole camera (no lens distortion).

    Attributes:
        camera_id: Camera id.
        width: Frame width, pixels.
        height: Frame height, pixels.
        centre: Camera centre (x, y, z), metres.
        forward: Unit viewing direction.
        right: Unit image-right direction.
        up: Unit image-up direction.
        focal_px: Focal length, pixels.
    """

    camera_id: str
    width: int
    height: int
    centre: NDArray[np.float64]
    forward: NDArray[np.float64]
    right: NDArray[np.float64]
    up: NDArray[np.float64]
    focal_px: float

    @classmethod
    def from_pose(cls, camera_id: str, pose: CameraPose,
                  resolution: tuple[int, int]) -> PinholeCamera:
        """The camera at ``pose`` producing frames of ``resolution`` (width, height)."""
        w, h = int(resolution[0]), int(resolution[1])
        yaw, tilt = math.radians(pose.yaw_deg), math.radians(pose.tilt_deg)
        fwd = np.array([math.cos(yaw) * math.cos(tilt), math.sin(yaw) * math.cos(tilt),
                        -math.sin(tilt)])
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        up = np.cross(right, fwd)
        f = (w / 2.0) / math.tan(math.radians(pose.hfov_deg) / 2.0)
        centre = np.array([pose.position_m[0], pose.position_m[1], pose.height_m])
        return cls(camera_id, w, h, centre, fwd, right, up, f)

    @classmethod
    def from_config(cls, camera: Camera) -> PinholeCamera:
        """The camera of a store-config entry (which must have a ``pose``).

        Raises:
            SimulationError: the camera has no pose (argument ``camera <id>``).
        """
        if camera.pose is None:
            raise SimulationError("has no pose: the simulator needs position_m, height_m, "
                                  "yaw_deg, tilt_deg and hfov_deg to render it",
                                  argument=f"camera {camera.id}")
        return cls.from_pose(camera.id, camera.pose, camera.resolution)

    def project(self, points: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """3-D points ``(..., 3)`` → pixels ``(..., 2)`` and depth along the view ``(...)``.

        Points behind the camera get a depth ≤ 0 (their pixels are meaningless).
        """
        p = np.asarray(points, dtype=float)
        d = p - self.centre
        z = d @ self.forward
        zs = np.where(np.abs(z) < 1e-9, 1e-9, z)
        u = self.width / 2.0 + self.focal_px * (d @ self.right) / zs
        v = self.height / 2.0 - self.focal_px * (d @ self.up) / zs
        return np.stack([u, v], axis=-1), z

    def project_floor(self, points: ArrayLike) -> tuple[NDArray[np.float64],
                                                       NDArray[np.float64]]:
        """Floor points ``(..., 2)`` (z = 0) → pixels and depth (see :meth:`project`)."""
        p = np.asarray(points, dtype=float)
        return self.project(np.concatenate([p, np.zeros(p.shape[:-1] + (1,))], axis=-1))

    def rays(self) -> NDArray[np.float64]:
        """Un-normalised view ray of every pixel centre, ``(height, width, 3)``."""
        u = (np.arange(self.width) + 0.5 - self.width / 2.0) / self.focal_px
        v = (np.arange(self.height) + 0.5 - self.height / 2.0) / self.focal_px
        uu, vv = np.meshgrid(u, v)
        return np.asarray(self.forward + uu[..., None] * self.right - vv[..., None] * self.up)

    def visible_floor_points(self, store: StoreConfig, *, grid_m: float = CALIBRATION_GRID_M,
                             margin_px: float = CALIBRATION_MARGIN_PX
                             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Floor grid points this camera sees (well inside the frame): ``(floor, pixels)``."""
        xs = np.arange(grid_m, store.floor.width_m - 1e-9, grid_m)
        ys = np.arange(grid_m, store.floor.depth_m - 1e-9, grid_m)
        gx, gy = np.meshgrid(xs, ys)
        floor = np.stack([gx.ravel(), gy.ravel()], axis=1)
        px, z = self.project_floor(floor)
        ok = ((z > 0.3) & (px[:, 0] >= margin_px) & (px[:, 0] <= self.width - margin_px)
              & (px[:, 1] >= margin_px) & (px[:, 1] <= self.height - margin_px))
        return floor[ok], px[ok]


def calibration_points(camera: PinholeCamera, store: StoreConfig, *,
                       count: int = CALIBRATION_POINTS) -> list[CalibrationPoint]:
    """Image↔floor pairs for the store config: ``count`` visible floor-grid points, spread
    over the image by farthest-point sampling (deterministic), pixels rounded to 0.01.

    Raises:
        SimulationError: the camera sees fewer than 4 floor points, or only a line of them
            (argument ``camera <id>``).
    """
    floor, px = camera.visible_floor_points(store)
    if len(floor) < 4:
        raise SimulationError(
            f"sees no floor: only {len(floor)} of the floor's {CALIBRATION_GRID_M} m grid "
            "points fall inside its frame; check position_m, yaw_deg and tilt_deg",
            argument=f"camera {camera.camera_id}")
    chosen = [int(np.lexsort((px[:, 0], -px[:, 1]))[0])]  # the lowest (nearest) point first
    d = np.sqrt(((px - px[chosen[0]]) ** 2).sum(axis=1))
    while len(chosen) < min(count, len(floor)):
        k = int(np.argmax(d))
        if d[k] <= 0:
            break
        chosen.append(k)
        d = np.minimum(d, np.sqrt(((px - px[k]) ** 2).sum(axis=1)))
    sel = px[chosen]
    centred = sel - sel.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if len(chosen) < 4 or sv[-1] < 1.0:
        raise SimulationError("sees no floor area (the visible floor points are collinear)",
                              argument=f"camera {camera.camera_id}")
    return [
        CalibrationPoint(image=(round(float(px[k, 0]), 2), round(float(px[k, 1]), 2)),
                         floor=(float(floor[k, 0]), float(floor[k, 1])))
        for k in chosen
    ]
