"""Base exceptions shared by every storeheat package.

Each package has its own ``exceptions`` module whose errors derive from these. An error
carries the data it is about and says whether retrying can help: the runner decides retry or
fail from :attr:`StoreheatError.transient` alone.
"""

from __future__ import annotations


class StoreheatError(Exception):
    """Root of storeheat's errors.

    Attributes:
        transient: True when the same call may succeed later (broker down, disk busy);
            False when retrying cannot help (bad input, missing file).
    """

    transient: bool = False


class ConfigError(StoreheatError, ValueError):
    """A configuration file or value is invalid. Names the file, the key path and why."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        where = ""
        if source and key:
            where = f"{source}: {key}: "
        elif source:
            where = f"{source}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class ServiceError(StoreheatError, RuntimeError):
    """A local service (Kafka, Airflow, Label Studio) could not be started or reached."""


class DependencyFetchError(StoreheatError, RuntimeError):
    """A jar or package could not be fetched (registry unreachable and nothing cached)."""

    transient = True
