"""The v1 write endpoints: validated (:mod:`._validate_v1`), read back (:mod:`._readback`)
and stored in the same tables as the legacy routes.

* ``POST /v1/events``: one event, answered ``PostEventResponse``;
* ``POST /v1/events/batch``: events, answered ``PostEventBatchResponse``; with
  ``single_session`` every event joins one session made from ``session_properties``;
* ``POST /v1/sessions``: a session, idempotent by ``session_id``, answered with the session
  event (``PostSessionStartResponse``);
* ``POST /v1/sessions/{session_id}/events/batch``: events of that session (the path's id
  replaces theirs), answered ``SessionTracesResponse``;
* ``PUT /v1/events/{event_id}``: :func:`parse_update_v1` makes it a ``PUT /events`` update,
  which the ingest app applies.

An event of ``event_type`` ``session`` is stored as a session (its ``event_id`` is the
session's id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from honeyhive_trace.collector._decode import decode_json
from honeyhive_trace.collector._readback import session_answer, stored_event, stored_session
from honeyhive_trace.collector._rows import Handled, Row, prepare, session_of
from honeyhive_trace.collector._validate import ValidationError
from honeyhive_trace.collector._validate_v1 import (
    parse_event,
    parse_event_batch,
    parse_session,
    parse_session_batch,
)
from honeyhive_trace.collector._validate_v1 import parse_update as parse_update_v1
from honeyhive_trace.collector._wsgi import (
    V1_EVENT_BATCH_PATH,
    V1_EVENTS_PATH,
    V1_SESSION_BATCH_PATH,
    V1_SESSIONS_PATH,
)

__all__ = ["V1_POSTS", "parse_update_v1"]


def _store(
    events: list[dict[str, Any]], project: str, where: str
) -> tuple[list[str], list[Row], list[Row]]:
    """Read back and prepare *events*; return their ids (in order), event and session rows."""
    ids: list[str] = []
    plain: list[dict[str, Any]] = []
    sessions: list[Row] = []
    for event in events:
        if event["event_type"] == "session":
            row = session_of(stored_session(event, project))
            sessions.append(row)
            ids.append(row[0])
        else:
            plain.append(stored_event(event, project))
            ids.append("")  # filled below, in order
    plain_ids, rows = prepare(plain, None, where)
    assigned = iter(plain_ids)
    return [i or next(assigned) for i in ids], rows, sessions


def _event(raw: bytes, param: str, project: str) -> Handled:
    ids, rows, sessions = _store([parse_event(decode_json(raw))], project, "event")
    return {"event_id": ids[0], "success": True}, rows, sessions


def _single_session(
    events: list[dict[str, Any]], properties: dict[str, Any], project: str
) -> dict[str, Any]:
    """Put every event of a ``single_session`` batch into one session; return it."""
    named = {ev["session_id"] for ev in events if "session_id" in ev}
    named |= {properties["session_id"]} if "session_id" in properties else set()
    if len(named) > 1:
        message = "single_session is set but the batch names several session_ids"
        raise ValidationError([{"field": "events", "message": message}])
    session_id = named.pop() if named else str(uuid.uuid4())
    for ev in events:
        ev["session_id"] = session_id
    source = next((ev["source"] for ev in events if "source" in ev), "unknown")
    return stored_session({"source": source, **properties, "session_id": session_id}, project)


def _event_batch(raw: bytes, param: str, project: str) -> Handled:
    events, single, properties = parse_event_batch(decode_json(raw))
    session = _single_session(events, properties, project) if single else None
    ids, rows, sessions = _store(events, project, "events")
    answer: dict[str, Any] = {"event_ids": ids, "success": True}
    if session is not None:
        answer["session_id"] = session["session_id"]
        sessions.append(session_of(session))
    return answer, rows, sessions


def _session(raw: bytes, param: str, project: str) -> Handled:
    stored = stored_session(parse_session(decode_json(raw)), project)
    return session_answer(stored), [], [session_of(stored)]


def _session_batch(raw: bytes, session_id: str, project: str) -> Handled:
    events = parse_session_batch(decode_json(raw), session_id)
    for ev in events:
        ev["session_id"] = session_id
    _, rows, sessions = _store(events, project, "events")
    return {"success": True}, rows, sessions


#: v1 POST route -> handler of (body, path parameter, default project).
V1_POSTS: dict[str, Callable[[bytes, str, str], Handled]] = {
    V1_EVENTS_PATH: _event,
    V1_EVENT_BATCH_PATH: _event_batch,
    V1_SESSIONS_PATH: _session,
    V1_SESSION_BATCH_PATH: _session_batch,
}
