"""A stdlib HTTP server on 127.0.0.1 that speaks HoneyHive's legacy and v1 routes.

Unlike the collector it validates nothing: it answers every route the library
uses with the shape HoneyHive answers with, records what it accepted in the
order it accepted it, and can refuse everything (``down``), the next requests
(``fail_next``, with a ``Retry-After`` if asked), bodies over a size
(``max_body``: 413) or part of the next batch (``partial_next``: 500 naming
the ids it stored), so delivery can be checked across retries, outages and
spool replays in both API versions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Accepted", "Recorder"]


@dataclass(frozen=True)
class Accepted:
    """One request the server answered with 200."""

    method: str
    path: str
    body: dict[str, Any]

    @property
    def version(self) -> str:
        """``"v1"`` or ``"legacy"``: the API version of the route."""
        return "v1" if self.path.startswith("/v1/") else "legacy"

    @property
    def route(self) -> str:
        """The route's path as the OpenAPI document spells it."""
        if self.method == "PUT" and self.path.startswith(V1_UPDATE):
            return V1_UPDATE + "{event_id}"
        return self.path

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, item) for each item the request carried: model, event, session, update.

        A v1 update's item gets its ``event_id`` from the path, as in the legacy body.
        """
        body = self.body
        if self.version == "v1":
            return _v1_items(self.method, self.path, body)
        if self.method == "PUT":
            return [("update", body)]
        if self.path == "/session/start":
            return [("session", body["session"])]
        if self.path == "/events/model":
            return [("model", body["model_event"])]
        if self.path == "/events/model/batch":
            return [("model", e) for e in body["model_events"]]
        if self.path == "/events":
            return [("event", body["event"])]
        return [("event", e) for e in body["events"]]


V1_UPDATE = "/v1/events/"


def _v1_kind(event: dict[str, Any]) -> str:
    return "model" if event.get("event_type") == "model" else "event"


def _v1_items(method: str, path: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if method == "PUT":
        return [("update", {**body, "event_id": path[len(V1_UPDATE) :]})]
    if path == "/v1/sessions":
        return [("session", body)]
    if path == "/v1/events":
        return [(_v1_kind(body), body)]
    return [(_v1_kind(e), e) for e in body["events"]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-request is not a test failure


class Recorder:
    """The server; use as a context manager."""

    def __init__(self) -> None:
        self.accepted: list[Accepted] = []
        #: Every (method, path) received, including refused ones.
        self.received: list[tuple[str, str]] = []
        self.down = False
        self.status_when_down = 503
        #: Bodies longer than this are refused with 413.
        self.max_body: int | None = None
        #: Batch requests still to be stored only in part (the first item), 500.
        self.partial_next = 0
        self._retry_after: str | None = None
        self._fail_next = 0
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                recorder._handle(self, "POST")

            def do_PUT(self) -> None:
                recorder._handle(self, "PUT")

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to configure as ``server_url``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        """Refuse the next *count* requests with *status* (and a ``Retry-After``)."""
        with self._lock:
            self._fail_next = count
            self.status_when_down = status
            self._retry_after = retry_after

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every accepted item, in the order the server accepted it."""
        for request in list(self.accepted):
            yield from request.items()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        partial: dict[str, Any] | None = None
        with self._lock:
            self.received.append((method, handler.path))
            refuse = self.down or self._fail_next > 0
            if self._fail_next > 0:
                self._fail_next -= 1
            status, retry_after = self.status_when_down, self._retry_after
            if not refuse and self.max_body is not None and len(raw) > self.max_body:
                refuse, status, retry_after = True, 413, None
            if not refuse:
                accepted = Accepted(method, handler.path, json.loads(raw))
                if self.partial_next and handler.path.endswith("/batch"):
                    self.partial_next -= 1
                    accepted, partial = _first_only(accepted)
                self.accepted.append(accepted)
        if refuse:
            self._answer(handler, status, {"message": "unavailable"}, retry_after)
        elif partial is not None:
            self._answer(handler, 500, partial)
        else:
            self._answer(handler, 200, _ack(accepted))

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        retry_after: str | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        if retry_after is not None:
            handler.send_header("Retry-After", retry_after)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _first_only(request: Accepted) -> tuple[Accepted, dict[str, Any]]:
    """The request as if only its first item was stored, and the 500 answer saying so."""
    key = next(k for k in ("events", "model_events") if k in request.body)
    first = request.body[key][0]
    kept = Accepted(request.method, request.path, {**request.body, key: [first]})
    return kept, {"success": False, "event_ids": [first.get("event_id")], "message": "partly"}


def _ack(request: Accepted) -> dict[str, Any]:
    items = request.items()
    if request.method == "PUT":
        return {"success": True}
    if request.path == "/session/start":
        return {"session_id": items[0][1].get("session_id")}
    if request.path == "/v1/sessions":  # PostSessionStartResponse
        session_id = items[0][1].get("session_id")
        ids = {"org_id": "org", "workspace_id": "ws", "project_id": "project"}
        return {"event_id": session_id, "session_id": session_id, **ids}
    if request.path.endswith("/batch"):
        return {"event_ids": [item.get("event_id") for _, item in items], "success": True}
    return {"event_id": items[0][1].get("event_id"), "success": True}
