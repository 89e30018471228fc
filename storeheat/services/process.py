"""Small process and port helpers shared by the local service runners."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"


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
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


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


def terminate(pid: int, *, timeout_s: float, group: bool = False) -> bool:
    """SIGTERM ``pid`` (or its process group), wait, then SIGKILL.

    Returns:
        True if it exited on SIGTERM, False if it had to be killed.
    """
    kill = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGKILL)
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
