"""Errors of the streaming worker's runtime: sources, journal, publishing, segments, worker.

Kept apart from :mod:`streaming.exceptions` (the vision stages' errors) so the two parts of the
package can change independently; both derive from :class:`streaming.exceptions.StreamingError`.
Every error names the input it is about (camera and URL, journal folder, segment file, topic)
and sets :attr:`~storeheat.exceptions.StoreheatError.transient`, from which the worker alone
decides between retrying and stopping.
"""

from __future__ import annotations

from streaming.exceptions import StreamingError


class SourceError(StreamingError, RuntimeError):
    """A camera source cannot be opened or read (missing file, corrupt video, stream down).

    The worker retries with backoff when :attr:`transient` is true and reports the camera as
    down meanwhile; the other cameras carry on.

    Attributes:
        camera_id: The camera.
        url: The source URL (credentials removed).
        reason: What went wrong.
    """

    def __init__(self, camera_id: str, url: str, reason: str, *, transient: bool = True):
        self.camera_id = camera_id
        self.url = url
        self.reason = reason
        self.transient = transient
        super().__init__(f"camera {camera_id!r} source {url}: {reason}")


class UnsupportedSourceError(SourceError):
    """The source URL has a scheme or form no source class reads (never transient)."""

    def __init__(self, camera_id: str, url: str, reason: str):
        super().__init__(camera_id, url, reason, transient=False)


class JournalError(StreamingError, OSError):
    """The on-disk journal cannot be written or read.

    Attributes:
        path: The journal folder (or file).
        reason: What went wrong.
    """

    transient = True

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"journal {path}: {reason}")


class JournalFullError(JournalError):
    """The journal reached its byte limit or the disk is full; the event was not kept.

    Transient: space comes back when the broker returns and the journal drains.
    """


class JournalCorruptError(JournalError):
    """A journal file holds a record whose length or checksum is wrong (not at the tail)."""

    transient = False


class PublishError(StreamingError, RuntimeError):
    """An event could be neither delivered to Kafka nor kept in the journal.

    Attributes:
        topic: Destination topic.
        event_id: The event's id.
    """

    transient = True

    def __init__(self, topic: str, event_id: str, reason: str):
        self.topic = topic
        self.event_id = event_id
        super().__init__(f"event {event_id} for topic {topic}: {reason}")


class SegmentError(StreamingError, OSError):
    """A video segment cannot be written, finished or moved to the hot tier.

    Attributes:
        uri: The segment's (intended) URL.
        reason: What went wrong.
    """

    transient = True

    def __init__(self, uri: str, reason: str):
        self.uri = uri
        self.reason = reason
        super().__init__(f"video segment {uri}: {reason}")


class UnblurredFrameError(StreamingError, TypeError):
    """Something other than a pipeline-blurred frame was handed to a writer (never transient).

    Raised by :class:`streaming.segments.SegmentWriter` so raw pixels can never be encoded.
    """
