"""Capturing events on the caller's thread: context, live handles, decorators, sessions.

Everything here runs inside the user's call, so it does as little as
possible: take the clocks, remember arguments and results, and hand an
immutable :class:`~honeyhive_trace.capture._snapshot.EndedCall` to the recorder
when the event ends (a :class:`~honeyhive_trace.capture._snapshot.SessionCall`
when a session opens, an :class:`~honeyhive_trace.capture._snapshot.UpdateCall`
for fields added after the fact). Nothing here builds records or knows about
delivery.
"""

from __future__ import annotations

from honeyhive_trace._state import report_failure
from honeyhive_trace.capture._decorators import trace, trace_chain, trace_model, trace_tool
from honeyhive_trace.capture._ended import Call, EndedCall, Outcome, Submitted, named
from honeyhive_trace.capture._handle import (
    CURRENT_EVENT,
    NOOP_HANDLE,
    SETTABLE_FIELDS,
    EventHandle,
    current_event,
)
from honeyhive_trace.capture._otel import otel_context
from honeyhive_trace.capture._path import (
    STEP_SPECS,
    EventScope,
    end,
    event,
    fail,
    finish,
    model_event,
    recorder,
    snapshot_kwargs,
    start,
)
from honeyhive_trace.capture._propagation import (
    RemoteParent,
    TraceScope,
    continue_trace,
    parse_headers,
    propagation_headers,
)
from honeyhive_trace.capture._sessions import (
    CURRENT_SESSION,
    Session,
    SessionCall,
    SessionScope,
    current_session,
    enrich_session,
    session,
)
from honeyhive_trace.capture._snapshot import RNG, CallSpec, UpdateCall, random_bits, uuid4_text
from honeyhive_trace.capture._threads import (
    Thread,
    ThreadPoolExecutor,
    copy_context_to,
    propagate_threads,
)
from honeyhive_trace.capture._updatable import UPDATE_FIELDS
from honeyhive_trace.capture._updates import log_feedback, update_event

__all__ = [
    "CURRENT_EVENT",
    "CURRENT_SESSION",
    "NOOP_HANDLE",
    "RNG",
    "Call",
    "SETTABLE_FIELDS",
    "STEP_SPECS",
    "UPDATE_FIELDS",
    "CallSpec",
    "EndedCall",
    "Outcome",
    "EventHandle",
    "EventScope",
    "RemoteParent",
    "Session",
    "SessionCall",
    "SessionScope",
    "Thread",
    "ThreadPoolExecutor",
    "Submitted",
    "TraceScope",
    "UpdateCall",
    "continue_trace",
    "copy_context_to",
    "current_event",
    "current_session",
    "end",
    "enrich_session",
    "event",
    "fail",
    "finish",
    "log_feedback",
    "model_event",
    "named",
    "otel_context",
    "parse_headers",
    "propagate_threads",
    "random_bits",
    "propagation_headers",
    "recorder",
    "report_failure",
    "session",
    "snapshot_kwargs",
    "start",
    "trace",
    "trace_chain",
    "trace_model",
    "trace_tool",
    "update_event",
    "uuid4_text",
]
