"""LiteLLM: the real ``litellm`` against the fake OpenAI-format provider on loopback."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

# LiteLLM fetches its model price map from the network at import unless told not to;
# the tests talk to loopback only.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import litellm

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations import litellm as hh_litellm
from tests._support.fake_provider import (
    FakeProvider,
    openai_chat,
    openai_chat_stream,
    openai_error,
    openai_usage,
    recorded,
    tool_call,
)

MODEL = "openai/gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"
API_KEY = "sk-litellm-secret-key"
QUESTION = [{"role": "user", "content": "Capital of France?"}]


def mini_cost(prompt: int, completion: int) -> Any:
    return pytest.approx((prompt * 0.15 + completion * 0.60) / 1e6)


@pytest.fixture
def call(provider: FakeProvider) -> dict[str, Any]:
    """The arguments every call passes: the fake server, a dummy key, no retries."""
    return {"api_base": provider.openai_url, "api_key": API_KEY, "num_retries": 0}


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


@pytest.mark.usefixtures("traced")
class TestCompletion:
    def test_a_call_records_every_field_and_no_key(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris.", model=SERVED))
        result = hh_litellm.completion(
            model=MODEL, messages=QUESTION, temperature=0.2, max_tokens=64, **call
        )

        assert isinstance(result, litellm.ModelResponse)
        assert "Paris." == result.choices[0].message.content
        assert "/v1/chat/completions" == provider.requests[0].path
        [event] = recorded(collector)
        assert {
            "project": "test-project",
            "model": SERVED,
            "provider": "openai",
            "messages": QUESTION,
            "response": {"role": "assistant", "content": "Paris."},
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            "cost": mini_cost(12, 5),
            "event_name": "litellm.completion",
            "hyperparameters": {"temperature": 0.2, "max_tokens": 64},
            "inputs": {"num_retries": 0},
            "metadata": {
                "finish_reason": "stop",
                "response_id": "chatcmpl-abc123",
                "system_fingerprint": "fp_50cad350e4",
                "service_tier": "default",
            },
        } == event
        assert collector.requests
        for request in collector.requests:
            assert API_KEY.encode() not in request.body
            assert provider.url.encode() not in request.body

    def test_a_call_inside_a_traced_function_keeps_its_parent(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        @hh.trace
        def agent(question: str) -> str:
            answer = hh_litellm.completion(
                model=MODEL, messages=[{"role": "user", "content": question}], **call
            )
            return str(answer.choices[0].message.content)

        provider.queue(openai_chat("Paris.", model=SERVED))
        assert "Paris." == agent("Capital of France?")

        events = {e["event_name"]: e for e in collector.events()}
        assert events["litellm.completion"]["parent_id"] == events["agent"]["event_id"]

    def test_a_traced_function_returning_litellms_response_is_recognised(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: Any) -> Any:
            return litellm.completion(model=MODEL, messages=messages, **call)

        provider.queue(openai_chat("Paris.", model=SERVED))
        answer(QUESTION)

        [event] = recorded(collector)
        assert ("answer", SERVED, "openai", "Paris.") == (
            event["event_name"],
            event["model"],
            event["provider"],
            event["response"]["content"],
        )
        assert mini_cost(12, 5) == event["cost"]

    def test_tool_calls_are_recorded(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        calls = [tool_call("call_1", "get_weather", '{"city": "Paris"}')]
        provider.queue(openai_chat(None, model=SERVED, tool_calls=calls))
        hh_litellm.completion(model=MODEL, messages=QUESTION, **call)

        [event] = recorded(collector)
        assert calls == event["response"]["tool_calls"]
        assert "tool_calls" == event["metadata"]["finish_reason"]

    @pytest.mark.parametrize(
        ("status", "error_type", "exception"),
        [
            (429, "rate_limit_error", litellm.RateLimitError),
            (500, "server_error", litellm.InternalServerError),
            (400, "invalid_request_error", litellm.BadRequestError),
        ],
    )
    def test_an_api_error_is_recorded_and_raised_unchanged(
        self,
        *,
        provider: FakeProvider,
        call: dict[str, Any],
        collector: Collector,
        status: int,
        error_type: str,
        exception: type[Exception],
    ) -> None:
        provider.queue(openai_error(status, "Something went wrong.", error_type))
        with pytest.raises(exception) as raised:
            hh_litellm.completion(model=MODEL, messages=QUESTION, **call)

        error = raised.value
        assert 1 == len(provider.requests)
        [event] = recorded(collector)
        assert f"{type(error).__name__}: {error}" == event["error"]
        assert ("gpt-4o-mini", {}, QUESTION) == (
            event["model"],
            event["response"],
            event["messages"],
        )


@pytest.mark.usefixtures("traced")
class TestStreams:
    def test_a_stream_records_the_whole_answer_when_it_ends(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris."], usage=openai_usage(9, 2)))
        stream = hh_litellm.completion(
            model=MODEL,
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
            **call,
        )
        parts = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]

        assert "Paris." == "".join(p for p in parts if p)
        [event] = recorded(collector)
        assert ("litellm.completion", "Paris.") == (
            event["event_name"],
            event["response"]["content"],
        )
        assert {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11} == event["usage"]
        assert event["metadata"]["time_to_first_token_ms"] >= 0


@pytest.mark.usefixtures("traced")
class TestAsync:
    def test_async_calls_and_streams_keep_their_parent(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        @hh.trace
        async def agent() -> tuple[str, str]:
            answer = await hh_litellm.acompletion(model=MODEL, messages=QUESTION, **call)
            stream = await hh_litellm.acompletion(
                model=MODEL, messages=QUESTION, stream=True, **call
            )
            parts = [c.choices[0].delta.content async for c in stream if c.choices]
            return str(answer.choices[0].message.content), "".join(p for p in parts if p)

        provider.queue(openai_chat("Paris.", model=SERVED), openai_chat_stream(["Ro", "me."]))
        assert ("Paris.", "Rome.") == asyncio.run(agent())

        events = collector.events()[::-1]
        parent = next(e for e in events if e["event_name"] == "agent")
        children = [e for e in events if e["event_name"] == "litellm.acompletion"]
        assert ["Paris.", "Rome."] == [e["response"]["content"] for e in children]
        assert [parent["event_id"]] * 2 == [e["parent_id"] for e in children]

    def test_an_async_error_is_recorded_and_raised_unchanged(
        self, provider: FakeProvider, call: dict[str, Any], collector: Collector
    ) -> None:
        provider.queue(openai_error(429, "Slow down.", "rate_limit_error"))

        async def main() -> None:
            await hh_litellm.acompletion(model=MODEL, messages=QUESTION, **call)

        with pytest.raises(litellm.RateLimitError) as raised:
            asyncio.run(main())

        [event] = recorded(collector)
        assert f"RateLimitError: {raised.value}" == event["error"]
