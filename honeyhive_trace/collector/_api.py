"""The read API: events, sessions and the updates applied to them.

* ``GET /events``: events, filtered, newest first by start time: ``{"events", "total"}``.
* ``GET /events/<event_id>``: one event (updates merged in).
* ``GET /events/<event_id>/updates``: ``{"updates": [...]}``, the updates applied to it.
* ``GET /sessions``: session summaries with aggregates, newest first: ``{"sessions",
  "total"}``.
* ``GET /sessions/<session_id>``: ``{"session", "events", "updates"}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from honeyhive_trace.collector._query import EventQuery, SessionQuery
from honeyhive_trace.collector._store import EventStore
from honeyhive_trace.collector._validate import ValidationError
from honeyhive_trace.collector._wsgi import (
    EVENTS_PATH,
    SESSIONS_PATH,
    error_body,
    one_error,
    respond,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

EVENT_PREFIX = EVENTS_PATH + "/"
SESSION_PREFIX = SESSIONS_PATH + "/"
UPDATES_SUFFIX = "/updates"


def _tail(path: str, prefix: str) -> str | None:
    """Return the single path segment after ``prefix``, or None."""
    if not path.startswith(prefix):
        return None
    name = path[len(prefix) :]
    return name if name and "/" not in name else None


def _event_updates_id(path: str) -> str | None:
    if path.endswith(UPDATES_SUFFIX):
        return _tail(path[: -len(UPDATES_SUFFIX)], EVENT_PREFIX)
    return None


def is_event_path(path: str) -> bool:
    """Return whether ``path`` is ``/events/<event_id>``."""
    return path.startswith(EVENT_PREFIX) and "/" not in path[len(EVENT_PREFIX) :]


def is_read_path(path: str) -> bool:
    """Return whether ``path`` is one of the read endpoints other than ``/events``."""
    return (
        is_event_path(path)
        or path == SESSIONS_PATH
        or _tail(path, SESSION_PREFIX) is not None
        or _event_updates_id(path) is not None
    )


def _text(name: str) -> str:
    # PATH_INFO is percent-decoded bytes as latin-1 (PEP 3333); ids are UTF-8 text.
    try:
        return name.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return name


class ReadAPI:
    """A WSGI application answering the read endpoints from an :class:`EventStore`."""

    def __init__(self, store: EventStore) -> None:
        """Read from ``store``."""
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one read request (a WSGI application)."""
        path = environ.get("PATH_INFO", "")
        try:
            params = parse_qs(
                environ.get("QUERY_STRING", ""), keep_blank_values=True, max_num_fields=50
            )
        except ValueError as exc:  # more than max_num_fields
            return respond(start_response, 400, one_error("query", str(exc)))
        try:
            if path == EVENTS_PATH:
                return self._events(params, start_response)
            if path == SESSIONS_PATH:
                return self._sessions(params, start_response)
        except ValidationError as exc:
            return respond(start_response, 400, error_body(exc.errors))
        session_id = _tail(path, SESSION_PREFIX)
        if session_id is not None:
            return self._session(_text(session_id), start_response)
        updates_of = _event_updates_id(path)
        if updates_of is not None:
            updates = self.store.updates(_text(updates_of))
            return respond(start_response, 200, json.dumps({"updates": updates}).encode())
        return self._one(_text(path[len(EVENT_PREFIX) :]), start_response)

    def _events(
        self, params: Mapping[str, Sequence[str]], start_response: StartResponse
    ) -> Iterable[bytes]:
        bodies, total = self.store.query(EventQuery.from_params(params))
        payload = '{"events":[' + ",".join(bodies) + '],"total":' + str(total) + "}"
        return respond(start_response, 200, payload.encode())

    def _sessions(
        self, params: Mapping[str, Sequence[str]], start_response: StartResponse
    ) -> Iterable[bytes]:
        sessions, total = self.store.sessions(SessionQuery.from_params(params))
        payload = {"sessions": sessions, "total": total}
        return respond(start_response, 200, json.dumps(payload).encode())

    def _session(self, session_id: str, start_response: StartResponse) -> Iterable[bytes]:
        found = self.store.session(session_id)
        if found is None:
            message = f"no session with id {session_id[:200]}"
            return respond(start_response, 404, one_error("session_id", message))
        return respond(start_response, 200, json.dumps(found).encode())

    def _one(self, event_id: str, start_response: StartResponse) -> Iterable[bytes]:
        body = self.store.get(event_id)
        if body is None:
            return respond(start_response, 404, one_error("event_id", "no event with this id"))
        return respond(start_response, 200, body.encode())
