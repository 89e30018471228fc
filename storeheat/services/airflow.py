"""A local Apache Airflow 3 (``airflow standalone``) running the project's DAGs.

Standalone Airflow is the scheduler, DAG processor, triggerer and API server (with the UI) as
child processes of one ``airflow standalone`` process, on a SQLite metadata database in
``.state/airflow``. Two facts shape this runner (see ENVIRONMENT.md):

- SIGTERM to the parent orphans the scheduler and its LocalExecutor workers, which ignore
  SIGTERM. So Airflow is started in a process group of its own and stopped by SIGINT to the
  whole group, and :meth:`LocalAirflow.stop` waits until no process of that group is left.
- Standalone runs ``airflow <component>`` by name, so the virtualenv's ``bin`` goes first on
  ``PATH``; the same ``PATH`` lets Spark tasks find ``spark-submit``.

The ``spark_default`` connection is set through ``AIRFLOW_CONN_SPARK_DEFAULT`` to
``local[*]`` unless the caller's environment already defines it (a cluster in production).

Examples:
    >>> airflow = LocalAirflow.from_env()
    >>> airflow.start()          # no-op if it already runs; waits for /api/v2/monitor/health
    >>> airflow.admin_login()    # ("admin", "<generated password>")
    >>> airflow.stop()           # SIGINT to the group, metadata kept
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from storeheat.env import tool_env
from storeheat.paths import REPO_ROOT, airflow_home, run_dir
from storeheat.services.exceptions import PortInUseError, ServiceStartError
from storeheat.services.kafka import ServiceStatus

log = logging.getLogger(__name__)

DEFAULT_PORT = 38080
PORT_ENV = "STOREHEAT_AIRFLOW_PORT"
HOST = "127.0.0.1"
#: ``spark_default`` for local runs; a production deployment sets its own connection.
LOCAL_SPARK_CONNECTION = json.dumps({"conn_type": "spark", "host": "local[*]"})
SPARK_CONN_ENV = "AIRFLOW_CONN_SPARK_DEFAULT"
#: File standalone's simple auth manager writes the generated admin password to.
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
DAGS_FOLDER = REPO_ROOT / "dags"
_NAME = "airflow"


def _env_port(raw: str | None) -> int:
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        from storeheat.exceptions import ConfigError

        raise ConfigError(f"expected a TCP port number 1-65535, got {raw!r}", key=PORT_ENV)
    return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid`` from /proc, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has exited, only unreaped


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``.

    Args:
        pgid: A process group id (the pid of the ``airflow standalone`` process).

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


def _tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _venv_bin() -> Path:
    return Path(sys.executable).parent


class LocalAirflow:
    """One ``airflow standalone`` with its home, port and DAGs folder.

    Everything is explicit so tests can run one on a free port in a temporary folder;
    :meth:`from_env` builds the project's default one.

    Attributes:
        home: ``AIRFLOW_HOME`` (SQLite database, ``airflow.cfg``, logs, password file).
        state_dir: Where the pid file and the log file live.
        port: Port of the API server and UI on 127.0.0.1.
        dags_folder: The DAG files it loads (the repository's ``dags/``).
        parallelism: ``[core] parallelism``: task slots of the whole installation.
        extra_env: More variables for every Airflow process (they win over the defaults).
    """

    def __init__(
        self,
        *,
        home: Path,
        state_dir: Path,
        port: int = DEFAULT_PORT,
        dags_folder: Path = DAGS_FOLDER,
        parallelism: int = 4,
        extra_env: Mapping[str, str] | None = None,
        port_env: str = PORT_ENV,
    ) -> None:
        """Describe an Airflow; nothing starts until :meth:`start`.

        Args:
            home: ``AIRFLOW_HOME``; created on first start.
            state_dir: Folder for ``airflow.pid`` and ``airflow.log``.
            port: API server / UI port on 127.0.0.1.
            dags_folder: DAG files folder.
            parallelism: Task slots; low by default because the machine is shared.
            extra_env: Extra environment for Airflow (e.g. connections).
            port_env: Variable named in the error when the port is taken.
        """
        self.home = Path(home).resolve()
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.dags_folder = Path(dags_folder).resolve()
        self.parallelism = parallelism
        self.extra_env = dict(extra_env or {})
        self._port_env = port_env

    @classmethod
    def from_env(cls) -> LocalAirflow:
        """The project's Airflow: port ``$STOREHEAT_AIRFLOW_PORT`` (38080), home
        ``.state/airflow``, DAGs from the repository's ``dags/``.

        Raises:
            ConfigError: ``STOREHEAT_AIRFLOW_PORT`` is not a port number.
        """
        return cls(home=airflow_home(), state_dir=run_dir(),
                   port=_env_port(os.environ.get(PORT_ENV)))

    # -- addresses and files -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the UI and the REST API."""
        return f"http://{HOST}:{self.port}"

    @property
    def health_url(self) -> str:
        return f"{self.url}/api/v2/monitor/health"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "airflow.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "airflow.pid"

    @property
    def password_file(self) -> Path:
        return self.home / PASSWORD_FILE

    def env(self) -> dict[str, str]:
        """The environment every Airflow process (and every task it runs) gets."""
        env = dict(os.environ)
        for key, value in tool_env().items():
            env.setdefault(key, value)
        bin_dir = str(_venv_bin())
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env.setdefault(SPARK_CONN_ENV, LOCAL_SPARK_CONNECTION)
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(1, self.parallelism // 2)),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            # One API worker and one parsing process: the machine is shared with Spark.
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        })
        env.update(self.extra_env)
        return env

    # -- process -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Serialises start/stop across processes (two `services up` at once).
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "airflow.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def pid(self) -> int | None:
        """The pid of this ``airflow standalone`` if it runs (checked against /proc), else None."""
        try:
            record = json.loads(self.pid_file.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _alive(pid):
            return None
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return None
        # Guards against a recycled pid, or another Airflow (a test's) with another home.
        if b"standalone" not in cmd or f"AIRFLOW_HOME={self.home}".encode() not in environ:
            return None
        return pid

    def is_running(self) -> bool:
        """True if this Airflow's standalone process is alive."""
        return self.pid() is not None

    def healthy(self) -> bool:
        """True if the API server answers and reports the database and scheduler healthy."""
        try:
            with urllib.request.urlopen(self.health_url, timeout=2.0) as response:
                body = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return all(
            (body.get(part) or {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler")
        )

    def admin_login(self) -> tuple[str, str] | None:
        """``(user, password)`` of the generated admin login, or None if not generated yet."""
        try:
            users = json.loads(self.password_file.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(users, dict) or not users:
            return None
        user = "admin" if "admin" in users else next(iter(users))
        return user, str(users[user])

    def start(self, *, timeout_s: float = 600.0) -> bool:
        """Start Airflow unless it already runs, and wait until its health check passes.

        Args:
            timeout_s: How long to wait for ``/api/v2/monitor/health``: ≈ 20 s warm on an
                idle machine, ≈ 90 s for a first start that creates the database, and
                several minutes on a machine whose cores are busy.

        Returns:
            True if Airflow was started, False if this Airflow was already running.

        Raises:
            PortInUseError: The UI port is held by another process.
            ServiceStartError: Airflow exited or did not become healthy in time (names the
                log file and quotes its last lines).
        """
        with self._lock():
            if self.pid() is not None:
                self._wait_healthy(timeout_s=timeout_s, pid=None)
                return False
            if not _port_free(self.port):
                raise PortInUseError(service=_NAME, port=self.port, env_var=self._port_env,
                                     log_file=self.log_file)
            self.home.mkdir(parents=True, exist_ok=True)
            if self.log_file.exists():
                # One file per run keeps the log bounded; the previous run's stays for a look.
                os.replace(self.log_file, self.log_file.with_name("airflow.log.1"))
            airflow_bin = _venv_bin() / "airflow"
            with open(self.log_file, "ab") as out:
                # Own session and process group: the group is what stop() signals, and
                # Ctrl-C in the terminal that ran `services up` must not reach it.
                proc = subprocess.Popen(
                    [str(airflow_bin), "standalone"], stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=self.env(), cwd=self.home,
                    start_new_session=True,
                )
            self.pid_file.write_text(json.dumps({
                "pid": proc.pid, "pgid": proc.pid, "port": self.port, "home": str(self.home),
                "started": time.time(),
            }))
            try:
                self._wait_healthy(timeout_s=timeout_s, pid=proc.pid, proc=proc)
            except BaseException:
                self._stop_group(proc.pid, timeout_s=60.0)
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    proc.wait(timeout=1)
                self.pid_file.unlink(missing_ok=True)
                raise
            log.info("airflow pid %d healthy at %s (home %s)", proc.pid, self.url, self.home)
            return True

    def _wait_healthy(
        self, *, timeout_s: float, pid: int | None,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            code = proc.poll() if proc is not None else None
            if code is not None or (pid is None and self.pid() is None):
                raise ServiceStartError(
                    "airflow standalone exited during start-up"
                    + (f" with code {code}" if code is not None else ""),
                    service=_NAME, log_file=self.log_file, exit_code=code,
                    log_tail=_tail(self.log_file),
                )
            if self.healthy():
                return
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    f"{self.health_url} did not report healthy within {timeout_s:.0f} s",
                    service=_NAME, log_file=self.log_file, log_tail=_tail(self.log_file),
                    transient=True,
                )
            time.sleep(0.5)

    @staticmethod
    def _stop_group(pgid: int, *, timeout_s: float) -> None:
        """SIGINT to the group (standalone's clean shutdown), then SIGTERM, then SIGKILL."""
        for sig, grace in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 10.0),
                           (signal.SIGKILL, 5.0)):
            if not group_members(pgid):
                return
            if sig != signal.SIGINT:
                log.warning("airflow group %d still has %s after shutdown; sending %s", pgid,
                            group_members(pgid), sig.name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and group_members(pgid):
                time.sleep(0.2)

    def stop(self, *, timeout_s: float = 60.0) -> bool:
        """Stop every process of this Airflow (metadata and logs are kept).

        Args:
            timeout_s: Grace period after SIGINT before escalating to SIGTERM and SIGKILL.

        Returns:
            True if a running Airflow was stopped, False if none was running.
        """
        with self._lock():
            pid = self.pid()
            if pid is None:
                self.pid_file.unlink(missing_ok=True)
                return False
            self._stop_group(pid, timeout_s=timeout_s)
            self.pid_file.unlink(missing_ok=True)
            log.info("airflow pid %d stopped; metadata kept in %s", pid, self.home)
            return True

    def status(self) -> ServiceStatus:
        """Whether this Airflow runs, its UI address and the admin login."""
        pid = self.pid()
        if pid is None:
            return ServiceStatus(_NAME, False, self.url, f"stopped, home {self.home}")
        login = self.admin_login()
        who = f"login {login[0]} / {login[1]}" if login else "login: see the UI's user file"
        health = "healthy" if self.healthy() else "not healthy yet"
        return ServiceStatus(_NAME, True, self.url,
                             f"pid {pid}, {health}, UI {self.url} {who}, DAGs {self.dags_folder}")


# -- the services protocol used by `storeheat services` ------------------------------------


def start(*, timeout_s: float = 600.0) -> ServiceStatus:
    """Start the project's Airflow (unless it runs) and return its status with the UI login.

    Raises:
        PortInUseError, ServiceStartError: see :meth:`LocalAirflow.start`.
    """
    airflow = LocalAirflow.from_env()
    started = airflow.start(timeout_s=timeout_s)
    status = airflow.status()
    return ServiceStatus(status.name, status.running, status.address,
                         ("started, " if started else "already running, ") + status.detail)


def stop() -> ServiceStatus:
    """Stop the project's Airflow and every process it started; metadata is kept."""
    airflow = LocalAirflow.from_env()
    stopped = airflow.stop()
    return ServiceStatus(_NAME, False, airflow.url,
                         ("stopped" if stopped else "was not running") + f", home {airflow.home}")


def status() -> ServiceStatus:
    """Whether the project's Airflow runs, where, and the admin login."""
    return LocalAirflow.from_env().status()
