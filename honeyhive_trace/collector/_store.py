"""SQLite storage of events, sessions and updates: durable, idempotent by id, queryable.

Each event is kept whole as compact JSON (``body``) next to a few columns for filtering, so
reads hand back exactly what was posted (plus an ``event_id`` when the collector assigned
one, and the fields later ``PUT /events`` updates merged in) without re-encoding. The tables
are described in :mod:`honeyhive_trace.collector._schema`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from honeyhive_trace.collector._query import EventQuery, SessionQuery
from honeyhive_trace.collector._rows import EVENT_COLUMNS, SESSION_COLUMNS, Row
from honeyhive_trace.collector._schema import StoreError, connect, set_up
from honeyhive_trace.collector._sessions import get_session, list_sessions, update_record
from honeyhive_trace.collector._updates import Target, apply_update

_INSERT_EVENT = f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 17)})"
_INSERT_SESSION = (
    f"INSERT OR IGNORE INTO sessions ({SESSION_COLUMNS}) VALUES ({', '.join('?' * 10)})"
)
#: Newest first by start time; events without one (or received at the same instant) by arrival.
_NEWEST_FIRST = " ORDER BY COALESCE(start_time, received_at) DESC, seq DESC"


def _forget_stores_in_child() -> None:
    # A forked child must not close the parent's SQLite connection at exit: a
    # thread of the parent may have held its mutex at the fork (the close would
    # wait for ever), and the connection is the parent's anyway.
    for store in list(_STORES):
        store._finalizer.detach()
    _STORES.clear()


_STORES: weakref.WeakSet[EventStore] = weakref.WeakSet()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_stores_in_child)


class EventStore:
    """A thread-safe SQLite store of events, sessions and updates on one connection.

    Args:
        path: A database file (parent directories are created) or ``":memory:"``.
        readonly: Open an existing file read-only, e.g. for ``honeyhive-trace events``.

    Raises:
        StoreError: If the database cannot be opened or has an unknown schema.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and, unless read-only, create or upgrade) the database."""
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._conn = connect(path, readonly)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open events database {self.path}: {exc}") from exc
        self._finalizer = weakref.finalize(self, self._conn.close)
        _STORES.add(self)
        try:
            set_up(self._conn, self.path, readonly)
        except (sqlite3.Error, StoreError) as exc:
            self._conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot use events database {self.path}: {exc}") from exc

    # -- writes ---------------------------------------------------------------------------

    def _write(self, statements: Iterable[tuple[str, list[Row]]]) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    if rows:
                        conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def insert(self, rows: list[Row], sessions: list[Row] | None = None) -> None:
        """Store event rows (and session rows) in one transaction, ignoring known ids.

        Args:
            rows: Event rows, as ``prepare`` makes them.
            sessions: Session rows, e.g. the session of a single-session batch.

        Raises:
            sqlite3.Error: If the write fails; nothing is stored then.
        """
        if rows or sessions:
            self._write([(_INSERT_EVENT, rows), (_INSERT_SESSION, sessions or [])])

    def start_session(self, row: Row) -> None:
        """Store a session row unless a session with its id is stored already (idempotent).

        Args:
            row: The session row.

        Raises:
            sqlite3.Error: If the write fails.
        """
        self._write([(_INSERT_SESSION, [row])])

    def update(self, update: dict[str, Any], received_at: float) -> Target | None:
        """Apply a validated ``PUT /events`` body and record it, in one transaction.

        Args:
            update: The update; ``event_id`` names an event or a session.
            received_at: When it arrived, unix ms.

        Returns:
            ``"event"`` or ``"session"``, or None when the id is unknown (nothing stored).

        Raises:
            sqlite3.Error: If the write fails; nothing is changed then.
        """
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                target = apply_update(conn, update, received_at)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT" if target is not None else "ROLLBACK")
        return target

    # -- reads ----------------------------------------------------------------------------

    def query(self, query: EventQuery) -> tuple[list[str], int]:
        """Return matching events as JSON texts, newest first, and how many match in all.

        Args:
            query: Filters and page.

        Returns:
            The JSON text of each event on the page, and the total number of matches.
        """
        where, args = query.where()
        limit = -1 if query.limit is None else query.limit
        with self._lock:
            bodies = self._conn.execute(
                f"SELECT body FROM events{where}{_NEWEST_FIRST} LIMIT ? OFFSET ?",
                [*args, limit, query.offset],
            ).fetchall()
            total = self._conn.execute(f"SELECT COUNT(*) FROM events{where}", args).fetchone()[0]
        return [body for (body,) in bodies], int(total)

    def get(self, event_id: str) -> str | None:
        """Return one event's JSON text.

        Args:
            event_id: The event id.

        Returns:
            The JSON text, or None if no such event is stored.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def sessions(self, query: SessionQuery | None = None) -> tuple[list[dict[str, Any]], int]:
        """Return session summaries, newest first by start time, and how many match in all.

        Each summary has ``session_id``, ``session_name``, ``project``, ``source``,
        ``started`` (whether ``POST /session/start`` stored it), ``start_time``,
        ``end_time``, ``duration``, ``event_count``, ``total_tokens``, ``cost``,
        ``error_count`` and ``error`` (the session's own).

        Args:
            query: Filters and page (the filters of ``GET /sessions``); None for the newest
                100 sessions.

        Returns:
            The summaries on the page, and the total number of matches.
        """
        with self._lock:
            return list_sessions(self._conn, query or SessionQuery())

    def session(self, session_id: str) -> dict[str, Any] | None:
        """Return one session: ``{"session", "events", "updates"}``.

        ``session`` is the stored session (updates merged) with the summary fields of
        :meth:`sessions`; ``events`` are its events, oldest first; ``updates`` are the
        updates applied to the session or its events, in arrival order.

        Args:
            session_id: The session's id.

        Returns:
            The session, or None if no session has this id.
        """
        with self._lock:
            return get_session(self._conn, session_id)

    def updates(self, event_id: str | None = None) -> list[dict[str, Any]]:
        """Return the applied updates in arrival order.

        Args:
            event_id: Only updates of this event or session; None for all.

        Returns:
            ``{"event_id", "received_at", "target", "update"}`` records.
        """
        sql = "SELECT event_id, received_at, target, body FROM updates"
        args: tuple[str, ...] = ()
        if event_id is not None:
            sql, args = sql + " WHERE event_id = ?", (event_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [update_record(row) for row in rows]

    def count(self) -> int:
        """Return the number of stored events (sessions not included)."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            self._conn.close()
