"""The events storeheat puts on Kafka: one frozen pydantic model per event type.

These models are the single definition of each contract. The JSON Schema, the Spark schema and
the Great Expectations suites are derived from them in :mod:`data_contracts.derive`; nothing
else restates a field. Within a topic version only additive, optional fields may be added.

Event ids are deterministic (a hash of what identifies the event), so a replay or a duplicate
delivery carries the same id and is removed downstream.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from data_contracts import topics
from data_contracts.exceptions import ContractError, Violation

IdStr = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Identifier: letters, digits, '_', '.', '-'; at most 64 characters.",
    ),
]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, hex.")]
EventId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="Deterministic event id.")]


def make_event_id(*parts: object) -> str:
    """A 32-hex-digit id from the parts that identify an event (same parts, same id)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    #: Topic (contract name and version) the event belongs to.
    TOPIC: ClassVar[str]

    @classmethod
    def from_json(cls: type[_M], raw: bytes | str) -> _M:
        """Parse and validate one record.

        Raises:
            ContractError: the bytes are not JSON, or a field is missing, has the wrong type
                or breaks a rule; every violation names its field path and value.
        """
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise ContractError(cls.TOPIC, _violations(exc)) from None

    @classmethod
    def from_dict(cls: type[_M], data: dict[str, Any]) -> _M:
        """Validate a dict; raises :class:`ContractError` like :meth:`from_json`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ContractError(cls.TOPIC, _violations(exc)) from None

    def to_json(self) -> bytes:
        """The record's wire form: compact UTF-8 JSON, times in ISO 8601 UTC."""
        return self.model_dump_json().encode()


_M = TypeVar("_M", bound=_Contract)


def _violations(exc: ValidationError) -> list[Violation]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "<record>"
        out.append(Violation(field=loc, value=err.get("input"), reason=err["msg"]))
    return out


class Detection(BaseModel):
    """One person seen in one frame of one camera."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    track_id: int | None = Field(
        default=None,
        ge=0,
        description="Tracker id, unique per camera and stream epoch; null before confirmation.",
    )
    confidence: float = Field(ge=0.0, le=1.0, description="Detector confidence in [0, 1].")
    x1: float = Field(ge=0.0, description="Box left edge, pixels.")
    y1: float = Field(ge=0.0, description="Box top edge, pixels.")
    x2: float = Field(ge=0.0, description="Box right edge, pixels.")
    y2: float = Field(ge=0.0, description="Box bottom edge, pixels.")
    floor_x: float | None = Field(
        default=None, description="Foot point on the floor, metres along the store's width."
    )
    floor_y: float | None = Field(
        default=None, description="Foot point on the floor, metres along the store's depth."
    )
    zone_id: IdStr | None = Field(default=None, description="Zone containing the foot point.")
    on_floor: bool = Field(
        description="True when the foot point lies on the calibrated floor; else floor_x/y null."
    )

    @model_validator(mode="after")
    def _check(self) -> Detection:
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValueError(
                f"box corners out of order: ({self.x1}, {self.y1}, {self.x2}, {self.y2})"
            )
        if self.on_floor and (self.floor_x is None or self.floor_y is None):
            raise ValueError("on_floor is true but floor_x/floor_y are missing")
        if not self.on_floor and (self.floor_x is not None or self.floor_y is not None):
            raise ValueError("floor_x/floor_y given for a point that is not on the floor")
        return self


class FrameDetections(_Contract):
    """``storeheat.detections.v1``: every person found in one processed frame of one camera.

    One message per processed frame per camera, including frames with nobody in view (so
    occupancy zero is observed, not assumed).
    """

    TOPIC: ClassVar[str] = topics.DETECTIONS.name

    event_id: EventId = Field(
        description="make_event_id(store_id, camera_id, stream_epoch, frame_index)."
    )
    store_id: IdStr = Field(description="Store the camera belongs to.")
    camera_id: IdStr = Field(description="Camera id, unique within the store.")
    stream_epoch: int = Field(
        ge=0, description="Start of this stream session, ms since 1970 UTC; resets track ids."
    )
    frame_index: int = Field(ge=0, description="Index of the frame within the stream epoch.")
    capture_time: AwareDatetime = Field(description="When the frame was captured, UTC.")
    model_version: str = Field(min_length=1, max_length=200, description="Detector weights id.")
    frame_width: int = Field(gt=0, le=16384, description="Frame width, pixels.")
    frame_height: int = Field(gt=0, le=16384, description="Frame height, pixels.")
    latency_ms: float = Field(ge=0.0, description="Capture to publish, milliseconds.")
    detections: list[Detection] = Field(description="People in the frame (may be empty).")

    _norm_time = field_validator("capture_time")(_utc)

    @model_validator(mode="after")
    def _check(self) -> FrameDetections:
        expected = make_event_id(
            self.store_id, self.camera_id, self.stream_epoch, self.frame_index
        )
        if self.event_id != expected:
            raise ValueError(f"event_id {self.event_id} is not the id of this frame ({expected})")
        for i, det in enumerate(self.detections):
            if det.x2 > self.frame_width + 1 or det.y2 > self.frame_height + 1:
                raise ValueError(
                    f"detections.{i}: box ({det.x1}, {det.y1}, {det.x2}, {det.y2}) leaves the "
                    f"{self.frame_width}x{self.frame_height} frame"
                )
        return self

    @classmethod
    def create(
        cls,
        *,
        store_id: str,
        camera_id: str,
        stream_epoch: int,
        frame_index: int,
        capture_time: datetime,
        model_version: str,
        frame_width: int,
        frame_height: int,
        latency_ms: float,
        detections: list[Detection],
    ) -> FrameDetections:
        """Build a validated event, computing its deterministic id."""
        return cls.from_dict(
            dict(
                event_id=make_event_id(store_id, camera_id, stream_epoch, frame_index),
                store_id=store_id,
                camera_id=camera_id,
                stream_epoch=stream_epoch,
                frame_index=frame_index,
                capture_time=capture_time,
                model_version=model_version,
                frame_width=frame_width,
                frame_height=frame_height,
                latency_ms=latency_ms,
                detections=detections,
            )
        )


class VideoSegment(_Contract):
    """``storeheat.segments.v1``: a finished, blurred video segment in the hot tier.

    Published only once the file is complete and its size and hash are known.
    """

    TOPIC: ClassVar[str] = topics.SEGMENTS.name

    event_id: EventId = Field(description="make_event_id(store_id, camera_id, uri).")
    store_id: IdStr = Field(description="Store the camera belongs to.")
    camera_id: IdStr = Field(description="Camera id, unique within the store.")
    stream_epoch: int = Field(ge=0, description="Stream session start, ms since 1970 UTC.")
    uri: str = Field(min_length=1, max_length=2048, description="fsspec URL of the mp4 file.")
    start_time: AwareDatetime = Field(description="Capture time of the first frame, UTC.")
    end_time: AwareDatetime = Field(description="Capture time of the last frame, UTC.")
    bytes: int = Field(gt=0, description="File size in bytes.")
    sha256: Sha256Hex = Field(description="SHA-256 of the file's bytes.")
    codec: str = Field(min_length=1, max_length=32, description="Video codec, e.g. 'mp4v'.")
    frame_count: int = Field(gt=0, description="Frames in the segment.")
    width: int = Field(gt=0, le=16384, description="Frame width, pixels.")
    height: int = Field(gt=0, le=16384, description="Frame height, pixels.")

    _norm_start = field_validator("start_time")(_utc)
    _norm_end = field_validator("end_time")(_utc)

    @model_validator(mode="after")
    def _check(self) -> VideoSegment:
        if self.end_time < self.start_time:
            raise ValueError(f"end_time {self.end_time} is before start_time {self.start_time}")
        expected = make_event_id(self.store_id, self.camera_id, self.uri)
        if self.event_id != expected:
            raise ValueError(f"event_id {self.event_id} is not the id of this segment ({expected})")
        return self


class DeadLetter(_Contract):
    """``storeheat.deadletter.v1``: a record some component could not process, kept whole."""

    TOPIC: ClassVar[str] = topics.DEADLETTER.name

    event_id: EventId = Field(description="make_event_id(source, original_topic, raw_base64).")
    source: str = Field(min_length=1, max_length=200, description="Component that gave up.")
    original_topic: str | None = Field(default=None, description="Topic the record came from.")
    key: str | None = Field(default=None, description="Original record key, if any.")
    raw_base64: str = Field(description="The original bytes, base64-encoded.")
    reason: str = Field(min_length=1, description="Why it was rejected, naming field and value.")
    error_type: Literal["parse", "contract", "processing"] = Field(
        description="parse: not JSON; contract: breaks a rule; processing: failed later."
    )
    occurred_at: AwareDatetime = Field(description="When it was rejected, UTC.")

    _norm_time = field_validator("occurred_at")(_utc)


EVENT_MODELS: dict[str, type[_Contract]] = {
    m.TOPIC: m for m in (FrameDetections, VideoSegment, DeadLetter)
}
