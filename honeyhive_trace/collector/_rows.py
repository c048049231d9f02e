"""Validated events and sessions as database rows: ids assigned, filter columns derived.

Model events (``POST /events/model``) and generic events (``POST /events``) share one table;
the columns are derived the same way from either shape: tokens from ``usage`` or else
``metadata``, cost from ``cost`` or else ``metadata.cost``, model and provider from the
event or else its ``config``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from honeyhive_trace.collector._query import EVENT_TYPES
from honeyhive_trace.collector._validate import FieldError, ValidationError

Row = tuple[Any, ...]
#: What an ingest handler returns: the JSON answer, event rows and session rows to store.
Handled = tuple[dict[str, Any], list[Row], list[Row]]

EVENT_COLUMNS = (
    "event_id, received_at, event_type, project, model, provider, event_name, session_id,"
    " session_name, parent_id, start_time, end_time, duration, error, total_tokens, cost, body"
)
SESSION_COLUMNS = (
    "session_id, received_at, project, session_name, source, start_time, end_time, duration,"
    " error, body"
)

encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def now_ms() -> float:
    """Return the current time in unix milliseconds."""
    return time.time() * 1000.0


#: SQLite's INTEGER is a signed 64-bit number.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _count(value: Any) -> int | None:
    # An index column only: a count SQLite cannot hold is left out of it (the body keeps it).
    return value if type(value) is int and _INT64_MIN <= value <= _INT64_MAX else None


def _tokens(counts: Any) -> int | None:
    if type(counts) is not dict:
        return None
    total = _count(counts.get("total_tokens"))
    if total is not None:
        return total
    prompt = _count(counts.get("prompt_tokens"))
    completion = _count(counts.get("completion_tokens"))
    if prompt is not None and completion is not None:
        return _count(prompt + completion)
    return None


def _number(value: Any) -> float | None:
    if type(value) is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else float(value)
    return value if type(value) is float else None


def _object(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def _text(value: Any) -> str | None:
    return value if type(value) is str else None


def event_row(ev: dict[str, Any], body: str, received_at: float) -> Row:
    """Return the database row of one validated event (either shape).

    Args:
        ev: The event, with its ``event_id``.
        body: Its JSON text.
        received_at: When it arrived, unix ms.

    Returns:
        The values for :data:`EVENT_COLUMNS`.
    """
    config = _object(ev.get("config"))
    metadata = _object(ev.get("metadata"))
    event_type = ev.get("event_type")
    tokens = _tokens(ev.get("usage"))
    cost = _number(ev.get("cost"))
    return (
        ev["event_id"],
        received_at,
        event_type if event_type in EVENT_TYPES else "model",
        ev["project"],
        _text(ev.get("model")) or _text(config.get("model")) or "",
        _text(ev.get("provider")) or _text(config.get("provider")) or "",
        ev.get("event_name"),
        ev.get("session_id"),
        _text(metadata.get("session_name")),
        ev.get("parent_id"),
        ev.get("start_time"),
        ev.get("end_time"),
        ev["duration"],
        ev.get("error"),
        tokens if tokens is not None else _tokens(metadata),
        cost if cost is not None else _number(metadata.get("cost")),
        body,
    )


def session_row(session: dict[str, Any], body: str, received_at: float) -> Row:
    """Return the database row of one validated ``SessionStartRequest`` (with its id).

    Args:
        session: The session, with its ``session_id``.
        body: Its JSON text.
        received_at: When it arrived, unix ms.

    Returns:
        The values for :data:`SESSION_COLUMNS`.
    """
    return (
        session["session_id"],
        received_at,
        session["project"],
        session["session_name"],
        session["source"],
        session.get("start_time"),
        session.get("end_time"),
        session.get("duration"),
        session.get("error"),
        body,
    )


def session_of(session: dict[str, Any]) -> Row:
    """Return the row of a validated session, assigning its ``session_id`` if it has none.

    Raises:
        ValidationError: If the session cannot be encoded (e.g. nested too deeply).
    """
    session.setdefault("session_id", session.get("event_id") or str(uuid.uuid4()))
    try:
        body = encode(session)
    except (ValueError, RecursionError) as exc:
        raise ValidationError([{"field": "session", "message": f"cannot be stored: {exc}"}])
    return session_row(session, body, now_ms())


def prepare(
    events: list[dict[str, Any]], texts: list[str] | None, where: str
) -> tuple[list[str], list[Row]]:
    """Assign missing event ids and turn validated events into database rows.

    Args:
        events: Validated events; an ``event_id`` is added to those without one.
        texts: The exact JSON text of each event as posted, or None to encode them.
        where: Location prefix for errors, e.g. ``model_event`` or ``events``; a batch's
            (plural) prefix gets the index appended.

    Returns:
        The event ids in order, and the rows to insert.

    Raises:
        ValidationError: If an event cannot be encoded (e.g. nested too deeply).
    """
    now = now_ms()
    ids: list[str] = []
    rows: list[Row] = []
    errors: list[FieldError] = []
    for i, ev in enumerate(events):
        event_id = ev.get("event_id")
        if event_id is None or texts is None:
            if event_id is None:
                event_id = ev["event_id"] = str(uuid.uuid4())
            try:
                body = encode(ev)
            except (ValueError, RecursionError) as exc:
                field = where if where in ("model_event", "event") else f"{where}[{i}]"
                errors.append({"field": field, "message": f"cannot be stored: {exc}"})
                continue
        else:
            body = texts[i]
        ids.append(event_id)
        rows.append(event_row(ev, body, now))
    if errors:
        raise ValidationError(errors)
    return ids, rows
