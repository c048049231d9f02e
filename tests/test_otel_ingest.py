"""Spans from real OpenTelemetry instrumentations, recorded as HoneyHive events.

The real ``openai`` SDK talks to the fake provider on loopback; the real
``opentelemetry-instrumentation-openai-v2`` and ``openinference-instrumentation-openai``
make the spans; our ``SpanProcessor`` on a provider of the test's own turns
them into events; the events are read back from the real collector.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import honeyhive_trace as hh
from honeyhive_trace.capture._sessions import SESSION_NAMESPACE
from honeyhive_trace.collector import Collector
from honeyhive_trace.otel import SpanProcessor, event_id_for_span, session_id_for_trace
from tests._support.fake_provider import (
    FakeProvider,
    openai_chat,
    openai_chat_stream,
    openai_error,
    openai_usage,
)

QUESTION = [{"role": "user", "content": "Capital of France?"}]


class Traced:
    """A provider of the test's own with our processor and an in-memory exporter."""

    def __init__(self, processor: SpanProcessor) -> None:
        self.provider = TracerProvider()
        self.exporter = InMemorySpanExporter()
        self.provider.add_span_processor(processor)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("tests")

    def span(self, name: str) -> Any:
        return next(s for s in self.exporter.get_finished_spans() if s.name == name)


def instrumented(kind: str, provider: TracerProvider) -> Any:
    if kind == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        from openinference.instrumentation.openai import OpenAIInstrumentor
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    return instrumentor


@pytest.fixture
def genai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Message content lands on openai-v2's spans only with both switches.
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")


@pytest.fixture(params=["openai-v2", "openinference"])
def setup(request: pytest.FixtureRequest, genai_env: None, configure: Any) -> Iterator[Traced]:
    configure()
    traced = Traced(SpanProcessor(include_non_genai=True))
    global_provider = trace.get_tracer_provider()
    instrumentor = instrumented(request.param, traced.provider)
    try:
        yield traced
    finally:
        instrumentor.uninstrument()
        traced.provider.shutdown()
    assert global_provider is trace.get_tracer_provider()


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10)
    yield sdk
    sdk.close()


def by_type(collector: Collector, event_type: str) -> list[dict[str, Any]]:
    return collector.events(event_type=event_type)


class TestInstrumentedOpenAI:
    def test_a_chat_span_becomes_a_model_event_under_its_parent_span(
        self, setup: Traced, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."))
        with setup.tracer.start_as_current_span("answer-question"):
            result = client.chat.completions.create(
                model="gpt-4o", messages=QUESTION, temperature=0.2
            )
        assert "Paris." == result.choices[0].message.content
        assert hh.flush(5)

        [model] = by_type(collector, "model")
        [chain] = by_type(collector, "chain")
        outer = setup.span("answer-question")
        [llm] = [s for s in setup.exporter.get_finished_spans() if s is not outer]
        trace_id = outer.context.trace_id
        session_id = session_id_for_trace(trace_id)

        assert event_id_for_span(trace_id, llm.context.span_id) == model["event_id"]
        assert event_id_for_span(trace_id, outer.context.span_id) == chain["event_id"]
        assert chain["event_id"] == model["parent_id"]
        assert session_id == model["session_id"] == chain["session_id"] == chain["parent_id"]
        assert "gpt-4o-2024-08-06" == model["model"]
        assert "openai" == model["provider"]
        assert QUESTION == model["messages"]
        assert "assistant" == model["response"]["role"]
        assert "Paris." == model["response"]["content"]
        assert {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17} == model["usage"]
        assert 0.2 == model["hyperparameters"]["temperature"]
        assert "stop" == model["metadata"]["finish_reason"]
        assert round((llm.end_time - llm.start_time) / 1e6, 3) == model["duration"]
        assert llm.start_time // 1_000_000 == model["start_time"]
        assert f"{llm.context.span_id:016x}" == model["metadata"]["otel_span_id"]
        assert "answer-question" == chain["event_name"]
        [started] = collector.sessions()
        assert session_id == started["session_id"]
        assert "opentelemetry" == started["session_name"]

    def test_a_span_started_inside_an_hh_event_hangs_under_it_in_its_session(
        self, setup: Traced, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."))

        @hh.trace_chain
        def answer() -> str:
            handle = hh.current_event()
            assert handle is not None
            ids.append(handle.event_id)
            reply = client.chat.completions.create(model="gpt-4o", messages=QUESTION)
            return reply.choices[0].message.content or ""

        ids: list[str] = []
        with hh.session(name="support") as session:
            answer()
        assert hh.flush(5)

        [model] = by_type(collector, "model")
        assert ids == [model["parent_id"]]
        assert session.session_id == model["session_id"]
        assert "Paris." == model["response"]["content"]

    def test_a_streamed_call_is_one_model_event_with_the_whole_reply(
        self, setup: Traced, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Par", "is."], usage=openai_usage(12, 5)))
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert "Paris." == text
        assert hh.flush(5)

        [model] = by_type(collector, "model")
        assert "Paris." == model["response"]["content"]
        assert QUESTION == model["messages"]
        assert {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17} == model["usage"]

    def test_a_failed_call_is_an_event_with_the_error(
        self, setup: Traced, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded"))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=QUESTION)
        assert hh.flush(5)

        [model] = by_type(collector, "model")
        assert "RateLimitError" in model["error"]
        assert QUESTION == model["messages"]


class TestWhatIsRecorded:
    def test_spans_that_are_not_genai_are_left_out_unless_opted_in(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        traced = Traced(SpanProcessor())
        with traced.tracer.start_as_current_span("GET /items"):
            with traced.tracer.start_as_current_span(
                "execute_tool search",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "search",
                    "gen_ai.tool.call.arguments": '{"q": "paris"}',
                    "gen_ai.tool.call.result": '{"hits": 3}',
                },
            ):
                pass
        traced.provider.shutdown()
        assert hh.flush(5)

        [tool] = collector.events()
        outer = traced.span("GET /items")
        assert "tool" == tool["event_type"]
        assert "search" == tool["event_name"]
        assert {"q": "paris"} == tool["inputs"]
        assert {"hits": 3} == tool["outputs"]
        # Its parent span was not recorded: it hangs at the top of the trace's session.
        assert session_id_for_trace(outer.context.trace_id) == tool["parent_id"]

    def test_openllmetry_attributes_are_read(self, configure: Any, collector: Collector) -> None:
        configure()
        traced = Traced(SpanProcessor())
        with traced.tracer.start_as_current_span(
            "openai.chat",
            attributes={
                "llm.request.type": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "Hi",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "Hello!",
                "gen_ai.completion.0.finish_reason": "stop",
                "gen_ai.usage.prompt_tokens": 3,
                "gen_ai.usage.completion_tokens": 2,
                "traceloop.association.properties.session_id": "conv-42",
            },
        ):
            pass
        assert hh.flush(5)

        [model] = collector.events()
        assert "gpt-4o-mini" == model["model"]
        assert [{"role": "user", "content": "Hi"}] == model["messages"]
        assert {"role": "assistant", "content": "Hello!"} == model["response"]
        assert {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5} == model["usage"]
        assert str(uuid.uuid5(SESSION_NAMESPACE, "conv-42")) == model["session_id"]

    def test_tracing_off_records_nothing_and_never_raises(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(enabled=False)
        traced = Traced(SpanProcessor())
        with traced.tracer.start_as_current_span(
            "chat gpt-4o", attributes={"gen_ai.operation.name": "chat"}
        ):
            pass
        assert [] == collector.events()


class TestParents:
    def test_a_span_under_an_unrecorded_span_hangs_under_the_nearest_recorded_one(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        traced = Traced(SpanProcessor())
        agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
        chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
        with traced.tracer.start_as_current_span("invoke_agent planner", attributes=agent):
            with traced.tracer.start_as_current_span("POST /v1/chat/completions"):
                with traced.tracer.start_as_current_span("chat gpt-4o", attributes=chat):
                    pass
        assert hh.flush(5)

        [chain] = collector.events(event_type="chain")
        [model] = collector.events(event_type="model")
        assert "planner" == chain["event_name"]
        assert chain["event_id"] == model["parent_id"]
        assert 2 == len(collector.events())

    def test_non_genai_spans_opted_in_are_chains_with_their_attributes(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        traced = Traced(SpanProcessor(include_non_genai=True))
        with traced.tracer.start_as_current_span("load", attributes={"db.system": "sqlite"}):
            pass
        assert hh.flush(5)

        [chain] = collector.events()
        assert "load" == chain["event_name"]
        assert {"db.system": "sqlite"} == chain["metadata"]["otel_attributes"]

    def test_a_failing_span_hands_the_error_over_and_nothing_raises(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        traced = Traced(SpanProcessor())
        with pytest.raises(KeyError):
            with traced.tracer.start_as_current_span(
                "execute_tool lookup", attributes={"gen_ai.operation.name": "execute_tool"}
            ):
                raise KeyError("missing")
        assert hh.flush(5)

        [tool] = collector.events()
        assert "KeyError: 'missing'" == tool["error"]


class TestPipeline:
    def test_spans_go_through_processors_and_background_delivery(
        self, configure: Any, collector: Collector
    ) -> None:
        from honeyhive_trace.processors import redact

        configure(mode="background", processors=[redact()])
        traced = Traced(SpanProcessor())
        messages = '[{"role":"user","parts":[{"type":"text","content":"mail ann@example.com"}]}]'
        with traced.tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages},
        ):
            pass
        assert hh.flush(10)

        [model] = collector.events()
        assert [{"role": "user", "content": "mail [REDACTED]"}] == model["messages"]
        assert 1 <= hh.stats()["sent"]
