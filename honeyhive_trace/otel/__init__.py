"""OpenTelemetry, both ways (needs the ``[otel]`` extra).

* In: :class:`SpanProcessor`, added to your own ``TracerProvider``, records the
  GenAI spans of OpenTelemetry instrumentations as HoneyHive events.
* Out: :func:`span_bytes` turns a record into an OTLP/protobuf request of one
  span, with GenAI semantic-convention and HoneyHive attributes.

Importing this package does not import OpenTelemetry: :func:`require_otel`
works without it, and the other names load it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from honeyhive_trace._otlp.ids import (
    event_id_for_span,
    session_id_for_trace,
    span_id_of,
    trace_id_of,
)
from honeyhive_trace._otlp.require import OTEL_EXTRA, require_otel

if TYPE_CHECKING:
    from honeyhive_trace._otlp.mapping import span_bytes
    from honeyhive_trace.otel._ingest import SpanProcessor

__all__ = [
    "OTEL_EXTRA",
    "SpanProcessor",
    "event_id_for_span",
    "require_otel",
    "session_id_for_trace",
    "span_bytes",
    "span_id_of",
    "trace_id_of",
]


def __getattr__(name: str) -> Any:
    # The names that need OpenTelemetry load it on first use (PEP 562).
    if name == "SpanProcessor":
        from honeyhive_trace.otel._ingest import SpanProcessor

        return SpanProcessor
    if name == "span_bytes":
        from honeyhive_trace._otlp.mapping import span_bytes

        return span_bytes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
