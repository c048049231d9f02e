"""A stdlib HTTP server on 127.0.0.1 that speaks HoneyHive's v0 routes and can be down.

Unlike the collector it validates nothing: it answers every route the library
uses with the shape HoneyHive answers with, records what it accepted in the
order it accepted it, and can refuse everything (``down``) or the next
requests (``fail_next``) with a status, so ordering can be checked across
retries, outages and spool replays.
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

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, item) for each item the request carried: model, event, session, update."""
        body = self.body
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

    def fail_next(self, count: int, status: int = 503) -> None:
        """Refuse the next *count* requests with *status*."""
        with self._lock:
            self._fail_next = count
            self.status_when_down = status

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every accepted item, in the order the server accepted it."""
        for request in list(self.accepted):
            yield from request.items()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        with self._lock:
            self.received.append((method, handler.path))
            refuse = self.down or self._fail_next > 0
            if self._fail_next > 0:
                self._fail_next -= 1
            status = self.status_when_down
            if not refuse:
                body = json.loads(raw)
                accepted = Accepted(method, handler.path, body)
                self.accepted.append(accepted)
        if refuse:
            self._answer(handler, status, {"message": "unavailable"})
            return
        self._answer(handler, 200, _ack(accepted))

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
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


def _ack(request: Accepted) -> dict[str, Any]:
    items = request.items()
    if request.method == "PUT":
        return {"success": True}
    if request.path == "/session/start":
        return {"session_id": items[0][1].get("session_id")}
    if request.path.endswith("/batch"):
        return {"event_ids": [item.get("event_id") for _, item in items], "success": True}
    return {"event_id": items[0][1].get("event_id"), "success": True}
