"""Errors of the evaluation package.

Every error names the input it is about (a file and line, a command-line argument, a
function argument) and what was expected. None is transient: bad evaluation input does not
get better by retrying.
"""

from __future__ import annotations

from pathlib import Path

from storeheat.exceptions import StoreheatError


class EvaluationError(StoreheatError, ValueError):
    """Root of the evaluation errors: the inputs to an evaluation are unusable."""

    transient = False


class MotFormatError(EvaluationError):
    """A MOTChallenge file (``gt.txt``, ``det.txt``, a result file, ``seqinfo.ini``) is malformed.

    Attributes:
        path: The file.
        line: 1-based line number, or None when the problem is not on one line.
    """

    def __init__(self, message: str, *, path: Path | str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")


class _ArgumentError(EvaluationError):
    """An error about the value of one named argument.

    Attributes:
        argument: The argument (CLI option or function parameter) that holds the bad value.
        detail: The message without the argument name.
    """

    def __init__(self, message: str, *, argument: str) -> None:
        self.argument = argument
        self.detail = message
        super().__init__(f"{argument}: {message}")


class InputMismatchError(_ArgumentError):
    """Two inputs that must correspond do not (sequence sets, grid shapes, zone sets).

    Attributes:
        argument: The argument (CLI option or function parameter) that holds the bad value.
        detail: The message without the argument name.
    """


class InvalidInputError(_ArgumentError):
    """One input is invalid on its own (wrong shape, missing column, negative duration).

    Attributes:
        argument: The argument (CLI option or function parameter) that holds the bad value.
        detail: The message without the argument name.
    """
