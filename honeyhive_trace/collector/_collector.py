"""The :class:`Collector`: a local HoneyHive-compatible server, its settings and lifecycle.

It composes the pieces: the WSGI application (:mod:`._app`), the fault layer around its ingest
endpoint (:mod:`._faults`), and the thin threaded server (:mod:`._server`) in a daemon thread.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from honeyhive_trace.collector._app import DEFAULT_MAX_BODY_BYTES, CollectorApp, check_project
from honeyhive_trace.collector._faults import FaultLayer, Faults
from honeyhive_trace.collector._query import EventQuery, SessionQuery
from honeyhive_trace.collector._schema import MEMORY
from honeyhive_trace.collector._server import CollectorServer, RecordedRequest
from honeyhive_trace.collector._store import EventStore
from honeyhive_trace.locations import is_loopback, user_data_dir

if TYPE_CHECKING:
    from typing import Self

logger = logging.getLogger("honeyhive_trace.collector")


#: Connections a collector serves at a time (``max_connections``).
DEFAULT_MAX_CONNECTIONS = 256


def default_db_path() -> Path:
    """Return the events database the CLI uses when no ``--db`` is given.

    Returns:
        ``user_data_dir() / "events.db"``.
    """
    return user_data_dir() / "events.db"


class Collector:
    """A local server that speaks HoneyHive's events and sessions API and stores to SQLite.

    It takes model events (``POST /events/model``, ``/events/model/batch``), tool and chain
    events (``POST /events``, ``/events/batch``), sessions (``POST /session/start``) and
    updates (``PUT /events``), and the same through HoneyHive's v1 data plane (``POST
    /v1/events``, ``/v1/events/batch``, ``/v1/sessions``,
    ``/v1/sessions/{session_id}/events/batch``, ``PUT /v1/events/{event_id}``), stored in
    the same tables. Everything is committed to the database before the 200
    answer. ``GET /events``, ``GET /sessions`` and their ``/<id>`` forms read it back, and
    ``GET /`` serves a viewer.

    Example:
        >>> with Collector() as c:
        ...     c.url.startswith("http://127.0.0.1:")
        True

    Args:
        host: Interface to bind; loopback unless ``allow_remote`` and ``api_key`` are set.
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        db: SQLite file (parent directories are created), ``":memory:"``, or None for
            :func:`default_db_path`.
        api_key: When set, every API request must carry ``Authorization: Bearer <key>``.
        max_body_bytes: Larger request bodies are answered with 413.
        faults: A :class:`Faults` script to inject failures, for testing clients.
        record_requests: Keep every request in :attr:`requests`.
        allow_remote: Allow binding a non-loopback interface (requires ``api_key``).
        request_timeout: Socket timeout per connection and deadline for reading a body, s.
        default_project: The project of events and sessions that come without one: those of
            the v1 routes, which have no ``project`` (HoneyHive takes it from the API key).
        request_timeout: Seconds a connection may idle, and the deadline for each request
            (its line, headers and body) from its first byte: a client slower than that
            is cut off.
        max_connections: Connections served at a time; beyond them a client is answered
            ``503`` with ``Retry-After: 1``.

    Raises:
        ValueError: If a setting is invalid, e.g. a remote ``host`` without ``allow_remote``.
        honeyhive_trace.collector.StoreError: If the database cannot be opened.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        db: str | os.PathLike[str] | None = MEMORY,
        api_key: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        faults: Faults | None = None,
        record_requests: bool = False,
        allow_remote: bool = False,
        request_timeout: float = 30.0,
        default_project: str = "default",
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        """Check the settings and open the database; :meth:`start` binds the port."""
        if not is_loopback(host) and not (allow_remote and api_key):
            raise ValueError(
                f"binding non-loopback host {host!r} requires allow_remote=True and an api_key"
            )
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        if not request_timeout > 0:
            raise ValueError(f"request_timeout must be positive, got {request_timeout}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be positive, got {max_connections}")
        if api_key is not None and (not api_key or not api_key.isprintable()):
            raise ValueError("api_key must be a non-empty printable string")
        check_project(default_project)
        self.host = host
        self.default_project = default_project
        self.allow_remote = allow_remote
        self.max_body_bytes = max_body_bytes
        self.faults = faults
        self.record_requests = record_requests
        self.request_timeout = float(request_timeout)
        self.max_connections = max_connections
        self._requested_port = port
        self.db = str(db) if db is not None else str(default_db_path())
        self.store = EventStore(self.db)
        self._stopping = threading.Event()
        self._app = CollectorApp(
            self.store,
            api_key=api_key,
            allow_remote=allow_remote,
            max_body_bytes=max_body_bytes,
            default_project=default_project,
            ingest_layer=(
                None
                if faults is None
                else functools.partial(FaultLayer, faults=faults, stopping=self._stopping)
            ),
        )
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._server: CollectorServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        """Describe the collector without its api key."""
        where = self.url if self._server is not None else f"{self.host}:{self._requested_port}"
        return f"<Collector {where} db={self.db!r}>"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and serve in a background daemon thread.

        Returns:
            This collector, so ``c = Collector().start()`` works.

        Raises:
            RuntimeError: If the collector was stopped (create a new one instead).
            OSError: If the port cannot be bound.
        """
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError("a stopped collector cannot be restarted; create a new one")
            if self._server is not None:
                return self
            self._server = CollectorServer(
                (self.host.strip("[]"), self._requested_port),
                self._app,
                request_timeout=self.request_timeout,
                stopping=self._stopping,
                recorder=self._record if self.record_requests else None,
                max_connections=self.max_connections,
            )
            self._thread = threading.Thread(
                target=self._server.run,
                name=f"honeyhive-trace-collector:{self.port}",
                daemon=True,
            )
            self._thread.start()
        logger.info("collector listening on %s (db: %s)", self.url, self.db)
        return self

    def serve_forever(self) -> None:
        """Serve until :meth:`stop` is called or the calling thread is interrupted (Ctrl-C).

        Raises:
            OSError: If the port cannot be bound.
        """
        self.start()
        try:
            self._stopping.wait()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, close open connections and release hanging requests; idempotent.

        The database stays readable through :meth:`events` and :meth:`count`.
        """
        with self._lock:
            already = self._stopping.is_set()
            self._stopping.set()
            server, thread = self._server, self._thread
        if already or server is None:
            return
        server.wake()
        if thread is not None:
            thread.join()
        server.server_close()
        server.close_connections()
        logger.info("collector on %s stopped", self.url)

    def __enter__(self) -> Self:
        """Start the collector."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the collector."""
        self.stop()

    # -- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port.

        Raises:
            RuntimeError: Before :meth:`start`.
        """
        if self._server is None:
            raise RuntimeError("the collector is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. ``http://127.0.0.1:8719``.

        Raises:
            RuntimeError: Before :meth:`start`.
        """
        host = self.host.strip("[]")
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- data, for tests and the CLI ------------------------------------------------------

    def events(
        self,
        *,
        project: str | None = None,
        model: str | None = None,
        session_id: str | None = None,
        event_name: str | None = None,
        has_error: bool | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        event_type: str | None = None,
        session_name: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return stored events, newest first, with the filters of ``GET /events``.

        Args:
            project: Only events of this project.
            model: Only events of this model.
            session_id: Only events of this session.
            event_name: Only events with this name.
            has_error: True for failed calls only, False for successful ones only.
            since: Only events with ``start_time >= since`` (unix ms).
            until: Only events with ``start_time < until`` (unix ms).
            limit: Most events to return; None (unlike ``GET /events``) for all.
            offset: Events to skip.
            event_type: Only events of this type: ``model``, ``tool`` or ``chain``.
            session_name: Only events of sessions with this name.

        Returns:
            The events as they were posted (plus ``event_id`` where the collector set it,
            and the fields of later updates merged in).
        """
        query = EventQuery(
            project=project,
            model=model,
            session_id=session_id,
            event_name=event_name,
            has_error=has_error,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
            event_type=event_type,
            session_name=session_name,
        )
        bodies, _ = self.store.query(query)
        return [json.loads(body) for body in bodies]

    def sessions(
        self,
        *,
        project: str | None = None,
        session_name: str | None = None,
        has_error: bool | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Return session summaries, newest first, with the filters of ``GET /sessions``.

        Args:
            project: Only sessions of this project.
            session_name: Only sessions with this name.
            has_error: True for sessions with a failure only, False for the others.
            since: Only sessions started at or after this time (unix ms).
            until: Only sessions started before this time (unix ms).
            limit: Most sessions to return; None for all.
            offset: Sessions to skip.

        Returns:
            The summaries described at :meth:`EventStore.sessions`.
        """
        query = SessionQuery(project, session_name, has_error, since, until, limit, offset)
        return self.store.sessions(query)[0]

    def session(self, session_id: str) -> dict[str, Any] | None:
        """Return one session with its events and updates (as ``GET /sessions/<id>``).

        Args:
            session_id: The session's id.

        Returns:
            ``{"session", "events", "updates"}``, or None if no session has this id.
        """
        return self.store.session(session_id)

    def updates(self, event_id: str | None = None) -> list[dict[str, Any]]:
        """Return the ``PUT /events`` updates applied so far, oldest first.

        Args:
            event_id: Only those of this event or session; None for all.

        Returns:
            ``{"event_id", "received_at", "target", "update"}`` records.
        """
        return self.store.updates(event_id)

    def event(self, event_id: str) -> dict[str, Any] | None:
        """Return one stored event.

        Args:
            event_id: Its id.

        Returns:
            The event, or None if no such event is stored.
        """
        body = self.store.get(event_id)
        return None if body is None else dict(json.loads(body))

    def count(self) -> int:
        """Return the number of stored events (sessions not included)."""
        return self.store.count()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far (with ``record_requests=True``)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    # -- the pieces ---------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
