"""Settings of the worker process (model, batching, journal, Kafka timing, metrics endpoint).

The store YAML says *what* to watch (cameras, calibration, zones, hot tier, segment length);
:class:`WorkerConfig` says *how* one worker process runs. It is built from the CLI's flags
(``storeheat worker --model ... --metrics-port ...``) and validated here; unknown keys are
rejected with the list of valid ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storeheat.exceptions import ConfigError
from storeheat.paths import REPO_ROOT, state_dir

#: Default detector: the pretrained YOLOX-Nano (COCO) shipped beside the repository.
DEFAULT_MODEL = REPO_ROOT.parent / "shared/realdata/weights/yolox_nano/yolox_nano.onnx"


class WorkerConfig(BaseModel):
    """How one worker process runs. Every field has a safe default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(default=str(DEFAULT_MODEL),
                       description="Person detector file (.onnx YOLOX/Ultralytics, .pt, OpenVINO "
                       "dir, or an Ultralytics .yaml for an untrained model).")
    imgsz: int | None = Field(default=None, ge=32, le=4096,
                              description="Inference size of Ultralytics models (default: "
                              "the size the model was trained or exported at).")
    conf: float = Field(default=0.3, gt=0, lt=1,
                        description="Minimum confidence of a tracked, published detection.")
    privacy_conf: float = Field(default=0.1, gt=0, lt=1,
                                description="Minimum confidence of a person box whose head is "
                                "blurred (below conf: blurred only, not tracked or published).")
    threads: int = Field(default=1, ge=1, le=64,
                         description="CPU threads for inference. One: run one worker process "
                         "per core (measured faster on a loaded 2-core machine than 2 threads).")
    face_model: str | None = Field(default=None,
                                   description="YuNet face model (default: the vision stage's).")
    face_every: int = Field(default=1, ge=1, le=5,
                            description="Run the face detector on every n-th frame of a camera "
                            "(cameras take turns); between runs the blur memory carries the "
                            "last faces along their tracks.")
    detect_every: int = Field(default=2, ge=1, le=5,
                              description="Run the person detector on every n-th frame of a "
                              "camera (cameras take turns); on the frames between, the tracks "
                              "are moved along their velocity and their heads blurred. 2 (the "
                              "default) carries 8 cameras on 2 cores instead of 6 for a little "
                              "tracking accuracy; 1 for the most accurate tracks.")
    face_max_side: int = Field(default=640, ge=160, le=4096,
                               description="Long side (pixels) frames are scaled to for the face "
                               "detector: cost grows with pixels, the smallest face found shrinks "
                               "with it.")
    faces: bool = Field(default=True,
                        description="Run the face detector (head regions are blurred always).")
    embedder: Literal["histogram", "none"] = Field(
        default="histogram", description="Tracker appearance features (cheap HSV histograms, or "
        "none: motion only).")
    frame_threads: int = Field(default=2, ge=1, le=16,
                               description="Threads that track, blur and project a batch's "
                               "frames (one camera's frame each). 2: a process with a backlog "
                               "also uses a core the machine's other worker process leaves idle "
                               "(the face detector releases the GIL); 1: one thread.")
    max_batch: int = Field(default=16, ge=1, le=256,
                           description="Most frames (one per camera) detected together.")
    batch_wait_ms: float = Field(default=15.0, ge=0, le=1000,
                                 description="After the first frame is ready, how long at most "
                                 "to wait for other cameras' frames to batch them; only cameras "
                                 "whose next frame is due within it are waited for.")
    realtime: bool = Field(default=True,
                           description="Play files and folders at their own speed and skip "
                           "frames when behind (live behaviour). False: as fast as possible, "
                           "every frame processed (offline runs and tests).")
    loop: bool = Field(default=False, description="Restart files and folders at their end.")
    duration_s: float | None = Field(default=None, gt=0,
                                     description="Stop after this many seconds (None: until "
                                     "SIGTERM or every source ended).")
    segments: bool = Field(default=True, description="Write blurred mp4 segments to the hot tier.")
    journal_dir: str | None = Field(default=None,
                                    description="Journal folder (default "
                                    "<state>/journal/<store_id>/<worker_id>).")
    journal_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0,
                                   description="Journal capacity; beyond it events are lost "
                                   "(counted, logged).")
    journal_fsync: Literal["always", "interval", "never"] = Field(
        default="always", description="Journal durability (see streaming.journal.Journal).")
    delivery_timeout_s: float = Field(default=10.0, gt=0, le=600,
                                      description="Kafka retry window before an event goes to "
                                      "the journal (also how fast an outage is noticed).")
    bootstrap_timeout_s: float = Field(default=5.0, gt=0, le=600,
                                       description="How long connecting to Kafka may take.")
    metrics_host: str = Field(default="127.0.0.1", description="Bind address of /metrics.")
    metrics_port: int | None = Field(default=0, ge=0, le=65535,
                                     description="Port of /metrics and /healthz (0: any free "
                                     "port, logged; None: no endpoint).")
    stop_timeout_s: float = Field(default=15.0, gt=0, le=600,
                                  description="On SIGTERM, how long to wait for Kafka acks "
                                  "before leaving the rest in the journal.")
    backoff_initial_s: float = Field(default=0.5, gt=0, description="First reopen delay.")
    backoff_max_s: float = Field(default=30.0, gt=0, description="Longest reopen delay.")
    worker_id: str = Field(default="worker-1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                           description="Names this process in logs, client id and journal path.")

    def resolved_journal_dir(self, store_id: str) -> Path:
        """The journal folder: ``journal_dir`` or ``<state>/journal/<store>/<worker_id>``."""
        if self.journal_dir:
            return Path(self.journal_dir)
        return state_dir() / "journal" / store_id / self.worker_id


def worker_config(values: dict[str, Any], *, source: str = "worker options") -> WorkerConfig:
    """Validate options into a :class:`WorkerConfig`.

    Raises:
        ConfigError: naming the option and why; unknown options list the valid ones.
    """
    try:
        return WorkerConfig.model_validate(values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"]) or "<options>"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = f"unknown option; valid: {sorted(WorkerConfig.model_fields)}"
        raise ConfigError(reason, source=source, key=key) from None
