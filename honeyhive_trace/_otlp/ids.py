"""Span and trace ids from HoneyHive ids, and back: one deterministic mapping.

The same rule as :func:`honeyhive_trace.propagation_headers`: an event's span id
is the last 8 bytes of its UUID, a trace id is the 16 bytes of the session's
UUID. Spans that came from OpenTelemetry (:class:`~honeyhive_trace.otel.SpanProcessor`)
get an event id whose last 8 bytes are their span id, and a session whose UUID
is their trace id, so that exporting such an event gives back the span it came
from: same trace id, same span id, same parent.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = [
    "event_id_for_span",
    "session_id_for_trace",
    "span_id_of",
    "trace_id_of",
]

_SALT = b"honeyhive-trace/otel/span"


def _uuid_bytes(text: str) -> bytes | None:
    try:
        return uuid.UUID(text).bytes
    except (ValueError, TypeError, AttributeError):
        return None


def _digest(text: str, size: int) -> bytes:
    raw = hashlib.sha256(_SALT + text.encode("utf-8", "surrogatepass")).digest()[:size]
    # An all-zero id is invalid in OTLP; a digest of zeros is one in 2**64.
    return raw if any(raw) else b"\x00" * (size - 1) + b"\x01"


def span_id_of(event_id: str) -> bytes:
    """The 8-byte span id of an event: the last 8 bytes of its UUID.

    An id that is not a UUID is hashed (SHA-256, first 8 bytes).
    """
    raw = _uuid_bytes(event_id)
    if raw is None or not any(raw[8:]):
        return _digest(event_id, 8)
    return raw[8:]


def trace_id_of(session_or_event_id: str) -> bytes:
    """The 16-byte trace id of a session (or of a root event outside any session)."""
    raw = _uuid_bytes(session_or_event_id)
    if raw is None or not any(raw):
        return _digest(session_or_event_id, 16)
    return raw


def event_id_for_span(trace_id: int, span_id: int) -> str:
    """The event id of an OpenTelemetry span: a UUID whose last 8 bytes are *span_id*.

    The first 8 bytes are a digest of both ids, with the version nibble of a
    UUID4, so that the same span always makes the same event, in any process.
    """
    span = span_id.to_bytes(8, "big")
    head = bytearray(hashlib.sha256(_SALT + trace_id.to_bytes(16, "big") + span).digest()[:8])
    head[6] = (head[6] & 0x0F) | 0x40  # version 4
    return str(uuid.UUID(bytes=bytes(head) + span))


def session_id_for_trace(trace_id: int) -> str:
    """The session id of a trace that carries none: the trace id as a UUID."""
    return str(uuid.UUID(int=trace_id))
