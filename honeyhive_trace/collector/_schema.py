"""The collector database's tables, how to open it, and the upgrade from older versions.

Three tables:

* ``events``: every model, tool and chain event, whole as JSON (``body``) next to a few
  columns for filtering. Only ``event_id`` is indexed: a second index halves the insert rate,
  and the queries a local viewer runs scan a table of this size quickly enough.
* ``sessions``: the bodies of ``POST /session/start``, one per ``session_id``.
* ``updates``: every ``PUT /events`` applied, in order, so feedback logged after the fact can
  be shown with its time.

Version 1 databases (model events only) are upgraded in place when opened for writing.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from pathlib import Path

MEMORY = ":memory:"
SCHEMA_VERSION = 2


class StoreError(Exception):
    """The database cannot be opened or is not a collector database."""


_EVENTS = """
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
    body         TEXT NOT NULL,
    event_type   TEXT NOT NULL DEFAULT 'model',
    session_name TEXT
);
"""

_SESSIONS_AND_UPDATES = """
CREATE TABLE IF NOT EXISTS sessions (
    seq          INTEGER PRIMARY KEY,
    session_id   TEXT NOT NULL UNIQUE,
    received_at  REAL NOT NULL,
    project      TEXT NOT NULL,
    session_name TEXT,
    source       TEXT,
    start_time   REAL,
    end_time     REAL,
    duration     REAL,
    error        TEXT,
    body         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    seq          INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL,
    received_at  REAL NOT NULL,
    target       TEXT NOT NULL,
    body         TEXT NOT NULL
);
"""

# Version 1 had the events table without its last two columns.
_UPGRADE_FROM_1 = (
    "ALTER TABLE events ADD COLUMN event_type TEXT NOT NULL DEFAULT 'model'",
    "ALTER TABLE events ADD COLUMN session_name TEXT",
)


def connect(path: str | Path, readonly: bool) -> sqlite3.Connection:
    """Open the database file (or ``":memory:"``) in autocommit mode.

    Args:
        path: The file; its parent directories are created unless ``readonly``.
        readonly: Open an existing file read-only.

    Returns:
        The connection, usable from any thread (callers serialise access).

    Raises:
        StoreError: If a read-only database is missing or in memory.
        sqlite3.Error: If SQLite cannot open the file.
    """
    if readonly:
        if str(path) == MEMORY:
            raise StoreError("an in-memory database cannot be opened read-only")
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise StoreError(f"no events database at {file}")
        uri = file.as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    if str(path) != MEMORY:
        path = Path(path).expanduser()
        _private_file(path)
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


def _private_file(path: Path) -> None:
    """Create *path*'s directory (0700) and the empty file (0600) if missing.

    The database holds prompts and completions: only its owner may read it.
    SQLite gives the ``-wal`` and ``-shm`` files the database file's mode. A
    file of ours found readable by others (an older version made it 0644) is
    made private; a directory that was there already is left as it is.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # SQLite reports why it cannot open it
    if sys.platform == "win32":
        os.close(fd)
        return
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077 and info.st_uid == os.getuid() and stat.S_ISREG(info.st_mode):
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & 0o700)
    except OSError:
        pass
    finally:
        os.close(fd)


def set_up(conn: sqlite3.Connection, name: str, readonly: bool) -> None:
    """Check the schema version; create or upgrade the tables unless ``readonly``.

    Args:
        conn: The open connection.
        name: The database's path, for messages.
        readonly: Only check, never write.

    Raises:
        StoreError: If the database is not a collector database of a known version.
        sqlite3.Error: If a statement fails.
    """
    conn.execute("PRAGMA busy_timeout = 5000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, 1, SCHEMA_VERSION):
        raise StoreError(f"{name} has schema version {version}, not {SCHEMA_VERSION}")
    if readonly:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).fetchone()
        if found is None or version != SCHEMA_VERSION:
            hint = " (open it once with the collector to upgrade it)" if version == 1 else ""
            raise StoreError(f"{name} is not a honeyhive-trace events database{hint}")
        return
    if name != MEMORY:
        # WAL lets readers (the CLI) run beside the collector; FULL syncs every commit,
        # so a 200 answer means the events survive a crash or power loss.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version == 1:
            for statement in _UPGRADE_FROM_1:
                conn.execute(statement)
        else:
            conn.execute(_EVENTS)
        for statement in _SESSIONS_AND_UPDATES.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
