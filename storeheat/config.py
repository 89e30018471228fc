"""Store configuration: one YAML file describes a store, its floor, zones and cameras.

The file is loaded into frozen, validated pydantic objects. Unknown keys and impossible values
(a zone outside the floor, degenerate calibration, duplicate camera ids) are rejected with a
:class:`~storeheat.exceptions.ConfigError` naming the file, the key path and the reason.

Coordinates: floor metres with the origin at a corner, ``x`` along ``floor.width_m`` and ``y``
along ``floor.depth_m``; image points in pixels from the top-left corner.

Example (see ``configs/demo-store.yaml`` for a complete one)::

    store_id: demo-store
    floor: {width_m: 24, depth_m: 16}
    zones:
      - {id: entrance, polygon: [[0, 0], [4, 0], [4, 3], [0, 3]]}
    cameras:
      - id: cam-1
        source: sim://demo-store/cam-1
        fps: 5
        resolution: [640, 360]
        calibration:
          - {image: [10, 350], floor: [1, 1]}
          ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_contracts import topics as topic_defaults
from data_contracts.events import IdStr
from storeheat.exceptions import ConfigError
from storeheat.geometry import CalibrationError, Homography, points_in_polygon, polygon_area
from storeheat.paths import REPO_ROOT, state_dir

Point = tuple[float, float]
Polygon = Annotated[list[Point], Field(min_length=3)]

#: Calibration whose RMS reprojection error exceeds this (metres) is rejected as inconsistent.
MAX_REPROJECTION_ERROR_M = 0.5


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Floor(_Strict):
    """The sales floor: a rectangle, in metres."""

    width_m: float = Field(gt=0, le=1000, description="Extent along x, metres.")
    depth_m: float = Field(gt=0, le=1000, description="Extent along y, metres.")

    @property
    def polygon(self) -> list[Point]:
        return [(0.0, 0.0), (self.width_m, 0.0), (self.width_m, self.depth_m), (0.0, self.depth_m)]

    def contains(self, polygon: list[Point], *, tolerance: float = 1e-6) -> bool:
        pts = np.asarray(polygon, dtype=float)
        return bool(
            (pts[:, 0] >= -tolerance).all()
            and (pts[:, 1] >= -tolerance).all()
            and (pts[:, 0] <= self.width_m + tolerance).all()
            and (pts[:, 1] <= self.depth_m + tolerance).all()
        )


class Shelf(_Strict):
    """A shelf (an obstacle people walk around and that hides them from cameras)."""

    id: IdStr = Field(description="Shelf id, unique in the store.")
    polygon: Polygon = Field(description="Footprint on the floor, metres.")
    height_m: float = Field(default=1.8, gt=0, le=10, description="Height, metres (occlusion).")


class Zone(_Strict):
    """A named area whose visits, dwell times and occupancy are reported."""

    id: IdStr = Field(description="Zone id, unique in the store; appears in events and tables.")
    name: str = Field(default="", description="Human-readable name for reports.")
    kind: str = Field(
        default="aisle",
        description="What the zone is (entrance, aisle, produce, checkout, exit, ...).",
    )
    polygon: Polygon = Field(description="Outline on the floor, metres.")

    @field_validator("polygon")
    @classmethod
    def _non_degenerate(cls, value: list[Point]) -> list[Point]:
        if polygon_area(value) <= 1e-6:
            raise ValueError("polygon has zero area")
        return value


class CalibrationPoint(_Strict):
    """One correspondence between an image pixel and a floor point."""

    image: Point = Field(description="Pixel (u, v).")
    floor: Point = Field(description="Floor point (x, y), metres.")


class CameraPose(_Strict):
    """Physical placement, used by the simulator to render; the worker uses calibration only."""

    position_m: Point = Field(description="Camera position on the floor plan, metres.")
    height_m: float = Field(gt=0, le=30, description="Mounting height above the floor, metres.")
    yaw_deg: float = Field(ge=-360, le=360, description="Viewing direction, degrees from +x.")
    tilt_deg: float = Field(gt=0, lt=90, description="Downward tilt below horizontal, degrees.")
    hfov_deg: float = Field(gt=10, lt=170, description="Horizontal field of view, degrees.")


class Camera(_Strict):
    """A camera (or other sensor) of the store."""

    id: IdStr = Field(description="Camera id, unique in the store.")
    source: str = Field(
        min_length=1,
        description="Where frames come from: rtsp://, http(s)://, file path or file://, a "
        "folder of images (MOTChallenge img1), or sim://<store>/<camera> for the simulator.",
    )
    fps: float = Field(default=5.0, gt=0, le=120, description="Frames per second to process.")
    resolution: tuple[int, int] = Field(description="Frame (width, height), pixels.")
    calibration: list[CalibrationPoint] = Field(
        min_length=4, description="At least 4 image↔floor point pairs for the homography."
    )
    floor_region: Polygon | None = Field(
        default=None,
        description="Floor area the camera calibration is valid for (metres); defaults to the "
        "whole floor. Foot points outside it are flagged off-floor.",
    )
    pose: CameraPose | None = Field(default=None, description="Physical pose (simulator).")

    @model_validator(mode="after")
    def _check_calibration(self) -> Camera:
        w, h = self.resolution
        if w <= 0 or h <= 0:
            raise ValueError(f"resolution must be positive, got {self.resolution}")
        for i, p in enumerate(self.calibration):
            u, v = p.image
            if not (0 <= u <= w and 0 <= v <= h):
                raise ValueError(
                    f"calibration.{i}.image {p.image} lies outside the {w}x{h} frame"
                )
        try:
            hom = self.homography
        except CalibrationError as exc:
            raise ValueError(f"calibration: {exc}") from None
        if hom.reprojection_error_m > MAX_REPROJECTION_ERROR_M:
            raise ValueError(
                f"calibration: points are inconsistent, reprojection error "
                f"{hom.reprojection_error_m:.2f} m > {MAX_REPROJECTION_ERROR_M} m"
            )
        return self

    @property
    def homography(self) -> Homography:
        """Image→floor mapping fitted from :attr:`calibration` (with its reprojection error)."""
        return _fit_cached(tuple((p.image, p.floor) for p in self.calibration))


@lru_cache(maxsize=256)
def _fit_cached(pairs: tuple[tuple[Point, Point], ...]) -> Homography:
    # Cached outside the model so equal configs stay equal (no state in the instance).
    return Homography.fit([p[0] for p in pairs], [p[1] for p in pairs])


class TopicOverride(_Strict):
    """Per-topic overrides of the defaults in :mod:`data_contracts.topics`."""

    partitions: int | None = Field(default=None, ge=1, le=1000, description="Partition count.")
    retention_hours: int | None = Field(default=None, ge=1, description="Retention, hours.")


class KafkaSettings(_Strict):
    """How the store's events reach Kafka."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="host:port list; KAFKA_BOOTSTRAP_SERVERS overrides it; unset = local broker.",
    )
    topics: dict[str, TopicOverride] = Field(
        default_factory=dict,
        description="Overrides keyed by full topic name (e.g. storeheat.detections.v1).",
    )

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: dict[str, TopicOverride]) -> dict[str, TopicOverride]:
        known = {t.name for t in topic_defaults.ALL_TOPICS}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; known: {sorted(known)}")
        return value

    def topic_specs(self) -> list[topic_defaults.TopicSpec]:
        """The project's topics with this store's overrides applied."""
        specs = []
        for spec in topic_defaults.ALL_TOPICS:
            o = self.topics.get(spec.name)
            specs.append(
                topic_defaults.TopicSpec(
                    spec.name,
                    partitions=(o.partitions if o and o.partitions else spec.partitions),
                    retention_hours=(
                        o.retention_hours if o and o.retention_hours else spec.retention_hours
                    ),
                )
            )
        return specs

    def resolved_bootstrap(self) -> str | None:
        """``KAFKA_BOOTSTRAP_SERVERS`` if set, else this file's value (None: local broker)."""
        return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or self.bootstrap_servers


class Storage(_Strict):
    """Where data lives. Paths may be local or fsspec/s3a URLs; env vars override them."""

    lake_root: str | None = Field(
        default=None, description="Delta lake root; STOREHEAT_LAKE_ROOT overrides; default "
        ".state/lake."
    )
    hot_video: str | None = Field(
        default=None, description="Hot video tier fsspec URL; STOREHEAT_HOT_VIDEO_URL overrides."
    )
    cold_video: str | None = Field(
        default=None, description="Cold video tier fsspec URL; STOREHEAT_COLD_VIDEO_URL overrides."
    )
    segment_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Length of blurred video segments, seconds."
    )
    hot_retention_hours: float = Field(
        default=24.0, gt=0, description="Age after which segments move from hot to cold."
    )

    def resolved_lake_root(self) -> str:
        return os.environ.get("STOREHEAT_LAKE_ROOT") or self.lake_root or str(state_dir() / "lake")

    def resolved_hot_video(self) -> str:
        return (
            os.environ.get("STOREHEAT_HOT_VIDEO_URL")
            or self.hot_video
            or (state_dir() / "video" / "hot").as_uri()
        )

    def resolved_cold_video(self) -> str:
        return (
            os.environ.get("STOREHEAT_COLD_VIDEO_URL")
            or self.cold_video
            or (state_dir() / "video" / "cold").as_uri()
        )


class Heatmap(_Strict):
    """Rollup grid settings."""

    cell_m: float = Field(default=0.5, gt=0, le=10, description="Floor grid cell size, metres.")
    bucket_minutes: int = Field(default=15, ge=1, le=1440, description="Time bucket, minutes.")


class StoreConfig(_Strict):
    """Everything storeheat needs to know about one store."""

    store_id: IdStr = Field(description="Store id; appears in every event and table partition.")
    name: str = Field(default="", description="Human-readable store name.")
    timezone: str = Field(default="UTC", description="IANA time zone for opening-hour reports.")
    floor: Floor = Field(description="Floor extent.")
    shelves: list[Shelf] = Field(default_factory=list, description="Shelves (obstacles).")
    zones: list[Zone] = Field(min_length=1, description="Named zones.")
    cameras: list[Camera] = Field(min_length=1, description="Cameras.")
    storage: Storage = Field(default_factory=Storage, description="Lake and video tiers.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka settings.")
    heatmap: Heatmap = Field(default_factory=Heatmap, description="Rollup grid.")

    @model_validator(mode="after")
    def _check_consistency(self) -> StoreConfig:
        outlines: list[tuple[str, list[tuple[str, list[Point]]]]] = [
            ("zones", [(z.id, z.polygon) for z in self.zones]),
            ("shelves", [(s.id, s.polygon) for s in self.shelves]),
        ]
        for group, items in outlines:
            for i, (ident, polygon) in enumerate(items):
                if not self.floor.contains(polygon):
                    raise _KeyedError(
                        f"{group}.{i}.polygon",
                        f"{group[:-1]} {ident!r} lies outside the "
                        f"{self.floor.width_m} x {self.floor.depth_m} m floor",
                    )
        for group, ids in (
            ("cameras", [c.id for c in self.cameras]),
            ("zones", [z.id for z in self.zones]),
            ("shelves", [s.id for s in self.shelves]),
        ):
            seen: set[str] = set()
            for i, ident in enumerate(ids):
                if ident in seen:
                    raise _KeyedError(f"{group}.{i}.id", f"duplicate id {ident!r}")
                seen.add(ident)
        for i, cam in enumerate(self.cameras):
            for j, p in enumerate(cam.calibration):
                x, y = p.floor
                if not (-1e-6 <= x <= self.floor.width_m + 1e-6
                        and -1e-6 <= y <= self.floor.depth_m + 1e-6):
                    raise _KeyedError(
                        f"cameras.{i}.calibration.{j}.floor",
                        f"floor point {p.floor} lies outside the floor",
                    )
        return self

    def camera(self, camera_id: str) -> Camera:
        """The camera with this id; raises ConfigError listing the known ids."""
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise ConfigError(
            f"unknown camera {camera_id!r}; known: {[c.id for c in self.cameras]}",
            key="cameras",
        )

    def zone_polygons(self) -> dict[str, list[Point]]:
        return {z.id: z.polygon for z in self.zones}

    def zone_of(self, points: Any) -> list[str | None]:
        """Zone id of each floor point (first matching zone in file order), or None."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        out: list[str | None] = [None] * len(pts)
        for zone in self.zones:
            inside = points_in_polygon(pts, zone.polygon)
            for k in np.flatnonzero(inside):
                if out[k] is None:
                    out[k] = zone.id
        return out


class _KeyedError(ValueError):
    """Raised inside validators to report a precise key path."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<top level>"


def parse_store_config(data: Mapping[str, Any], *, source: str = "<memory>") -> StoreConfig:
    """Validate a mapping (already parsed YAML) into a :class:`StoreConfig`.

    Raises:
        ConfigError: naming ``source``, the key path (``cameras.1.calibration``) and the
            reason; for unknown keys the message lists the valid ones.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}",
                          source=source)
    try:
        return StoreConfig.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(first["loc"])
        ctx_err = (first.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _KeyedError):
            key, reason = ctx_err.key, str(ctx_err)
        else:
            key, reason = _format_loc(loc), first["msg"]
        if first["type"] == "extra_forbidden":
            reason = f"unknown key; valid keys here: {_valid_keys(loc)}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(reason + more, source=source, key=key) from None


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = StoreConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            for c in (candidate, *inner):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    model = c
                    break
    return sorted(model.model_fields)


def load_store_config(path: str | os.PathLike[str]) -> StoreConfig:
    """Load and validate a store YAML file.

    Raises:
        ConfigError: the file is missing or unreadable, is not valid YAML (with line), or
            breaks a rule (with the key path and reason).
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read store config: {exc.strerror}", source=str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                          source=str(p)) from None
    return parse_store_config(data, source=str(p))


def default_store_config_path() -> Path:
    """``$STOREHEAT_STORE_CONFIG`` or the example store shipped in ``configs/``."""
    env = os.environ.get("STOREHEAT_STORE_CONFIG")
    return Path(env) if env else REPO_ROOT / "configs" / "demo-store.yaml"


def dump_store_config(config: StoreConfig) -> str:
    """YAML text of a config (what the simulator writes beside its ground truth)."""
    data = config.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False)
