"""The OTLP exporter's codec: every event as one span of an OTLP/HTTP protobuf request.

Chosen by ``exporters=("otlp", ...)``; imported only then (it needs the
``[otel]`` extra). Each record is encoded once into a whole
``ExportTraceServiceRequest`` of one span (:func:`~honeyhive_trace._otlp.mapping.span_bytes`);
protobuf concatenates repeated fields, so the bytes of several items joined
together are one valid request, and batching, the 413 split, retries, the
spool and dead letters work exactly as for HoneyHive's API.

Spans cannot change once ended, so an update (feedback, a session's end) has
no span: it is counted as ``dropped_update_not_exported`` for this exporter
(HoneyHive's exporter still sends it).
"""

from __future__ import annotations

import attrs

from honeyhive_trace._otlp.mapping import span_bytes
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace.delivery.codec import CODECS, Codec
from honeyhive_trace.delivery.protocol import Prepared, Route
from honeyhive_trace.records import Record, SessionStart

__all__ = ["CONTENT_TYPE", "OtlpCodec", "otlp_codec"]

CONTENT_TYPE = "application/x-protobuf"
NAME = "otlp"
#: Every kind goes to the endpoint itself (the transport's base URL).
_ROUTE = Route("POST", "", "", None, None)


@attrs.frozen
class OtlpCodec(Codec):
    """Records as OTLP spans; see the module's docstring."""

    #: False leaves messages, responses, inputs and outputs out of the spans.
    capture_content: bool = True

    def encode(
        self, record: Record | Unbuilt, kind: str, context: tuple[int, int] | None = None
    ) -> bytes:
        """One span's request, or ``b""`` for an update (spans are immutable).

        *context* is the OpenTelemetry span that was active when the event
        ended, as ``(trace_id, span_id)``: the span joins that trace, and hangs
        under it unless it has a parent event of its own. Spans are written
        from records (the codec is binary), so one left unmade is made.
        """
        if isinstance(record, Unbuilt):
            record = record.build()
        if kind == "update":
            return b""
        trace_id = parent = None
        if context is not None:
            trace_id = context[0].to_bytes(16, "big")
            own_parent = record.parent_id  # type: ignore[union-attr]
            if isinstance(record, SessionStart) or own_parent in (None, record.session_id):  # type: ignore[union-attr]
                parent = context[1].to_bytes(8, "big")
        return span_bytes(
            record, capture_content=self.capture_content, trace_id=trace_id, parent_span_id=parent
        )

    def adopt(self, item: Prepared) -> Prepared:
        """Spooled spans are sent as they were encoded."""
        return item

    def request(self, chunk: list[Prepared]) -> tuple[str, str, bytes, bool]:
        """One POST to the endpoint with the chunk's requests joined into one."""
        return "POST", "", b"".join(e.data for e in chunk), len(chunk) > 1


def otlp_codec(capture_content: bool) -> OtlpCodec:
    """The OTLP codec (registered in :data:`~.codec.CODECS` for the spool and transport)."""
    routes = dict.fromkeys(("model", "event", "session", "update"), _ROUTE)
    codec = OtlpCodec(NAME, routes, binary=True, capture_content=capture_content)
    CODECS[NAME] = codec
    return codec
