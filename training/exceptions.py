"""Errors of the training package."""

from __future__ import annotations

from storeheat.exceptions import StoreheatError


class TrainingError(StoreheatError):
    """Training, validation or export failed; names the dataset or weights involved."""


class RegistryError(StoreheatError):
    """The model registry file is unreadable, or a model/version it names does not exist."""
