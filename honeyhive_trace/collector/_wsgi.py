"""WSGI plumbing shared by the collector's application, its layers and its server.

The collector keeps to plain WSGI (PEP 3333), with two extensions that servers may ignore:

* ``environ[CLOSE_CONNECTION]``: the application sets it to True when the connection should
  not be kept alive after its answer (a rejected request whose body may be unread). The
  collector's own server honours it; WSGI forbids an application to send ``Connection``.
* Raising :class:`ConnectionError` (or :class:`TimeoutError`) from the application means
  "the client is gone or must be cut off: close without an answer". The collector's server
  does exactly that; other servers log the error and close or answer 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from honeyhive_trace.collector._validate import FieldError

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SINGLE_PATH = "/events/model"
BATCH_PATH = "/events/model/batch"
#: ``GET`` lists events, ``POST`` creates one (``CreateEventRequest``), ``PUT`` updates one.
EVENTS_PATH = "/events"
EVENT_BATCH_PATH = "/events/batch"
SESSION_START_PATH = "/session/start"
SESSIONS_PATH = "/sessions"
#: The paths that only take ``POST``; ``/events`` also takes ``POST`` and ``PUT``.
INGEST_PATHS = frozenset({SINGLE_PATH, BATCH_PATH, EVENT_BATCH_PATH, SESSION_START_PATH})
#: Methods of ``/events`` that write (they go through the ingest layers, faults included).
EVENTS_WRITE_METHODS = frozenset({"POST", "PUT"})

#: HoneyHive's v1 data plane. Paths with ``{...}`` take one path segment there.
V1_EVENTS_PATH = "/v1/events"
V1_EVENT_BATCH_PATH = "/v1/events/batch"
V1_SESSIONS_PATH = "/v1/sessions"
V1_SESSION_BATCH_PATH = "/v1/sessions/{session_id}/events/batch"
V1_EVENT_PATH = "/v1/events/{event_id}"
#: v1 route -> the one method it takes; every v1 route writes.
V1_ROUTES = {
    V1_EVENTS_PATH: "POST",
    V1_EVENT_BATCH_PATH: "POST",
    V1_SESSIONS_PATH: "POST",
    V1_SESSION_BATCH_PATH: "POST",
    V1_EVENT_PATH: "PUT",
}


def v1_route(path: str) -> tuple[str, str] | None:
    """Return the v1 route ``path`` belongs to and its path parameter ("" if none).

    ``/v1/events/batch`` is the batch route, not an event named ``batch``.

    Args:
        path: A request path (``PATH_INFO``).

    Returns:
        ``(route, parameter)``, or None when ``path`` is not a v1 route.
    """
    if path in V1_ROUTES:
        return path, ""
    parts = path.split("/")
    # ["", "v1", "events", id] or ["", "v1", "sessions", id, "events", "batch"]
    if len(parts) == 4 and parts[:3] == ["", "v1", "events"] and parts[3]:
        return V1_EVENT_PATH, parts[3]
    if (
        len(parts) == 6
        and parts[:3] == ["", "v1", "sessions"]
        and parts[3]
        and parts[4:] == ["events", "batch"]
    ):
        return V1_SESSION_BATCH_PATH, parts[3]
    return None


#: ``environ`` key the application sets to True to have the connection closed after answering.
CLOSE_CONNECTION = "honeyhive_trace.collector.close_connection"

#: The type of a WSGI application, as public signatures spell it.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

Headers = Sequence[tuple[str, str]]


def error_body(errors: list[FieldError]) -> bytes:
    """Return the JSON body of an error answer."""
    return json.dumps({"success": False, "errors": errors}).encode()


def one_error(field: str, message: str) -> bytes:
    """Return the JSON body of an error answer about one field."""
    return error_body([{"field": field, "message": message}])


def status_line(status: int) -> str:
    """Return a WSGI status string such as ``"404 Not Found"``."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: Headers = (),
    *,
    content_type: str | None = "application/json",
    exc_info: OptExcInfo | None = None,
) -> list[bytes]:
    """Start a complete answer and return its body, for ``return respond(...)``.

    JSON answers are marked ``Cache-Control: no-store``; every answer has a Content-Length.
    """
    out: list[tuple[str, str]] = []
    if content_type is not None:
        out.append(("Content-Type", content_type))
    if content_type == "application/json":
        out.append(("Cache-Control", "no-store"))
    out.append(("Content-Length", str(len(body))))
    out.extend(headers)
    start_response(status_line(status), out, exc_info)
    return [body]


def reject(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: Headers = (),
    *,
    exc_info: OptExcInfo | None = None,
) -> list[bytes]:
    """Answer with an error and ask the server to close the connection afterwards."""
    environ[CLOSE_CONNECTION] = True
    return respond(start_response, status, body, headers, exc_info=exc_info)


def read_exactly(environ: WSGIEnvironment, length: int) -> bytes:
    """Read ``length`` bytes of the request body.

    Raises:
        ConnectionAbortedError: If the body ends early (the client gave up).
    """
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    remaining = length
    while remaining:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionAbortedError("request body truncated")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
