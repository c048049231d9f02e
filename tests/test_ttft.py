"""Time to first token is measured to the first content, for every provider's stream.

The real SDKs read streams from the fake provider on 127.0.0.1, which waits
``PAUSE`` seconds before the first content delta (after ``message_start``,
``response.created`` or the role-only chunk): the recorded
``time_to_first_token_ms`` must include that wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from tests._support.fake_provider import (
    FakeProvider,
    SSEReply,
    anthropic_stream,
    openai_chat_stream,
    openai_response_stream,
    recorded,
)

pytestmark = pytest.mark.timeout(60)

PAUSE = 0.3
QUESTION = [{"role": "user", "content": "Capital of France?"}]


def first_content(reply: SSEReply, is_content: Any) -> SSEReply:
    """The reply, pausing before its first content event."""
    index = next(i for i, (_, data) in enumerate(reply.events) if is_content(data))
    assert index > 0  # something that is not content comes first
    reply.pause_before = {index: PAUSE}
    return reply


def anthropic_reply() -> SSEReply:
    return first_content(
        anthropic_stream(["Pa", "ris."]),
        lambda d: isinstance(d, dict) and d.get("type") == "content_block_delta",
    )


def chat_reply() -> SSEReply:
    def content(d: Any) -> bool:
        return isinstance(d, dict) and bool(
            d["choices"] and d["choices"][0]["delta"].get("content")
        )

    return first_content(openai_chat_stream(["Pa", "ris."]), content)


def responses_reply() -> SSEReply:
    return first_content(
        openai_response_stream(["Pa", "ris."]),
        lambda d: isinstance(d, dict) and d.get("type") == "response.output_text.delta",
    )


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


@pytest.fixture
def claude(provider: FakeProvider) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(base_url=provider.url, api_key="sk-ant", max_retries=0, timeout=10)
    yield sdk
    sdk.close()


@pytest.fixture
def gpt(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10)
    yield sdk
    sdk.close()


def ttft(collector: Collector) -> float:
    """The time to first token of the last event (the first one warmed the SDK up:
    its lazy imports on the first event would count otherwise)."""
    *_, event = recorded(collector)
    value: float = event["metadata"]["time_to_first_token_ms"]
    return value


def warm(reply: SSEReply) -> SSEReply:
    reply.pause_before = {}
    return reply


@pytest.mark.usefixtures("traced")
class TestTimeToFirstToken:
    def test_anthropic_messages(
        self, provider: FakeProvider, claude: anthropic.Anthropic, collector: Collector
    ) -> None:
        provider.queue(warm(anthropic_reply()), anthropic_reply())
        for _ in range(2):
            stream = hh.trace_model(claude.messages.create)(
                model="claude-sonnet-4-6", messages=QUESTION, max_tokens=16, stream=True
            )
            text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
            assert "Paris." == text
        assert ttft(collector) >= PAUSE * 1000

    def test_anthropic_async_and_the_stream_helper(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        @hh.trace_model
        async def raw(sdk: anthropic.AsyncAnthropic) -> Any:
            return await sdk.messages.create(
                model="claude-sonnet-4-6", messages=QUESTION, max_tokens=16, stream=True
            )

        @hh.trace_model
        def helper(sdk: anthropic.AsyncAnthropic) -> Any:
            return sdk.messages.stream(model="claude-sonnet-4-6", messages=QUESTION, max_tokens=16)

        async def main() -> tuple[str, str]:
            async with anthropic.AsyncAnthropic(
                base_url=provider.url, api_key="sk-ant", max_retries=0
            ) as sdk:
                stream = await raw(sdk)
                first = [e.delta.text async for e in stream if e.type == "content_block_delta"]
                async with helper(sdk) as helped:
                    second = [t async for t in helped.text_stream]
                return "".join(first), "".join(second)

        provider.queue(warm(anthropic_reply()), warm(anthropic_reply()))
        provider.queue(anthropic_reply(), anthropic_reply())
        assert ("Paris.", "Paris.") == asyncio.run(main())
        assert ("Paris.", "Paris.") == asyncio.run(main())
        events = recorded(collector)[2:]
        assert 2 == len(events)
        assert all(e["metadata"]["time_to_first_token_ms"] >= PAUSE * 1000 for e in events)

    def test_openai_chat(
        self, provider: FakeProvider, gpt: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(warm(chat_reply()), chat_reply())
        for _ in range(2):
            stream = hh.trace_model(gpt.chat.completions.create)(
                model="gpt-4o", messages=QUESTION, stream=True
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            assert "Paris." == text
        assert ttft(collector) >= PAUSE * 1000

    def test_openai_responses(
        self, provider: FakeProvider, gpt: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(responses_reply())
        stream = hh.trace_model(gpt.responses.create)(
            model="gpt-4.1", input="Capital?", stream=True
        )
        assert "Paris." == "".join(
            e.delta for e in stream if e.type == "response.output_text.delta"
        )
        assert ttft(collector) >= PAUSE * 1000
