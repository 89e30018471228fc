"""Errors of the streaming worker's vision stages.

Every error names the input it is about (model file, camera, frame) and says whether a retry
can help (:attr:`StoreheatError.transient`); the worker decides from that alone whether to
retry, drop a frame or stop.
"""

from __future__ import annotations

from pathlib import Path

from storeheat.exceptions import StoreheatError


class StreamingError(StoreheatError):
    """Root of the streaming package's errors."""


class DetectionsError(StreamingError, ValueError):
    """A :class:`~streaming.detections.Detections` was built from inconsistent arrays.

    The message names the field, the expected shape/dtype and the actual one.
    """


class ModelLoadError(StreamingError, RuntimeError):
    """A model file is missing, unreadable or not a format this worker can run.

    Raised at start-up, never per frame: retrying cannot fix a wrong file.

    Attributes:
        path: The model file that was asked for.
        reason: What was wrong with it.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"model file {self.path}: {reason}")


class InferenceError(StreamingError, RuntimeError):
    """A model failed on a batch of frames (bad frame shape, runtime error inside the model)."""

    transient = True


class PrivacyError(StreamingError, RuntimeError):
    """A frame could not be anonymised; the worker must drop it (fail closed).

    Attributes:
        reason: A short machine-readable reason (``face_detector_failed``,
            ``blur_failed``, ...), used as the label of the dropped-frames counter.
    """

    transient = True

    def __init__(self, message: str, *, reason: str):
        self.reason = reason
        super().__init__(message)
