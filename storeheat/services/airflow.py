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

import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from storeheat.env import tool_env
from storeheat.paths import REPO_ROOT, airflow_home, run_dir
from storeheat.services.process import (
    Launch,
    LocalService,
    ServiceStatus,
    cmdline,
    env_port,
)
from storeheat.services.process import group_members as group_members  # public here too

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


def _venv_bin() -> Path:
    return Path(sys.executable).parent


class LocalAirflow(LocalService):
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

    name = _NAME
    # SIGTERM to the parent orphans the scheduler and its workers; SIGINT to the whole group
    # is standalone's clean shutdown.
    stop_signal = signal.SIGINT
    stop_group = True
    # A clean SIGINT shutdown takes ~10 s; started by another (exited) command, standalone
    # sometimes hangs after "Shutting down components", and SIGTERM to the whole group then
    # ends it at once. 20 s instead of the default 60 s keeps `services down` short.
    stop_timeout_s = 20.0
    abort_timeout_s = 60.0

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
                   port=env_port(PORT_ENV, DEFAULT_PORT))

    # -- addresses and files -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the UI and the REST API."""
        return f"http://{HOST}:{self.port}"

    @property
    def health_url(self) -> str:
        return f"{self.url}/api/v2/monitor/health"

    @property
    def address(self) -> str:
        return self.url

    @property
    def data_note(self) -> str:
        return f"home {self.home}"

    def ports(self) -> list[tuple[int, str]]:
        return [(self.port, self._port_env)]

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

    def _owns(self, pid: int) -> bool:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        # Another Airflow (a test's) runs standalone too, with another home.
        return ("standalone" in cmdline(pid)
                and f"AIRFLOW_HOME={self.home}".encode() in environ)

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
        return self._start(timeout_s=timeout_s, prepare=self._prepare)

    def _prepare(self) -> Launch:
        self.home.mkdir(parents=True, exist_ok=True)
        return Launch(
            [str(_venv_bin() / "airflow"), "standalone"], env=self.env(), cwd=self.home,
            record={"port": self.port, "home": str(self.home)},
        )

    def _ready(self) -> bool:
        return self.healthy()

    def _describe(self) -> str:
        return "airflow standalone"

    def _not_ready_message(self, timeout_s: float) -> str:
        return f"{self.health_url} did not report healthy within {timeout_s:.0f} s"

    def _running_detail(self, pid: int) -> str:
        login = self.admin_login()
        who = f"login {login[0]} / {login[1]}" if login else "login: see the UI's user file"
        health = "healthy" if self.healthy() else "not healthy yet"
        return f"pid {pid}, {health}, UI {self.url} {who}, DAGs {self.dags_folder}"


# -- the services protocol used by `storeheat services` ------------------------------------


def start(*, timeout_s: float = 600.0) -> ServiceStatus:
    """Start the project's Airflow (unless it runs) and return its status with the UI login.

    Raises:
        PortInUseError, ServiceStartError: see :meth:`LocalAirflow.start`.
    """
    airflow = LocalAirflow.from_env()
    return airflow.started_status(airflow.start(timeout_s=timeout_s))


def stop() -> ServiceStatus:
    """Stop the project's Airflow and every process it started; metadata is kept."""
    airflow = LocalAirflow.from_env()
    return airflow.stopped_status(airflow.stop())


def status() -> ServiceStatus:
    """Whether the project's Airflow runs, where, and the admin login."""
    return LocalAirflow.from_env().status()
