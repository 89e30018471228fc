"""Errors of the local service runners (Kafka, jar fetching, and the services CLI).

Every error names what it is about (the port, the log file, the topic, the jar coordinates) and
says through :attr:`~storeheat.exceptions.StoreheatError.transient` whether a retry can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storeheat.exceptions import DependencyFetchError, ServiceError


class PortInUseError(ServiceError):
    """A port a local service must listen on is held by another process.

    Retrying cannot help until the user frees the port or picks another one.

    Attributes:
        service: The service that needed the port (``"kafka"``).
        port: The port number.
        env_var: The environment variable that chooses this port.
        log_file: The service's log file.
    """

    def __init__(self, *, service: str, port: int, env_var: str, log_file: Path) -> None:
        self.service = service
        self.port = port
        self.env_var = env_var
        self.log_file = log_file
        super().__init__(
            f"cannot start {service}: port {port} on 127.0.0.1 is already in use by another "
            f"process; stop that process or choose another port with {env_var}=<port> "
            f"(log file: {log_file})"
        )


class ServiceStartError(ServiceError):
    """A local service was launched but did not become ready.

    Attributes:
        service: The service name.
        log_file: Where its output went; the message quotes its last lines.
        exit_code: The process's exit code, or None if it was still running (timeout).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        log_file: Path,
        exit_code: int | None = None,
        log_tail: str = "",
        transient: bool = False,
    ) -> None:
        self.service = service
        self.log_file = log_file
        self.exit_code = exit_code
        self.transient = transient
        text = f"{service}: {message} (log file: {log_file})"
        if log_tail:
            text += f"\nlast lines of {log_file.name}:\n{log_tail}"
        super().__init__(text)


class ServiceUnreachableError(ServiceError):
    """A service that should be running does not answer (an external Kafka, a stopped broker).

    Transient: the service may come up later.

    Attributes:
        service: The service name.
        address: The address that did not answer.
    """

    transient = True

    def __init__(self, message: str, *, service: str, address: str) -> None:
        self.service = service
        self.address = address
        super().__init__(f"{service} at {address}: {message}")


class TopicError(ServiceError):
    """A topic cannot be brought to the requested spec (e.g. fewer partitions than it has).

    Attributes:
        topic: The topic name.
    """

    def __init__(self, message: str, *, topic: str) -> None:
        self.topic = topic
        super().__init__(f"topic {topic!r}: {message}")


class JarFetchError(DependencyFetchError):
    """JVM jars could not be fetched from Maven Central and no cached copy exists.

    Transient: the registry may be reachable later.

    Attributes:
        group: The jar cache group (``"kafka"``, ``"spark"``).
        coordinates: The Maven coordinates that were asked for.
    """

    def __init__(self, message: str, *, group: str, coordinates: Sequence[str]) -> None:
        self.group = group
        self.coordinates = tuple(coordinates)
        super().__init__(message)


class PackageInstallError(DependencyFetchError):
    """A service's own virtualenv could not be created or its packages installed.

    Transient: usually the package registry was unreachable.

    Attributes:
        venv: The virtualenv folder.
        requirement: What was being installed.
        log_file: The installer's output.
    """

    def __init__(self, message: str, *, venv: Path, requirement: str, log_file: Path) -> None:
        self.venv = venv
        self.requirement = requirement
        self.log_file = log_file
        super().__init__(f"{message} (installing {requirement} into {venv}; log: {log_file})")
