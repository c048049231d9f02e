"""OpenAI: the real ``openai`` SDK against a fake provider, and the events stored."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations import complete_fields, wrap_openai
from honeyhive_trace.integrations._enrich import provider_from_url
from tests._support.fake_provider import (
    ELAPSED,
    FakeProvider,
    openai_chat,
    openai_chat_stream,
    openai_completion,
    openai_error,
    openai_response,
    openai_response_body,
    openai_response_stream,
    openai_usage,
    recorded,
    tool_call,
)

QUESTION = [{"role": "user", "content": "Capital of France?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CHAT_METADATA = {
    "response_id": "chatcmpl-abc123",
    "system_fingerprint": "fp_50cad350e4",
    "service_tier": "default",
    "request_id": "req_openai_1",
}
STREAM_METADATA = {
    "response_id": "chatcmpl-stream1",
    "system_fingerprint": "fp_50cad350e4",
    "service_tier": "default",
}


def cost(prompt: int, completion: int, per_in: float, per_out: float) -> Any:
    return pytest.approx((prompt * per_in + completion * per_out) / 1e6)


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10)
    yield sdk
    sdk.close()


def async_client(provider: FakeProvider) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10
    )


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


@pytest.mark.usefixtures("traced")
class TestChatCompletions:
    def test_a_plain_call_fills_every_field(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: list[dict[str, str]], temperature: float = 0.2) -> Any:
            return client.chat.completions.create(
                model="gpt-4o", messages=messages, temperature=temperature
            )

        provider.queue(openai_chat("Paris."))
        result = answer(QUESTION)

        assert "Paris." == result.choices[0].message.content
        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
                "cost": cost(12, 5, 2.50, 10.00),
                "event_name": "answer",
                "hyperparameters": {"temperature": 0.2},
                "metadata": {"finish_reason": "stop", **CHAT_METADATA},
            }
        ] == recorded(collector)

    def test_tool_calls_are_recorded_with_the_tools_offered(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: Any, tools: Any) -> Any:
            return client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)

        call = tool_call("call_Wx1", "get_weather", '{"city": "Paris"}')
        provider.queue(openai_chat(None, tool_calls=[call], usage=openai_usage(40, 18, cached=32)))
        answer(QUESTION, [WEATHER_TOOL])

        # 8 uncached input tokens at $2.50/M, 32 cached at $1.25/M, 18 output at $10/M.
        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": None, "tool_calls": [call]},
                "usage": {"prompt_tokens": 40, "completion_tokens": 18, "total_tokens": 58},
                "cost": pytest.approx((8 * 2.50 + 32 * 1.25 + 18 * 10.00) / 1e6),
                "event_name": "answer",
                "tools": [WEATHER_TOOL],
                "metadata": {"finish_reason": "tool_calls", "cached_tokens": 32, **CHAT_METADATA},
            }
        ] == recorded(collector)

    def test_an_async_call_is_recorded(self, provider: FakeProvider, collector: Collector) -> None:
        @hh.trace_model(provider="openai")
        async def answer(sdk: openai.AsyncOpenAI, messages: Any) -> Any:
            return await sdk.chat.completions.create(model="gpt-4o-mini", messages=messages)

        async def main() -> Any:
            async with async_client(provider) as sdk:
                return await answer(sdk, QUESTION)

        provider.queue(openai_chat("Paris.", model="gpt-4o-mini-2024-07-18"))
        result = asyncio.run(main())

        assert "Paris." == result.choices[0].message.content
        [event] = recorded(collector)
        assert "gpt-4o-mini-2024-07-18" == event["model"]
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert QUESTION == event["messages"]
        assert cost(12, 5, 0.15, 0.60) == event["cost"]

    def test_several_choices_are_all_kept(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: Any, n: int) -> Any:
            return client.chat.completions.create(model="gpt-4o", messages=messages, n=n)

        provider.queue(openai_chat("A", choices=2))
        answer(QUESTION, 2)

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "A",
            "choices": [
                {"role": "assistant", "content": "A"},
                {"role": "assistant", "content": "A (1)"},
            ],
        } == event["response"]
        assert ["stop", "stop"] == event["metadata"]["finish_reasons"]
        assert {"n": 2} == event["hyperparameters"]

    @pytest.mark.parametrize(
        ("status", "error_type", "exception"),
        [
            (429, "requests", openai.RateLimitError),
            (500, "server_error", openai.InternalServerError),
        ],
    )
    def test_an_api_error_is_recorded_and_raised_unchanged(
        self,
        *,
        provider: FakeProvider,
        client: openai.OpenAI,
        collector: Collector,
        status: int,
        error_type: str,
        exception: type[Exception],
    ) -> None:
        @hh.trace_model
        def answer(messages: Any, model: str = "gpt-4o") -> Any:
            return client.chat.completions.create(model=model, messages=messages)

        provider.queue(openai_error(status, "Something went wrong.", error_type))
        with pytest.raises(exception) as raised:
            answer(QUESTION)

        [event] = recorded(collector)
        assert f"{exception.__name__}: {raised.value}" == event.pop("error")
        assert {
            "project": "test-project",
            "model": "gpt-4o",
            "provider": "openai",
            "messages": QUESTION,
            "response": {},
            "usage": {},
            "event_name": "answer",
        } == event


@pytest.mark.usefixtures("traced")
class TestStreams:
    @staticmethod
    def streaming(client: openai.OpenAI) -> Any:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.chat.completions.create(
                model="gpt-4o",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                temperature=0.7,
                max_tokens=50,
            )

        return stream_answer

    def test_a_consumed_stream_records_the_whole_response(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris", "."], usage=openai_usage(9, 3)))
        stream = self.streaming(client)(QUESTION)
        assert [] == recorded(collector)  # the event ends with the stream

        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

        assert "Paris." == text
        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                "cost": cost(9, 3, 2.50, 10.00),
                "event_name": "stream_answer",
                "hyperparameters": {"temperature": 0.7, "max_tokens": 50},
                "metadata": {
                    "finish_reason": "stop",
                    **STREAM_METADATA,
                    "time_to_first_token_ms": ELAPSED,
                },
            }
        ] == recorded(collector)

    def test_the_stream_behaves_as_the_sdk_stream(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Hi"]))
        stream = self.streaming(client)(QUESTION)

        assert isinstance(stream, openai.Stream)
        assert 200 == stream.response.status_code
        with stream as entered:
            assert entered is stream
            chunks = list(stream)
        assert ["chat.completion.chunk"] == sorted({c.object for c in chunks})
        stream.close()  # closing again ends nothing twice
        assert 1 == len(recorded(collector))
        assert "closed_early" not in recorded(collector)[0]["metadata"]

    def test_tool_call_arguments_are_assembled_from_deltas(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(
            openai_chat_stream(
                [],
                tool_calls=[
                    ("call_1", "get_weather", ['{"ci', 'ty": "Pa', 'ris"}']),
                    ("call_2", "get_time", ["{}"]),
                ],
                usage=openai_usage(30, 12),
            )
        )
        for _ in self.streaming(client)(QUESTION):
            pass

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                tool_call("call_1", "get_weather", '{"city": "Paris"}'),
                tool_call("call_2", "get_time", "{}"),
            ],
        } == event["response"]
        assert "tool_calls" == event["metadata"]["finish_reason"]

    def test_breaking_out_and_closing_records_the_partial_response(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris", "."], usage=openai_usage(9, 3)))
        with self.streaming(client)(QUESTION) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content == "ris":
                    break

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert {} == event["usage"]
        assert "cost" not in event
        assert {
            **STREAM_METADATA,
            "time_to_first_token_ms": ELAPSED,
            "closed_early": True,
            "usage_unknown": True,
        } == event["metadata"]

    def test_an_error_mid_stream_records_the_partial_response_and_the_error(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris"], error="The server had an error."))
        with pytest.raises(openai.APIError, match=r"The server had an error\."):
            for _ in self.streaming(client)(QUESTION):
                pass

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert "APIError: The server had an error." == event["error"]
        assert "closed_early" not in event["metadata"]

    def test_a_stream_cut_off_midway_records_what_arrived(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris", "."], cut_after=3))
        with pytest.raises(openai.APIConnectionError):
            for _ in self.streaming(client)(QUESTION):
                pass

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert "APIConnectionError: Connection error." == event["error"]

    def test_a_stream_dropped_part_way_ends_when_collected(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris", "."]))
        stream = self.streaming(client)(QUESTION)
        next(stream)
        next(stream)
        assert [] == recorded(collector)

        del stream
        gc.collect()

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Pa"} == event["response"]
        assert event["metadata"]["closed_early"] is True

    def test_a_stream_never_read_ends_when_collected(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Hi"]))
        self.streaming(client)(QUESTION)
        gc.collect()

        assert [
            {
                "project": "test-project",
                "model": "gpt-4o",
                "provider": "openai",
                "messages": QUESTION,
                "response": {},
                "usage": {},
                "event_name": "stream_answer",
                "hyperparameters": {"temperature": 0.7, "max_tokens": 50},
                "metadata": {"closed_early": True},
            }
        ] == recorded(collector)

    def test_an_async_stream_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        @hh.trace_model
        async def stream_answer(sdk: openai.AsyncOpenAI, messages: Any) -> Any:
            return await sdk.chat.completions.create(
                model="gpt-4o",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )

        async def main() -> str:
            async with async_client(provider) as sdk:
                stream = await stream_answer(sdk, QUESTION)
                assert isinstance(stream, openai.AsyncStream)
                async with stream:
                    return "".join(
                        [c.choices[0].delta.content or "" async for c in stream if c.choices]
                    )

        provider.queue(openai_chat_stream(["Pa", "ris"], usage=openai_usage(9, 2)))
        assert "Paris" == asyncio.run(main())

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11} == event["usage"]
        assert ELAPSED == event["metadata"]["time_to_first_token_ms"]
        assert "closed_early" not in event["metadata"]

    def test_chunks_re_yielded_by_a_generator_are_assembled(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def relay(messages: Any) -> Iterator[Any]:
            yield from client.chat.completions.create(
                model="gpt-4o",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )

        provider.queue(openai_chat_stream(["Pa", "ris"], usage=openai_usage(9, 2)))
        assert 5 == len(list(relay(QUESTION)))

        events = recorded(collector)
        assert events[0]["metadata"].pop("time_to_first_token_ms") >= 0
        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": "Paris"},
                "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
                "cost": cost(9, 2, 2.50, 10.00),
                "event_name": "relay",
                "metadata": {"finish_reason": "stop", **STREAM_METADATA},
            }
        ] == events


@pytest.mark.usefixtures("traced")
class TestResponsesAndCompletions:
    def test_a_responses_api_response_is_recorded(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def respond(question: str) -> Any:
            return client.responses.create(model="gpt-4.1", input=question, temperature=0.3)

        provider.queue(openai_response("Hi!", calls=[("call_9", "get_time", "{}")]))
        assert "Hi!" == respond("Say hi").output_text

        assert [
            {
                "project": "test-project",
                "model": "gpt-4.1-2025-04-14",
                "provider": "openai",
                "messages": [],
                "response": {
                    "role": "assistant",
                    "content": "Hi!",
                    "tool_calls": [tool_call("call_9", "get_time", "{}")],
                },
                "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26},
                "cost": cost(20, 6, 2.00, 8.00),
                "event_name": "respond",
                "hyperparameters": {"temperature": 0.3, "top_p": 1.0},
                "inputs": {"question": "Say hi"},
                "metadata": {"status": "completed", "response_id": "resp_1"},
            }
        ] == recorded(collector)

    def test_a_responses_api_stream_is_recorded(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def respond(question: str) -> Any:
            return client.responses.create(
                model="gpt-4.1", instructions="Be brief.", input=question, stream=True
            )

        provider.queue(openai_response_stream(["H", "i!"]))
        events = list(respond("Say hi"))
        assert "response.completed" == events[-1].type

        [event] = recorded(collector)
        assert [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi"},
        ] == event["messages"]
        assert {"role": "assistant", "content": "Hi!"} == event["response"]
        assert {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26} == event["usage"]
        assert cost(20, 6, 2.00, 8.00) == event["cost"]

    def test_a_responses_api_stream_cut_off_keeps_the_text_so_far(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def respond(question: str) -> Any:
            return client.responses.create(model="gpt-4.1", input=question, stream=True)

        provider.queue(openai_response_stream(["H", "i", "!"], cut_after=6))
        with pytest.raises(openai.APIConnectionError):
            list(respond("Say hi"))

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hi"} == event["response"]
        assert "gpt-4.1-2025-04-14" == event["model"]

    def test_a_legacy_completion_is_recorded(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(client)
        provider.queue(openai_completion("Hi there"))
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=5)

        assert [
            {
                "project": "test-project",
                "model": "gpt-3.5-turbo-instruct",
                "provider": "openai",
                "messages": [{"role": "user", "content": "Say hi"}],
                "response": {"role": "assistant", "content": "Hi there"},
                "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7},
                "cost": cost(4, 3, 1.50, 2.00),
                "event_name": "openai.completions.create",
                "hyperparameters": {"max_tokens": 5},
                "metadata": {"finish_reason": "stop", "response_id": "cmpl-1"},
            }
        ] == recorded(collector)


@pytest.mark.usefixtures("traced")
class TestWrapOpenAI:
    def test_a_wrapped_client_records_its_calls_without_a_decorator(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        assert client is wrap_openai(client)
        provider.queue(openai_chat("Paris."))

        client.chat.completions.create(
            model="gpt-4o",
            messages=QUESTION,
            temperature=0.1,
            seed=7,
            tools=[WEATHER_TOOL],
            tool_choice="auto",
            user="user-42",
            extra_headers={"X-Secret": "not recorded"},
        )

        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
                "cost": cost(12, 5, 2.50, 10.00),
                "event_name": "openai.chat.completions.create",
                "hyperparameters": {"temperature": 0.1, "seed": 7},
                "tools": [WEATHER_TOOL],
                "tool_choice": "auto",
                "inputs": {"user": "user-42"},
                "metadata": {"finish_reason": "stop", **CHAT_METADATA},
            }
        ] == recorded(collector)

    def test_an_unwrapped_client_is_not_traced_or_touched(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        class_method = type(client.chat.completions).create
        wrap_openai(client)
        other = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)

        provider.queue(openai_chat("Paris."))
        other.chat.completions.create(model="gpt-4o", messages=QUESTION)

        assert [] == recorded(collector)
        assert "create" not in vars(other.chat.completions)
        assert class_method is type(client.chat.completions).create
        other.close()

    def test_wrapping_twice_records_each_call_once(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(wrap_openai(client))
        provider.queue(openai_chat("Paris."))
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)

        assert 1 == len(recorded(collector))

    def test_a_wrapped_async_client_records_streams(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> str:
            async with wrap_openai(async_client(provider)) as sdk:
                stream = await sdk.chat.completions.create(
                    model="gpt-4o", messages=QUESTION, stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in stream])

        provider.queue(openai_chat_stream(["Pa", "ris"]))
        assert "Paris" == asyncio.run(main())

        [event] = recorded(collector)
        assert "openai.chat.completions.create" == event["event_name"]
        assert QUESTION == event["messages"]
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        # Without stream_options={"include_usage": True}: no usage, and it says so.
        assert ({}, True) == (event["usage"], event["metadata"]["usage_unknown"])
        assert "inputs" not in event  # no `stream: True` clutter

    def test_a_wrapped_call_records_its_error(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(client)
        provider.queue(openai_error(429, "Rate limit reached.", "requests", "rate_limit_exceeded"))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=QUESTION)

        [event] = recorded(collector)
        assert event["error"].startswith("RateLimitError: Error code: 429")
        assert ("gpt-4o", QUESTION) == (event["model"], event["messages"])

    def test_a_wrapped_call_inside_a_traced_function_is_its_child(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(client)

        @hh.trace_model
        def answer(messages: Any) -> str:
            reply = client.chat.completions.create(model="gpt-4o", messages=messages)
            return str(reply.choices[0].message.content)

        provider.queue(openai_chat("Paris."))
        answer(QUESTION)

        # Both may start in the same millisecond: find them by name, not by order.
        by_name = {e["event_name"]: e for e in collector.events()}
        inner, outer = by_name["openai.chat.completions.create"], by_name["answer"]
        assert outer["event_id"] == inner["parent_id"]
        assert {"role": "assistant", "content": "Paris."} == outer["response"]

    def test_the_provider_of_an_unknown_server_is_openai_compatible_never_its_host(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(client)
        provider.queue(openai_chat("Hi", model="meta-llama/Llama-3.1-8B-Instruct"))
        client.chat.completions.create(model="meta-llama/Llama-3.1-8B-Instruct", messages=QUESTION)

        [event] = recorded(collector)
        assert ("openai-compatible", "meta-llama/Llama-3.1-8B-Instruct") == (
            event["provider"],
            event["model"],
        )
        assert "cost" not in event

    def test_wrap_openai_refuses_other_objects(self) -> None:
        with pytest.raises(TypeError, match="OpenAI client"):
            wrap_openai(object())

    def test_a_wrapped_client_records_nothing_when_tracing_is_off(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector, configure: Any
    ) -> None:
        wrap_openai(client)
        configure(enabled=False)
        provider.queue(openai_chat("Paris."))
        reply = client.chat.completions.create(model="gpt-4o", messages=QUESTION)

        assert "Paris." == reply.choices[0].message.content
        assert [] == recorded(collector)


@pytest.mark.usefixtures("traced")
class TestOtherValues:
    def test_a_chat_completion_dict_is_extracted(self, collector: Collector) -> None:
        @hh.trace_model
        def answer(messages: Any) -> Any:
            return openai_chat("Paris.").body

        answer(QUESTION)

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert ("gpt-4o-2024-08-06", "openai") == (event["model"], event["provider"])
        assert cost(12, 5, 2.50, 10.00) == event["cost"]

    def test_an_openai_compatible_server_dict_without_object_key(
        self, collector: Collector
    ) -> None:
        body = {
            "id": "chatcmpl-ollama",
            "model": "llama3.2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        }

        @hh.trace_model
        def answer(messages: Any) -> Any:
            return body

        answer(QUESTION)

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hi"} == event["response"]
        assert {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4} == event["usage"]
        assert ("llama3.2", "unknown") == (event["model"], event["provider"])
        assert "cost" not in event

    def test_streamed_chunk_dicts_are_assembled(self, collector: Collector) -> None:
        chunks = [data for _, data in openai_chat_stream(["Hi", "!"]).events if data != "[DONE]"]

        @hh.trace_model
        def relay(messages: Any) -> Iterator[Any]:
            yield from chunks

        list(relay(QUESTION))

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hi!"} == event["response"]

    def test_a_responses_api_dict_is_extracted(self, collector: Collector) -> None:
        @hh.trace_model
        def respond() -> Any:
            return openai_response_body("Hi!", status="incomplete")

        respond()

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hi!"} == event["response"]
        assert "incomplete" == event["metadata"]["status"]

    def test_an_unknown_object_falls_back_to_its_repr(self, collector: Collector) -> None:
        class Answer:
            def __repr__(self) -> str:
                return "Answer(42)"

        @hh.trace_model(model="gpt-4o")
        def answer() -> Any:
            return Answer()

        answer()

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Answer(42)"} == event["response"]
        assert "cost" not in event

    def test_a_response_the_extractor_chokes_on_falls_back_and_is_logged(
        self, configure: Any, collector: Collector, log_text: Any
    ) -> None:
        configure(strict=False)  # strict mode raises it instead (next test)
        broken = {"object": "chat.completion", "model": "gpt-4o", "choices": 5}

        @hh.trace_model(model="gpt-4o")
        def answer() -> Any:
            return broken

        assert broken is answer()

        [event] = recorded(collector)
        assert broken == event["response"]
        assert "extractor _extract_builtin failed" in log_text()
        assert 1 == hh.stats()["extractor_errors"]

    def test_a_failing_extractor_raises_in_strict_mode(self) -> None:
        broken = {"object": "chat.completion", "model": "gpt-4o", "choices": 5}

        @hh.trace_model(model="gpt-4o")
        def answer() -> Any:
            return broken

        with pytest.raises(hh.TracingError) as raised:
            answer()
        causes = []
        error: BaseException | None = raised.value
        while error is not None:
            causes.append(str(error))
            error = error.__cause__
        assert any("extractor _extract_builtin failed" in c for c in causes), causes


@pytest.mark.usefixtures("traced")
class TestStreamHelpers:
    def test_the_chat_completions_stream_helper_is_recorded(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.chat.completions.stream(
                model="gpt-4o", messages=messages, stream_options={"include_usage": True}
            )

        provider.queue(openai_chat_stream(["Pa", "ris."], usage=openai_usage(9, 3)))
        with stream_answer(QUESTION) as stream:
            assert not hasattr(stream, "text_stream")  # an Anthropic helper's, not this one's
            kinds = {event.type for event in stream}
            assert stream is stream.until_done()
            final = stream.get_final_completion()

        assert {"chunk", "content.delta", "content.done"} <= kinds
        assert "Paris." == final.choices[0].message.content
        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12} == event["usage"]
        assert QUESTION == event["messages"]
        assert "closed_early" not in event["metadata"]

    def test_a_wrapped_client_records_its_stream_helper(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        hh.configure(enabled=True)
        wrap_openai(client)
        provider.queue(openai_chat_stream(["Pa", "ris."], usage=openai_usage(9, 3)))
        with client.chat.completions.stream(
            model="gpt-4o",
            messages=QUESTION,
            temperature=0.3,
            stream_options={"include_usage": True},
        ) as stream:
            final = stream.get_final_completion()

        assert "Paris." == final.choices[0].message.content
        [event] = recorded(collector)
        # The helper calls create(stream=True), which the wrapper records once.
        assert "openai.chat.completions.create" == event["event_name"]
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12} == event["usage"]
        assert {"temperature": 0.3} == event["hyperparameters"]
        assert QUESTION == event["messages"]
        assert "openai" == event["provider"]


class TestRegistration:
    def test_importing_the_library_imports_no_sdk_and_no_integration_module(self) -> None:
        code = (
            "import sys, honeyhive_trace, honeyhive_trace.integrations as i\n"
            "loaded = [m for m in ('openai', 'anthropic', 'honeyhive_trace.integrations.openai',"
            " 'honeyhive_trace.integrations.anthropic', 'honeyhive_trace.integrations._streams')"
            " if m in sys.modules]\n"
            "print(loaded, i._extract_builtin in i.EXTRACTORS,"
            " i._assemble_builtin in i.CHUNK_ASSEMBLERS,"
            " i.sdk_stream_factory in i.STREAM_DETECTORS)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert "[] True True True" == done.stdout.strip()

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://api.openai.com/v1", ("openai", "api.openai.com")),
            ("https://api.anthropic.com", ("anthropic", "api.anthropic.com")),
            ("https://my-res.openai.azure.com/openai/", ("azure", "my-res.openai.azure.com")),
            ("https://openrouter.ai/api/v1", ("openrouter", "openrouter.ai")),
            ("http://localhost:11434/v1", ("ollama", "localhost")),
            (
                "https://bedrock-runtime.us-east-1.amazonaws.com",
                ("bedrock", "bedrock-runtime.us-east-1.amazonaws.com"),
            ),
            ("http://vllm.internal:8000/v1", (None, "vllm.internal")),
            (None, (None, None)),
        ],
    )
    def test_the_provider_of_a_base_url(self, url: str | None, expected: Any) -> None:
        assert expected == provider_from_url(url)

    def test_completing_fields_never_overrides_what_is_set(self) -> None:
        fields: dict[str, Any] = {
            "model": "gpt-4o",
            "provider": "azure",
            "cost": 1.0,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            "_sdk": "openai",
            "_base_url": "https://api.openai.com/v1",
        }
        complete_fields(fields, {})
        assert {
            "model": "gpt-4o",
            "provider": "azure",
            "cost": 1.0,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        } == fields


@pytest.mark.usefixtures("traced")
class TestUsageCountedOnce:
    """A traced function returning what a wrapped client's call returned."""

    def test_a_model_parent_does_not_record_its_childs_usage_again(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        wrap_openai(client)
        provider.queue(openai_chat("Paris."), openai_chat("Lyon."))

        @hh.trace_model
        def answer(question: str) -> Any:
            return client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": question}]
            )

        @hh.trace_chain
        def pipeline(question: str) -> Any:
            return client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": question}]
            )

        with hh.session(name="s"):
            answer("Capital of France?")
            pipeline("Second city?")
        events = [e for e in collector.events() if e.get("event_type") != "session"]
        by_name = {e["event_name"]: e for e in events}
        child, parent = by_name["openai.chat.completions.create"], by_name["answer"]
        assert 17 == child["usage"]["total_tokens"]
        assert child["cost"] > 0
        # The parent keeps the response, not its usage and cost.
        assert {"role": "assistant", "content": "Paris."} == parent["response"]
        assert ({}, None) == (parent["usage"], parent.get("cost"))
        assert [child["event_id"]] == parent["children_ids"]
        chain = by_name["pipeline"]
        assert "usage" not in chain
        assert "cost" not in chain
        totals = sum(e.get("usage", {}).get("total_tokens", 0) for e in events)
        assert 2 * 17 == totals  # each call counted once in the session

    def test_a_parent_returning_its_own_result_still_records_usage(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."))

        @hh.trace_model
        def answer(question: str) -> Any:
            with hh.event("tool", event_name="lookup"):
                pass
            # An unwrapped client: no child recorded this response.
            return client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": question}]
            )

        answer("Capital of France?")
        [parent] = [e for e in collector.events() if e["event_name"] == "answer"]
        assert 17 == parent["usage"]["total_tokens"]
