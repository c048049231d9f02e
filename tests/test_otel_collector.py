"""Spans from span_bytes() through a real OpenTelemetry Collector (rotel) to a sink."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from honeyhive_trace.otel import span_bytes
from tests._support.otel_collector import PROTOBUF, OTLPSink, RotelCollector
from tests._support.trace_records import CHAIN, MODEL, SESSION, TOOL, realistic_trace


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[OTLPSink]:
    with OTLPSink(tmp_path / "spans.jsonl") as running:
        yield running


@pytest.fixture
def collector_process(sink: OTLPSink, tmp_path: Path) -> Iterator[RotelCollector]:
    """The rotel collector forwarding to the sink; stopped (and restartable) by the test."""
    with RotelCollector(sink.url, tmp_path) as running:
        yield running


def span_hex(event_id: str) -> str:
    return uuid.UUID(event_id).hex[16:]


class TestThroughACollector:
    def test_every_span_arrives_with_its_attributes_ids_and_parents(
        self, collector_process: RotelCollector, sink: OTLPSink
    ) -> None:
        records = realistic_trace()
        body = b"".join(span_bytes(r) for r in records)
        answer = requests.post(
            collector_process.traces_url, data=body, headers=PROTOBUF, timeout=5
        )
        assert 200 == answer.status_code

        spans = {s.span_id: s for s in sink.wait_for(len(records))}
        assert {span_hex(r.event_id) for r in records} == set(spans)
        assert {uuid.UUID(SESSION).hex} == {s.trace_id for s in spans.values()}
        assert {
            span_hex(SESSION): "",
            span_hex(CHAIN): span_hex(SESSION),
            span_hex(TOOL): span_hex(CHAIN),
            span_hex(MODEL): span_hex(CHAIN),
        } == {s.span_id: s.parent_span_id for s in spans.values()}

        model = spans[span_hex(MODEL)].attributes
        assert {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 18,
            "gen_ai.response.finish_reasons": ["tool_calls"],
            "gen_ai.conversation.id": SESSION,
            "honeyhive_event_type": "model",
            "honeyhive.session_id": SESSION,
        }.items() <= model.items()
        assert (
            "Weather in Paris?"
            in json.loads(model["gen_ai.input.messages"])[0]["parts"][0]["content"]
        )
        tool = spans[span_hex(TOOL)].attributes
        assert ("execute_tool", "get_weather") == (
            tool["gen_ai.operation.name"],
            tool["gen_ai.tool.name"],
        )
        assert "invoke_workflow" == spans[span_hex(CHAIN)].attributes["gen_ai.operation.name"]
        assert "session" == spans[span_hex(SESSION)].attributes["honeyhive_event_type"]
        assert len(records) == len(sink.written())

    def test_the_collector_restarts_on_the_same_port(
        self, collector_process: RotelCollector, sink: OTLPSink
    ) -> None:
        url = collector_process.traces_url
        collector_process.stop()
        with pytest.raises(requests.ConnectionError):
            requests.post(url, data=span_bytes(realistic_trace()[3]), headers=PROTOBUF, timeout=5)

        collector_process.start()
        assert url == collector_process.traces_url
        answer = requests.post(
            url, data=span_bytes(realistic_trace()[3]), headers=PROTOBUF, timeout=5
        )
        assert 200 == answer.status_code
        [span] = sink.wait_for(1)
        assert span_hex(MODEL) == span.span_id
