"""``storeheat worker``: run the camera worker for a store.

Examples::

    storeheat worker --config configs/demo-store.yaml
    storeheat worker --config store.yaml --cameras cam-1 cam-2 --metrics-port 9108
    storeheat worker --config store.yaml --offline --duration 60   # files, every frame
    storeheat worker --config store.yaml --processes 2   # cameras split over two processes

SIGTERM or Ctrl-C stops it gracefully: readers stop, open segments are closed and announced,
the producer is flushed, and whatever Kafka did not acknowledge stays in the journal for the
next run. Logs are JSON lines by default (``--log-format text`` for people), and never carry
pixels.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

#: LogRecord attributes that are not user fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields.

    Arrays (frames, crops) are replaced by a shape description, so even a mistaken
    ``extra={"image": frame}`` cannot put pixels into a log.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _safe(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _safe(value: Any) -> Any:
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return f"<array shape={tuple(shape)} dtype={value.dtype} omitted>"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes omitted>"
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    return value


class KeyValueFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` (same fields and guard as the JSON form)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={_safe(v)}" for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        base = (f"{datetime.fromtimestamp(record.created, tz=UTC):%H:%M:%S} "
                f"{record.levelname} {record.name}: {record.getMessage()}")
        return f"{base} {fields}".rstrip()


def configure_logging(fmt: str, *, verbose: bool = False) -> None:
    """Route all logs to stderr in ``fmt`` (``json`` or ``text``); quiet chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("kafka", "deep_sort_realtime", "ultralytics"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register(subparsers: Any) -> None:
    """Add the ``worker`` subcommand."""
    p = subparsers.add_parser(
        "worker", help="run the camera worker (detect, blur, track, project, publish)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=False, default=None,
                   help="store YAML (default: $STOREHEAT_STORE_CONFIG or configs/demo-store.yaml)")
    p.add_argument("--cameras", nargs="+", metavar="ID", help="serve only these cameras")
    p.add_argument("--model", help="person detector file (default: YOLOX-Nano from realdata)")
    p.add_argument("--imgsz", type=int, help="inference size of Ultralytics models")
    p.add_argument("--threads", type=int, help="CPU threads for inference")
    p.add_argument("--face-every", type=int, help="run the face detector on every n-th frame "
                   "of a camera (1-5; default 1)")
    p.add_argument("--detect-every", type=int, help="run the person detector on every n-th "
                   "frame of a camera, coasting the tracks between (1-5; default 2)")
    p.add_argument("--frame-threads", type=int, help="threads that track and blur a batch's "
                   "frames, one camera each (default 2)")
    p.add_argument("--face-max-side", type=int, help="long side frames are scaled to for the "
                   "face detector (default 640)")
    p.add_argument("--no-faces", action="store_true", help="skip the face detector (head "
                   "regions are still blurred)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the store's, "
                   "$KAFKA_BOOTSTRAP_SERVERS, or the local broker)")
    p.add_argument("--hot-video", help="hot tier URL (default: the store's / "
                   "$STOREHEAT_HOT_VIDEO_URL)")
    p.add_argument("--journal-dir", help="journal folder (default: <state>/journal/<store>/<id>)")
    p.add_argument("--journal-max-mb", type=float, help="journal capacity in MiB")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="port of /metrics and /healthz (default: any free port; -1: none)")
    p.add_argument("--metrics-host", help="bind address of the metrics endpoint")
    p.add_argument("--no-segments", action="store_true", help="do not write video segments")
    p.add_argument("--offline", action="store_true",
                   help="process files as fast as possible, every frame (no real-time pacing)")
    p.add_argument("--loop", action="store_true", help="restart files at their end")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--worker-id", help="name of this worker process (logs, journal path)")
    p.add_argument("--processes", type=int, default=1,
                   help="split the cameras over this many worker processes, one per core "
                   "(default 1); children are named <worker-id>.1, .2 ...")
    p.add_argument("--log-format", choices=("json", "text"), default="json")
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for flag, key in (("model", "model"), ("imgsz", "imgsz"), ("threads", "threads"),
                      ("face_every", "face_every"), ("face_max_side", "face_max_side"),
                      ("detect_every", "detect_every"), ("frame_threads", "frame_threads"),
                      ("journal_dir", "journal_dir"), ("metrics_host", "metrics_host"),
                      ("duration", "duration_s"), ("worker_id", "worker_id")):
        value = getattr(args, flag, None)
        if value is not None:
            opts[key] = value
    if args.journal_max_mb is not None:
        opts["journal_max_bytes"] = int(args.journal_max_mb * 1024 * 1024)
    if args.metrics_port is not None:
        opts["metrics_port"] = None if args.metrics_port < 0 else args.metrics_port
    if args.no_faces:
        opts["faces"] = False
    if args.no_segments:
        opts["segments"] = False
    if args.offline:
        opts["realtime"] = False
    if args.loop:
        opts["loop"] = True
    return opts


def run(args: argparse.Namespace) -> int:
    """Run the worker until SIGTERM/SIGINT, ``--duration`` or the end of every source."""
    import os
    from pathlib import Path

    from storeheat.config import load_store_config
    from storeheat.paths import REPO_ROOT
    from streaming.config import worker_config
    from streaming.worker import build_worker

    configure_logging(args.log_format, verbose=bool(getattr(args, "verbose", False)))
    path = (args.config or os.environ.get("STOREHEAT_STORE_CONFIG")
            or str(REPO_ROOT / "configs" / "demo-store.yaml"))
    store = load_store_config(path)
    cfg = worker_config(_options(args))
    if args.processes != 1:
        return _run_processes(args, store=store, config_path=path, worker_id=cfg.worker_id)
    worker = build_worker(store, config=cfg, cameras=args.cameras, bootstrap=args.bootstrap,
                          hot_url=args.hot_video, source_base_dir=Path(path).resolve().parent)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("stopping", extra={"signal": signal.Signals(signum).name})
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    report = worker.run()
    print(json.dumps({
        "processed": dict(report.processed), "skipped": dict(report.skipped),
        "dropped": dict(report.dropped), "segments": report.segments,
        "journal_depth": report.journal_depth, "events_lost": report.events_lost,
        "source_errors": dict(report.source_errors),
    }))
    return 0


#: Flags passed unchanged from the parent to every child process (flag, attribute).
_SHARED_VALUE_FLAGS = (
    ("--model", "model"), ("--imgsz", "imgsz"), ("--threads", "threads"),
    ("--face-every", "face_every"), ("--face-max-side", "face_max_side"),
    ("--detect-every", "detect_every"), ("--frame-threads", "frame_threads"),
    ("--bootstrap", "bootstrap"), ("--hot-video", "hot_video"),
    ("--journal-max-mb", "journal_max_mb"), ("--metrics-host", "metrics_host"),
    ("--duration", "duration"), ("--log-format", "log_format"),
)
_SHARED_SWITCHES = (("--no-faces", "no_faces"), ("--no-segments", "no_segments"),
                    ("--offline", "offline"), ("--loop", "loop"))


def _run_processes(args: argparse.Namespace, *, store: Any, config_path: str,
                   worker_id: str) -> int:
    """``--processes N``: one child ``storeheat worker`` per camera group, supervised."""
    from pathlib import Path

    from streaming.supervisor import Supervisor, child_env, split_cameras, worker_command

    if args.processes < 1:
        print(f"storeheat worker: --processes: expected >= 1, got {args.processes}",
              file=sys.stderr)
        return 2
    known = [c.id for c in store.cameras]
    wanted = list(args.cameras) if args.cameras else known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        print(f"storeheat worker: --cameras: unknown camera(s) {unknown}; the store "
              f"{store.store_id} has {known}", file=sys.stderr)
        return 2
    base = ["--config", str(Path(config_path).resolve())]
    for flag, attr in _SHARED_VALUE_FLAGS:
        value = getattr(args, attr, None)
        if value is not None:
            base += [flag, str(value)]
    for flag, attr in _SHARED_SWITCHES:
        if getattr(args, attr, False):
            base.append(flag)
    commands = {}
    for k, group in enumerate(split_cameras(wanted, args.processes), start=1):
        child_id = f"{worker_id}.{k}"
        argv = list(base)
        if args.journal_dir:
            argv += ["--journal-dir", str(Path(args.journal_dir) / child_id)]
        port = args.metrics_port
        child_port = None if port is not None and port < 0 else (
            port + k - 1 if port else 0)
        commands[child_id] = worker_command(argv, cameras=group, worker_id=child_id,
                                            metrics_port=child_port)
    supervisor = Supervisor(commands, env=child_env())

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("stopping worker processes",
                                         extra={"signal": signal.Signals(signum).name})
        supervisor.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = supervisor.run()
    print(json.dumps(supervisor.summary()))
    return code
