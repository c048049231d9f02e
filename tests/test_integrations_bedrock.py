"""Bedrock: the real ``boto3`` bedrock-runtime client against a fake Bedrock on loopback.

The fake answers ``converse`` with JSON and ``converse_stream`` with the binary
``application/vnd.amazon.eventstream`` framing botocore decodes. Credentials
are dummies from environment variables; no AWS config file is read.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations.bedrock import wrap_bedrock
from tests._support.fake_cloud import (
    FakeCloud,
    bedrock_body,
    bedrock_error,
    bedrock_response,
    bedrock_stream,
    bedrock_usage,
)
from tests._support.fake_provider import recorded

CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA = "amazon.nova-lite-v1:0"
SECRET = "fake-secret-access-key-for-tests"
QUESTION = [{"role": "user", "content": [{"text": "Capital of France?"}]}]
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}


def weather_call(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud() as fake:
        yield fake


@pytest.fixture
def client(cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    sdk = boto3.client("bedrock-runtime", endpoint_url=cloud.url, config=config)
    yield sdk
    sdk.close()


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


def nova_cost(prompt: int, completion: int) -> Any:
    return pytest.approx((prompt * 0.06 + completion * 0.24) / 1e6)


@pytest.mark.usefixtures("traced")
class TestConverse:
    def test_a_wrapped_call_records_every_field(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        assert client is wrap_bedrock(client)
        cloud.queue(bedrock_response("Paris."))
        result = client.converse(
            modelId=CLAUDE,
            system=[{"text": "Answer in one word."}],
            messages=QUESTION,
            inferenceConfig={"maxTokens": 64, "temperature": 0.2, "stopSequences": ["\n"]},
        )

        assert "Paris." == result["output"]["message"]["content"][0]["text"]
        assert "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse" == (
            cloud.requests[0].path
        )
        [event] = recorded(collector)
        assert {
            "project": "test-project",
            "model": CLAUDE,
            "provider": "bedrock",
            "messages": [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Capital of France?"},
            ],
            "response": {"role": "assistant", "content": "Paris."},
            "usage": {"prompt_tokens": 21, "completion_tokens": 4, "total_tokens": 25},
            "cost": pytest.approx((21 * 3.00 + 4 * 15.00) / 1e6),
            "event_name": "bedrock.converse",
            "hyperparameters": {"max_tokens": 64, "temperature": 0.2, "stop": ["\n"]},
            "metadata": {
                "stop_reason": "end_turn",
                "request_id": "req-bedrock-1",
                "latency_ms": 312,
            },
        } == event
        assert all(SECRET.encode() not in r.body for r in collector.requests)

    def test_tool_use_is_recorded_as_tool_calls(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(
            bedrock_response(
                "Let me check.", tool_uses=[("tooluse_1", "get_weather", {"city": "Paris"})]
            )
        )
        client.converse(
            modelId=NOVA,
            messages=QUESTION,
            toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"auto": {}}},
        )

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [weather_call("tooluse_1", '{"city": "Paris"}')],
        } == event["response"]
        assert ([WEATHER_TOOL], "auto") == (event["tools"], event["tool_choice"])
        assert "tool_use" == event["metadata"]["stop_reason"]
        assert nova_cost(21, 4) == event["cost"]

    def test_a_guardrail_intervention_is_recorded_as_an_error(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(
            bedrock_response("Sorry, I can't help with that.", stop="guardrail_intervened")
        )
        client.converse(modelId=NOVA, messages=QUESTION)

        [event] = recorded(collector)
        assert "Bedrock withheld the response (stop reason guardrail_intervened)" == event["error"]

    @pytest.mark.parametrize(
        ("status", "error_type"),
        [
            (429, "ThrottlingException"),
            (500, "InternalServerException"),
            (400, "ValidationException"),
        ],
    )
    def test_an_api_error_is_recorded_and_raised_unchanged(
        self, *, cloud: FakeCloud, client: Any, collector: Collector, status: int, error_type: str
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(bedrock_error(status, error_type, "Something went wrong."))
        with pytest.raises(getattr(client.exceptions, error_type)) as raised:
            client.converse(modelId=NOVA, messages=QUESTION)

        assert error_type == raised.value.response["Error"]["Code"]
        assert 1 == len(cloud.requests)  # not retried: the test's client makes one attempt
        [event] = recorded(collector)
        assert f"{error_type}: {raised.value}" == event["error"]
        assert (NOVA, {}) == (event["model"], event["response"])

    def test_a_traced_function_returning_a_response_is_recognised(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        @hh.trace_model(model=NOVA)
        def answer(messages: Any) -> Any:
            return client.converse(modelId=NOVA, messages=messages)

        cloud.queue(bedrock_response("Paris."))
        answer(QUESTION)

        [event] = recorded(collector)
        assert ("answer", "bedrock", "Paris.") == (
            event["event_name"],
            event["provider"],
            event["response"]["content"],
        )
        assert nova_cost(21, 4) == event["cost"]

    def test_cache_counts_are_kept_and_priced(self, collector: Collector) -> None:
        @hh.trace_model(model=CLAUDE)
        def answer() -> Any:
            return bedrock_body("Paris.", usage=bedrock_usage(100, 10, cache_read=1000))

        answer()
        [event] = recorded(collector)
        assert 1000 == event["metadata"]["cache_read_input_tokens"]
        assert pytest.approx((100 * 3 + 1000 * 0.3 + 10 * 15) / 1e6) == event["cost"]

    def test_wrapping_twice_records_each_call_once_and_others_are_untouched(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(wrap_bedrock(client))
        other = boto3.client("bedrock-runtime", endpoint_url=cloud.url)
        cloud.queue(bedrock_response("Paris."), bedrock_response("Rome."))
        client.converse(modelId=NOVA, messages=QUESTION)
        other.converse(modelId=NOVA, messages=QUESTION)

        assert ["Paris."] == [e["response"]["content"] for e in recorded(collector)]
        assert "converse" not in vars(other)
        other.close()

    def test_wrap_bedrock_refuses_other_objects(self) -> None:
        with pytest.raises(TypeError, match="bedrock-runtime client"):
            wrap_bedrock(object())


@pytest.mark.usefixtures("traced")
class TestConverseStream:
    def test_a_stream_records_text_tool_use_and_usage_when_it_ends(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(
            bedrock_stream(
                ["Let me ", "check."],
                tool_uses=[("tooluse_2", "get_weather", ['{"ci', 'ty": "Paris"}'])],
                usage=bedrock_usage(30, 12),
            )
        )
        response = client.converse_stream(modelId=NOVA, messages=QUESTION)
        events = list(response["stream"])

        assert {"messageStart": {"role": "assistant"}} == events[0]
        assert cloud.requests[0].path.endswith("/converse-stream")
        [event] = recorded(collector)
        assert "bedrock.converse_stream" == event["event_name"]
        assert {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [weather_call("tooluse_2", '{"city": "Paris"}')],
        } == event["response"]
        assert {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42} == (
            event["usage"]
        )
        assert ("tool_use", "req-bedrock-2") == (
            event["metadata"]["stop_reason"],
            event["metadata"]["request_id"],
        )
        assert nova_cost(30, 12) == event["cost"]
        assert event["metadata"]["time_to_first_token_ms"] >= 0

    def test_an_exception_event_mid_stream_is_recorded_and_raised(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(bedrock_stream(["Pa"], error=("throttlingException", "Slow down.")))
        response = client.converse_stream(modelId=NOVA, messages=QUESTION)
        seen = []
        with pytest.raises(botocore.exceptions.EventStreamError) as raised:
            for item in response["stream"]:
                seen.append(item)

        assert 2 == len(seen)
        [event] = recorded(collector)
        assert f"EventStreamError: {raised.value}" == event["error"]
        assert "Pa" == event["response"]["content"]

    def test_a_stream_left_early_ends_as_closed_early(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(bedrock_stream(["Pa", "ris."]))
        response = client.converse_stream(modelId=NOVA, messages=QUESTION)
        for item in response["stream"]:
            if "contentBlockDelta" in item:
                break
        response["stream"].close()

        [event] = recorded(collector)
        assert ("Pa", True) == (event["response"]["content"], event["metadata"]["closed_early"])

    def test_a_stream_never_read_ends_when_collected(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(bedrock_stream(["Pa"]))
        client.converse_stream(modelId=NOVA, messages=QUESTION)
        gc.collect()

        [event] = recorded(collector)
        assert (True, "req-bedrock-2") == (
            event["metadata"]["closed_early"],
            event["metadata"]["request_id"],
        )

    def test_a_stream_error_before_any_event_is_recorded_and_raised(
        self, cloud: FakeCloud, client: Any, collector: Collector
    ) -> None:
        wrap_bedrock(client)
        cloud.queue(bedrock_error(429, "ThrottlingException", "Too many requests."))
        with pytest.raises(client.exceptions.ThrottlingException):
            client.converse_stream(modelId=NOVA, messages=QUESTION)

        [event] = recorded(collector)
        assert event["error"].startswith("ThrottlingException: ")

    def test_a_traced_generator_yielding_stream_events_is_assembled(
        self, collector: Collector
    ) -> None:
        @hh.trace_model(model=CLAUDE)
        def stream_answer() -> Iterator[Any]:
            yield {"messageStart": {"role": "assistant"}}
            for part in ("Let me ", "think."):
                delta = {"reasoningContent": {"text": part}}
                yield {"contentBlockDelta": {"delta": delta, "contentBlockIndex": 0}}
            yield {"contentBlockDelta": {"delta": {"text": "Paris."}, "contentBlockIndex": 1}}
            yield {"messageStop": {"stopReason": "end_turn"}}
            yield {"metadata": {"usage": bedrock_usage(10, 5), "metrics": {"latencyMs": 9}}}

        assert 6 == len(list(stream_answer()))
        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris.", "thinking": "Let me think."} == (
            event["response"]
        )
        assert ("bedrock", "end_turn") == (event["provider"], event["metadata"]["stop_reason"])
        assert pytest.approx((10 * 3.00 + 5 * 15.00) / 1e6) == event["cost"]
