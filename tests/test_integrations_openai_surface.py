"""OpenAI's whole surface through ``wrap_openai``: the real SDK against the fake provider.

Responses API (create, streams, the ``stream()`` helper, ``parse``), structured
output (``chat.completions.parse``), embeddings, ``with_options()`` and
``with_raw_response`` clients, Azure and OpenAI-compatible servers, streams
without usage, and API errors.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pydantic
import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations import wrap_openai
from honeyhive_trace.integrations._enrich import complete_fields
from tests._support.fake_openai import (
    embeddings,
    response_body,
    response_reply,
    response_stream,
    response_usage,
)
from tests._support.fake_provider import (
    ELAPSED,
    FakeProvider,
    openai_chat,
    openai_chat_stream,
    openai_error,
    openai_usage,
    recorded,
    tool_call,
)

QUESTION = [{"role": "user", "content": "Capital of France?"}]
#: What the default reply's usage says: 50 in (20 cached), 30 out (18 reasoning).
REASONING_USAGE = {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80}


class City(pydantic.BaseModel):
    name: str
    country: str


@pytest.fixture(autouse=True)
def traced(configure: Any) -> None:
    configure()


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    sdk = openai.OpenAI(base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10)
    yield wrap_openai(sdk)
    sdk.close()


def async_client(provider: FakeProvider) -> openai.AsyncOpenAI:
    sdk = openai.AsyncOpenAI(
        base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10
    )
    return wrap_openai(sdk)


def cost(prompt: int, completion: int, per_in: float, per_out: float, cached: int = 0) -> Any:
    cached_price = per_in / 4  # o4-mini: cache reads at a quarter of the input price
    return pytest.approx(
        ((prompt - cached) * per_in + cached * cached_price + completion * per_out) / 1e6
    )


class TestResponsesAPI:
    def test_a_response_records_text_tool_calls_reasoning_and_token_details(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(
            response_reply(
                "It is sunny.",
                reasoning="The user asks about weather.",
                calls=[("call_1", "get_weather", '{"city": "Paris"}')],
            )
        )
        reply = client.responses.create(
            model="o4-mini",
            instructions="Be brief.",
            input="Weather in Paris?",
            reasoning={"effort": "medium"},
            max_output_tokens=200,
            store=False,
        )

        assert "It is sunny." == reply.output_text
        assert [
            {
                "project": "test-project",
                "model": "o4-mini-2025-04-16",
                "provider": "openai",
                "event_name": "openai.responses.create",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?"},
                ],
                "response": {
                    "role": "assistant",
                    "content": "It is sunny.",
                    "tool_calls": [tool_call("call_1", "get_weather", '{"city": "Paris"}')],
                    "reasoning": "The user asks about weather.",
                },
                "usage": REASONING_USAGE,
                "cost": cost(50, 30, 1.10, 4.40, cached=20),
                "hyperparameters": {
                    "reasoning": {"effort": "medium"},
                    "max_output_tokens": 200,
                    "temperature": 1.0,
                    "top_p": 1.0,
                },
                "inputs": {"store": False},
                "metadata": {
                    "status": "completed",
                    "response_id": "resp_2",
                    "request_id": "req_resp_2",
                    "cached_tokens": 20,
                    "reasoning_tokens": 18,
                },
            }
        ] == recorded(collector)

    def test_an_async_response_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> str:
            async with async_client(provider) as sdk:
                reply = await sdk.responses.create(model="o4-mini", input="Hi")
                return reply.output_text

        provider.queue(response_reply("Hello."))
        assert "Hello." == asyncio.run(main())

        [event] = recorded(collector)
        assert "openai.responses.create" == event["event_name"]
        assert {"role": "assistant", "content": "Hello."} == event["response"]
        assert REASONING_USAGE == event["usage"]
        assert (20, 18) == (
            event["metadata"]["cached_tokens"],
            event["metadata"]["reasoning_tokens"],
        )

    def test_a_stream_records_every_item_and_the_final_usage(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(
            response_stream(
                ["It is ", "sunny."],
                reasoning=["Weather ", "question."],
                calls=[("call_1", "get_weather", ['{"city"', ': "Paris"}'])],
            )
        )
        stream = client.responses.create(model="o4-mini", input="Weather?", stream=True)
        types = [event.type for event in stream]

        assert {
            "response.reasoning_summary_text.delta",
            "response.output_text.delta",
            "response.function_call_arguments.delta",
        } <= set(types)
        assert "response.completed" == types[-1]
        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "It is sunny.",
            "tool_calls": [tool_call("call_1", "get_weather", '{"city": "Paris"}')],
            "reasoning": "Weather question.",
        } == event["response"]
        assert REASONING_USAGE == event["usage"]
        assert "inputs" not in event  # no stream=True clutter
        metadata = event["metadata"]
        assert ("completed", 20, 18, ELAPSED) == (
            metadata["status"],
            metadata["cached_tokens"],
            metadata["reasoning_tokens"],
            metadata["time_to_first_token_ms"],
        )
        assert "usage_unknown" not in metadata

    def test_a_stream_cut_off_keeps_the_reasoning_and_text_so_far_and_says_usage_is_unknown(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(response_stream(["It is ", "sunny."], reasoning=["Weather."], cut_after=11))
        with pytest.raises(openai.APIConnectionError):
            for _ in client.responses.create(model="o4-mini", input="Weather?", stream=True):
                pass

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "It is ", "reasoning": "Weather."} == (
            event["response"]
        )
        assert ({}, True) == (event["usage"], event["metadata"]["usage_unknown"])
        assert "APIConnectionError: Connection error." == event["error"]

    def test_a_failed_stream_records_the_error_the_response_carries(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(response_stream(["It"], end="failed"))
        events = list(client.responses.create(model="o4-mini", input="Weather?", stream=True))

        assert "response.failed" == events[-1].type
        [event] = recorded(collector)
        assert "server_error: The model failed." == event["error"]
        assert "failed" == event["metadata"]["status"]

    def test_an_incomplete_response_records_why(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(response_stream(["It"], end="incomplete"))
        for _ in client.responses.create(model="o4-mini", input="Weather?", stream=True):
            pass

        [event] = recorded(collector)
        assert ("incomplete", "max_output_tokens") == (
            event["metadata"]["status"],
            event["metadata"]["incomplete_reason"],
        )

    def test_the_stream_helper_is_recorded_once(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(response_stream(["Par", "is."], reasoning=["Easy."]))
        with client.responses.stream(model="o4-mini", input="Capital of France?") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()

        assert (["Par", "is."], "Paris.") == (deltas, final.output_text)
        [event] = recorded(collector)
        assert "openai.responses.create" == event["event_name"]
        assert {"role": "assistant", "content": "Paris.", "reasoning": "Easy."} == (
            event["response"]
        )
        assert [{"role": "user", "content": "Capital of France?"}] == event["messages"]
        assert REASONING_USAGE == event["usage"]
        assert "closed_early" not in event["metadata"]

    def test_the_async_stream_helper_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> str:
            async with async_client(provider) as sdk:
                async with sdk.responses.stream(model="o4-mini", input="Hi") as stream:
                    final = await stream.get_final_response()
                return final.output_text

        provider.queue(response_stream(["Hel", "lo."]))
        assert "Hello." == asyncio.run(main())

        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hello."} == event["response"]
        assert REASONING_USAGE == event["usage"]

    def test_parse_records_the_parsed_object_and_the_schema_asked_for(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        schema = {"type": "json_schema", "name": "City", "schema": City.model_json_schema()}
        text = '{"name": "Paris", "country": "France"}'
        provider.queue(response_reply(text, text_format=schema))
        reply = client.responses.parse(
            model="o4-mini", input="Capital of France?", text_format=City
        )

        assert City(name="Paris", country="France") == reply.output_parsed
        [event] = recorded(collector)
        assert "openai.responses.parse" == event["event_name"]
        assert {
            "role": "assistant",
            "content": text,
            "parsed": {"name": "Paris", "country": "France"},
        } == event["response"]
        assert schema == event["response_format"]
        assert "City" == provider.requests[0].body["text"]["format"]["name"]


class TestStructuredOutput:
    def test_chat_completions_parse_records_the_parsed_object(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        text = '{"name": "Paris", "country": "France"}'
        provider.queue(openai_chat(text))
        reply = client.chat.completions.parse(
            model="gpt-4o", messages=QUESTION, response_format=City
        )

        assert City(name="Paris", country="France") == reply.choices[0].message.parsed
        [event] = recorded(collector)
        assert "openai.chat.completions.parse" == event["event_name"]
        assert {
            "role": "assistant",
            "content": text,
            "parsed": {"name": "Paris", "country": "France"},
        } == event["response"]
        assert {
            "type": "json_schema",
            "json_schema": {"name": "City", "schema": City.model_json_schema()},
        } == event["response_format"]
        assert "json_schema" == provider.requests[0].body["response_format"]["type"]
        assert (QUESTION, "openai") == (event["messages"], event["provider"])

    def test_an_async_parse_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> Any:
            async with async_client(provider) as sdk:
                reply = await sdk.chat.completions.parse(
                    model="gpt-4o", messages=QUESTION, response_format=City
                )
                return reply.choices[0].message.parsed

        provider.queue(openai_chat('{"name": "Lyon", "country": "France"}'))
        assert "Lyon" == asyncio.run(main()).name

        [event] = recorded(collector)
        assert {"name": "Lyon", "country": "France"} == event["response"]["parsed"]


def _has_vector(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_vector(v) for v in value.values())
    if isinstance(value, list):
        return any(isinstance(v, float) for v in value) or any(_has_vector(v) for v in value)
    return False


class TestEmbeddings:
    def test_an_embeddings_call_records_counts_usage_and_cost_without_vectors(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        texts = ["Paris", "Lyon", "Nice"]
        provider.queue(embeddings(8))
        reply = client.embeddings.create(model="text-embedding-3-small", input=texts)

        assert [8, 8, 8] == [len(item.embedding) for item in reply.data]  # decoded from base64
        assert "base64" == provider.requests[0].body["encoding_format"]  # what the SDK asks for
        [event] = recorded(collector)
        assert {
            "project": "test-project",
            "model": "text-embedding-3-small",
            "provider": "openai",
            "event_name": "openai.embeddings.create",
            "messages": [],
            "inputs": {"input": texts},
            "response": {"embedding_count": 3, "dimensions": 8},
            "usage": {"prompt_tokens": 12, "total_tokens": 12},
            "cost": pytest.approx(12 * 0.02 / 1e6),
            "metadata": {
                "operation": "embeddings",
                "input_count": 3,
                "dimensions": 8,
                "request_id": "req_emb_1",
            },
        } == event
        assert not _has_vector(event)

    def test_dimensions_and_encoding_are_hyperparameters(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(embeddings(model="text-embedding-3-large"))
        client.embeddings.create(
            model="text-embedding-3-large", input="Paris", dimensions=4, encoding_format="float"
        )

        [event] = recorded(collector)
        assert {"dimensions": 4, "encoding_format": "float"} == event["hyperparameters"]
        assert {"operation": "embeddings", "input_count": 1, "dimensions": 4} == {
            k: event["metadata"][k] for k in ("operation", "input_count", "dimensions")
        }
        assert pytest.approx(4 * 0.13 / 1e6) == event["cost"]
        assert not _has_vector(event)

    def test_an_async_embeddings_call_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> int:
            async with async_client(provider) as sdk:
                reply = await sdk.embeddings.create(
                    model="text-embedding-3-small", input=["a", "b"]
                )
                return len(reply.data)

        provider.queue(embeddings(16))
        assert 2 == asyncio.run(main())
        [event] = recorded(collector)
        assert {"embedding_count": 2, "dimensions": 16} == event["response"]

    def test_an_embeddings_error_is_recorded_with_the_input_count(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_error(400, "Input too long.", "invalid_request_error"))
        with pytest.raises(openai.BadRequestError):
            client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])

        [event] = recorded(collector)
        assert event["error"].startswith("BadRequestError: Error code: 400")
        assert {"operation": "embeddings", "input_count": 2} == event["metadata"]

    def test_a_traced_function_returning_embeddings_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        plain = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)

        @hh.trace_model
        def embed(texts: list[str]) -> Any:
            return plain.embeddings.create(model="text-embedding-3-small", input=texts)

        provider.queue(embeddings(8))
        embed(["a", "b"])
        plain.close()

        [event] = recorded(collector)
        assert {"embedding_count": 2, "dimensions": 8} == event["response"]
        assert "embeddings" == event["metadata"]["operation"]
        assert not _has_vector(event)


class TestClientViews:
    def test_a_with_options_copy_records_its_calls(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."), openai_chat("Lyon."))
        client.with_options(timeout=5).chat.completions.create(model="gpt-4o", messages=QUESTION)
        client.copy(max_retries=0).with_options(timeout=3).chat.completions.create(
            model="gpt-4o", messages=QUESTION
        )

        events = recorded(collector)
        assert [
            {"role": "assistant", "content": "Paris."},
            {"role": "assistant", "content": "Lyon."},
        ] == [e["response"] for e in events]
        assert {"openai.chat.completions.create"} == {e["event_name"] for e in events}
        assert all(e["usage"]["total_tokens"] == 17 for e in events)

    def test_with_raw_response_records_the_whole_response(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        sdk = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
        early = sdk.chat.completions.with_raw_response  # built before wrapping
        wrap_openai(sdk)
        assert early is not sdk.chat.completions.with_raw_response
        provider.queue(openai_chat("Paris."), openai_chat("Lyon."))

        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=QUESTION)
        raw_too = sdk.with_raw_response.chat.completions.create(model="gpt-4o", messages=QUESTION)

        assert "req_openai_1" == raw.headers["x-request-id"]
        assert "Paris." == raw.parse().choices[0].message.content
        assert "Lyon." == raw_too.parse().choices[0].message.content
        events = recorded(collector)
        assert [
            {
                "project": "test-project",
                "model": "gpt-4o-2024-08-06",
                "provider": "openai",
                "event_name": "openai.chat.completions.create",
                "messages": QUESTION,
                "response": {"role": "assistant", "content": answer},
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
                "cost": pytest.approx((12 * 2.50 + 5 * 10.00) / 1e6),
                "metadata": {
                    "finish_reason": "stop",
                    "response_id": "chatcmpl-abc123",
                    "system_fingerprint": "fp_50cad350e4",
                    "service_tier": "default",
                    "request_id": "req_openai_1",
                },
            }
            for answer in ("Paris.", "Lyon.")
        ] == events
        sdk.close()

    def test_a_streamed_raw_response_records_the_stream(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris"], usage=openai_usage(9, 2)))
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
        assert [] == recorded(collector)  # ends with the stream

        stream = raw.parse()
        assert isinstance(stream, openai.Stream)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

        assert "Paris" == text
        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Paris"} == event["response"]
        assert {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11} == event["usage"]
        assert "closed_early" not in event["metadata"]

    def test_an_async_raw_response_is_recorded(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        async def main() -> str:
            async with async_client(provider) as sdk:
                raw = await sdk.responses.with_raw_response.create(model="o4-mini", input="Hi")
                return raw.parse().output_text

        provider.queue(response_reply("Hello."))
        assert "Hello." == asyncio.run(main())
        [event] = recorded(collector)
        assert {"role": "assistant", "content": "Hello."} == event["response"]
        assert REASONING_USAGE == event["usage"]

    def test_with_streaming_response_records_the_request(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."))
        with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=QUESTION
        ) as response:
            assert "Paris." == response.parse().choices[0].message.content

        [event] = recorded(collector)
        # The body is read by the caller after the call returned: a known limit.
        assert (QUESTION, "gpt-4o", {}) == (event["messages"], event["model"], event["response"])


class TestProviders:
    def test_an_azure_client_is_named_azure(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        sdk = openai.AzureOpenAI(
            azure_endpoint=provider.url, api_key="k", api_version="2024-10-21", max_retries=0
        )
        wrap_openai(sdk)
        provider.queue(openai_chat("Paris."), openai_chat_stream(["Hi"]))
        sdk.chat.completions.create(model="my-gpt4o-deployment", messages=QUESTION)
        for _ in sdk.chat.completions.create(
            model="my-gpt4o-deployment", messages=QUESTION, stream=True
        ):
            pass
        sdk.close()

        assert "/openai/deployments/my-gpt4o-deployment/" in provider.requests[0].path
        assert ["azure", "azure"] == [e["provider"] for e in recorded(collector)]

    def test_an_unwrapped_azure_stream_returned_by_a_traced_function_is_named_azure(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        sdk = openai.AzureOpenAI(
            azure_endpoint=provider.url, api_key="k", api_version="2024-10-21", max_retries=0
        )

        @hh.trace_model
        def answer() -> Any:
            return sdk.chat.completions.create(model="dep", messages=QUESTION, stream=True)

        provider.queue(openai_chat_stream(["Hi"]))
        list(answer())
        sdk.close()
        [event] = recorded(collector)
        assert "azure" == event["provider"]

    def test_a_provider_given_to_wrap_openai_names_its_events_and_its_copies(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        sdk = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
        wrap_openai(sdk, provider="vllm")
        provider.queue(openai_chat("Hi", model="Qwen/Qwen2.5-7B"), embeddings())
        sdk.chat.completions.create(model="Qwen/Qwen2.5-7B", messages=QUESTION)
        sdk.with_options(timeout=5).embeddings.create(model="text-embedding-3-small", input="a")
        sdk.close()

        assert ["vllm", "vllm"] == [e["provider"] for e in recorded(collector)]

    @pytest.mark.parametrize(
        ("base_url", "model", "expected"),
        [
            ("https://api.openai.com/v1", "ft:my-model", "openai"),
            ("https://my-res.openai.azure.com/openai/", "dep", "azure"),
            ("https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "groq"),
            ("https://api.together.xyz/v1", "meta-llama/Llama-3-8b", "together"),
            ("http://localhost:11434/v1", "llama3.2", "ollama"),
            ("http://127.0.0.1:1234/v1", "qwen2.5-7b", "lmstudio"),
            ("https://openrouter.ai/api/v1", "meta-llama/llama-3-8b", "openrouter"),
            ("https://api.deepseek.com", "deepseek-chat", "deepseek"),
            ("https://api.mistral.ai/v1", "open-mixtral", "mistral"),
            ("https://api.fireworks.ai/inference/v1", "accounts/f/models/x", "fireworks"),
            ("https://api.perplexity.ai", "sonar", "perplexity"),
            ("https://api.x.ai/v1", "grok-4", "xai"),
            ("http://vllm.internal:8000/v1", "Qwen/Qwen2.5-7B", "openai-compatible"),
            ("http://10.1.2.3:8000/v1", "my-model", "openai-compatible"),
        ],
    )
    def test_the_provider_is_named_from_the_base_url(
        self, base_url: str, model: str, expected: str
    ) -> None:
        fields: dict[str, Any] = {"model": model, "_sdk": "openai", "_base_url": base_url}
        complete_fields(fields, {})
        assert {"model": model, "provider": expected} == fields


class TestStreamUsage:
    def test_a_stream_without_include_usage_says_its_usage_is_unknown(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris"]))
        for _ in client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream=True, temperature=0.5
        ):
            pass

        [event] = recorded(collector)
        assert {} == event["usage"]
        assert "cost" not in event
        assert True is event["metadata"]["usage_unknown"]
        assert {"temperature": 0.5} == event["hyperparameters"]
        assert "inputs" not in event

    def test_a_stream_with_include_usage_records_it_without_clutter(
        self, provider: FakeProvider, client: openai.OpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat_stream(["Pa", "ris"], usage=openai_usage(9, 2)))
        for _ in client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        ):
            pass

        [event] = recorded(collector)
        assert {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11} == event["usage"]
        assert "usage_unknown" not in event["metadata"]
        assert "inputs" not in event  # neither stream nor stream_options
        assert "hyperparameters" not in event


def _spy(client: Any, path: str, method: str) -> list[BaseException]:
    """Record what the SDK's own method raises, before wrap_openai wraps it."""
    target = client
    for name in path.split("."):
        target = getattr(target, name)
    original = getattr(target, method)
    seen: list[BaseException] = []

    async def awaited(pending: Any) -> Any:
        try:
            return await pending
        except BaseException as exc:
            seen.append(exc)
            raise

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            seen.append(exc)
            raise
        return awaited(result) if inspect.isawaitable(result) else result

    setattr(target, method, spy)
    return seen


ERRORS = [
    (429, "requests", "rate_limit_exceeded", openai.RateLimitError),
    (500, "server_error", None, openai.InternalServerError),
    (400, "invalid_request_error", "invalid_value", openai.BadRequestError),
]
CALLS: dict[str, Callable[[Any], Any]] = {
    "chat": lambda sdk: sdk.chat.completions.create(model="gpt-4o", messages=QUESTION),
    "chat-stream": lambda sdk: sdk.chat.completions.create(
        model="gpt-4o", messages=QUESTION, stream=True
    ),
    "responses": lambda sdk: sdk.responses.create(model="o4-mini", input="Hi"),
    "responses-stream": lambda sdk: sdk.responses.create(model="o4-mini", input="Hi", stream=True),
    "embeddings": lambda sdk: sdk.embeddings.create(model="text-embedding-3-small", input="Hi"),
}
PATHS = {
    "chat": "chat.completions",
    "chat-stream": "chat.completions",
    "responses": "responses",
    "responses-stream": "responses",
    "embeddings": "embeddings",
}


class TestErrors:
    @pytest.mark.parametrize("call", sorted(CALLS))
    @pytest.mark.parametrize(("status", "error_type", "code", "exception"), ERRORS)
    def test_an_api_error_is_recorded_and_the_same_exception_raised(
        self,
        *,
        provider: FakeProvider,
        collector: Collector,
        call: str,
        status: int,
        error_type: str,
        code: str | None,
        exception: type[Exception],
    ) -> None:
        sdk = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
        seen = _spy(sdk, PATHS[call], "create")
        wrap_openai(sdk)
        provider.queue(openai_error(status, "Something went wrong.", error_type, code))
        with pytest.raises(exception) as raised:
            CALLS[call](sdk)
        sdk.close()

        assert [raised.value] == seen  # the very object the SDK raised
        [event] = recorded(collector)
        assert f"{exception.__name__}: {raised.value}" == event["error"]
        assert "Something went wrong." in event["error"]
        assert {} == event["response"]

    @pytest.mark.parametrize("call", ["chat", "chat-stream", "responses-stream"])
    @pytest.mark.parametrize(("status", "error_type", "code", "exception"), ERRORS)
    def test_an_async_api_error_is_recorded_and_the_same_exception_raised(
        self,
        *,
        provider: FakeProvider,
        collector: Collector,
        call: str,
        status: int,
        error_type: str,
        code: str | None,
        exception: type[Exception],
    ) -> None:
        async def main() -> list[BaseException]:
            sdk = openai.AsyncOpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
            seen = _spy(sdk, PATHS[call], "create")
            wrap_openai(sdk)
            try:
                await CALLS[call](sdk)
            finally:
                await sdk.close()
            return seen

        provider.queue(openai_error(status, "Something went wrong.", error_type, code))
        with pytest.raises(exception) as raised:
            asyncio.run(main())

        [event] = recorded(collector)
        assert f"{exception.__name__}: {raised.value}" == event["error"]
        assert "Something went wrong." in event["error"]

    def test_an_async_error_is_the_same_object(
        self, provider: FakeProvider, collector: Collector
    ) -> None:
        seen: list[BaseException] = []
        caught: list[BaseException] = []

        async def main() -> None:
            sdk = openai.AsyncOpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
            spied = _spy(sdk, "chat.completions", "create")
            wrap_openai(sdk)
            try:
                await sdk.chat.completions.create(model="gpt-4o", messages=QUESTION, stream=True)
            except openai.RateLimitError as exc:
                caught.append(exc)
            finally:
                await sdk.close()
            seen.extend(spied)

        provider.queue(openai_error(429, "Slow down.", "requests"))
        asyncio.run(main())
        assert 1 == len(caught)
        assert caught[0] is seen[0]
        [event] = recorded(collector)
        assert event["error"].startswith("RateLimitError:")


def test_the_fake_response_body_is_what_the_sdk_parses() -> None:
    # The fake's body is accepted whole by the SDK's own model (no unknown shapes).
    body = response_body("x", reasoning="r", calls=[("c", "f", "{}")], usage=response_usage(1, 1))
    parsed = openai.types.responses.Response.model_validate(body)
    assert ["reasoning", "message", "function_call"] == [item.type for item in parsed.output]


def test_a_traced_function_returning_a_raw_response_does_not_count_its_usage_twice(
    provider: FakeProvider, client: openai.OpenAI, collector: Collector
) -> None:
    @hh.trace_model
    def answer() -> Any:
        return client.chat.completions.with_raw_response.create(model="gpt-4o", messages=QUESTION)

    provider.queue(openai_chat("Paris."))
    assert "Paris." == answer().parse().choices[0].message.content

    by_name = {e["event_name"]: e for e in collector.events()}
    child, parent = by_name["openai.chat.completions.create"], by_name["answer"]
    assert 17 == child["usage"]["total_tokens"]
    assert {"role": "assistant", "content": "Paris."} == parent["response"]
    assert ({}, None) == (parent["usage"], parent.get("cost"))


def test_an_async_streamed_raw_response_records_the_stream(
    provider: FakeProvider, collector: Collector
) -> None:
    async def main() -> str:
        async with async_client(provider) as sdk:
            raw = await sdk.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=QUESTION, stream=True
            )
            stream = raw.parse()
            assert stream is raw.parse()  # parsed once, traced once
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    provider.queue(openai_chat_stream(["Pa", "ris"]))
    assert "Paris" == asyncio.run(main())
    [event] = recorded(collector)
    assert {"role": "assistant", "content": "Paris"} == event["response"]
    assert True is event["metadata"]["usage_unknown"]


def test_a_raw_response_returned_by_a_traced_function_is_read_whole(
    provider: FakeProvider, collector: Collector
) -> None:
    plain = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)

    @hh.trace_model
    def answer(question: str) -> Any:
        return plain.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": question}], temperature=0.2
        )

    provider.queue(openai_chat("Paris."))
    assert "Paris." == answer("Capital of France?").parse().choices[0].message.content
    plain.close()

    [event] = recorded(collector)
    assert {"role": "assistant", "content": "Paris."} == event["response"]
    assert 17 == event["usage"]["total_tokens"]
    # Read back from the HTTP request: the SDK's arguments, not the function's inputs.
    assert [{"role": "user", "content": "Capital of France?"}] == event["messages"]
    assert {"temperature": 0.2} == event["hyperparameters"]
    assert {"question": "Capital of France?"} == event["inputs"]


def test_a_with_options_copy_of_a_wrapped_anthropic_client_is_traced_too(
    provider: FakeProvider, collector: Collector
) -> None:
    import anthropic

    from honeyhive_trace.integrations import wrap_anthropic
    from tests._support.fake_provider import anthropic_message

    sdk = wrap_anthropic(anthropic.Anthropic(base_url=provider.url, api_key="k", max_retries=0))
    provider.queue(anthropic_message("Bonjour."))
    sdk.with_options(timeout=5).messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=QUESTION
    )
    sdk.close()

    [event] = recorded(collector)
    assert ("anthropic.messages.create", "anthropic") == (event["event_name"], event["provider"])
    assert {"role": "assistant", "content": "Bonjour."} == event["response"]
