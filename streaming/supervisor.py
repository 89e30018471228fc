"""Serve one store's cameras with several worker processes: one per core.

A worker process runs its vision stages on one thread (one inference thread measured best on
this class of machine), so a 2-core machine needs two processes to use both cores.
``storeheat worker --processes N`` splits the cameras round-robin into ``N`` groups and runs
``storeheat worker --cameras <group>`` for each as a child process, with its own worker id
(``<id>.1``, ``<id>.2``...), journal and metrics port. The parent:

* forwards SIGTERM / SIGINT to every child and waits for their graceful stop (segments
  closed, producer flushed), killing a child only after ``stop_timeout_s``;
* restarts a child that exits abnormally (non-zero, while not stopping) after a backoff that
  doubles from ``backoff_initial_s`` to ``backoff_max_s``, so one crashing camera group does
  not take the others down nor spin in a tight crash loop — except exit code 2, the CLI's
  "bad input" (a missing model file, an invalid option): restarting cannot mend that, so the
  child stays down and its code is the parent's;
* prints one JSON summary merged from the children's summaries.

Children log to the parent's stderr; their stdout carries only their JSON summary.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Exit codes that mean bad input rather than a crash: the child is not restarted.
NOT_RESTARTED = frozenset({2})


def split_cameras(camera_ids: Sequence[str], processes: int) -> list[list[str]]:
    """Deal cameras round-robin into at most ``processes`` non-empty groups.

    Raises:
        ValueError: ``processes`` below 1 or no cameras.
    """
    if processes < 1:
        raise ValueError(f"processes: expected >= 1, got {processes}")
    if not camera_ids:
        raise ValueError("no cameras to serve")
    groups: list[list[str]] = [[] for _ in range(min(processes, len(camera_ids)))]
    for i, cid in enumerate(camera_ids):
        groups[i % len(groups)].append(cid)
    return groups


@dataclass
class _Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[str] | None = None
    restarts: int = 0
    next_start: float = 0.0
    backoff_s: float = 0.0
    finished: bool = False
    returncode: int | None = None
    summaries: list[dict[str, Any]] = field(default_factory=list)
    reader: threading.Thread | None = None


class Supervisor:
    """Runs child worker commands, restarts the ones that fail, stops them all on request.

    Args:
        commands: Child name -> argv.
        backoff_initial_s: First restart delay after an abnormal exit.
        backoff_max_s: Longest restart delay.
        stop_timeout_s: How long a child may take to stop after SIGTERM before it is killed.
        env: Environment of the children (default: this process's).
    """

    def __init__(
        self,
        commands: Mapping[str, list[str]],
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        stop_timeout_s: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not commands:
            raise ValueError("no child commands")
        self._children = [_Child(name, list(argv)) for name, argv in commands.items()]
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._stop_timeout = stop_timeout_s
        self._env = dict(env) if env is not None else None
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask every child to stop (SIGTERM); :meth:`run` returns once they have."""
        self._stopping.set()

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(
            child.argv, stdout=subprocess.PIPE, stderr=None, text=True, env=self._env,
        )
        proc = child.process

        def read_summary() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        child.summaries.append(json.loads(line))
                    except json.JSONDecodeError:
                        log.warning("unreadable child summary", extra={"child": child.name})

        child.reader = threading.Thread(target=read_summary, name=f"summary-{child.name}",
                                        daemon=True)
        child.reader.start()
        log.info("worker process started", extra={"child": child.name, "pid": proc.pid,
                                                  "restarts": child.restarts})

    def _signal_all(self, sig: int) -> None:
        for child in self._children:
            if child.process is not None and child.process.poll() is None:
                try:
                    child.process.send_signal(sig)
                except ProcessLookupError:
                    pass

    def _reap(self, child: _Child, now: float) -> None:
        assert child.process is not None
        rc = child.process.returncode
        if child.reader is not None:
            child.reader.join(timeout=5.0)
        child.process = None
        if rc == 0 or rc in NOT_RESTARTED or self._stopping.is_set():
            child.finished, child.returncode = True, rc
            if rc in NOT_RESTARTED and not self._stopping.is_set():
                log.error("worker process rejected its input; not restarting it",
                          extra={"child": child.name, "returncode": rc})
            return
        child.backoff_s = min(self._backoff_max,
                              child.backoff_s * 2 if child.backoff_s else self._backoff_initial)
        child.next_start = now + child.backoff_s
        child.restarts += 1
        log.error("worker process exited abnormally; restarting after backoff",
                  extra={"child": child.name, "returncode": rc, "restarts": child.restarts,
                         "backoff_s": child.backoff_s})

    def run(self, *, poll_s: float = 0.2) -> int:
        """Start the children and supervise them until all have finished.

        Returns:
            0 when every child ended cleanly, else the first non-zero return code seen at
            the end.
        """
        for child in self._children:
            self._start(child)
        signalled_at: float | None = None
        while True:
            now = time.monotonic()
            if self._stopping.is_set() and signalled_at is None:
                signalled_at = now
                self._signal_all(signal.SIGTERM)
            for child in self._children:
                if child.finished:
                    continue
                if child.process is None:
                    if self._stopping.is_set():
                        child.finished = True  # waiting for a restart: do not start it
                    elif now >= child.next_start:
                        self._start(child)
                    continue
                if child.process.poll() is not None:
                    self._reap(child, now)
            if all(c.finished for c in self._children):
                break
            if signalled_at is not None and now - signalled_at > self._stop_timeout:
                log.error("worker processes did not stop in time; killing them",
                          extra={"timeout_s": self._stop_timeout})
                self._signal_all(signal.SIGKILL)
                signalled_at = float("inf")  # kill once
            time.sleep(poll_s)
        codes = [c.returncode for c in self._children if c.returncode not in (None, 0)]
        return int(codes[0]) if codes else 0

    def summary(self) -> dict[str, Any]:
        """The children's last summaries merged: per-camera counts and totals, restarts."""
        merged: dict[str, Any] = {"processed": {}, "skipped": {}, "dropped": {},
                                  "source_errors": {}, "segments": 0, "journal_depth": 0,
                                  "events_lost": 0, "restarts": {}}
        for child in self._children:
            merged["restarts"][child.name] = child.restarts
            for s in child.summaries:
                for key in ("processed", "skipped", "dropped", "source_errors"):
                    for cam, n in (s.get(key) or {}).items():
                        merged[key][cam] = merged[key].get(cam, 0) + n
                for key in ("segments", "journal_depth", "events_lost"):
                    merged[key] += int(s.get(key) or 0)
        return merged


def worker_command(base_args: Sequence[str], *, cameras: Sequence[str], worker_id: str,
                   metrics_port: int | None) -> list[str]:
    """argv of one child: ``storeheat worker <base_args> --cameras ... --worker-id ...``.

    Args:
        base_args: Options shared by every child (without ``--cameras``, ``--worker-id``,
            ``--metrics-port``, ``--processes``).
        cameras: This child's cameras.
        worker_id: This child's worker id (journal folder, Kafka client id, logs).
        metrics_port: Its metrics port (0: any free port; None: no endpoint).
    """
    argv = [sys.executable, "-m", "storeheat.cli", "worker", *base_args,
            "--cameras", *cameras, "--worker-id", worker_id,
            "--metrics-port", str(-1 if metrics_port is None else metrics_port)]
    return argv


def child_env() -> dict[str, str]:
    """The children's environment: this one, with their inference pinned to one thread."""
    env = dict(os.environ)
    # Each child is meant to use one core; libraries that size their pools by the machine's
    # core count would otherwise oversubscribe it N times over.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env
