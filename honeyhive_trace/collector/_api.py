"""The read API: ``GET /events`` (filtered, newest first) and ``GET /events/<event_id>``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from honeyhive_trace.collector._store import EventQuery, EventStore
from honeyhive_trace.collector._validate import ValidationError
from honeyhive_trace.collector._wsgi import EVENTS_PATH, error_body, one_error, respond

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

EVENT_PREFIX = EVENTS_PATH + "/"


def is_event_path(path: str) -> bool:
    """Return whether ``path`` is ``/events/<event_id>``."""
    return path.startswith(EVENT_PREFIX) and "/" not in path[len(EVENT_PREFIX) :]


class ReadAPI:
    """A WSGI application answering the read endpoints from an :class:`EventStore`."""

    def __init__(self, store: EventStore) -> None:
        """Read from ``store``."""
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer ``GET /events`` or ``GET /events/<event_id>`` (a WSGI application)."""
        path = environ.get("PATH_INFO", "")
        if path == EVENTS_PATH:
            return self._list(environ, start_response)
        return self._one(path[len(EVENT_PREFIX) :], start_response)

    def _list(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            params = parse_qs(
                environ.get("QUERY_STRING", ""), keep_blank_values=True, max_num_fields=50
            )
            query = EventQuery.from_params(params)
        except ValidationError as exc:
            return respond(start_response, 400, error_body(exc.errors))
        except ValueError as exc:  # more than max_num_fields
            return respond(start_response, 400, one_error("query", str(exc)))
        bodies, total = self.store.query(query)
        payload = '{"events":[' + ",".join(bodies) + '],"total":' + str(total) + "}"
        return respond(start_response, 200, payload.encode())

    def _one(self, name: str, start_response: StartResponse) -> Iterable[bytes]:
        # PATH_INFO is percent-decoded bytes as latin-1 (PEP 3333); ids are UTF-8 text.
        try:
            event_id = name.encode("latin-1").decode("utf-8")
        except UnicodeError:
            event_id = name
        body = self.store.get(event_id)
        if body is None:
            return respond(start_response, 404, one_error("event_id", "no event with this id"))
        return respond(start_response, 200, body.encode())
