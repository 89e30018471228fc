"""Errors of the Spark jobs (session, ingest, silver).

Each error names what it is about (the lake root, the table, the topic) and says through
:attr:`~storeheat.exceptions.StoreheatError.transient` whether retrying can help.
"""

from __future__ import annotations

from storeheat.exceptions import StoreheatError


class LakeError(StoreheatError, RuntimeError):
    """Base of the lake jobs' errors."""


class SparkSessionError(LakeError):
    """A Spark session could not be built (jars missing, JVM failed, bad configuration).

    Attributes:
        app_name: The application the session was for.
    """

    def __init__(self, message: str, *, app_name: str, transient: bool = False) -> None:
        self.app_name = app_name
        self.transient = transient
        super().__init__(f"spark session {app_name!r}: {message}")


class TableError(LakeError):
    """A Delta table is missing or does not match its spec in :mod:`data_contracts.tables`.

    Attributes:
        table: Qualified table name.
        location: Where the table lives (path or URL).
    """

    def __init__(self, message: str, *, table: str, location: str) -> None:
        self.table = table
        self.location = location
        super().__init__(f"table {table} at {location}: {message}")


class StreamError(LakeError):
    """A streaming query (ingest or silver) failed.

    Transient by default: the query restarts from its checkpoint without loss or duplicates.

    Attributes:
        query: The query name.
        checkpoint: Its checkpoint location.
    """

    transient = True

    def __init__(self, message: str, *, query: str, checkpoint: str) -> None:
        self.query = query
        self.checkpoint = checkpoint
        super().__init__(f"stream {query!r} (checkpoint {checkpoint}): {message}")


class QualityGateError(LakeError):
    """A table failed its Great Expectations suite; terminal until the data is fixed.

    Attributes:
        table: Qualified table name.
        failures: One line per failed expectation (expectation, column, unexpected count).
    """

    def __init__(self, table: str, failures: list[str]) -> None:
        self.table = table
        self.failures = failures
        listed = "; ".join(failures[:10])
        super().__init__(f"quality gate failed for {table}: {listed}")
