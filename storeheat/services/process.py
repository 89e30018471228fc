"""Process and port helpers shared by the local service runners, and their common base.

:class:`LocalService` holds what the Kafka, Airflow and Label Studio runners share: the pid
file, the start/stop lock, the log file, starting a process in a session of its own and
waiting until it is ready, stopping it with the signal it needs, and its status line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from storeheat.exceptions import ServiceError
from storeheat.services.exceptions import PortInUseError, ServiceStartError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """What ``storeheat services status`` prints for one service.

    Attributes:
        name: Service name.
        running: Whether it answers (or, for an external service, is configured).
        address: Where clients reach it.
        detail: One line of extra facts (pid, data dir, external cluster).
    """

    name: str
    running: bool
    address: str
    detail: str = ""


def env_port(name: str, default: int) -> int:
    """The TCP port in environment variable ``name``, or ``default`` when it is unset or empty.

    Raises:
        ConfigError: The variable is not a port number 1-65535 (names the variable and value).
    """
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        from storeheat.exceptions import ConfigError

        raise ConfigError(f"expected a TCP port number 1-65535, got {raw!r}", key=name)
    return port


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """True if ``host:port`` can be bound now.

    Binds with SO_REUSEADDR as Java and Python servers do, so a port only in TIME_WAIT after
    a previous run counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def wait_port_free(port: int, *, timeout_s: float, host: str = LOOPBACK) -> bool:
    """Wait until ``host:port`` can be bound (a server just stopped may hold it a moment).

    Returns:
        True if the port became free within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while not port_free(port, host):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_stat(pid)
    return stat is None or stat[0] != "Z"


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid`` from /proc, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``.

    Args:
        pgid: A process group id (the pid of a service started in a session of its own).

    Returns:
        Their pids, sorted.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == pgid and stat[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


def tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a (possibly large or missing) text file."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (serialises start/stop across processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def terminate(
    pid: int,
    *,
    timeout_s: float,
    group: bool = False,
    sig: signal.Signals = signal.SIGTERM,
) -> bool:
    """Send ``sig`` to ``pid`` (or its process group), wait, then escalate.

    What is still there ``timeout_s`` after ``sig`` gets SIGTERM for 10 s (when ``sig`` was
    another signal), then SIGKILL; each escalation is logged as a warning.

    Args:
        pid: The process; with ``group``, the id of its process group (the pid of a process
            started with ``start_new_session=True``).
        timeout_s: Grace period after ``sig``.
        group: Signal the whole group and wait until none of its processes is left: some
            servers (Airflow standalone) leave children behind when only the parent exits.
        sig: The signal that shuts the process down cleanly.

    Returns:
        True if it was gone within ``timeout_s`` of ``sig``, False if it had to be escalated.
    """
    kill = os.killpg if group else os.kill

    def gone() -> bool:
        return not group_members(pid) if group else not pid_alive(pid)

    steps = [(sig, timeout_s)]
    if sig != signal.SIGTERM:
        steps.append((signal.SIGTERM, 10.0))
    steps.append((signal.SIGKILL, 5.0))
    for attempt, (step_sig, grace) in enumerate(steps):
        if attempt:
            log.warning("%s %d still running after %s; sending %s",
                        "process group" if group else "pid", pid, steps[attempt - 1][0].name,
                        step_sig.name)
        with contextlib.suppress(ProcessLookupError):
            kill(pid, step_sig)
        deadline = time.monotonic() + grace
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.1)
        if gone():
            return attempt == 0
    return False


def die_with_parent() -> None:
    """``preexec_fn`` that makes the child get SIGTERM when the process that started it dies.

    For throw-away services (a test session's broker): if the test runner is killed before
    its teardown runs, the service does not linger. Linux only (``prctl(PR_SET_PDEATHSIG)``).
    """
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Launch:
    """How :meth:`LocalService._start` runs a service's server process.

    Attributes:
        cmd: The command line.
        env: Its environment (None: this process's).
        cwd: Its working directory (None: this process's).
        preexec_fn: Run in the child before ``exec`` (e.g. :func:`die_with_parent`).
        record: Facts written to the pid file beside ``pid`` and ``started``.
    """

    cmd: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    preexec_fn: Callable[[], Any] | None = None
    record: Mapping[str, Any] = field(default_factory=dict)


class LocalService(ABC):
    """One local server that storeheat starts, finds again by its pid file, and stops.

    The process runs in a session of its own (Ctrl-C in the terminal that started it must not
    reach it), so its pid is also its process group id. Its files live in ``state_dir``:
    ``<name>.pid`` (JSON with the pid), ``<name>.log`` (this run's output; the previous run's
    is kept as ``<name>.log.1``) and ``<name>.lock``, which serialises start and stop across
    processes (two ``services up`` at once).

    A subclass sets the class attributes, ``state_dir``, and the abstract members; its public
    ``start()`` calls :meth:`_start` with a function that prepares the :class:`Launch`.

    Class attributes:
        name: Service name in statuses, errors and file names.
        stop_signal: The signal that shuts the server down cleanly.
        stop_group: Signal the whole process group and wait until none of it is left.
        stop_timeout_s: Default grace period after ``stop_signal`` before escalating.
        abort_timeout_s: The same when a start fails.
        port_wait_s: How long a port may take to become free before start gives up.
        poll_s: Pause between readiness checks while starting.
    """

    name: ClassVar[str]
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_group: ClassVar[bool] = False
    stop_timeout_s: ClassVar[float] = 60.0
    abort_timeout_s: ClassVar[float] = 30.0
    port_wait_s: ClassVar[float] = 0.0
    poll_s: ClassVar[float] = 0.5

    state_dir: Path

    # -- what each service says about itself ---------------------------------------------

    @property
    @abstractmethod
    def address(self) -> str:
        """Where clients reach the service."""

    @property
    @abstractmethod
    def data_note(self) -> str:
        """Where its data is kept, as shown in status lines (``"data /path"``)."""

    @abstractmethod
    def ports(self) -> list[tuple[int, str]]:
        """The loopback ports it listens on, each with the variable that chooses it."""

    @abstractmethod
    def _owns(self, pid: int) -> bool:
        """True if live process ``pid`` is this service (guards against a recycled pid)."""

    @abstractmethod
    def _ready(self) -> bool:
        """True once the service serves requests."""

    @abstractmethod
    def _describe(self) -> str:
        """The process as named in the "exited during start-up" error."""

    @abstractmethod
    def _not_ready_message(self, timeout_s: float) -> str:
        """The error text when it did not become ready within ``timeout_s``."""

    def _port_in_log(self, log_tail: str) -> tuple[int, str] | None:
        """The (port, variable) the log says was taken, if it says so."""
        return None

    def _running_detail(self, pid: int) -> str:
        """The status detail of the running service."""
        return f"pid {pid}, {self.data_note}"

    # -- files ---------------------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        """The server's output of its current (or last) run."""
        return self.state_dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        """JSON with the pid of the running server and facts about its start."""
        return self.state_dir / f"{self.name}.pid"

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return locked(self.state_dir / f"{self.name}.lock")

    # -- process -------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The pid of this service if it runs (checked against /proc), else None."""
        try:
            pid = int(json.loads(self.pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not pid_alive(pid) or not self._owns(pid):
            return None
        return pid

    def is_running(self) -> bool:
        """True if this service's process is alive."""
        return self.pid() is not None

    def _start(self, *, timeout_s: float, prepare: Callable[[], Launch]) -> bool:
        """Start the service unless it runs, and wait until it is ready.

        Args:
            timeout_s: How long to wait for readiness.
            prepare: Called under the lock once the ports are known free and the log is
                rotated: writes configs, installs what is missing, returns the command.

        Returns:
            True if it was started, False if it was already running.

        Raises:
            PortInUseError: A port is held by another process.
            ServiceStartError: The process exited or did not become ready in time.
        """
        with self._lock():
            if self.pid() is not None:
                self._wait_ready(None, timeout_s=timeout_s)
                return False
            for port, env_var in self.ports():
                if not wait_port_free(port, timeout_s=self.port_wait_s):
                    raise self._port_error(port, env_var)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            if self.log_file.exists():
                # One file per run keeps the log bounded; the previous run's stays for a look.
                os.replace(self.log_file, self.log_file.with_name(f"{self.name}.log.1"))
            launch = prepare()
            with open(self.log_file, "ab") as out:
                proc = subprocess.Popen(
                    list(launch.cmd), stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=launch.env, cwd=launch.cwd,
                    start_new_session=True, preexec_fn=launch.preexec_fn,
                )
            self.pid_file.write_text(
                json.dumps({"pid": proc.pid, **launch.record, "started": time.time()}))
            try:
                self._wait_ready(proc, timeout_s=timeout_s)
            except BaseException:
                self._terminate(proc.pid, timeout_s=self.abort_timeout_s)
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                self.pid_file.unlink(missing_ok=True)
                raise
            log.info("%s pid %d ready at %s (%s)", self.name, proc.pid, self.address,
                     self.data_note)
            return True

    def _wait_ready(self, proc: subprocess.Popen[bytes] | None, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            code = proc.poll() if proc is not None else None
            if code is not None or (proc is None and self.pid() is None):
                raise self._exit_error(code)
            if self._ready():
                return
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    self._not_ready_message(timeout_s), service=self.name,
                    log_file=self.log_file, log_tail=tail(self.log_file), transient=True)
            time.sleep(self.poll_s)

    def _exit_error(self, code: int | None) -> ServiceError:
        last = tail(self.log_file)
        taken = self._port_in_log(last)
        if taken is not None:
            return self._port_error(*taken)
        return ServiceStartError(
            f"{self._describe()} exited during start-up"
            + (f" with code {code}" if code is not None else ""),
            service=self.name, log_file=self.log_file, exit_code=code, log_tail=last)

    def _port_error(self, port: int, env_var: str) -> PortInUseError:
        return PortInUseError(service=self.name, port=port, env_var=env_var,
                              log_file=self.log_file)

    def _terminate(self, pid: int, *, timeout_s: float) -> None:
        terminate(pid, timeout_s=timeout_s, group=self.stop_group, sig=self.stop_signal)

    def stop(self, *, timeout_s: float | None = None) -> bool:
        """Stop the service (``stop_signal``, escalating after ``timeout_s``); data is kept.

        Args:
            timeout_s: Grace period before escalating to SIGTERM and SIGKILL (default
                ``stop_timeout_s``).

        Returns:
            True if a running service was stopped, False if none was running.
        """
        with self._lock():
            pid = self.pid()
            if pid is not None:
                grace = self.stop_timeout_s if timeout_s is None else timeout_s
                self._terminate(pid, timeout_s=grace)
                # Its listening sockets can outlive the process by a moment; "stopped" means
                # a start right after it finds the ports free.
                for port, _ in self.ports():
                    wait_port_free(port, timeout_s=5.0)
                log.info("%s pid %d stopped; %s kept", self.name, pid, self.data_note)
            self.pid_file.unlink(missing_ok=True)
            return pid is not None

    # -- status lines --------------------------------------------------------------------

    def status(self) -> ServiceStatus:
        """Whether this service runs, and where."""
        pid = self.pid()
        if pid is None:
            return ServiceStatus(self.name, False, self.address, f"stopped, {self.data_note}")
        return ServiceStatus(self.name, True, self.address, self._running_detail(pid))

    def started_status(self, started: bool) -> ServiceStatus:
        """:meth:`status` after a start that did (True) or did not (False) launch it."""
        status = self.status()
        prefix = "started, " if started else "already running, "
        return dataclasses.replace(status, detail=prefix + status.detail)

    def stopped_status(self, stopped: bool) -> ServiceStatus:
        """The status after a stop that did (True) or did not (False) find it running."""
        done = "stopped" if stopped else "was not running"
        return ServiceStatus(self.name, False, self.address, f"{done}, {self.data_note}")
