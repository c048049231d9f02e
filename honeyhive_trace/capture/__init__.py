"""Capturing events on the caller's thread: context, live handles, decorators, sessions.

Everything here runs inside the user's call, so it does as little as
possible: take the clocks, remember arguments and results, and hand an
immutable :class:`~honeyhive_trace.capture._snapshot.EndedCall` to the recorder
when the event ends. Nothing here builds records or knows about delivery.
"""

from __future__ import annotations

from honeyhive_trace.capture._decorators import trace_model
from honeyhive_trace.capture._handle import (
    CURRENT_EVENT,
    NOOP_HANDLE,
    SETTABLE_FIELDS,
    EventHandle,
    current_event,
)
from honeyhive_trace.capture._path import (
    ModelEventScope,
    end,
    fail,
    finish,
    model_event,
    recorder,
    snapshot_kwargs,
    start,
)
from honeyhive_trace.capture._sessions import SessionScope, current_session, session
from honeyhive_trace.capture._snapshot import (
    CURRENT_SESSION,
    CallSpec,
    EndedCall,
    RawCall,
    Session,
    named,
    uuid4_text,
)

__all__ = [
    "CURRENT_EVENT",
    "CURRENT_SESSION",
    "NOOP_HANDLE",
    "SETTABLE_FIELDS",
    "CallSpec",
    "EndedCall",
    "RawCall",
    "EventHandle",
    "ModelEventScope",
    "Session",
    "SessionScope",
    "current_event",
    "current_session",
    "end",
    "fail",
    "finish",
    "model_event",
    "named",
    "recorder",
    "session",
    "snapshot_kwargs",
    "start",
    "trace_model",
    "uuid4_text",
]
