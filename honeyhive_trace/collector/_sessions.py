"""Sessions read back: a listing with aggregates, and one session with its events and updates.

A session is known when ``POST /session/start`` stored it or when any event names its
``session_id`` (then its name comes from the events' ``metadata.session_name``, if any).
The functions take an open connection; :class:`~honeyhive_trace.collector.EventStore` holds
the lock around them.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from honeyhive_trace.collector._query import SessionQuery

_SUMMARY = """
WITH agg AS (
    SELECT session_id,
           COUNT(*) AS event_count,
           SUM(total_tokens) AS total_tokens,
           SUM(cost) AS cost,
           SUM(CASE WHEN error IS NOT NULL AND error <> '' THEN 1 ELSE 0 END) AS error_count,
           MIN(start_time) AS first_start,
           MAX(COALESCE(end_time, start_time + duration)) AS last_end,
           MAX(session_name) AS event_session_name,
           MIN(project) AS event_project,
           MIN(received_at) AS first_received
    FROM events WHERE session_id IS NOT NULL GROUP BY session_id
),
ids AS (SELECT session_id FROM sessions UNION SELECT session_id FROM agg),
summary AS (
    SELECT ids.session_id AS session_id,
           COALESCE(s.session_name, agg.event_session_name) AS session_name,
           COALESCE(s.project, agg.event_project) AS project,
           s.source AS source,
           s.session_id IS NOT NULL AS started,
           COALESCE(s.start_time, agg.first_start) AS start_time,
           COALESCE(s.end_time, agg.last_end) AS end_time,
           s.duration AS duration,
           COALESCE(agg.event_count, 0) AS event_count,
           agg.total_tokens AS total_tokens,
           agg.cost AS cost,
           COALESCE(agg.error_count, 0) AS error_count,
           s.error AS error,
           COALESCE(s.received_at, agg.first_received) AS received_at
    FROM ids
    LEFT JOIN sessions AS s ON s.session_id = ids.session_id
    LEFT JOIN agg ON agg.session_id = ids.session_id
)
"""

_FIELDS = (
    "session_id",
    "session_name",
    "project",
    "source",
    "started",
    "start_time",
    "end_time",
    "duration",
    "event_count",
    "total_tokens",
    "cost",
    "error_count",
    "error",
)
_SELECT = ", ".join(_FIELDS)


def _summary(row: tuple[Any, ...]) -> dict[str, Any]:
    summary = dict(zip(_FIELDS, row, strict=True))
    summary["started"] = bool(summary["started"])
    start, end = summary["start_time"], summary["end_time"]
    if summary["duration"] is None and start is not None and end is not None:
        summary["duration"] = max(0.0, end - start)
    return summary


def list_sessions(
    conn: sqlite3.Connection, query: SessionQuery
) -> tuple[list[dict[str, Any]], int]:
    """Return the sessions matching ``query``, newest first, and how many match in all.

    Args:
        conn: The database.
        query: Filters and page.

    Returns:
        One summary per session (see :meth:`EventStore.sessions`), and the total.
    """
    where, args = query.where()
    limit = -1 if query.limit is None else query.limit
    rows = conn.execute(
        f"{_SUMMARY} SELECT {_SELECT} FROM summary{where}"
        " ORDER BY COALESCE(start_time, received_at) DESC, session_id LIMIT ? OFFSET ?",
        [*args, limit, query.offset],
    ).fetchall()
    total = conn.execute(f"{_SUMMARY} SELECT COUNT(*) FROM summary{where}", args).fetchone()[0]
    return [_summary(row) for row in rows], int(total)


def get_session(conn: sqlite3.Connection, session_id: str) -> dict[str, Any] | None:
    """Return one session with its events (oldest first) and the updates applied to them.

    Args:
        conn: The database.
        session_id: The session's id.

    Returns:
        ``{"session": ..., "events": [...], "updates": [...]}``, or None when no session
        with this id was started or named by an event.
    """
    row = conn.execute(
        f"{_SUMMARY} SELECT {_SELECT} FROM summary WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is None:
        return None
    stored = conn.execute(
        "SELECT body FROM sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    session: dict[str, Any] = json.loads(stored[0]) if stored is not None else {}
    session.update(_summary(row))
    events = conn.execute(
        "SELECT body FROM events WHERE session_id = ?"
        " ORDER BY COALESCE(start_time, received_at), seq",
        (session_id,),
    ).fetchall()
    updates = conn.execute(
        "SELECT event_id, received_at, target, body FROM updates WHERE event_id = ?"
        " OR event_id IN (SELECT event_id FROM events WHERE session_id = ?) ORDER BY seq",
        (session_id, session_id),
    ).fetchall()
    return {
        "session": session,
        "events": [json.loads(body) for (body,) in events],
        "updates": [update_record(u) for u in updates],
    }


def update_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """Return an ``updates`` row as the read API shows it.

    Args:
        row: ``(event_id, received_at, target, body)``.

    Returns:
        ``{"event_id", "received_at", "target", "update"}``.
    """
    event_id, received_at, target, body = row
    return {
        "event_id": event_id,
        "received_at": received_at,
        "target": target,
        "update": json.loads(body),
    }
