"""Spans from OpenTelemetry instrumentations, recorded as HoneyHive events.

:class:`SpanProcessor` is added by the user to a ``TracerProvider`` of their
own; the global provider is never read or replaced. Each finished GenAI span
becomes an ended call handed to the current recorder, exactly as a decorated
function's is: processors, batching, retries and the spool all apply.

Needs the ``[otel]`` extra (``opentelemetry-sdk``); imported only when used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.sdk.trace import SpanProcessor as _SDKSpanProcessor
from opentelemetry.trace import StatusCode

from honeyhive_trace import _client
from honeyhive_trace import _shapes as shapes
from honeyhive_trace._otlp.ids import event_id_for_span, session_id_for_trace
from honeyhive_trace._state import recorder, report_failure
from honeyhive_trace.capture import (
    CURRENT_EVENT,
    CURRENT_SESSION,
    STEP_SPECS,
    EndedCall,
    Session,
)
from honeyhive_trace.otel._read import event_type_of, read_fields, session_key

__all__ = ["DEFAULT_SESSION_NAME", "SpanProcessor"]

#: The name of a session made for a trace that is in none.
DEFAULT_SESSION_NAME = "opentelemetry"
#: Spans remembered between their start and end (beyond it, the oldest are forgotten).
MAX_OPEN_SPANS = 10_000


class _Started(NamedTuple):
    """What a span's start told: where its event hangs, and in which session."""

    #: The event id its event hangs under (None: at the top of its session).
    parent: str | None
    #: The session it joined (the user's open one, or its trace's), or None for its own.
    session: Session | None
    #: Whether the span is recorded (a GenAI span, or any span when opted in).
    recorded: bool


def _error(span: ReadableSpan) -> str | None:
    if span.status.status_code is not StatusCode.ERROR:
        return None
    for event in span.events:
        if event.name == "exception" and event.attributes:
            kind = event.attributes.get("exception.type")
            message = event.attributes.get("exception.message")
            if kind or message:
                return f"{kind}: {message}" if kind and message else str(kind or message)
    kind = (span.attributes or {}).get("error.type")
    description = span.status.description
    if kind and description and not description.startswith(f"{kind}:"):
        return f"{kind}: {description}"
    return description or str(kind or "error")


class SpanProcessor(_SDKSpanProcessor):
    """Record finished GenAI spans of your ``TracerProvider`` as HoneyHive events.

    ``provider.add_span_processor(honeyhive_trace.otel.SpanProcessor())``: every
    span an instrumentation (``opentelemetry-instrumentation-openai-v2``,
    OpenInference, OpenLLMetry, ...) finishes becomes a ``model``, ``tool`` or
    ``chain`` event through the configured pipeline. Parents follow the
    spans' (a span whose parent is not recorded hangs under the nearest
    recorded ancestor); a span started inside an ``hh`` event or session hangs
    under that event, in that session. Otherwise its session is the one its
    attributes name (``honeyhive.session_id``, ``gen_ai.conversation.id``,
    ``session.id``, ...), else one per trace, whose id is the trace id.

    Never raises into the instrumented code: a failure is counted and logged.

    Args:
        include_non_genai: also record spans that are not GenAI spans (HTTP,
            database, your own), as ``chain`` events. Off by default.
        session_name: the name of the sessions made for traces.
    """

    def __init__(
        self, *, include_non_genai: bool = False, session_name: str = DEFAULT_SESSION_NAME
    ) -> None:
        self.include_non_genai = include_non_genai
        self.session_name = session_name
        self._open: OrderedDict[int, _Started] = OrderedDict()
        self._lock = threading.Lock()

    def _recorded(self, attributes: Any) -> bool:
        return self.include_non_genai or event_type_of(attributes or {}) is not None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Note where the span's event will hang, from the caller's context."""
        try:
            context = span.get_span_context()
            parent = span.parent
            with self._lock:
                above = self._open.get(parent.span_id) if parent is not None else None
            hangs: str | None
            if above is not None and parent is not None:
                hangs = (
                    event_id_for_span(context.trace_id, parent.span_id)
                    if above.recorded
                    else above.parent
                )
                started = _Started(hangs, above.session, self._recorded(span.attributes))
            else:
                handle = CURRENT_EVENT.get()
                if parent is not None and (handle is None or not parent.is_remote):
                    hangs = event_id_for_span(context.trace_id, parent.span_id)
                else:
                    hangs = handle.event_id if handle is not None else None
                started = _Started(hangs, CURRENT_SESSION.get(), self._recorded(span.attributes))
            with self._lock:
                self._open[context.span_id] = started
                while len(self._open) > MAX_OPEN_SPANS:
                    self._open.popitem(last=False)
        except Exception as exc:  # never break the instrumented call
            report_failure("otel.SpanProcessor: could not note a span's start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        """Hand the finished span to the recorder, if it is one to record."""
        try:
            self._record(span)
        except Exception as exc:  # never break the instrumented call
            report_failure("otel.SpanProcessor: could not record a span", exc)

    def _record(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        with self._lock:
            started = self._open.pop(context.span_id, None)
        attributes = dict(span.attributes or {})
        event_type = event_type_of(attributes)
        if event_type is None:
            if not self.include_non_genai:
                return
            event_type = "chain"
        client = recorder()
        if not client.recording:
            return
        if started is None:  # started before this processor was added
            parent = span.parent
            hangs = event_id_for_span(context.trace_id, parent.span_id) if parent else None
            started = _Started(hangs, None, True)
        session = started.session
        key = session_key(attributes)
        if key is not None:
            session = Session(None, key)
        if session is None:
            session = Session(self.session_name, session_id_for_trace(context.trace_id))
        client.start_session(session)  # once per session id and client

        fields = read_fields(span.name, event_type, attributes)
        metadata = dict(fields.get("metadata") or {})
        metadata["otel_trace_id"] = f"{context.trace_id:032x}"
        metadata["otel_span_id"] = f"{context.span_id:016x}"
        scope = span.instrumentation_scope
        if scope is not None and scope.name:
            metadata["otel_scope"] = scope.name
        if event_type == "chain" and event_type_of(attributes) is None:
            metadata["otel_attributes"] = attributes
        fields["metadata"] = metadata
        user = attributes.get("user.id")
        if isinstance(user, str):
            fields["user_properties"] = {"user_id": user}
        error = _error(span)
        if error is not None:
            fields["error"] = error

        event_id = event_id_for_span(context.trace_id, context.span_id)
        start = span.start_time or 0
        end = span.end_time or start
        ended = EndedCall(
            spec=None if event_type == "model" else STEP_SPECS[event_type],
            args=(),
            kwargs=fields,
            bits=int(event_id.replace("-", ""), 16),
            parent_bits=started.parent,
            session=session,
            wall_ns=start,
            start_ns=start,
            end_ns=end,
            updates=None,
            result=shapes.UNSET,
            error=None,
            chunks=None,
            first_chunk_ns=0,
            closed_early=False,
            outcome=[None, None],
            event_id_text=event_id,
            children=None,
            child_results=None,
            otel=None,  # its own trace: the ids above map back to it
            # Every span of one OTel trace shares its root (sampling keeps or drops it whole).
            root_bits=session_id_for_trace(context.trace_id) if started.parent else None,
        )
        client.submit(ended)

    def shutdown(self) -> None:
        """Forget open spans. Tracing itself is shut down by ``hh.shutdown()``."""
        with self._lock:
            self._open.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Deliver (or spool) what was recorded, within the timeout."""
        try:
            return _client.flush(timeout_millis / 1000)
        except Exception as exc:
            report_failure("otel.SpanProcessor: flush failed", exc)
            return False
