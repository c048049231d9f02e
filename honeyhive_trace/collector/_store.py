"""SQLite storage of model events: durable, idempotent by ``event_id``, queryable.

Only ``event_id`` is indexed: a second index halves the insert rate, and the queries a local
viewer runs scan a table of this size quickly enough.

Each event is kept whole as compact JSON (``body``) next to a few columns for filtering, so
reads hand back exactly what was posted (plus an ``event_id`` when the collector assigned
one) without re-encoding.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honeyhive_trace.collector._validate import FieldError, ValidationError

MEMORY = ":memory:"
SCHEMA_VERSION = 1
#: The most events one ``GET /events`` page holds (its ``limit``).
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    received_at  REAL NOT NULL,
    project      TEXT NOT NULL,
    model        TEXT NOT NULL,
    provider     TEXT NOT NULL,
    event_name   TEXT,
    session_id   TEXT,
    parent_id    TEXT,
    start_time   REAL,
    end_time     REAL,
    duration     REAL NOT NULL,
    error        TEXT,
    total_tokens INTEGER,
    cost         REAL,
    body         TEXT NOT NULL
);
"""

_INSERT = (
    "INSERT OR IGNORE INTO events (event_id, received_at, project, model, provider,"
    " event_name, session_id, parent_id, start_time, end_time, duration, error,"
    " total_tokens, cost, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode

Row = tuple[Any, ...]


class StoreError(Exception):
    """The database cannot be opened or is not a collector database."""


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters, order and page of an events query; newest first.

    Attributes:
        project: Only events of this project.
        model: Only events of this model.
        session_id: Only events of this session.
        event_name: Only events with this name.
        has_error: True for failed calls only, False for successful calls only.
        since: Only events with ``start_time >= since`` (unix ms).
        until: Only events with ``start_time < until`` (unix ms).
        limit: Most events to return; None for all.
        offset: Events to skip, newest first.
    """

    project: str | None = None
    model: str | None = None
    session_id: str | None = None
    event_name: str | None = None
    has_error: bool | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> EventQuery:
        """Build a query from ``GET /events`` query parameters; empty values are ignored.

        Args:
            params: Parameters as ``urllib.parse.parse_qs`` returns them.

        Returns:
            The query.

        Raises:
            ValidationError: Naming every bad or unknown parameter.
        """
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        for name, given in params.items():
            if name not in _PARAMS:
                errors.append({"field": name, "message": "is not a known filter"})
                continue
            if len(given) != 1:
                errors.append({"field": name, "message": "must be given at most once"})
                continue
            if given[0] == "":
                continue
            try:
                values[name] = _PARAMS[name](given[0])
            except ValueError as exc:
                errors.append({"field": name, "message": str(exc)})
        if errors:
            raise ValidationError(errors)
        return cls(**values)

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL ``WHERE`` clause (possibly empty) and its parameters."""
        clauses: list[str] = []
        args: list[Any] = []
        for column in ("project", "model", "session_id", "event_name"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.has_error is True:
            clauses.append("(error IS NOT NULL AND error <> '')")
        elif self.has_error is False:
            clauses.append("(error IS NULL OR error = '')")
        if self.since is not None:
            clauses.append("start_time >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("start_time < ?")
            args.append(self.until)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def _millis(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be unix milliseconds (a number)") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _natural(text: str, maximum: int, message: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 20) or int(text) > maximum:
        raise ValueError(message)
    return int(text)


def _limit(text: str) -> int:
    return _natural(text, MAX_LIMIT, f"must be an integer from 0 to {MAX_LIMIT}")


def _offset(text: str) -> int:
    return _natural(text, 2**62, "must be a non-negative integer")


def _text(text: str) -> str:
    return text


_PARAMS = {
    "project": _text,
    "model": _text,
    "session_id": _text,
    "event_name": _text,
    "has_error": _bool,
    "since": _millis,
    "until": _millis,
    "limit": _limit,
    "offset": _offset,
}


def _total_tokens(usage: dict[str, Any]) -> int | None:
    total = usage.get("total_tokens")
    if type(total) is int:
        return total
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is int and type(completion) is int:
        return prompt + completion
    return None


def prepare(
    events: list[dict[str, Any]], texts: list[str] | None, where: str
) -> tuple[list[str], list[Row]]:
    """Assign missing event ids and turn validated events into database rows.

    Args:
        events: Validated events; an ``event_id`` is added to those without one.
        texts: The exact JSON text of each event as posted, or None to encode them.
        where: Location prefix for errors, ``model_event`` or ``model_events``.

    Returns:
        The event ids in order, and the rows to insert.

    Raises:
        ValidationError: If an event cannot be encoded (e.g. nested too deeply).
    """
    now = time.time() * 1000.0
    ids: list[str] = []
    rows: list[Row] = []
    errors: list[FieldError] = []
    for i, ev in enumerate(events):
        event_id = ev.get("event_id")
        if event_id is None or texts is None:
            if event_id is None:
                event_id = ev["event_id"] = str(uuid.uuid4())
            try:
                body = _encode(ev)
            except (ValueError, RecursionError) as exc:
                field = where if where == "model_event" else f"{where}[{i}]"
                errors.append({"field": field, "message": f"cannot be stored: {exc}"})
                continue
        else:
            body = texts[i]
        ids.append(event_id)
        rows.append(
            (
                event_id,
                now,
                ev["project"],
                ev["model"],
                ev["provider"],
                ev.get("event_name"),
                ev.get("session_id"),
                ev.get("parent_id"),
                ev.get("start_time"),
                ev.get("end_time"),
                ev["duration"],
                ev.get("error"),
                _total_tokens(ev["usage"]),
                ev.get("cost"),
                body,
            )
        )
    if errors:
        raise ValidationError(errors)
    return ids, rows


def _connect(path: str | Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        if str(path) == MEMORY:
            raise StoreError("an in-memory database cannot be opened read-only")
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise StoreError(f"no events database at {file}")
        uri = file.as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    if str(path) != MEMORY:
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = Path(path).expanduser()
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


class EventStore:
    """A thread-safe SQLite table of events on one connection.

    Args:
        path: A database file (parent directories are created) or ``":memory:"``.
        readonly: Open an existing file read-only, e.g. for ``honeyhive-trace events``.

    Raises:
        StoreError: If the database cannot be opened or has an unknown schema.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and, unless read-only, create) the database."""
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._conn = _connect(path, readonly)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open events database {self.path}: {exc}") from exc
        weakref.finalize(self, self._conn.close)
        try:
            self._setup(readonly)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot use events database {self.path}: {exc}") from exc

    def _setup(self, readonly: bool) -> None:
        conn = self._conn
        conn.execute("PRAGMA busy_timeout = 5000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            self._conn.close()
            raise StoreError(f"{self.path} has schema version {version}, not {SCHEMA_VERSION}")
        if readonly:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
            ).fetchone()
            if found is None or version != SCHEMA_VERSION:
                self._conn.close()
                raise StoreError(f"{self.path} is not a honeyhive-trace events database")
            return
        if self.path != MEMORY:
            # WAL lets readers (the CLI) run beside the collector; FULL syncs every commit,
            # so a 200 answer means the events survive a crash or power loss.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def insert(self, rows: list[Row]) -> None:
        """Store rows from :func:`prepare` in one transaction, ignoring known event ids.

        Args:
            rows: The rows.

        Raises:
            sqlite3.Error: If the write fails; nothing is stored then.
        """
        if not rows:
            return
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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
                f"SELECT body FROM events{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
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

    def count(self) -> int:
        """Return the number of stored events."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            self._conn.close()
