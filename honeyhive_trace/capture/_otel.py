"""The OpenTelemetry span the traced code runs in, for the OTLP exporter.

When events are exported as OTLP spans and the application runs inside a span
of its own OpenTelemetry tracer, the exported spans join that trace (see
``docs/howto/otel.rst``). This reads the active span without importing
OpenTelemetry: if the application never imported it, there is no span to join.
"""

from __future__ import annotations

import sys

__all__ = ["otel_context"]


def otel_context() -> tuple[int, int] | None:
    """``(trace_id, span_id)`` of the active OpenTelemetry span, or None.

    Never raises: a broken or absent OpenTelemetry gives None.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    try:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return int(context.trace_id), int(context.span_id)
    except Exception:
        return None
