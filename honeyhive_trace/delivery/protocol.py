"""The legacy wire protocol: request bodies, acknowledgements, splitting, truncation.

HoneyHive's ``POST /events/model`` takes ``{"model_event": {...}}`` and
``POST /events/model/batch`` takes ``{"model_events": [...]}``; answers carry
the stored ids. Events arrive here already encoded (once, on the worker), so a
body is the encoded events joined with their envelope, never re-encoded.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import attrs

from honeyhive_trace._wire import record_truncation, truncate_strings

__all__ = [
    "BATCH_PATH",
    "MARKER",
    "SINGLE_PATH",
    "TRUNCATE_FLOOR",
    "TRUNCATE_START",
    "TRUNCATION_MARKER",
    "Delivery",
    "Prepared",
    "batch_body",
    "by_size",
    "parse_ack",
    "single_body",
    "truncate_event",
]

logger = logging.getLogger("honeyhive_trace")

SINGLE_PATH = "/events/model"
BATCH_PATH = "/events/model/batch"

#: Longest string kept when an event alone is too large for the server; each
#: further 413 halves it, down to TRUNCATE_FLOOR.
TRUNCATE_START = 64 * 1024
TRUNCATE_FLOOR = 256
TRUNCATION_MARKER = MARKER = "...[truncated]"


class Prepared(NamedTuple):
    """One event ready to send: its id and its ``model_event`` JSON (UTF-8).

    Encoded once on the worker; the same bytes go into batch bodies, the spool
    and the dead-letter file.
    """

    event_id: str
    data: bytes


@attrs.define
class Delivery:
    """What became of the events given to :meth:`HttpTransport.deliver`."""

    #: event_id -> id the server answered with.
    acked: dict[str, str] = attrs.field(factory=dict)
    #: (event, reason) for events the server refused for good.
    rejected: list[tuple[Prepared, str]] = attrs.field(factory=list)
    #: events not delivered before the deadline; the caller spools them.
    unsent: list[Prepared] = attrs.field(factory=list)
    retries: int = 0
    truncated: int = 0


def by_size(events: list[Prepared], limit: int) -> list[list[Prepared]]:
    """Cut *events* into runs whose JSON takes at most *limit* bytes (at least one each)."""
    chunks: list[list[Prepared]] = []
    current: list[Prepared] = []
    size = 0
    for event in events:
        length = len(event.data) + 1  # and its comma
        if current and size + length > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(event)
        size += length
    if current:
        chunks.append(current)
    return chunks


def truncate_event(event: dict[str, Any], limit: int) -> tuple[dict[str, Any], int]:
    """Shorten every string longer than *limit* characters in *event*.

    The original lengths go to ``metadata.original_lengths`` by path, as the
    ``truncate`` processor records them.

    Returns:
        The shortened event and how many strings were cut.
    """
    cut: dict[str, int] = {}
    shortened = {
        key: value if key == "event_id" else truncate_strings(value, limit, MARKER, key, cut)
        for key, value in event.items()
    }
    if cut:
        shortened["metadata"] = record_truncation(shortened.get("metadata"), cut, limit)
    return shortened, len(cut)


def single_body(event: Prepared) -> bytes:
    """The body of ``POST /events/model`` for one encoded event."""
    return b'{"model_event":' + event.data + b"}"


def batch_body(events: list[Prepared]) -> bytes:
    """The body of ``POST /events/model/batch`` for encoded events."""
    return b'{"model_events":[' + b",".join(e.data for e in events) + b"]}"


def parse_ack(chunk: list[Prepared], body: Any, batch: bool) -> dict[str, str]:
    """Map each sent event's id to the id the server answered with (ours if none)."""
    ids: list[Any] = []
    if isinstance(body, dict):
        ids = body.get("event_ids") or [] if batch else [body.get("event_id")]
    acked: dict[str, str] = {}
    for index, event in enumerate(chunk):
        server_id = ids[index] if index < len(ids) and isinstance(ids[index], str) else None
        acked[event.event_id] = server_id or event.event_id
    return acked


def parse_partial(chunk: list[Prepared], body: Any) -> set[str]:
    """Ids of *chunk* that a partly failed batch answer says were stored."""
    if not isinstance(body, dict):
        return set()
    sent = {e.event_id for e in chunk}
    return {i for i in body.get("event_ids") or [] if isinstance(i, str) and i in sent}
