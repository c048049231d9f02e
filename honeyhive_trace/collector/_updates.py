"""``PUT /events`` applied: merged into the stored event or session, and kept as a record.

Object fields (``metadata``, ``feedback``, ``metrics``, ``outputs``, ``config``,
``user_properties``) are merged key by key into the same field of the stored body (shallow:
a key of the update replaces the stored key's whole value); ``duration`` replaces, and so do
``end_time`` and ``children_ids``, which only ``PUT /v1/events/{event_id}`` sends. The
update itself is appended to the ``updates`` table, so the viewer can show when it arrived.
The functions take an open connection inside a transaction the caller holds.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Literal

from honeyhive_trace.collector._rows import EVENT_COLUMNS, encode, event_row
from honeyhive_trace.collector._validate_v0 import UPDATE_OBJECTS

Target = Literal["event", "session"]

_SET_EVENT = "UPDATE events SET (" + EVENT_COLUMNS + ") = (" + ", ".join(["?"] * 17) + ")"


def merge(stored: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Return ``stored`` with ``update`` applied (a new dict; ``stored`` is not changed).

    Args:
        stored: The stored event or session.
        update: A validated ``PUT /events`` body.

    Returns:
        The merged body.
    """
    merged = dict(stored)
    for name in UPDATE_OBJECTS:
        if name in update:
            before = merged.get(name)
            merged[name] = {**before, **update[name]} if type(before) is dict else update[name]
    for name in ("duration", "end_time", "children_ids"):  # the last two only come from v1
        if name in update:
            merged[name] = update[name]
    return merged


def apply_update(
    conn: sqlite3.Connection, update: dict[str, Any], received_at: float
) -> Target | None:
    """Apply one update to the event or session it names, and record it.

    Args:
        conn: The database, inside a transaction.
        update: A validated ``PUT /events`` body.
        received_at: When it arrived, unix ms.

    Returns:
        What was updated, or None (and nothing written) when no event or session has the id.
    """
    event_id = update["event_id"]
    target: Target
    row = conn.execute(
        "SELECT body, received_at FROM events WHERE event_id = ?", (event_id,)
    ).fetchone()
    if row is not None:
        merged = merge(json.loads(row[0]), update)
        values = event_row(merged, encode(merged), row[1])
        conn.execute(_SET_EVENT + " WHERE event_id = ?", (*values, event_id))
        target = "event"
    else:
        row = conn.execute(
            "SELECT body FROM sessions WHERE session_id = ?", (event_id,)
        ).fetchone()
        if row is None:
            return None
        merged = merge(json.loads(row[0]), update)
        conn.execute(
            "UPDATE sessions SET duration = ?, body = ? WHERE session_id = ?",
            (merged.get("duration"), encode(merged), event_id),
        )
        target = "session"
    conn.execute(
        "INSERT INTO updates (event_id, received_at, target, body) VALUES (?, ?, ?, ?)",
        (event_id, received_at, target, encode(update)),
    )
    return target
