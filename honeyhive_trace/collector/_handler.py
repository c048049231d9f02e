"""The HTTP side of the collector: one request handler for the API, the viewer and faults.

Order of checks for a request: route (404) → method (405) → Host (403) → auth (401) →
content type (415) → framing (411/413) → read body → record → fault → validate (400) →
store → answer. Every answer is JSON except the viewer's static files.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import sqlite3
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from honeyhive_trace._version import __version__
from honeyhive_trace.collector._decode import decode_envelope
from honeyhive_trace.collector._faults import BATCH_PATH, Fault
from honeyhive_trace.collector._store import EventQuery, prepare
from honeyhive_trace.collector._validate import (
    FieldError,
    ValidationError,
    parse_batch,
    parse_single,
)
from honeyhive_trace.locations import is_loopback

if TYPE_CHECKING:
    from honeyhive_trace.collector._server import Collector

logger = logging.getLogger("honeyhive_trace.collector")

SINGLE_PATH = "/events/model"
EVENTS_PATH = "/events"
_READ = frozenset({"GET", "HEAD"})
_WRITE = frozenset({"POST"})
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the collector received it (with ``record_requests=True``).

    Attributes:
        method: The HTTP method, e.g. ``POST``.
        path: The request target, including any query string.
        headers: The request headers (the last value wins for repeated names).
        body: The raw body; empty when the collector did not read it.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _error_body(errors: list[FieldError]) -> bytes:
    return json.dumps({"success": False, "errors": errors}).encode()


def _one_error(field: str, message: str) -> bytes:
    return _error_body([{"field": field, "message": message}])


class _Reject(Exception):
    """Answer the request with an error and close the connection."""

    def __init__(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


def _allowed(path: str, static: dict[str, tuple[bytes, str]]) -> frozenset[str] | None:
    """Return the methods ``path`` accepts, or None when no such endpoint exists."""
    if path in (SINGLE_PATH, BATCH_PATH):
        return _WRITE
    if path in (EVENTS_PATH, "/"):
        return _READ
    if path.startswith("/events/") and "/" not in path[len("/events/") :]:
        return _READ
    if path.startswith("/static/") and path[len("/static/") :] in static:
        return _READ
    return None


class CollectorHandler(BaseHTTPRequestHandler):
    """Handles one connection (many keep-alive requests) for a :class:`Collector`."""

    protocol_version = "HTTP/1.1"
    server_version = f"honeyhive-trace-collector/{__version__}"
    sys_version = ""
    # Buffer each answer so headers and body leave in one segment; with Nagle's algorithm
    # and delayed ACKs, two small writes cost the client 40 ms per request.
    wbufsize = 64 * 1024
    collector: Collector  # set on a per-collector subclass

    def version_string(self) -> str:
        """Return the ``Server`` header value."""
        return self.server_version

    # -- connection lifecycle -------------------------------------------------------------

    def setup(self) -> None:
        """Set up the buffered streams and register the connection (for ``stop()``)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.collector._track(self.connection, add=True)

    def finish(self) -> None:
        """Flush and unregister the connection."""
        try:
            super().finish()
        finally:
            self.collector._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Route the base class's per-request logging to a quiet logger."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), format % args)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Answer protocol errors found by the base class (bad request line, ...) with JSON."""
        text = message or HTTPStatus(code).phrase
        if not self.request_version.startswith("HTTP/1."):
            # The base class answers unparseable request lines HTTP/0.9-style: body only.
            # Nobody speaks 0.9 any more; a status line helps every real client.
            self.request_version = "HTTP/1.0"
        logger.debug("%s protocol error %d: %s", self.address_string(), code, text)
        self._send(code, _one_error("", text), headers=(("Connection", "close"),))

    # -- methods --------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Serve the read API and the viewer."""
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        self._recorded = False
        started = time.perf_counter()
        try:
            self._route()
        except _Reject as reject:
            self._send(
                reject.status,
                reject.body,
                headers=(*reject.headers, ("Connection", "close")),
            )
        except (ConnectionError, TimeoutError):
            raise
        except Exception:
            logger.exception("collector failed on %s %s", self.command, self.path)
            self._send(
                500,
                _one_error("", "internal collector error"),
                headers=(("Connection", "close"),),
            )
        finally:
            self._record(b"")
            logger.debug(
                "%s %s took %.2f ms",
                self.command,
                self.path,
                (time.perf_counter() - started) * 1e3,
            )

    def _record(self, body: bytes) -> None:
        if self.collector.record_requests and not self._recorded:
            self._recorded = True
            headers = dict(self.headers.items())
            self.collector._record(RecordedRequest(self.command, self.path, headers, body))

    def _route(self) -> None:
        path = urlsplit(self.path).path
        allowed = _allowed(path, self.collector._static)
        if allowed is None:
            raise _Reject(404, _one_error("path", f"no such endpoint: {path[:200]}"))
        if self.command not in allowed:
            message = f"method {self.command} not allowed; use {', '.join(sorted(allowed))}"
            raise _Reject(
                405,
                _one_error("method", message),
                (("Allow", ", ".join(sorted(allowed))),),
            )
        self._check_host()
        if path in (SINGLE_PATH, BATCH_PATH):
            self._check_auth()
            self._ingest(path)
        elif path == "/" or path.startswith("/static/"):
            self._drain_get()
            self._static(path)
        else:
            self._check_auth()
            self._drain_get()
            self._read(path)

    # -- checks ---------------------------------------------------------------------------

    def _check_host(self) -> None:
        # Without allow_remote the collector only answers to loopback names, so a web page
        # cannot reach it through DNS rebinding.
        if self.collector.allow_remote:
            return
        host = self.headers.get("Host")
        if host is None:
            return
        name = host.strip().lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name
        elif ":" in name:
            name = name.rsplit(":", 1)[0]
        if not is_loopback(name):
            raise _Reject(403, _one_error("Host", "the collector only answers to loopback hosts"))

    def _check_auth(self) -> None:
        key = self.collector._api_key_bytes
        if key is None:
            return
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key)
        if not ok:
            raise _Reject(
                401,
                _one_error("Authorization", "missing or invalid bearer token"),
                (("WWW-Authenticate", 'Bearer realm="honeyhive-trace collector"'),),
            )

    def _body_length(self) -> int:
        if "Transfer-Encoding" in self.headers:
            raise _Reject(411, _one_error("Content-Length", "chunked bodies are not accepted"))
        text = self.headers.get("Content-Length")
        if text is None:
            raise _Reject(411, _one_error("Content-Length", "is required"))
        text = text.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise _Reject(400, _one_error("Content-Length", "must be a non-negative integer"))
        length = int(text)
        limit = self.collector.max_body_bytes
        if length > limit:
            raise _Reject(413, _one_error("Content-Length", f"body exceeds {limit} bytes"))
        return length

    def _read_body(self, length: int) -> bytes | None:
        """Read the body within one overall deadline; None if the client gave up or stalled."""
        deadline = time.monotonic() + self.collector.request_timeout
        chunks: list[bytes] = []
        remaining = length
        while remaining:
            chunk = self.rfile.read1(min(remaining, 1 << 20))
            if not chunk or time.monotonic() > deadline:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _drain_get(self) -> None:
        # A GET with a body is odd but legal; read it (bounded) to keep the connection in step.
        if "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0") != "0":
            length = self._body_length()
            if self._read_body(length) is None:
                raise ConnectionAbortedError("request body truncated")

    # -- ingest ---------------------------------------------------------------------------

    def _ingest(self, path: str) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise _Reject(415, _one_error("Content-Type", "must be application/json"))
        length = self._body_length()
        raw = self._read_body(length)
        if raw is None:
            # Truncated or stalled body: nothing sensible to answer; drop the connection.
            self.close_connection = True
            return
        self._record(raw)  # before any fault, so a hanging request is visible to tests
        collector = self.collector
        fault = collector.faults.take(path) if collector.faults is not None else None
        if fault is not None and not self._apply_fault(fault):
            return
        try:
            if path == SINGLE_PATH:
                body, texts = decode_envelope(raw, "model_event", many=False)
                events = [parse_single(body)]
                ids, rows = prepare(events, texts, "model_event")
            else:
                body, texts = decode_envelope(raw, "model_events", many=True)
                events = parse_batch(body)
                ids, rows = prepare(events, texts, "model_events")
        except ValidationError as exc:
            self._send(400, _error_body(exc.errors))
            return
        if fault is not None and fault.kind == "partial":
            keep = max(0, len(rows) - fault.reject)
            self._store(rows[:keep])
            rejected = [f"event {eid}: rejected by injected fault" for eid in ids[keep:]]
            answer = {"event_ids": ids[:keep], "errors": rejected, "success": True}
            self._send(500, json.dumps(answer).encode())
            return
        self._store(rows)
        if fault is not None and fault.kind == "drop":  # after_store=True
            self.close_connection = True
            return
        if path == SINGLE_PATH:
            self._send(200, json.dumps({"event_id": ids[0], "success": True}).encode())
        else:
            self._send(200, json.dumps({"event_ids": ids, "success": True}).encode())

    def _store(self, rows: list[tuple[Any, ...]]) -> None:
        try:
            self.collector.store.insert(rows)
        except sqlite3.Error as exc:
            logger.error("collector could not store %d events: %s", len(rows), exc)
            raise _Reject(500, _one_error("", f"could not store events: {exc}")) from exc

    def _apply_fault(self, fault: Fault) -> bool:
        """Apply a fault; return True when the request should then be handled normally."""
        stopping = self.collector._stopping
        if fault.kind == "respond":
            self._send(fault.status, fault.body, headers=fault.headers, content_type=None)
            return False
        if fault.kind == "delay":
            if stopping.wait(fault.seconds):
                self.close_connection = True
                return False
            return True
        if fault.kind == "hang":
            stopping.wait()
            self.close_connection = True
            return False
        if fault.kind == "drop" and not fault.after_store:
            self.close_connection = True
            return False
        return True  # partial, drop(after_store=True): handled while storing

    # -- read side ------------------------------------------------------------------------

    def _read(self, path: str) -> None:
        store = self.collector.store
        if path == EVENTS_PATH:
            try:
                query = EventQuery.from_params(
                    parse_qs(
                        urlsplit(self.path).query,
                        keep_blank_values=True,
                        max_num_fields=50,
                    )
                )
            except ValidationError as exc:
                self._send(400, _error_body(exc.errors))
                return
            except ValueError as exc:
                self._send(400, _one_error("query", str(exc)))
                return
            bodies, total = store.query(query)
            payload = '{"events":[' + ",".join(bodies) + '],"total":' + str(total) + "}"
            self._send(200, payload.encode())
            return
        event_id = unquote(path[len("/events/") :])
        body = store.get(event_id)
        if body is None:
            self._send(404, _one_error("event_id", "no event with this id"))
        else:
            self._send(200, body.encode())

    def _static(self, path: str) -> None:
        name = "index.html" if path == "/" else path[len("/static/") :]
        content, content_type = self.collector._static.get(name, (b"", ""))
        if not content_type:
            raise _Reject(404, _one_error("path", f"no such file: {name}"))
        headers = [*_SECURITY_HEADERS, ("Cache-Control", "no-cache")]
        if content_type.startswith("text/html"):
            headers.append(("Content-Security-Policy", _CSP))
        self._send(200, content, content_type=content_type, headers=tuple(headers))

    # -- output ---------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        content_type: str | None = "application/json",
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if content_type == "application/json":
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
