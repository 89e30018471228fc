"""Errors of the orchestration tasks (quality gate, video tiering, maintenance).

Each names what it is about (table, window, segment, setting) and says through
:attr:`~storeheat.exceptions.StoreheatError.transient` whether a retry can help: a failed
quality gate or a bad setting cannot; a tier copy that hit a busy store may.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storeheat.exceptions import StoreheatError


class OrchestrationError(StoreheatError, RuntimeError):
    """Root of the orchestration errors."""


class QualityGateFailed(OrchestrationError):
    """A window's rows broke the contract suite; nothing is published for that window.

    Attributes:
        table: Qualified table name that was checked.
        store_id: The store.
        start: Window start (inclusive, UTC).
        end: Window end (exclusive, UTC).
        failures: One line per failed expectation.
        report: The readable report (what the task log and the exception show).
    """

    transient = False

    def __init__(self, *, table: str, store_id: str, start: datetime, end: datetime,
                 failures: Sequence[str], report: str) -> None:
        self.table = table
        self.store_id = store_id
        self.start = start
        self.end = end
        self.failures = tuple(failures)
        self.report = report
        super().__init__(report)


class WindowError(OrchestrationError, ValueError):
    """A task was given no usable data interval (e.g. an asset-triggered run of a windowed DAG).

    Attributes:
        dag_id: The DAG.
    """

    transient = False

    def __init__(self, message: str, *, dag_id: str) -> None:
        self.dag_id = dag_id
        super().__init__(f"DAG {dag_id!r}: {message}")


class TieringError(OrchestrationError):
    """Segments could not be moved from the hot to the cold tier.

    Attributes:
        failures: ``(segment uri, reason)`` pairs; segments not listed were moved.
    """

    def __init__(self, failures: Sequence[tuple[str, str]], *, transient: bool) -> None:
        self.failures = tuple(failures)
        self.transient = transient
        lines = "\n".join(f"  {uri}: {reason}" for uri, reason in self.failures)
        super().__init__(f"{len(self.failures)} video segment(s) not moved to the cold tier:\n"
                         f"{lines}")


class MaintenanceSettingError(OrchestrationError, ValueError):
    """A Delta maintenance setting is unsafe (e.g. a VACUUM retention below the minimum).

    Attributes:
        setting: The option name.
    """

    transient = False

    def __init__(self, message: str, *, setting: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}")
