"""The collector as a WSGI application: routing, Host and auth checks, framing, dispatch.

Order of checks for a request: route (404) → method (405) → Host (403) → auth (401) →
content type (415) → framing (411/413) → read body → ingest (faults, validation 400, store)
→ answer. Every answer is JSON except the viewer's static files. Rejections ask the server to
close the connection (see :mod:`honeyhive_trace.collector._wsgi`).
"""

from __future__ import annotations

import hmac
import io
import logging
import sys
import zlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from honeyhive_trace.collector._api import ReadAPI, is_read_path
from honeyhive_trace.collector._ingest import IngestApp
from honeyhive_trace.collector._static import StaticFiles
from honeyhive_trace.collector._store import EventStore
from honeyhive_trace.collector._wsgi import (
    EVENTS_PATH,
    EVENTS_WRITE_METHODS,
    INGEST_PATHS,
    V1_ROUTES,
    Headers,
    WSGIApp,
    one_error,
    read_exactly,
    reject,
    v1_route,
)
from honeyhive_trace.locations import is_loopback

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("honeyhive_trace.collector")

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
_READ = frozenset({"GET", "HEAD"})
_WRITE = frozenset({"POST"})
_EVENTS = _READ | EVENTS_WRITE_METHODS


class _Reject(Exception):
    """Answer the request with an error and close the connection."""

    def __init__(self, status: int, body: bytes, headers: Headers = ()) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


class CollectorApp:
    """The collector's WSGI application; see :func:`make_app`."""

    def __init__(
        self,
        store: EventStore,
        *,
        api_key: str | None = None,
        allow_remote: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        static: StaticFiles | None = None,
        ingest_layer: Callable[[WSGIApplication], WSGIApplication] | None = None,
        default_project: str = "default",
    ) -> None:
        """Answer from ``store``; ``ingest_layer`` wraps the write endpoints (e.g. faults)."""
        self.store = store
        self.allow_remote = allow_remote
        self.max_body_bytes = max_body_bytes
        self._api_key = api_key.encode() if api_key is not None else None
        self._static = static if static is not None else StaticFiles.load()
        self._read = ReadAPI(store)
        ingest: WSGIApplication = IngestApp(store, default_project)
        self._ingest = ingest_layer(ingest) if ingest_layer is not None else ingest

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request (a WSGI application)."""
        try:
            return self._route(environ, start_response)
        except _Reject as exc:
            return reject(environ, start_response, exc.status, exc.body, exc.headers)
        except (ConnectionError, TimeoutError):
            raise  # the client is gone or stalled: the server closes the connection
        except Exception:
            logger.exception(
                "collector failed on %s %s",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
            )
            body = one_error("", "internal collector error")
            return reject(environ, start_response, 500, body, exc_info=sys.exc_info())

    def _allowed(self, path: str) -> frozenset[str] | None:
        """Return the methods ``path`` accepts, or None when no such endpoint exists."""
        if path in INGEST_PATHS:
            return _WRITE
        v1 = v1_route(path)
        if v1 is not None:
            return frozenset({V1_ROUTES[v1[0]]})
        if path == EVENTS_PATH:
            return _EVENTS
        if is_read_path(path) or self._static.serves(path):
            return _READ
        return None

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        allowed = self._allowed(path)
        if allowed is None:
            raise _Reject(404, one_error("path", f"no such endpoint: {path[:200]}"))
        if method not in allowed:
            methods = ", ".join(sorted(allowed))
            message = f"method {method} not allowed; use {methods}"
            raise _Reject(405, one_error("method", message), (("Allow", methods),))
        self._check_host(environ)
        if (
            path in INGEST_PATHS
            or (path == EVENTS_PATH and method in EVENTS_WRITE_METHODS)
            or v1_route(path) is not None
        ):
            self._check_auth(environ)
            return self._ingest_request(environ, start_response)
        if self._static.serves(path):
            self._drain(environ)
            return self._static(environ, start_response)
        self._check_auth(environ)
        self._drain(environ)
        return self._read(environ, start_response)

    # -- checks ---------------------------------------------------------------------------

    def _check_host(self, environ: WSGIEnvironment) -> None:
        # Without allow_remote the collector only answers to loopback names, so a web page
        # cannot reach it through DNS rebinding.
        if self.allow_remote:
            return
        host = environ.get("HTTP_HOST")
        if host is None:
            return
        name = host.strip().lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name
        elif ":" in name:
            name = name.rsplit(":", 1)[0]
        if not is_loopback(name):
            raise _Reject(403, one_error("Host", "the collector only answers to loopback hosts"))

    def _check_auth(self, environ: WSGIEnvironment) -> None:
        key = self._api_key
        if key is None:
            return
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key)
        if not ok:
            raise _Reject(
                401,
                one_error("Authorization", "missing or invalid bearer token"),
                (("WWW-Authenticate", 'Bearer realm="honeyhive-trace collector"'),),
            )

    def _body_length(self, environ: WSGIEnvironment) -> int:
        if "HTTP_TRANSFER_ENCODING" in environ:
            raise _Reject(411, one_error("Content-Length", "chunked bodies are not accepted"))
        text = environ.get("CONTENT_LENGTH")
        if text is None:
            raise _Reject(411, one_error("Content-Length", "is required"))
        text = text.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise _Reject(400, one_error("Content-Length", "must be a non-negative integer"))
        length = int(text)
        if length > self.max_body_bytes:
            message = f"body exceeds {self.max_body_bytes} bytes"
            raise _Reject(413, one_error("Content-Length", message))
        return length

    def _drain(self, environ: WSGIEnvironment) -> None:
        # A GET with a body is odd but legal; read it (bounded) to keep the connection in step.
        if "HTTP_TRANSFER_ENCODING" in environ or environ.get("CONTENT_LENGTH", "0") != "0":
            read_exactly(environ, self._body_length(environ))

    # -- ingest ---------------------------------------------------------------------------

    def _ingest_request(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise _Reject(415, one_error("Content-Type", "must be application/json"))
        length = self._body_length(environ)
        raw = self._decoded(environ, read_exactly(environ, length))
        # The ingest layers get the whole body, already read, decoded and bounded.
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return self._ingest(environ, start_response)

    def _decoded(self, environ: WSGIEnvironment, raw: bytes) -> bytes:
        """*raw* as sent with ``Content-Encoding: gzip`` (or none), bounded once decoded too."""
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding in ("", "identity"):
            return raw
        if encoding != "gzip":
            raise _Reject(415, one_error("Content-Encoding", "must be gzip or identity"))
        inflate = zlib.decompressobj(wbits=31)
        try:
            body = inflate.decompress(raw, self.max_body_bytes + 1)
        except zlib.error:
            raise _Reject(400, one_error("Content-Encoding", "body is not valid gzip")) from None
        if len(body) > self.max_body_bytes:
            message = f"body exceeds {self.max_body_bytes} bytes once decompressed"
            raise _Reject(413, one_error("Content-Encoding", message))
        if not inflate.eof or inflate.unused_data:
            raise _Reject(400, one_error("Content-Encoding", "body is not one whole gzip member"))
        return body


def make_app(
    store: EventStore,
    *,
    api_key: str | None = None,
    allow_remote: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    default_project: str = "default",
) -> WSGIApp:
    """Return the collector as a WSGI application, to serve with any WSGI server.

    It answers the same endpoints as :class:`Collector` (ingest, ``GET /events``, the
    viewer), storing to ``store``. Unlike :class:`Collector` it binds nothing and injects no
    faults; the server in front of it owns sockets, keep-alive and timeouts. Example::

        from wsgiref.simple_server import make_server
        from honeyhive_trace.collector import EventStore, make_app

        app = make_app(EventStore("events.db"), api_key="local-key")
        make_server("127.0.0.1", 8719, app).serve_forever()

    Args:
        store: Where events are stored and read from; the caller closes it.
        api_key: When set, every API request must carry ``Authorization: Bearer <key>``.
        allow_remote: Answer requests whose ``Host`` is not a loopback name (without it, a
            page on a rebound DNS name cannot reach the collector).
        max_body_bytes: Larger request bodies are answered with 413.
        default_project: The project of events and sessions that come without one (the v1
            routes, whose project HoneyHive takes from the API key).

    Returns:
        The WSGI callable ``app(environ, start_response)``; it is safe to call from many
        threads at once.

    Raises:
        ValueError: If ``max_body_bytes`` is not positive, or ``api_key`` or
            ``default_project`` is empty or not printable.
    """
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
    if api_key is not None and (not api_key or not api_key.isprintable()):
        raise ValueError("api_key must be a non-empty printable string")
    check_project(default_project)
    return CollectorApp(
        store,
        api_key=api_key,
        allow_remote=allow_remote,
        max_body_bytes=max_body_bytes,
        default_project=default_project,
    )


def check_project(project: str) -> None:
    """Refuse a ``default_project`` that is not a non-empty printable string (ValueError)."""
    if not isinstance(project, str) or not project.strip() or not project.isprintable():
        raise ValueError(f"default_project must be a non-empty printable string, got {project!r}")
