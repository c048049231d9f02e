"""Gemini: the real ``google-genai`` SDK against a fake Gemini API, and the events stored."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations.gemini import wrap_gemini
from tests._support.fake_cloud import (
    FakeCloud,
    gemini_blocked,
    gemini_body,
    gemini_error,
    gemini_response,
    gemini_stream,
    gemini_usage,
)
from tests._support.fake_provider import JSONReply, recorded

MODEL = "gemini-2.5-flash"
API_KEY = "AIza-test-gemini-key"


def flash_cost(prompt: int, completion: int, cached: int = 0) -> Any:
    return pytest.approx(((prompt - cached) * 0.30 + cached * 0.03 + completion * 2.50) / 1e6)


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud() as fake:
        yield fake


@pytest.fixture
def client(cloud: FakeCloud) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=cloud.url))


@pytest.fixture
def traced(configure: Any) -> None:
    configure()


@pytest.mark.usefixtures("traced")
class TestGenerateContent:
    def test_a_wrapped_call_records_every_field(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        assert client is wrap_gemini(client)
        cloud.queue(gemini_response("Paris.", usage=gemini_usage(8, 3)))
        config = types.GenerateContentConfig(
            system_instruction="Answer in one word.",
            temperature=0.2,
            max_output_tokens=64,
            stop_sequences=["\n"],
            safety_settings=[
                types.SafetySetting(
                    category=types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
                    threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
                )
            ],
        )
        result = client.models.generate_content(
            model=MODEL, contents="Capital of France?", config=config
        )

        assert "Paris." == result.text
        assert cloud.requests[0].path.endswith(f"/models/{MODEL}:generateContent")
        [event] = recorded(collector)
        assert {
            "project": "test-project",
            "model": MODEL,
            "provider": "google",
            "messages": [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Capital of France?"},
            ],
            "response": {"role": "assistant", "content": "Paris."},
            "usage": {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11},
            "cost": flash_cost(8, 3),
            "event_name": "gemini.models.generate_content",
            "hyperparameters": {"temperature": 0.2, "max_output_tokens": 64, "stop": ["\n"]},
            "inputs": {
                "safety_settings": [
                    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}
                ]
            },
            "metadata": {"finish_reason": "STOP", "response_id": "gem-resp-1"},
        } == event
        assert collector.requests
        assert all(API_KEY.encode() not in r.body for r in collector.requests)

    def test_function_calls_thinking_and_cached_tokens_are_recorded(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        body = gemini_body(
            "Let me check.",
            calls=[("get_weather", {"city": "Paris"})],
            usage=gemini_usage(1000, 10, thoughts=40, cached=600),
        )
        body["candidates"][0]["content"]["parts"].insert(0, {"text": "Weather?", "thought": True})
        cloud.queue(JSONReply(body))
        tool = types.Tool(
            function_declarations=[types.FunctionDeclaration(name="get_weather", description="w")]
        )
        client.models.generate_content(
            model=f"models/{MODEL}",
            contents=[types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])],
            config=types.GenerateContentConfig(
                tools=[tool],
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            ),
        )

        [event] = recorded(collector)
        assert {
            "role": "assistant",
            "content": "Let me check.",
            "thinking": "Weather?",
            "tool_calls": [
                {
                    "id": None,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        } == event["response"]
        assert [{"role": "user", "content": "Weather in Paris?"}] == event["messages"]
        assert [{"function_declarations": [{"name": "get_weather", "description": "w"}]}] == (
            event["tools"]
        )
        # Thinking tokens are billed as output; cached tokens at the cache price.
        assert {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050} == (
            event["usage"]
        )
        assert (40, 600) == (
            event["metadata"]["reasoning_tokens"],
            event["metadata"]["cached_tokens"],
        )
        assert flash_cost(1000, 50, cached=600) == event["cost"]

    def test_a_blocked_prompt_is_recorded_as_an_error_and_returned(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_blocked("SAFETY"))
        result = client.models.generate_content(model=MODEL, contents="Something harmful")

        assert result.prompt_feedback is not None
        assert not result.candidates
        [event] = recorded(collector)
        assert "Gemini blocked the prompt (block reason SAFETY)" == event["error"]
        assert "SAFETY" == event["metadata"]["block_reason"]
        assert [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}] == (
            event["metadata"]["safety_ratings"]
        )

    def test_an_answer_withheld_for_safety_is_recorded_as_an_error(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_response(None, finish="SAFETY"))
        client.models.generate_content(model=MODEL, contents="Tell me")

        [event] = recorded(collector)
        assert "Gemini withheld the response (finish reason SAFETY)" == event["error"]
        assert "SAFETY" == event["metadata"]["finish_reason"]

    @pytest.mark.parametrize(
        ("status", "state", "exception"),
        [
            (429, "RESOURCE_EXHAUSTED", errors.ClientError),
            (500, "INTERNAL", errors.ServerError),
            (400, "INVALID_ARGUMENT", errors.ClientError),
        ],
    )
    def test_an_api_error_is_recorded_and_raised_unchanged(
        self,
        *,
        cloud: FakeCloud,
        client: genai.Client,
        collector: Collector,
        status: int,
        state: str,
        exception: type[Exception],
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_error(status, "Something went wrong.", state))
        with pytest.raises(exception) as raised:
            client.models.generate_content(model=MODEL, contents="Capital of France?")

        assert status == raised.value.code  # type: ignore[attr-defined]
        [event] = recorded(collector)
        assert f"{type(raised.value).__name__}: {raised.value}" == event["error"]
        assert (MODEL, {}) == (event["model"], event["response"])
        assert [{"role": "user", "content": "Capital of France?"}] == event["messages"]

    def test_a_traced_function_returning_a_response_is_recognised(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        @hh.trace_model
        def answer(question: str) -> Any:
            return client.models.generate_content(model=MODEL, contents=question)

        cloud.queue(gemini_response("Paris."))
        answer("Capital of France?")

        [event] = recorded(collector)
        assert ("answer", MODEL, "google") == (
            event["event_name"],
            event["model"],
            event["provider"],
        )
        assert ({"role": "assistant", "content": "Paris."}, flash_cost(8, 3)) == (
            event["response"],
            event["cost"],
        )

    def test_an_unwrapped_client_is_not_traced(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        other = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=cloud.url))
        cloud.queue(gemini_response("Paris."))
        other.models.generate_content(model=MODEL, contents="hi")

        assert [] == recorded(collector)
        assert "generate_content" not in vars(other.models)

    def test_wrapping_twice_records_each_call_once(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(wrap_gemini(client))
        cloud.queue(gemini_response("Paris."))
        client.models.generate_content(model=MODEL, contents="hi")

        assert 1 == len(recorded(collector))

    def test_a_vertex_ai_client_is_recorded_as_vertex_ai(
        self, cloud: FakeCloud, collector: Collector
    ) -> None:
        vertex = genai.Client(
            vertexai=True, api_key=API_KEY, http_options=types.HttpOptions(base_url=cloud.url)
        )
        wrap_gemini(vertex)
        cloud.queue(gemini_response("Paris."))
        vertex.models.generate_content(model=MODEL, contents="Capital of France?")

        assert "/publishers/google/models/" in cloud.requests[0].path
        [event] = recorded(collector)
        assert ("vertex_ai", MODEL, "Paris.") == (
            event["provider"],
            event["model"],
            event["response"]["content"],
        )

    def test_wrap_gemini_refuses_other_objects(self) -> None:
        with pytest.raises(TypeError, match=r"google\.genai Client"):
            wrap_gemini(object())


@pytest.mark.usefixtures("traced")
class TestStreams:
    def test_a_stream_records_the_whole_answer_when_it_ends(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_stream(["Pa", "ris."], usage=gemini_usage(8, 2)))
        parts = [
            chunk.text
            for chunk in client.models.generate_content_stream(
                model=MODEL, contents="Capital of France?"
            )
        ]

        assert ["Pa", "ris."] == parts
        assert cloud.requests[0].path.endswith(f"/models/{MODEL}:streamGenerateContent?alt=sse")
        [event] = recorded(collector)
        assert "gemini.models.generate_content_stream" == event["event_name"]
        assert {"role": "assistant", "content": "Paris."} == event["response"]
        assert {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10} == event["usage"]
        assert "STOP" == event["metadata"]["finish_reason"]
        assert event["metadata"]["time_to_first_token_ms"] >= 0

    def test_leaving_a_stream_early_records_what_arrived(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_stream(["Pa", "ris", "."]))
        stream = client.models.generate_content_stream(model=MODEL, contents="hi")
        first = next(iter(stream))
        stream.close()

        assert "Pa" == first.text
        [event] = recorded(collector)
        assert ("Pa", True) == (event["response"]["content"], event["metadata"]["closed_early"])

    def test_an_error_before_the_stream_is_recorded_and_raised(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)
        cloud.queue(gemini_error(429, "Quota exceeded.", "RESOURCE_EXHAUSTED"))
        with pytest.raises(errors.ClientError) as raised:
            list(client.models.generate_content_stream(model=MODEL, contents="hi"))

        [event] = recorded(collector)
        assert f"ClientError: {raised.value}" == event["error"]

    def test_a_traced_generator_yielding_chunks_is_assembled(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        @hh.trace_model
        def stream_answer(question: str) -> Iterator[Any]:
            yield from client.models.generate_content_stream(model=MODEL, contents=question)

        cloud.queue(gemini_stream(["Ro", "me."]))
        assert ["Ro", "me."] == [c.text for c in stream_answer("Capital of Italy?")]

        [event] = recorded(collector)
        assert ("stream_answer", "Rome.") == (event["event_name"], event["response"]["content"])
        assert flash_cost(8, 3) == event["cost"]


@pytest.mark.usefixtures("traced")
class TestAsync:
    def test_async_calls_and_streams_are_recorded(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)

        async def main() -> tuple[str | None, list[str | None]]:
            answer = await client.aio.models.generate_content(model=MODEL, contents="France?")
            stream = await client.aio.models.generate_content_stream(
                model=MODEL, contents="Italy?"
            )
            return answer.text, [chunk.text async for chunk in stream]

        cloud.queue(gemini_response("Paris."), gemini_stream(["Ro", "me."]))
        assert ("Paris.", ["Ro", "me."]) == asyncio.run(main())

        created, streamed = recorded(collector)
        assert ("gemini.aio.models.generate_content", "Paris.") == (
            created["event_name"],
            created["response"]["content"],
        )
        assert ("gemini.aio.models.generate_content_stream", "Rome.") == (
            streamed["event_name"],
            streamed["response"]["content"],
        )
        assert [{"role": "user", "content": "Italy?"}] == streamed["messages"]

    def test_an_async_stream_closed_early_records_what_arrived(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)

        async def main() -> str | None:
            stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
            first = await stream.__anext__()
            await stream.aclose()
            return first.text

        cloud.queue(gemini_stream(["Pa", "ris", "."]))
        assert "Pa" == asyncio.run(main())

        [event] = recorded(collector)
        assert ("Pa", True) == (event["response"]["content"], event["metadata"]["closed_early"])

    def test_an_async_error_is_recorded_and_raised_unchanged(
        self, cloud: FakeCloud, client: genai.Client, collector: Collector
    ) -> None:
        wrap_gemini(client)

        async def main() -> None:
            await client.aio.models.generate_content(model=MODEL, contents="hi")

        cloud.queue(gemini_error(500, "Internal error.", "INTERNAL"))
        with pytest.raises(errors.ServerError) as raised:
            asyncio.run(main())

        [event] = recorded(collector)
        assert f"ServerError: {raised.value}" == event["error"]


class TestRegistration:
    def test_no_sdk_is_imported_until_used(self) -> None:
        # Reading a value loads the built-in readers (Gemini's and Bedrock's too), and
        # importing the LiteLLM integration loads its module: none imports its SDK.
        code = (
            "import sys, honeyhive_trace\n"
            "import honeyhive_trace.integrations as i\n"
            "import honeyhive_trace.integrations.litellm\n"
            "i.extract_response({'candidates': [], 'usageMetadata': {}})\n"
            "print([m for m in ('google.genai', 'boto3', 'botocore', 'litellm', 'openai')"
            " if m in sys.modules], 'honeyhive_trace.integrations.gemini' in sys.modules)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert "[] True" == done.stdout.strip()
