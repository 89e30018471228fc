"""Errors raised when a record breaks a data contract."""

from __future__ import annotations

from dataclasses import dataclass

from storeheat.exceptions import StoreheatError


@dataclass(frozen=True)
class Violation:
    """One broken rule: the field path (``detections.3.confidence``), the value, and why."""

    field: str
    value: object
    reason: str

    def __str__(self) -> str:
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"{self.field}={shown}: {self.reason}"


class ContractError(StoreheatError, ValueError):
    """A record does not satisfy its contract. Terminal: the same bytes will fail again.

    Attributes:
        contract: The contract (topic name) the record was checked against.
        violations: Every broken rule, each naming its field and offending value.
    """

    transient = False

    def __init__(self, contract: str, violations: list[Violation]):
        self.contract = contract
        self.violations = violations
        listed = "; ".join(str(v) for v in violations[:10])
        more = f" (+{len(violations) - 10} more)" if len(violations) > 10 else ""
        super().__init__(f"{contract}: {listed}{more}")
