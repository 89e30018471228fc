"""Errors of the simulator. Each names the argument or camera it is about."""

from __future__ import annotations

from storeheat.exceptions import StoreheatError


class SimulationError(StoreheatError, ValueError):
    """Bad simulator input (unknown scenario, a camera that sees no floor, ...).

    Attributes:
        argument: The argument, option or camera the error is about.
    """

    transient = False

    def __init__(self, message: str, *, argument: str) -> None:
        self.argument = argument
        super().__init__(f"{argument}: {message}")


class OutputExistsError(SimulationError):
    """The output directory exists and is not empty (pass ``force`` to overwrite)."""
