"""Records as OpenTelemetry spans: ids, GenAI attributes and OTLP/protobuf bytes.

The layer below delivery that knows the OTLP wire format, so that both the
OTLP exporter (:mod:`honeyhive_trace.delivery.otlp`) and the ingest processor
(:mod:`honeyhive_trace.otel`) use one mapping. :mod:`.ids`, :mod:`.attributes`,
:mod:`.messages` and :mod:`.require` need no OpenTelemetry package;
:mod:`.mapping` imports ``opentelemetry-proto`` and is imported only when used.
"""
