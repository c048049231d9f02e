"""Building a session's start (``POST /session/start``) and updates (``PUT /events``)."""

from __future__ import annotations

from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace._builders._step import DEFAULT_SOURCE
from honeyhive_trace._config import Config
from honeyhive_trace.capture import SessionCall, UpdateCall
from honeyhive_trace.records import EventUpdate, SessionStart

__all__ = ["DEFAULT_SESSION_NAME", "build_session", "build_update"]

#: The ``session_name`` of a session opened without a name (it is required).
DEFAULT_SESSION_NAME = "session"


def build_session(call: SessionCall, config: Config) -> SessionStart:
    """Build the record that starts *call*'s session."""
    session, fields = call.session, call.fields
    name = shapes.str_field(session.name) if shapes.given(session.name) else DEFAULT_SESSION_NAME
    metadata = shapes.obj(fields.get("metadata"), "metadata")
    if session.key is not None:
        metadata.setdefault("session_key", session.key)
    return SessionStart(
        project=config.project,
        source=config.source or DEFAULT_SOURCE,
        session_name=name,
        event_id=session.session_id,
        session_id=session.session_id,
        start_time=call.wall_ns // 1_000_000,
        inputs=shapes.obj(fields.get("inputs"), "inputs"),
        config=shapes.obj(fields.get("config"), "config"),
        metadata=metadata or None,
        user_properties=shapes.optional(dict(fields), "user_properties", shapes.obj),
    )


def _object(fields: Any, name: str) -> dict[str, Any] | None:
    value = fields.get(name)
    return None if value is None else shapes.obj(value, name)


def build_update(call: UpdateCall) -> EventUpdate:
    """Build the record of one update of an event already created."""
    fields = call.fields
    duration = shapes.finite_number(call.duration_ms) if call.duration_ms is not None else None
    return EventUpdate(
        event_id=shapes.str_field(call.event_id),
        outputs=shapes.outputs_from(fields.get("outputs")),
        metadata=_object(fields, "metadata"),
        metrics=_object(fields, "metrics"),
        feedback=_object(fields, "feedback"),
        config=_object(fields, "config"),
        user_properties=_object(fields, "user_properties"),
        duration=duration,
    )
