"""The write endpoints: model events, generic events, event batches, sessions and updates.

:class:`IngestApp` sees only requests that passed the collector's checks (route, Host, auth,
Content-Type, framing): it decodes, validates (400), stores (everything committed before the
answer) and answers as HoneyHive does:

* ``POST /events/model`` and ``POST /events/model/batch``: model events;
* ``POST /events`` and ``POST /events/batch``: ``CreateEventRequest`` events (tool, chain,
  model); a batch with ``is_single_session`` puts every event in one session and stores it;
* ``POST /session/start``: a session, idempotent by ``session_id``;
* ``PUT /events``: an update merged into a stored event or session (404 when unknown);
* the v1 routes (``/v1/events``, ``/v1/events/batch``, ``/v1/sessions``,
  ``/v1/sessions/{session_id}/events/batch``, ``PUT /v1/events/{event_id}``), handled by
  :mod:`._ingest_v1` and stored in the same tables.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from honeyhive_trace.collector._decode import decode_envelope, decode_json
from honeyhive_trace.collector._ingest_v1 import V1_POSTS, parse_update_v1
from honeyhive_trace.collector._rows import Handled, now_ms, prepare, session_of
from honeyhive_trace.collector._store import EventStore
from honeyhive_trace.collector._validate import ValidationError, parse_batch, parse_single
from honeyhive_trace.collector._validate_v0 import (
    parse_event,
    parse_event_batch,
    parse_session,
    parse_update,
)
from honeyhive_trace.collector._wsgi import (
    BATCH_PATH,
    EVENT_BATCH_PATH,
    EVENTS_PATH,
    SESSION_START_PATH,
    SINGLE_PATH,
    V1_EVENT_PATH,
    error_body,
    one_error,
    read_exactly,
    reject,
    respond,
    v1_route,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("honeyhive_trace.collector")


class _NotFound(Exception):
    """The update names no stored event or session."""


def _model_event(raw: bytes) -> Handled:
    body, texts = decode_envelope(raw, "model_event", many=False)
    ids, rows = prepare([parse_single(body)], texts, "model_event")
    return {"event_id": ids[0], "success": True}, rows, []


def _model_batch(raw: bytes) -> Handled:
    body, texts = decode_envelope(raw, "model_events", many=True)
    ids, rows = prepare(parse_batch(body), texts, "model_events")
    return {"event_ids": ids, "success": True}, rows, []


def _event(raw: bytes) -> Handled:
    body, texts = decode_envelope(raw, "event", many=False)
    ids, rows = prepare([parse_event(body)], texts, "event")
    return {"event_id": ids[0], "success": True}, rows, []


def _event_batch(raw: bytes) -> Handled:
    body, texts = decode_envelope(raw, "events", many=True)
    events, single, properties = parse_event_batch(body)
    if not single:
        ids, rows = prepare(events, texts, "events")
        return {"event_ids": ids, "success": True}, rows, []
    named = {ev["session_id"] for ev in events if "session_id" in ev}
    named |= {properties["session_id"]} if "session_id" in properties else set()
    if len(named) > 1:
        message = "is_single_session is set but the batch names several session_ids"
        raise ValidationError([{"field": "events", "message": message}])
    session_id = named.pop() if named else str(uuid.uuid4())
    for ev in events:
        if "session_id" not in ev:
            ev["session_id"] = session_id
            texts = None  # the posted texts lack the session id now
    ids, rows = prepare(events, texts, "events")
    session = {
        "project": events[0]["project"],
        "source": events[0]["source"],
        "session_name": None,
        **properties,
        "session_id": session_id,
        "event_id": session_id,
        "event_type": "session",
    }
    answer = {"event_ids": ids, "session_id": session_id, "success": True}
    return answer, rows, [session_of(session)]


def _session_start(raw: bytes) -> Handled:
    session = parse_session(decode_json(raw))
    row = session_of(session)
    return {"session_id": row[0]}, [], [row]


_POSTS: dict[str, Callable[[bytes], Handled]] = {
    SINGLE_PATH: _model_event,
    BATCH_PATH: _model_batch,
    EVENTS_PATH: _event,
    EVENT_BATCH_PATH: _event_batch,
    SESSION_START_PATH: _session_start,
}


class IngestApp:
    """A WSGI application that validates and stores what clients send.

    Args:
        store: Where to store.
        default_project: The project of what comes without one (the v1 routes).
    """

    def __init__(self, store: EventStore, default_project: str = "default") -> None:
        """Store into ``store``."""
        self.store = store
        self.default_project = default_project

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Validate, store and answer one write request (a WSGI application)."""
        raw = read_exactly(environ, int(environ.get("CONTENT_LENGTH") or 0))
        path = environ.get("PATH_INFO", "")
        route, param = v1_route(path) or (path, "")
        try:
            if route == V1_EVENT_PATH:
                answer = self._update(parse_update_v1(decode_json(raw), param))
            elif environ.get("REQUEST_METHOD") == "PUT":
                answer = self._update(parse_update(decode_json(raw)))
            else:
                if route in V1_POSTS:
                    answer, rows, sessions = V1_POSTS[route](raw, param, self.default_project)
                else:
                    answer, rows, sessions = _POSTS[path](raw)
                self.store.insert(rows, sessions)
        except ValidationError as exc:
            return respond(start_response, 400, error_body(exc.errors))
        except _NotFound as exc:
            return respond(start_response, 404, one_error("event_id", str(exc)))
        except sqlite3.Error as exc:
            logger.error("collector could not store a request to %s: %s", path, exc)
            message = one_error("", f"could not store: {exc}")
            return reject(environ, start_response, 500, message)
        return respond(start_response, 200, json.dumps(answer).encode())

    def _update(self, update: dict[str, Any]) -> dict[str, Any]:
        if self.store.update(update, now_ms()) is None:
            raise _NotFound(f"no event or session with id {update['event_id']}")
        return {"success": True}
