"""The thin threaded HTTP/1.1 server that runs the collector's WSGI application.

It owns what a WSGI application cannot: sockets, keep-alive, the per-connection timeout and
the overall deadline for a request body (against slow clients), JSON answers to requests too
malformed to reach the application (400, 414, 431, 501, 505), recording requests, and the
two faults that need the raw socket: when the application raises :class:`ConnectionError` or
:class:`TimeoutError` (``drop``, ``hang`` and ``delay`` cut short by ``stop()``, or a
truncated or stalled body), the connection is closed without an answer.

The connection is also closed after an answer when the application set
``environ[CLOSE_CONNECTION]`` or did not read the whole request body.
"""

from __future__ import annotations

import io
import logging
import select
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from honeyhive_trace import __version__
from honeyhive_trace.collector._limits import DeadlineReader, LoadShedding
from honeyhive_trace.collector._wsgi import CLOSE_CONNECTION, one_error

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

logger = logging.getLogger("honeyhive_trace.collector")

_CHUNK = 1 << 20


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


class _Body(io.RawIOBase):
    """``wsgi.input``: at most Content-Length bytes of the body, read within one deadline."""

    def __init__(
        self,
        rfile: io.BufferedIOBase,
        length: int,
        timeout: float,
        on_complete: Callable[[bytes], None] | None,
    ) -> None:
        super().__init__()
        self._rfile = rfile
        self.remaining = length
        self._timeout = timeout
        self._deadline: float | None = None
        self._on_complete = on_complete
        self._seen: list[bytes] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        size = min(len(view), self.remaining, _CHUNK)
        if size == 0:
            return 0
        if self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        chunk = self._rfile.read1(size)
        if chunk and time.monotonic() > self._deadline:
            raise TimeoutError("request body not received in time")
        view[: len(chunk)] = chunk
        self.remaining -= len(chunk)
        if self._on_complete is not None and chunk:
            self._seen.append(chunk)
            if self.remaining == 0:
                self._on_complete(b"".join(self._seen))
                self._on_complete = None
        return len(chunk)


class _Handler(BaseHTTPRequestHandler):
    """Turns each request of a (keep-alive) connection into one WSGI call."""

    protocol_version = "HTTP/1.1"
    server_version = f"honeyhive-trace-collector/{__version__}"
    sys_version = ""
    # Buffer each answer so headers and body leave in one segment; with Nagle's algorithm
    # and delayed ACKs, two small writes cost the client 40 ms per request.
    wbufsize = 64 * 1024
    server: CollectorServer

    def version_string(self) -> str:
        """Return the ``Server`` header value."""
        return self.server_version

    def setup(self) -> None:
        """Set the socket timeout, buffer the streams and register the connection."""
        self.request.settimeout(self.server.request_timeout)
        super().setup()
        # Each request must arrive whole within request_timeout of its first byte.
        self._reader = DeadlineReader(self.connection, self.server.request_timeout)
        self.rfile = io.BufferedReader(self._reader, 64 * 1024)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def handle_one_request(self) -> None:
        """Read and answer one request, within its own deadline."""
        self._reader.next_request()
        super().handle_one_request()

    def finish(self) -> None:
        """Flush and unregister the connection."""
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

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
        body = one_error("", text)
        self._write(code, None, _json_headers(body), body, True)

    def do_GET(self) -> None:
        """Hand the request to the WSGI application."""
        self._run()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _environ(self, body: _Body) -> WSGIEnvironment:
        target = urlsplit(self.path)
        host, port = self.server.server_address[:2]
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(target.path, "latin-1"),
            "QUERY_STRING": target.query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            if "_" in name:  # would be confused with a dash once in the environ
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ.setdefault(key, value)  # the first value, as the collector always read
        return environ

    def _run(self) -> None:
        started = time.perf_counter()
        recorder = self.server.recorder
        recorded = False

        def record(raw: bytes) -> None:
            nonlocal recorded
            if recorder is not None and not recorded:
                recorded = True
                headers = dict(self.headers.items())
                recorder(RecordedRequest(self.command, self.path, headers, raw))

        # Framing is the server's business: never read past this request's body.
        text = (self.headers.get("Content-Length") or "").strip()
        length = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
        chunked = "Transfer-Encoding" in self.headers
        timeout = self.server.request_timeout
        body = _Body(self.rfile, 0 if chunked else length, timeout, record if recorder else None)
        environ = self._environ(body)
        answer: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            answer[:] = [status, list(headers)]
            return written.append

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                data = b"".join([*written, *result])
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not answer:
                raise RuntimeError("the application did not call start_response")
        except (ConnectionError, TimeoutError) as exc:
            logger.debug("%s %s: connection closed: %s", self.command, self.path, exc)
            self.close_connection = True
            return
        except Exception:
            logger.exception("collector failed on %s %s", self.command, self.path)
            error = one_error("", "internal collector error")
            self._write(500, None, _json_headers(error), error, True)
            return
        finally:
            record(b"")  # a request whose body was not (completely) read
            logger.debug(
                "%s %s took %.2f ms",
                self.command,
                self.path,
                (time.perf_counter() - started) * 1e3,
            )
        status, headers = answer
        code, _, reason = status.partition(" ")
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(data))))
        close = bool(environ.get(CLOSE_CONNECTION)) or chunked or body.remaining > 0
        self._write(int(code), reason or None, headers, data, close)

    def _write(
        self,
        code: int,
        reason: str | None,
        headers: list[tuple[str, str]],
        body: bytes,
        close: bool,
    ) -> None:
        self.send_response(code, reason)
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")  # also ends the keep-alive loop
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class CollectorServer(LoadShedding, ThreadingHTTPServer):
    """A threaded HTTP/1.1 server for one WSGI application, stoppable at once.

    Args:
        address: ``(host, port)`` to bind; an IPv6 host is bound as such.
        app: The WSGI application.
        request_timeout: Socket timeout per connection and deadline for reading a body, s.
        stopping: Set when the owner stops; connections accepted after that are cut off.
        recorder: Called with every request that reached the application, or None.
    """

    daemon_threads = True
    allow_reuse_address = True  # restart on the same port while old sockets are in TIME_WAIT
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: WSGIApplication,
        *,
        request_timeout: float,
        stopping: threading.Event,
        recorder: Callable[[RecordedRequest], None] | None = None,
        max_connections: int = 256,
    ) -> None:
        """Bind and listen; :meth:`run` serves."""
        self.app = app
        self.request_timeout = request_timeout
        self.recorder = recorder
        self.limit_connections(max_connections)
        self._stopping = stopping
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_activate(self) -> None:
        """Listen, and make the socket pair that :meth:`wake` uses."""
        super().server_activate()
        self._wake_r, self._wake_w = socket.socketpair()
        self._running = True

    def run(self) -> None:
        """Accept connections until :meth:`wake` is called.

        Unlike ``serve_forever``, which notices ``shutdown()`` only at its next poll, this
        loop also waits on a socket pair, so stopping takes no time and idling costs no CPU.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while self._running:
                pause = self.paused_until - time.monotonic()
                if pause > 0:  # out of file descriptors: let some close, do not spin
                    select.select([self._wake_r], [], [], pause)
                    continue
                for key, _ in selector.select():
                    if key.fileobj is self and self._running:
                        self.handle_request()
        self._wake_r.close()
        self._wake_w.close()
        self.close_reserve()

    def wake(self) -> None:
        """Make :meth:`run` return soon; call from another thread."""
        self._running = False
        try:
            self._wake_w.send(b"x")
        except OSError:  # the loop already ended and closed its end of the pair
            pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep resets and broken pipes from misbehaving clients (routine) off stderr."""
        logger.debug("connection from %s failed", client_address, exc_info=sys.exc_info())

    def track(self, conn: socket.socket, *, add: bool) -> None:
        """Register (or forget) an open connection, for :meth:`close_connections`."""
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
        if add and self._stopping.is_set():
            # Accepted while stopping: do not let it be served by a server that is gone.
            _shut(conn)

    def close_connections(self) -> None:
        """Shut down every open connection (idle keep-alive ones and hanging requests)."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _shut(conn)


def _json_headers(body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("Content-Length", str(len(body))),
    ]


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
