"""Real HTTP servers on 127.0.0.1 for the middleware and outgoing-header tests.

:class:`WSGIServer` serves a WSGI app with werkzeug in a thread; :class:`ASGIServer`
serves an ASGI app with uvicorn in a thread, on a socket bound and listening
before the server starts (so a request never races its start-up);
:class:`Arrivals` is a processor that lets a test wait, without sleeping,
until an event ended in the server's thread; :class:`HeaderEcho` is a WSGI
app that records the headers each request brought; :class:`DrippingServer`
answers one byte at a time, slowly, for ever.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import uvicorn
from werkzeug.serving import make_server

from honeyhive_trace.records import Event, Record

__all__ = ["ASGIServer", "Arrivals", "DrippingServer", "HeaderEcho", "WSGIServer"]


class WSGIServer:
    """``with WSGIServer(app) as server:`` serves *app* on ``server.url`` (threaded)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> WSGIServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class ASGIServer:
    """``with ASGIServer(app) as server:`` serves *app* with uvicorn on ``server.url``."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)  # connections queue until uvicorn accepts them
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, lifespan="off", log_level="critical", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> ASGIServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class Arrivals:
    """A processor keeping every event record, that a test can wait on."""

    def __init__(self) -> None:
        self.records: list[Event] = []
        self._ready = threading.Condition()

    def __call__(self, record: Record) -> Record:
        if isinstance(record, Event):
            with self._ready:
                self.records.append(record)
                self._ready.notify_all()
        return record

    def wait(self, timeout: float = 10, **fields: Any) -> Event:
        """The one event matching *fields*, once it has ended (AssertionError after *timeout*)."""

        def found() -> list[Event]:
            return [
                r for r in self.records if all(getattr(r, k, None) == v for k, v in fields.items())
            ]

        with self._ready:
            if not self._ready.wait_for(found, timeout=timeout):
                raise AssertionError(f"no event matching {fields} in {timeout} s")
            [record] = found()
        return record

    def children(self, parent: Event) -> list[Event]:
        """The events recorded so far whose parent is *parent*."""
        with self._ready:
            return [r for r in self.records if r.parent_id == parent.event_id]


class HeaderEcho:
    """A WSGI app recording the headers of each request; ``/redirect?to=URL`` redirects."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        with self._lock:
            self.received.append(headers)
        if environ.get("PATH_INFO") == "/redirect":
            target = environ.get("QUERY_STRING", "").removeprefix("to=")
            start_response("302 Found", [("Location", target), ("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    def last(self) -> dict[str, str]:
        """The headers of the latest request."""
        with self._lock:
            return self.received[-1]


class DrippingServer:
    """``with DrippingServer(interval) as server:`` answers every request one byte per *interval*.

    Each read the client makes gets a byte well within any read timeout, and
    the answer never ends: only a total deadline ends such a request.
    """

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"

    def __init__(self, interval: float = 0.05, head_at_once: bool = False) -> None:
        self.interval = interval
        #: Send the status line and headers at once; only the body drips.
        self.head_at_once = head_at_once
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        #: Requests that arrived (their first bytes were read).
        self.requests = 0
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> DrippingServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept(self) -> None:
        self._listener.settimeout(0.05)  # closing it does not wake accept(): look again
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            thread = threading.Thread(target=self._drip, args=(conn,), daemon=True)
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                if not conn.recv(65536):
                    return
                with self._lock:
                    self.requests += 1
                body = self.ANSWER + b" " * 100_000
                if self.head_at_once:
                    conn.sendall(self.ANSWER)
                    body = body[len(self.ANSWER) :]
                for i in range(len(body)):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(body[i : i + 1])
            except OSError:
                return  # the client gave up: what the tests want

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        self._listener.close()
