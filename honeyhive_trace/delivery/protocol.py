"""The wire protocol: items, legacy routes, acknowledgements, splitting, truncation.

Four kinds of item travel, each to its own routes (:data:`ROUTES`):

- ``model``: ``POST /events/model`` with ``{"model_event": e}``, or
  ``POST /events/model/batch`` with ``{"model_events": [...]}``;
- ``event`` (tool and chain steps): ``POST /events`` with ``{"event": e}``, or
  ``POST /events/batch`` with ``{"events": [...]}``;
- ``session``: ``POST /session/start`` with ``{"session": s}``, one at a time;
- ``update``: ``PUT /events`` with the update itself, one at a time.

These are the legacy routes; :mod:`.codec` adds the v1 ones and builds the
requests of both. Answers carry the stored ids. Items arrive here already
encoded (once, on the worker), so a body is the encoded items joined with their
envelope, never re-encoded. Within one delivery, items go in :data:`PHASES` order (sessions
start before events, updates follow), keeping their order otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import attrs

from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace._wire import record_truncation, truncate_strings
from honeyhive_trace.records import EventUpdate, ModelEvent, Record, SessionStart

__all__ = [
    "BATCH_PATH",
    "MARKER",
    "PHASES",
    "ROUTES",
    "SINGLE_PATH",
    "Route",
    "TRUNCATE_FLOOR",
    "TRUNCATE_START",
    "TRUNCATION_MARKER",
    "Delivery",
    "Prepared",
    "by_phase",
    "by_size",
    "kind_of",
    "parse_ack",
    "truncate_event",
]

logger = logging.getLogger("honeyhive_trace")


class Route(NamedTuple):
    """Where one kind of item is sent, and the keys of its request bodies."""

    method: str
    single: str
    #: The batch route, or None when items of this kind go one at a time.
    batch: str | None
    #: The key of the item in a one-item body (None: the body is the item itself).
    single_key: str | None
    batch_key: str | None


ROUTES = {
    "model": Route("POST", "/events/model", "/events/model/batch", "model_event", "model_events"),
    "event": Route("POST", "/events", "/events/batch", "event", "events"),
    "session": Route("POST", "/session/start", None, "session", None),
    "update": Route("PUT", "/events", None, None, None),
}

#: The order of kinds within one delivery: what an item needs goes before it
#: (model and step events need only their session, so each kind batches whole).
PHASES = {"session": 0, "model": 1, "event": 2, "update": 3}

SINGLE_PATH = ROUTES["model"].single
BATCH_PATH = ROUTES["model"].batch

#: Longest string kept when an event alone is too large for the server; each
#: further 413 halves it, down to TRUNCATE_FLOOR.
TRUNCATE_START = 64 * 1024
TRUNCATE_FLOOR = 256
TRUNCATION_MARKER = MARKER = "...[truncated]"


class Prepared(NamedTuple):
    """One item ready to send: its id, its JSON (UTF-8), its kind, and what it needs.

    Encoded once on the worker; the same bytes go into batch bodies, the spool
    and the dead-letter file.
    """

    #: The id the item is known by: the event's, the session's, or an update's own.
    event_id: str
    data: bytes
    #: ``model``, ``event`` (tool or chain), ``session`` or ``update`` (see ROUTES).
    kind: str = "model"
    #: The id of the item that must reach the server first (an event's session,
    #: an update's event), or None.
    after: str | None = None
    #: The API version the bytes are written for (see :mod:`.codec`).
    encoding: str = "legacy"


def kind_of(record: Record | Unbuilt) -> str:
    """The kind of item a record (made or not) is sent as."""
    if type(record) is Unbuilt:
        return "model" if record.cls is ModelEvent else "event"
    if isinstance(record, ModelEvent):
        return "model"
    if isinstance(record, SessionStart):
        return "session"
    if isinstance(record, EventUpdate):
        return "update"
    return "event"


def by_phase(events: list[Prepared]) -> list[Prepared]:
    """*events* in the order they must reach the server (stable within a phase)."""
    if all(e.kind == "model" for e in events):
        return events
    return sorted(events, key=lambda e: PHASES[e.kind])


@attrs.define
class Delivery:
    """What became of the events given to :meth:`HttpTransport.deliver`."""

    #: event_id -> id the server answered with.
    acked: dict[str, str] = attrs.field(factory=dict)
    #: (event, reason) for events the server refused for good.
    rejected: list[tuple[Prepared, str]] = attrs.field(factory=list)
    #: events not delivered before the deadline; the caller spools them.
    unsent: list[Prepared] = attrs.field(factory=list)
    #: how many of ``unsent`` were not even tried: they wait behind an item
    #: in the spool (the server may well be reachable).
    held: int = 0
    retries: int = 0
    truncated: int = 0


def by_size(
    events: list[Prepared], limit: int, batches: Callable[[Prepared], bool]
) -> list[list[Prepared]]:
    """Cut *events* into runs of one kind and encoding whose JSON takes at most
    *limit* bytes.

    Every run holds at least one item; items for which *batches* is False (their
    kind has no batch route in their API version) go one per run.
    """
    chunks: list[list[Prepared]] = []
    current: list[Prepared] = []
    size = 0
    kind = encoding = None
    alone = False  # whether the current run's items go one per request
    for event in events:
        length = len(event.data) + 1  # and its comma
        if current and (
            alone or size + length > limit or event.kind != kind or event.encoding != encoding
        ):
            chunks.append(current)
            current, size = [], 0
        if not current:  # a run starts: what its items share is looked up once
            kind, encoding, alone = event.kind, event.encoding, not batches(event)
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


def parse_ack(chunk: list[Prepared], body: Any, batch: bool) -> dict[str, str]:
    """Map each sent item's id to the id the server answered with (ours if none)."""
    ids: list[Any] = []
    kind = chunk[0].kind
    if isinstance(body, dict):
        if batch:
            ids = body.get("event_ids") or []
        else:
            ids = [body.get("session_id" if kind == "session" else "event_id")]
    if len(ids) == len(chunk) and all(type(i) is str and i for i in ids):  # the usual answer
        return {event.event_id: server_id for event, server_id in zip(chunk, ids, strict=True)}
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
