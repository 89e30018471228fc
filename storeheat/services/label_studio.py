"""A local Label Studio server in its own virtualenv, for annotating blurred frames.

The Label Studio server cannot share the main environment (it pins Django, DRF, pyarrow < 25,
pytz < 2023 and needs setuptools >= 83), so it lives in ``.state/venvs/label-studio``, created
on first use with ``pip install label-studio==<version>`` and its own pins. The main
environment talks to it over HTTP with ``label_studio_sdk``.

The server runs on ``127.0.0.1:$STOREHEAT_LABEL_STUDIO_PORT`` (38081) with its SQLite database
and media under ``.state/label-studio``. Its admin user and API token come from
``LABEL_STUDIO_USERNAME`` / ``LABEL_STUDIO_PASSWORD`` / ``LABEL_STUDIO_USER_TOKEN`` (the names
docker-compose.yml uses) or, if unset, are generated once and kept in the data directory.
Telemetry, the version check and Sentry are off.

Examples:
    >>> ls = LocalLabelStudio.from_env()
    >>> ls.start()                         # creates the virtualenv on first use
    >>> url, token = ls.url, ls.credentials().token
    >>> ls.stop()
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from storeheat.paths import label_studio_dir, run_dir, state_dir, tool_config_dir
from storeheat.services.exceptions import PackageInstallError
from storeheat.services.process import (
    Launch,
    LocalService,
    ServiceStatus,
    cmdline,
    env_port,
    locked,
    tail,
)

log = logging.getLogger(__name__)

LABEL_STUDIO_VERSION = "1.23.2"
DEFAULT_PORT = 38081
PORT_ENV = "STOREHEAT_LABEL_STUDIO_PORT"
HOST = "127.0.0.1"
_NAME = "label-studio"
# pip on a loaded 2-core machine took 5.5 min for the ~1 GB of wheels.
INSTALL_TIMEOUT_S = 1800.0


def venv_dir() -> Path:
    """The Label Studio server's own virtualenv."""
    return state_dir() / "venvs" / "label-studio"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The Label Studio admin account storeheat uses.

    Attributes:
        username: Admin e-mail.
        password: Admin password (for the UI).
        token: Legacy API token (``Authorization: Token ...``; ``LabelStudio(api_key=...)``).
    """

    username: str
    password: str
    token: str


def ensure_venv(
    venv: Path | None = None, *, version: str = LABEL_STUDIO_VERSION, log_dir: Path | None = None
) -> Path:
    """Create the server's virtualenv and install Label Studio once; later calls are free.

    Args:
        venv: Virtualenv folder (default :func:`venv_dir`).
        version: Label Studio version to install.
        log_dir: Where the installer's output goes (default the run dir).

    Returns:
        Path of the ``label-studio`` executable.

    Raises:
        PackageInstallError: The virtualenv could not be created or pip failed (names the log).
    """
    venv = venv or venv_dir()
    exe = venv / "bin" / "label-studio"
    marker = venv / ".storeheat-installed"
    requirement = f"label-studio=={version}"
    if exe.exists() and marker.exists() and marker.read_text() == requirement:
        return exe
    log_file = (log_dir or run_dir()) / "label-studio-install.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with locked(venv.parent / ".label-studio.lock"):
        if exe.exists() and marker.exists() and marker.read_text() == requirement:
            return exe
        log.info("installing %s into %s (first use only; ~1 GB)", requirement, venv)
        # The base interpreter, not the main venv's: nothing of the main stack may leak in.
        base = getattr(sys, "_base_executable", sys.executable)
        steps = [
            [base, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", requirement],
        ]
        with open(log_file, "w") as out:
            for cmd in steps:
                try:
                    proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, check=False,
                                          timeout=INSTALL_TIMEOUT_S)
                except subprocess.TimeoutExpired as exc:
                    raise PackageInstallError(
                        f"{cmd[2]} did not finish within {INSTALL_TIMEOUT_S:.0f} s",
                        venv=venv, requirement=requirement, log_file=log_file) from exc
                if proc.returncode != 0:
                    raise PackageInstallError(
                        f"'{' '.join(cmd[1:4])}' failed with exit code {proc.returncode}; is "
                        f"PyPI reachable?\n{tail(log_file, 8)}",
                        venv=venv, requirement=requirement, log_file=log_file)
        marker.write_text(requirement)
    return exe


class LocalLabelStudio(LocalService):
    """One Label Studio server on a loopback port, with its data in one folder.

    Attributes:
        data_dir: ``LABEL_STUDIO_BASE_DATA_DIR`` (SQLite database, media, credentials).
        state_dir: Pid file and log file.
        port: HTTP port on 127.0.0.1.
        venv: The server's virtualenv.
    """

    name = _NAME
    stop_group = True
    stop_timeout_s = 30.0
    abort_timeout_s = 15.0
    # The port of a server stopped a moment ago may not be free yet.
    port_wait_s = 3.0

    def __init__(
        self,
        *,
        data_dir: Path,
        state_dir: Path,
        port: int = DEFAULT_PORT,
        venv: Path | None = None,
        port_env: str = PORT_ENV,
    ) -> None:
        """Describe a server; nothing starts until :meth:`start`.

        Args:
            data_dir: Label Studio's data directory.
            state_dir: Folder for ``label-studio.pid`` and ``label-studio.log``.
            port: HTTP port on 127.0.0.1.
            venv: The server's virtualenv (default :func:`venv_dir`).
            port_env: Variable named in errors as the way to choose ``port``.
        """
        self.data_dir = Path(data_dir)
        self.state_dir = Path(state_dir)
        self.port = port
        self.venv = venv or venv_dir()
        self._port_env = port_env

    @classmethod
    def from_env(cls) -> LocalLabelStudio:
        """The project's server: port ``$STOREHEAT_LABEL_STUDIO_PORT`` (38081), data in
        ``.state/label-studio``.

        Raises:
            ConfigError: The port variable is not a port number.
        """
        return cls(data_dir=label_studio_dir(), state_dir=run_dir(),
                   port=env_port(PORT_ENV, DEFAULT_PORT))

    @property
    def url(self) -> str:
        """Base URL for browsers and ``label_studio_sdk.LabelStudio(base_url=...)``."""
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return self.url

    @property
    def data_note(self) -> str:
        return f"data {self.data_dir}"

    def ports(self) -> list[tuple[int, str]]:
        return [(self.port, self._port_env)]

    def credentials(self) -> Credentials:
        """The admin account: from ``LABEL_STUDIO_*`` variables, else generated once and kept
        (mode 0600) in the data directory, so the token stays valid across restarts."""
        path = self.data_dir / "storeheat-credentials.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        else:
            stored = {
                "username": "admin@storeheat.local",
                "password": secrets.token_urlsafe(18),
                # Label Studio keeps legacy tokens in a 40-character column.
                "token": secrets.token_hex(20),
            }
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(stored, handle)
        return Credentials(
            username=os.environ.get("LABEL_STUDIO_USERNAME") or stored["username"],
            password=os.environ.get("LABEL_STUDIO_PASSWORD") or stored["password"],
            token=os.environ.get("LABEL_STUDIO_USER_TOKEN") or stored["token"],
        )

    def environment(self) -> dict[str, str]:
        """The server's environment: data dir, admin account, no telemetry."""
        creds = self.credentials()
        tools = tool_config_dir() / "label-studio"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VIRTUAL_ENV", "PYTHON", "DJANGO"))}
        env.update({
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "LABEL_STUDIO_USERNAME": creds.username,
            "LABEL_STUDIO_PASSWORD": creds.password,
            "LABEL_STUDIO_USER_TOKEN": creds.token,
            # A fresh data dir ignores the user token unless legacy tokens are on.
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_SENTRY_DSN": "",
            "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
            "XDG_CONFIG_HOME": str(tools / "config"),
            "XDG_CACHE_HOME": str(tools / "cache"),
            "XDG_DATA_HOME": str(tools / "data"),
        })
        return env

    def _owns(self, pid: int) -> bool:
        cmd = " ".join(cmdline(pid))
        return "label-studio" in cmd and f"--port {self.port}" in cmd

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=3) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, *, timeout_s: float = 300.0) -> bool:
        """Start the server unless it runs, and wait until ``/health`` answers.

        The first start creates the virtualenv (minutes) and runs the migrations (~30 s).

        Args:
            timeout_s: How long to wait for ``/health`` after launching.

        Returns:
            True if a server was started, False if it was already running.

        Raises:
            PackageInstallError: The virtualenv could not be installed.
            PortInUseError: The port is held by another process (names port and log file).
            ServiceStartError: The server exited or did not answer in time (names the log).
        """
        return self._start(timeout_s=timeout_s, prepare=self._prepare)

    def _prepare(self) -> Launch:
        exe = ensure_venv(self.venv, log_dir=self.state_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return Launch(
            [str(exe), "start", "--no-browser", "--internal-host", HOST,
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=self.environment(), cwd=self.data_dir, record={"port": self.port},
        )

    def _describe(self) -> str:
        return f"server on port {self.port}"

    def _not_ready_message(self, timeout_s: float) -> str:
        return f"server on port {self.port} did not answer /health within {timeout_s:.0f} s"

    def _port_in_log(self, log_tail: str) -> tuple[int, str] | None:
        if "Address already in use" in log_tail or "That port is already in use" in log_tail:
            return self.port, self._port_env
        return None


# -- the services protocol used by `storeheat services` ------------------------------------


def start() -> ServiceStatus:
    """Start the project's Label Studio (installing its virtualenv on first use)."""
    server = LocalLabelStudio.from_env()
    return server.started_status(server.start())


def stop() -> ServiceStatus:
    """Stop the project's Label Studio; its data is kept."""
    server = LocalLabelStudio.from_env()
    return server.stopped_status(server.stop())


def status() -> ServiceStatus:
    """Whether the project's Label Studio runs."""
    return LocalLabelStudio.from_env().status()


def fetch() -> str:
    """Install the server's virtualenv now, so ``services up`` later works offline."""
    exe = ensure_venv()
    return f"label-studio {LABEL_STUDIO_VERSION} installed in {exe.parent.parent}"
