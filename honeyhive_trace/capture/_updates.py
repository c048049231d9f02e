"""After the fact: feedback and other fields added to an event already recorded.

:func:`update_event` and :func:`log_feedback` hand an
:class:`~honeyhive_trace.capture._snapshot.UpdateCall` to the recorder, which
queues it behind everything submitted before, so an update is never sent
before the event it changes when that event is still queued here. When the
event is still running in this context (the current event or one of its
parents, or the current session), the fields are added to it directly and
travel with its creation instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from honeyhive_trace._state import recorder
from honeyhive_trace.capture._handle import CURRENT_EVENT, EventHandle
from honeyhive_trace.capture._sessions import CURRENT_SESSION, Session
from honeyhive_trace.capture._snapshot import UpdateCall
from honeyhive_trace.capture._updatable import given_fields

__all__ = ["log_feedback", "update_event"]


def _live(target: str) -> EventHandle | Session | None:
    handle = CURRENT_EVENT.get()
    while handle is not None:
        if not handle._done and handle.event_id == target:
            return handle
        handle = handle._parent
    current = CURRENT_SESSION.get()
    if current is not None and current.session_id == target and not current._ended:
        return current
    return None


def update_event(
    event_id: str | EventHandle | Session,
    *,
    outputs: Any = None,
    metadata: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    feedback: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
    duration: float | None = None,
) -> None:
    """Add fields to an event (or a session) that was already recorded.

    Sent as ``PUT /events`` (whose object fields the server merges key by key
    into the event's), after the event's own creation when that is still
    queued in this process, batched, retried, spooled and counted like events.
    The event may come from another process (a web front end handing back an
    ``event_id`` for a thumbs-up): any event id works. Never raises.

    Args:
        event_id: the event's id (``ev.event_id``), or its handle or session.
        outputs: merged into the event's ``outputs`` (a mapping; anything
            else is sent as ``{"result": ...}``).
        metadata: merged into the event's ``metadata``.
        metrics: merged into its ``metrics``.
        feedback: merged into its ``feedback``.
        config: merged into its ``config``.
        user_properties: merged into its ``user_properties``.
        duration: replaces its duration, in milliseconds.
    """
    client = recorder()
    if not client.recording:
        return
    target = event_id.event_id if isinstance(event_id, (EventHandle, Session)) else event_id
    if not isinstance(target, str) or not target.strip():
        client.guard.report(
            f"update_event(): event_id must be an event id string, got {type(target).__name__};"
            " update dropped",
            counter="dropped_invalid_update",
            raise_in_strict=False,
        )
        return
    fields = given_fields(
        outputs=outputs,
        metadata=metadata,
        metrics=metrics,
        feedback=feedback,
        config=config,
        user_properties=user_properties,
    )
    if not fields and duration is None:
        client.guard.report(
            "update_event() called with nothing to update; ignored",
            counter=None,
            raise_in_strict=False,
            level=logging.WARNING,
        )
        return
    try:
        live = _live(target)
        if live is not None and duration is None:
            for name, value in fields.items():  # as the server applies an update
                live._merge(name, value, {})
            return
        client.submit(UpdateCall(target, fields, duration))
    except Exception as exc:
        client.guard.report("could not queue an update", exc)


def log_feedback(
    event_id: str | EventHandle | Session,
    feedback: Mapping[str, Any],
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Record feedback on an event after the fact: a rating, a correction, a comment.

    ``log_feedback(event_id, feedback={"rating": 1, "comment": "great"})`` is
    :func:`update_event` with ``feedback`` (and optionally ``metrics`` and
    ``metadata``). Never raises.

    Args:
        event_id: the event's id (``ev.event_id``), or its handle or session.
        feedback: merged into the event's ``feedback``.
        metrics: merged into its ``metrics``.
        metadata: merged into its ``metadata``.
    """
    update_event(event_id, feedback=feedback, metrics=metrics, metadata=metadata)
