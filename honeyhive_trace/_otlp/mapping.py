"""One record as one serialized OTLP ``ExportTraceServiceRequest`` holding one span.

Protobuf's repeated fields concatenate: the bytes of several records, joined,
are one valid request holding all their spans (each in its own
``ResourceSpans``). An exporter can therefore encode each record once, when it
is processed, and send any batch of them by joining bytes.

Needs the ``[otel]`` extra (``opentelemetry-proto``); imported only when used.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from honeyhive_trace._otlp.attributes import AttributeValue, operation_name, span_attributes
from honeyhive_trace._otlp.ids import span_id_of, trace_id_of
from honeyhive_trace._version import __version__
from honeyhive_trace.records import Event, EventUpdate, ModelEvent, Record, SessionStart

__all__ = ["SCOPE_NAME", "span_bytes", "span_name", "span_times"]

#: The instrumentation scope of every exported span.
SCOPE_NAME = "honeyhive_trace"


def _any(value: AttributeValue) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(array_value=ArrayValue(values=[_any(v) for v in value]))


def _key_values(attributes: Mapping[str, AttributeValue]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any(value)) for key, value in attributes.items()]


def span_name(record: Event) -> str:
    """The span's name: the event's name, else the conventions' ``{operation} {model}``.

    HoneyHive's OTLP ingest takes the span name as the event name.
    """
    if isinstance(record, SessionStart):
        return record.session_name
    if record.event_name:
        return record.event_name
    if isinstance(record, ModelEvent):
        return f"{operation_name(record)} {record.model}"
    return record.event_type


def span_times(record: Event) -> tuple[int, int]:
    """Start and end in nanoseconds since the epoch.

    The start is the record's (milliseconds); the end adds its duration, kept
    to the microsecond. A session start has no duration yet: it ends as it starts.
    """
    start = int(record.start_time) * 1_000_000
    if isinstance(record, SessionStart):
        return start, start
    return start, start + max(0, round(record.duration * 1_000_000))


def span_bytes(
    record: Record,
    *,
    capture_content: bool = True,
    trace_id: bytes | None = None,
    parent_span_id: bytes | None = None,
) -> bytes:
    """Serialize *record* as an OTLP/protobuf ``ExportTraceServiceRequest`` of one span.

    Ids are derived from the record's (see :func:`~honeyhive_trace.otel.span_id_of`):
    the trace id is the 16 bytes of the session's UUID, the span id the last 8
    bytes of the event id, the parent span id the last 8 bytes of
    ``parent_id``. A session's span is the root of its trace; a top-level
    event's parent is the session's span. Outside any session the trace id is
    the parent's id (the event's own at the top): exact for a root and its
    children, deeper events outside a session start traces of their own.

    Args:
        record: a model, tool or chain event or a session start. An
            :class:`~honeyhive_trace.records.EventUpdate` has no span (spans are
            immutable once ended): it gives ``b""``, which adds nothing to a
            concatenated request; the caller counts it as not exported.
        capture_content: include messages, responses, inputs and outputs.
        trace_id: a trace to join instead (the user's active OpenTelemetry span's).
        parent_span_id: the span to hang under instead of ``parent_id``'s.

    Returns:
        The serialized request.
    """
    if isinstance(record, EventUpdate):
        return b""
    own_trace = record.session_id or record.parent_id or record.event_id
    parent = parent_span_id
    if parent is None and record.parent_id is not None and not isinstance(record, SessionStart):
        parent = span_id_of(record.parent_id)
    start, end = span_times(record)
    status = (
        Status(code=Status.STATUS_CODE_ERROR, message=record.error)
        if record.error is not None
        else Status()
    )
    span = Span(
        trace_id=trace_id if trace_id is not None else trace_id_of(own_trace),
        span_id=span_id_of(record.event_id),
        parent_span_id=parent or b"",
        name=span_name(record),
        kind=Span.SPAN_KIND_CLIENT if isinstance(record, ModelEvent) else Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=_key_values(span_attributes(record, capture_content=capture_content)),
        status=status,
    )
    resource = Resource(
        attributes=_key_values(
            {
                "service.name": record.project,
                "telemetry.sdk.name": "honeyhive-trace",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.version": __version__,
            }
        )
    )
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=resource,
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name=SCOPE_NAME, version=__version__),
                        spans=[span],
                    )
                ],
            )
        ]
    )
    serialized: bytes = request.SerializeToString()
    return serialized
