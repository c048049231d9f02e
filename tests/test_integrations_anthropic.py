"""Anthropic: the real ``anthropic`` SDK against a fake provider, and the events stored."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations import wrap_anthropic
from tests._support.fake_provider import (
    ELAPSED,
    FakeProvider,
    anthropic_error,
    anthropic_message,
    anthropic_message_body,
    anthropic_stream,
    anthropic_usage,
    recorded,
)

MODEL = "claude-sonnet-4-6"
QUESTION = [{"role": "user", "content": "Capital of France?"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
MESSAGE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"


def sonnet_cost(prompt: int, completion: int) -> Any:
    return pytest.approx((prompt * 3.00 + completion * 15.00) / 1e6)


def weather_call(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(base_url=provider.url, api_key="sk-ant-test", max_retries=0)
    yield sdk
    sdk.close()


def async_client(provider: FakeProvider) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=provider.url, api_key="sk-ant-test", max_retries=0)


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


@pytest.mark.usefixtures("traced")
class TestMessages:
    def test_a_plain_call_fills_every_field_with_the_system_prompt_first(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(system: str, messages: Any, max_tokens: int = 256) -> Any:
            return client.messages.create(
                model=MODEL, system=system, messages=messages, max_tokens=max_tokens
            )

        provider.queue(anthropic_message("Paris."))
        result = answer("Answer in one word.", QUESTION)

        assert "Paris." == result.content[0].text
        assert [
            {
                "project": "test-project",
                "model": MODEL,
                "provider": "anthropic",
                "messages": [{"role": "system", "content": "Answer in one word."}, *QUESTION],
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34},
                "cost": sonnet_cost(25, 9),
                "event_name": "answer",
                "hyperparameters": {"max_tokens": 256},
                "metadata": {
                    "stop_reason": "end_turn",
                    "response_id": MESSAGE_ID,
                    "request_id": "req_ant_1",
                },
            }
        ] == recorded(collector)

    def test_tool_use_is_recorded_as_tool_calls(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: Any, tools: Any) -> Any:
            return client.messages.create(
                model=MODEL, messages=messages, tools=tools, max_tokens=256
            )

        provider.queue(
            anthropic_message(
                "Let me check.", tool_uses=[("toolu_01", "get_weather", {"city": "Paris"})]
            )
        )
        answer(QUESTION, [WEATHER_TOOL])

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [weather_call("toolu_01", '{"city": "Paris"}')],
        } == event["response"]
        assert [WEATHER_TOOL] == event["tools"]
        assert "tool_use" == event["metadata"]["stop_reason"]

    def test_prompt_cache_tokens_are_kept_and_priced(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(messages: Any) -> Any:
            return client.messages.create(model=MODEL, messages=messages, max_tokens=256)

        usage = anthropic_usage(100, 10, cache_read=1000, cache_creation=200)
        provider.queue(anthropic_message("Paris.", usage=usage))
        answer(QUESTION)

        [event] = recorded(collector)
        assert {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110} == (
            event["usage"]
        )
        assert 1000 == event["metadata"]["cache_read_input_tokens"]
        assert 200 == event["metadata"]["cache_creation_input_tokens"]
        # Reads at 0.1x and 5-minute writes at 1.25x the $3/M input price.
        assert pytest.approx((100 * 3 + 1000 * 0.3 + 200 * 3.75 + 10 * 15) / 1e6) == event["cost"]

    def test_an_async_call_is_recorded(self, provider: FakeProvider, collector: Collector) -> None:
        @hh.trace_model
        async def answer(sdk: anthropic.AsyncAnthropic, messages: Any) -> Any:
            return await sdk.messages.create(
                model="claude-haiku-4-5", messages=messages, max_tokens=64
            )

        async def main() -> Any:
            async with async_client(provider) as sdk:
                return await answer(sdk, QUESTION)

        provider.queue(anthropic_message("Paris.", model="claude-haiku-4-5-20251001"))
        assert "Paris." == asyncio.run(main()).content[0].text

        [event] = recorded(collector)
        assert ("claude-haiku-4-5-20251001", "anthropic") == (event["model"], event["provider"])
        assert pytest.approx((25 * 1.00 + 9 * 5.00) / 1e6) == event["cost"]

    @pytest.mark.parametrize(
        ("status", "error_type", "exception"),
        [
            (429, "rate_limit_error", anthropic.RateLimitError),
            (500, "api_error", anthropic.InternalServerError),
        ],
    )
    def test_an_api_error_is_recorded_and_raised_unchanged(
        self,
        *,
        provider: FakeProvider,
        client: anthropic.Anthropic,
        collector: Collector,
        status: int,
        error_type: str,
        exception: type[Exception],
    ) -> None:
        @hh.trace_model(model=MODEL)
        def answer(messages: Any) -> Any:
            return client.messages.create(model=MODEL, messages=messages, max_tokens=256)

        provider.queue(anthropic_error(status, error_type, "Something went wrong."))
        with pytest.raises(exception) as raised:
            answer(QUESTION)

        [event] = recorded(collector)
        assert f"{exception.__name__}: {raised.value}" == event["error"]
        assert ({}, {}, QUESTION) == (event["response"], event["usage"], event["messages"])


@pytest.mark.usefixtures("traced")
class TestStreams:
    def test_a_raw_event_stream_records_the_whole_message(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(question: str) -> Any:
            return client.messages.create(
                model=MODEL,
                system="Answer in one word.",
                messages=[{"role": "user", "content": question}],
                max_tokens=256,
                stop_sequences=["\n\n"],
                stream=True,
            )

        provider.queue(anthropic_stream(["Pa", "ris."], input_tokens=25, output_tokens=4))
        stream = stream_answer("Capital of France?")
        assert isinstance(stream, anthropic.Stream)
        assert [] == recorded(collector)

        text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")

        assert "Paris." == text
        assert [
            {
                "project": "test-project",
                "model": MODEL,
                "provider": "anthropic",
                "messages": [{"role": "system", "content": "Answer in one word."}, *QUESTION],
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 25, "completion_tokens": 4, "total_tokens": 29},
                "cost": sonnet_cost(25, 4),
                "event_name": "stream_answer",
                "hyperparameters": {"max_tokens": 256, "stop": ["\n\n"]},
                "inputs": {"question": "Capital of France?"},
                "metadata": {
                    "stop_reason": "end_turn",
                    "response_id": MESSAGE_ID,
                    "time_to_first_token_ms": ELAPSED,
                },
            }
        ] == recorded(collector)

    def test_tool_input_is_assembled_from_json_deltas(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.create(
                model=MODEL, messages=messages, max_tokens=256, stream=True
            )

        provider.queue(
            anthropic_stream(
                ["Checking."],
                tool_uses=[("toolu_01", "get_weather", ['{"ci', 'ty": ', '"Paris"}'])],
            )
        )
        for _ in stream_answer(QUESTION):
            pass

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [weather_call("toolu_01", '{"city": "Paris"}')],
        } == event["response"]
        assert "tool_use" == event["metadata"]["stop_reason"]

    def test_the_stream_helper_is_recorded_through_its_text_stream(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.stream(model=MODEL, messages=messages, max_tokens=256)

        provider.queue(anthropic_stream(["Pa", "ris."]))
        with stream_answer(QUESTION) as stream:
            assert isinstance(stream, anthropic.MessageStream)
            assert ["Pa", "ris."] == list(stream.text_stream)
            assert "Paris." == stream.get_final_text()
            assert MESSAGE_ID == stream.get_final_message().id

        assert [
            {
                "project": "test-project",
                "model": MODEL,
                "provider": "anthropic",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": "Paris."},
                "usage": {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34},
                "cost": sonnet_cost(25, 9),
                "event_name": "stream_answer",
                "hyperparameters": {"max_tokens": 256},
                "metadata": {
                    "stop_reason": "end_turn",
                    "response_id": MESSAGE_ID,
                    "time_to_first_token_ms": ELAPSED,
                },
            }
        ] == recorded(collector)

    def test_leaving_the_helper_early_records_the_partial_message(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.stream(model=MODEL, messages=messages, max_tokens=256)

        provider.queue(anthropic_stream(["Pa", "ris", "."]))
        with stream_answer(QUESTION) as stream:
            for text in stream.text_stream:
                if text == "ris":
                    break

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert event["metadata"]["closed_early"] is True
        # What message_start reported; the final count never arrived.
        assert {"prompt_tokens": 25, "completion_tokens": 1, "total_tokens": 26} == event["usage"]

    def test_an_error_event_mid_stream_records_the_partial_message_and_the_error(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.create(
                model=MODEL, messages=messages, max_tokens=256, stream=True
            )

        provider.queue(anthropic_stream(["Pa", "ris"], error=("overloaded_error", "Overloaded")))
        with pytest.raises(anthropic.APIStatusError) as raised:
            for _ in stream_answer(QUESTION):
                pass

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert f"APIStatusError: {raised.value}" == event["error"]
        assert "overloaded_error" in event["error"]

    def test_a_stream_cut_off_midway_records_what_arrived(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.create(
                model=MODEL, messages=messages, max_tokens=256, stream=True
            )

        provider.queue(anthropic_stream(["Pa", "ris", "."], cut_after=5))
        with pytest.raises(Exception) as raised:
            for _ in stream_answer(QUESTION):
                pass

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert event["error"].startswith(type(raised.value).__name__)

    def test_a_stream_dropped_part_way_ends_when_collected(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.create(
                model=MODEL, messages=messages, max_tokens=256, stream=True
            )

        provider.queue(anthropic_stream(["Pa", "ris"]))
        stream = stream_answer(QUESTION)
        for event in stream:
            if event.type == "content_block_delta":
                break
        del stream
        gc.collect()

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Pa"} == event["response"]
        assert event["metadata"]["closed_early"] is True

    def test_a_stream_manager_never_entered_ends_when_collected(
        self, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(messages: Any) -> Any:
            return client.messages.stream(model=MODEL, messages=messages, max_tokens=256)

        stream_answer(QUESTION)
        gc.collect()

        assert [
            {
                "project": "test-project",
                "model": "unknown",
                "provider": "anthropic",
                "messages": QUESTION,
                "response": {},
                "usage": {},
                "event_name": "stream_answer",
                "metadata": {"closed_early": True},
            }
        ] == recorded(collector)

    def test_async_streams_are_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        @hh.trace_model
        async def raw(sdk: anthropic.AsyncAnthropic, messages: Any) -> Any:
            return await sdk.messages.create(
                model=MODEL, messages=messages, max_tokens=256, stream=True
            )

        @hh.trace_model
        def helper(sdk: anthropic.AsyncAnthropic, messages: Any) -> Any:
            return sdk.messages.stream(model=MODEL, messages=messages, max_tokens=256)

        async def main() -> tuple[str, str]:
            async with async_client(provider) as sdk:
                stream = await raw(sdk, QUESTION)
                assert isinstance(stream, anthropic.AsyncStream)
                first = "".join(
                    [e.delta.text async for e in stream if e.type == "content_block_delta"]
                )
                async with helper(sdk, QUESTION) as helped:
                    assert isinstance(helped, anthropic.AsyncMessageStream)
                    second = "".join([t async for t in helped.text_stream])
                    assert MESSAGE_ID == (await helped.get_final_message()).id
                return first, second

        provider.queue(anthropic_stream(["Pa", "ris."]), anthropic_stream(["Ro", "me."]))
        assert ("Paris.", "Rome.") == asyncio.run(main())

        first, second = recorded(collector)
        assert {"role": "assistant", "content": "Paris."} == first["response"]
        assert {"role": "assistant", "content": "Rome."} == second["response"]
        for event in (first, second):
            assert sonnet_cost(25, 9) == event["cost"]
            assert ELAPSED == event["metadata"]["time_to_first_token_ms"]
            assert "closed_early" not in event["metadata"]


@pytest.mark.usefixtures("traced")
class TestWrapAnthropic:
    def test_a_wrapped_client_records_create_and_stream(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        assert client is wrap_anthropic(client)
        provider.queue(anthropic_message("Paris."), anthropic_stream(["Ro", "me."]))

        client.messages.create(
            model=MODEL,
            system=[{"type": "text", "text": "Answer in one word."}],
            messages=QUESTION,
            max_tokens=256,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "auto"},
            metadata={"user_id": "user-42"},
            extra_headers={"X-Secret": "not recorded"},
        )
        with client.messages.stream(model=MODEL, messages=QUESTION, max_tokens=128) as stream:
            stream.until_done()

        created, streamed = recorded(collector)
        assert {
            "project": "test-project",
            "model": MODEL,
            "provider": "anthropic",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Answer in one word."}]},
                *QUESTION,
            ],
            "response": {"role": "assistant", "content": "Paris."},
            "usage": {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34},
            "cost": sonnet_cost(25, 9),
            "event_name": "anthropic.messages.create",
            "hyperparameters": {"max_tokens": 256},
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "inputs": {"metadata": {"user_id": "user-42"}},
            "metadata": {
                "stop_reason": "end_turn",
                "response_id": MESSAGE_ID,
                "request_id": "req_ant_1",
            },
        } == created
        assert "anthropic.messages.stream" == streamed["event_name"]
        assert {"role": "assistant", "content": "Rome."} == streamed["response"]
        assert {"max_tokens": 128} == streamed["hyperparameters"]

    def test_an_unwrapped_client_is_not_traced_or_touched(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        class_method = type(client.messages).create
        wrap_anthropic(client)
        other = anthropic.Anthropic(base_url=provider.url, api_key="k", max_retries=0)

        provider.queue(anthropic_message("Paris."))
        other.messages.create(model=MODEL, messages=QUESTION, max_tokens=256)

        assert [] == recorded(collector)
        assert "create" not in vars(other.messages)
        assert class_method is type(client.messages).create
        other.close()

    def test_wrapping_twice_records_each_call_once(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        wrap_anthropic(wrap_anthropic(client))
        provider.queue(anthropic_message("Paris."))
        client.messages.create(model=MODEL, messages=QUESTION, max_tokens=256)

        assert 1 == len(recorded(collector))

    def test_a_wrapped_async_client_records_its_calls(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> None:
            async with wrap_anthropic(async_client(provider)) as sdk:
                await sdk.messages.create(model=MODEL, messages=QUESTION, max_tokens=256)
                async with sdk.messages.stream(
                    model=MODEL, messages=QUESTION, max_tokens=256
                ) as stream:
                    await stream.until_done()

        provider.queue(anthropic_message("Paris."), anthropic_stream(["Ro", "me."]))
        asyncio.run(main())

        created, streamed = recorded(collector)
        assert ("anthropic.messages.create", "Paris.") == (
            created["event_name"],
            created["response"]["content"],
        )
        assert ("anthropic.messages.stream", "Rome.") == (
            streamed["event_name"],
            streamed["response"]["content"],
        )

    def test_a_wrapped_call_records_its_error(
        self, provider: FakeProvider, client: anthropic.Anthropic, collector: Collector
    ) -> None:
        wrap_anthropic(client)
        provider.queue(anthropic_error(529, "overloaded_error", "Overloaded"))
        with pytest.raises(anthropic.APIStatusError):
            client.messages.create(model=MODEL, messages=QUESTION, max_tokens=256)

        [event] = recorded(collector)
        assert "Overloaded" in event["error"]
        assert (MODEL, QUESTION) == (event["model"], event["messages"])

    def test_wrap_anthropic_refuses_other_objects(self) -> None:
        with pytest.raises(TypeError, match="Anthropic client"):
            wrap_anthropic(object())


@pytest.mark.usefixtures("traced")
class TestDictForms:
    def test_a_message_dict_is_extracted(self, collector: Collector) -> None:
        @hh.trace_model
        def answer(system: str, messages: Any) -> Any:
            return anthropic_message_body("Paris.")

        answer("Be brief.", QUESTION)

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert [{"role": "system", "content": "Be brief."}, *QUESTION] == event["messages"]
        assert "inputs" not in event
        assert sonnet_cost(25, 9) == event["cost"]

    def test_a_bedrock_model_id_is_priced_and_attributed(self, collector: Collector) -> None:
        body = anthropic_message_body("Paris.", model="anthropic.claude-3-5-sonnet-20241022-v2:0")
        body["content"].insert(0, {"type": "thinking", "thinking": "Easy.", "signature": "s"})

        @hh.trace_model
        def answer(messages: Any) -> Any:
            return body

        answer(QUESTION)

        [event] = recorded(collector)
        assert "anthropic" == event["provider"]
        assert {"role": "assistant", "content": "Paris.", "thinking": "Easy."} == event["response"]
        assert sonnet_cost(25, 9) == event["cost"]

    def test_raw_event_dicts_yielded_by_a_generator_are_assembled(
        self, collector: Collector
    ) -> None:
        events = [data for _, data in anthropic_stream(["Pa", "ris."]).events]

        @hh.trace_model
        def relay(messages: Any) -> Iterator[Any]:
            yield from events

        list(relay(QUESTION))

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert {"prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34} == event["usage"]
