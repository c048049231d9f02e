"""span_bytes(): one record, one OTLP request of one span, read back with the real decoder."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import attrs
import pytest
from opentelemetry.sdk.trace import TracerProvider

import honeyhive_trace as hh
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.otel import (
    SpanProcessor,
    event_id_for_span,
    require_otel,
    span_bytes,
    span_id_of,
    trace_id_of,
)
from honeyhive_trace.records import EventUpdate, ModelEvent
from honeyhive_trace.testing import capture_events
from tests._support.otlp import decode
from tests._support.trace_records import CHAIN, MODEL, SESSION, START, TOOL, realistic_trace

CLIENT, INTERNAL = 3, 1  # Span.SpanKind
ERROR = 2  # Status.StatusCode


def hex_span(event_id: str) -> str:
    return uuid.UUID(event_id).hex[16:]


class TestOneSpan:
    def test_a_model_event_carries_the_genai_and_honeyhive_attributes(self) -> None:
        model = realistic_trace()[3]
        [span] = decode(span_bytes(model))

        assert uuid.UUID(SESSION).hex == span.trace_id
        assert hex_span(MODEL) == span.span_id
        assert hex_span(CHAIN) == span.parent_span_id
        assert "chat gpt-4o-2024-08-06" == span.name
        assert CLIENT == span.kind
        assert (START + 50) * 1_000_000 == span.start
        assert (START + 50) * 1_000_000 + 120_001_000 == span.end
        attributes = span.attributes
        assert {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-2024-08-06",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 256,
            "gen_ai.request.stop_sequences": ["\n"],
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 18,
            "gen_ai.response.finish_reasons": ["tool_calls"],
            "gen_ai.response.id": "chatcmpl-abc123",
            "gen_ai.conversation.id": SESSION,
            "honeyhive_event_type": "model",
            "honeyhive_event_id": MODEL,
            "honeyhive.session_id": SESSION,
            "traceloop.association.properties.session_id": SESSION,
            "honeyhive.project": "test-project",
            "honeyhive.source": "dev",
            "honeyhive.parent_id": CHAIN,
            "honeyhive_config.model": "gpt-4o-2024-08-06",
            "honeyhive_config.provider": "openai",
            "honeyhive_metadata.total_tokens": 58,
            "honeyhive_inputs.chat_history.0.role": "user",
            "honeyhive_inputs.chat_history.0.content": "Weather in Paris?",
            "honeyhive_outputs.tool_calls.0.function.name": "get_weather",
        }.items() <= attributes.items()
        assert [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}] == (
            json.loads(attributes["gen_ai.input.messages"])
        )
        [output] = json.loads(attributes["gen_ai.output.messages"])
        assert {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_Wx1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_calls",
        } == output
        assert "test-project" == span.resource["service.name"]
        assert "honeyhive_trace" == span.scope

    def test_a_tool_event_is_an_execute_tool_span(self) -> None:
        [span] = decode(span_bytes(realistic_trace()[2]))
        assert "get_weather" == span.name
        assert INTERNAL == span.kind
        assert {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "call_Wx1",
            "gen_ai.tool.call.arguments": '{"city":"Paris"}',
            "gen_ai.tool.call.result": '{"forecast":"sunny"}',
            "honeyhive_event_type": "tool",
            "honeyhive_inputs.city": "Paris",
            "honeyhive_outputs.forecast": "sunny",
            "honeyhive_duration_ms": 40.5,
        }.items() <= span.attributes.items()

    def test_a_session_is_the_root_span_of_its_trace(self) -> None:
        [span] = decode(span_bytes(realistic_trace()[0]))
        assert "support-chat" == span.name
        assert hex_span(SESSION) == span.span_id
        assert uuid.UUID(SESSION).hex == span.trace_id
        assert "" == span.parent_span_id
        assert {
            "honeyhive_event_type": "session",
            "honeyhive.session_auto_create": True,
            "honeyhive.session_name": "support-chat",
            "honeyhive_user_id": "u-1",
        }.items() <= span.attributes.items()
        assert "gen_ai.operation.name" not in span.attributes

    def test_an_error_sets_the_status_and_error_type(self) -> None:
        tool = attrs.evolve(realistic_trace()[2], error="TimeoutError: the API took too long")
        [span] = decode(span_bytes(tool))
        assert ERROR == span.status_code
        assert "TimeoutError: the API took too long" == span.status_message
        assert "TimeoutError" == span.attributes["error.type"]
        plain = attrs.evolve(tool, error="refused")
        assert "_OTHER" == decode(span_bytes(plain))[0].attributes["error.type"]

    def test_without_content_capture_no_message_input_or_output_is_sent(self) -> None:
        for record in realistic_trace():
            [span] = decode(span_bytes(record, capture_content=False))
            leaked = [
                key
                for key in span.attributes
                if key.startswith(("honeyhive_inputs", "honeyhive_outputs"))
                or key
                in (
                    "gen_ai.input.messages",
                    "gen_ai.output.messages",
                    "gen_ai.tool.call.arguments",
                    "gen_ai.tool.call.result",
                    "gen_ai.tool.definitions",
                )
            ]
            assert [] == leaked
            assert record.event_id == span.attributes["honeyhive_event_id"]
        assert (
            40
            == decode(span_bytes(realistic_trace()[3], capture_content=False))[0].attributes[
                "gen_ai.usage.input_tokens"
            ]
        )

    def test_the_same_event_is_the_same_span(self) -> None:
        model = realistic_trace()[3]
        assert span_bytes(model) == span_bytes(attrs.evolve(model))

    def test_an_update_has_no_span(self) -> None:
        assert b"" == span_bytes(EventUpdate(event_id=MODEL, feedback={"rating": 1}))

    def test_an_active_span_can_be_joined(self) -> None:
        model = realistic_trace()[3]
        [span] = decode(span_bytes(model, trace_id=b"\x0a" * 16, parent_span_id=b"\x0b" * 8))
        assert "0a" * 16 == span.trace_id
        assert "0b" * 8 == span.parent_span_id
        assert hex_span(MODEL) == span.span_id

    def test_big_and_odd_values_stay_valid_attributes(self) -> None:
        model = attrs.evolve(
            realistic_trace()[3],
            metadata={"huge": 2**70, "nested": {"a": [1, {"b": None}]}, "obj": object()},
            inputs={"doc": list(range(1000))},
        )
        [span] = decode(span_bytes(model))
        assert str(2**70) == span.attributes["honeyhive_metadata.huge"]
        assert 1 == span.attributes["honeyhive_metadata.nested.a.0"]
        assert "honeyhive_metadata.nested.a.1.b" not in span.attributes


class TestConcatenation:
    def test_joined_bytes_are_one_request_with_every_span(self) -> None:
        records = realistic_trace()
        joined = b"".join(span_bytes(r) for r in records)
        spans = decode(joined)
        assert [hex_span(r.event_id) for r in records] == [s.span_id for s in spans]
        assert {uuid.UUID(SESSION).hex} == {s.trace_id for s in spans}
        parents = {s.span_id: s.parent_span_id for s in spans}
        assert {
            hex_span(SESSION): "",
            hex_span(CHAIN): hex_span(SESSION),
            hex_span(TOOL): hex_span(CHAIN),
            hex_span(MODEL): hex_span(CHAIN),
        } == parents


class TestIds:
    def test_ids_agree_with_the_propagation_headers(self) -> None:
        with capture_events():
            with hh.session(name="s") as session, hh.event("chain") as handle:
                headers = hh.propagation_headers()
        _, trace, span, _ = headers["traceparent"].split("-")
        assert trace_id_of(session.session_id).hex() == trace
        assert span_id_of(handle.event_id).hex() == span

    def test_an_ingested_span_exports_back_as_the_same_span(self) -> None:
        provider = TracerProvider()
        provider.add_span_processor(SpanProcessor(include_non_genai=True))
        tracer = provider.get_tracer("tests")
        with capture_events() as events:
            with tracer.start_as_current_span("agent") as outer:
                with tracer.start_as_current_span(
                    "chat gpt-4o", attributes={"gen_ai.operation.name": "chat"}
                ) as inner:
                    pass
        outer_span = decode(span_bytes(events.one(event_type="chain")))[0]
        inner_span = decode(span_bytes(events.one(ModelEvent)))[0]
        session_span = decode(span_bytes(events.sessions[0]))[0]
        trace_hex = f"{outer.get_span_context().trace_id:032x}"
        assert [trace_hex] * 3 == [outer_span.trace_id, inner_span.trace_id, session_span.trace_id]
        assert f"{outer.get_span_context().span_id:016x}" == outer_span.span_id
        assert f"{inner.get_span_context().span_id:016x}" == inner_span.span_id
        assert outer_span.span_id == inner_span.parent_span_id
        assert session_span.span_id == outer_span.parent_span_id
        event = events.one(ModelEvent)
        context = inner.get_span_context()
        assert event_id_for_span(context.trace_id, context.span_id) == event.event_id
        assert bytes.fromhex(inner_span.span_id) == span_id_of(event.event_id)

    def test_ids_that_are_not_uuids_are_hashed_to_valid_ids(self) -> None:
        assert 8 == len(span_id_of("not-a-uuid"))
        assert any(span_id_of("not-a-uuid"))
        assert 16 == len(trace_id_of("conv-42"))
        assert trace_id_of("conv-42") == trace_id_of("conv-42")
        assert span_id_of("a") != span_id_of("b")


class TestOptionalDependency:
    def test_importing_the_library_imports_no_opentelemetry(self) -> None:
        code = (
            "import sys, honeyhive_trace, honeyhive_trace.otel\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert "[]" == done.stdout.strip()

    def test_without_the_packages_require_otel_names_the_extra(self) -> None:
        code = (
            "import sys\n"
            "sys.modules['opentelemetry'] = None\n"  # as if not installed
            "from honeyhive_trace.otel import require_otel\n"
            "try:\n    require_otel()\n"
            "except ValueError as exc:\n    print(type(exc).__name__, exc.setting, exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert done.stdout.startswith("ConfigurationError otlp_endpoint otlp_endpoint: ")
        assert "[otel]" in done.stdout
        assert "pip install 'honeyhive-trace[otel]'" in done.stdout

    def test_with_the_packages_require_otel_passes(self) -> None:
        require_otel()

    def test_the_error_is_a_configuration_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from honeyhive_trace._otlp import require as _require

        monkeypatch.setattr(_require, "OTEL_MODULES", ("opentelemetry.sdk.no_such_module",))
        with pytest.raises(ConfigurationError, match=r"\[otel\]") as raised:
            require_otel("exporters")
        assert "exporters" == raised.value.setting
