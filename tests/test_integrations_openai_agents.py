"""OpenAI Agents SDK: the real ``openai-agents`` package against the fake Responses API.

The SDK's own export to OpenAI is replaced by our processor alone
(``set_trace_processors``), so nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunConfig,
    Runner,
    function_tool,
    input_guardrail,
    set_trace_processors,
    trace,
)
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from agents.models.openai_responses import OpenAIResponsesModel

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations.openai_agents import TracingProcessor
from honeyhive_trace.records import Event, ModelEvent
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.fake_provider import openai_chat, openai_error, openai_usage, tool_call
from tests._support.fake_responses import (
    ResponsesProvider,
    function_call,
    message,
    responses_reply,
    responses_stream,
    usage,
)
from tests._support.openapi import spec_errors

INSTRUCTIONS = "Answer in one sentence."
QUESTION = "Weather in Paris?"
ARGUMENTS = '{"city": "Paris"}'
ANSWER = "It is sunny in Paris."


@function_tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
def responses() -> Iterator[ResponsesProvider]:
    with ResponsesProvider() as fake:
        yield fake


@pytest.fixture
def processor() -> Iterator[TracingProcessor]:
    ours = TracingProcessor()
    set_trace_processors([ours])  # ours alone: the SDK exports nothing to OpenAI
    yield ours
    set_trace_processors([])


def agent(responses: ResponsesProvider, **kwargs: Any) -> Agent[Any]:
    # A client per run: an async client belongs to the event loop that first used it.
    client = openai.AsyncOpenAI(
        base_url=responses.openai_url, api_key="sk-test", max_retries=0, timeout=10
    )
    model = OpenAIResponsesModel("gpt-4.1-mini", openai_client=client)
    settings: dict[str, Any] = {"tools": [get_weather]}
    settings.update(kwargs)
    return Agent(name="weather", instructions=INSTRUCTIONS, model=model, **settings)


def queue_round_trip(responses: ResponsesProvider, streamed: bool = False) -> None:
    make = responses_stream if streamed else responses_reply
    responses.queue(
        make(function_call("call_1", "get_weather", ARGUMENTS), tokens=usage(30, 8, cached=16)),
        make(message(ANSWER), tokens=usage(52, 9)),
    )


def tree(events: CapturedEvents, root: Event, depth: int = 0) -> list[tuple[int, str, str]]:
    out = [(depth, root.event_type, root.event_name or "")]
    for child in events.children(root):
        out += tree(events, child, depth + 1)
    return out


ROUND_TRIP_TREE = [
    (0, "chain", "Agent workflow"),
    (1, "chain", "weather"),
    (2, "chain", "turn 1"),
    (3, "model", "response"),
    (3, "tool", "get_weather"),
    (2, "chain", "turn 2"),
    (3, "model", "response"),
]


def check_round_trip(events: CapturedEvents) -> None:
    """The tree and the fields of one run that called the tool once, then answered."""
    for event, body in zip(events, events.bodies(), strict=True):
        model = event.event_type == "model"
        route, key = ("/events/model", "model_event") if model else ("/events", "event")
        assert [] == spec_errors("POST", route, {key: body})
    [session] = events.sessions
    root = events.one(event_name="Agent workflow")
    assert session.session_id == root.parent_id
    assert {session.session_id} == {e.session_id for e in events}
    assert ROUND_TRIP_TREE == tree(events, root)

    first, second = events.find(ModelEvent)
    system = {"role": "system", "content": INSTRUCTIONS}
    user = {"role": "user", "content": QUESTION}
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ARGUMENTS},
    }
    assert [system, user] == first.messages
    assert {"role": "assistant", "content": "", "tool_calls": [call]} == first.response
    assert ("gpt-4.1-mini-2025-04-14", "openai") == (first.model, first.provider)
    assert (30, 8, 38) == (
        first.usage.prompt_tokens,
        first.usage.completion_tokens,
        first.usage.total_tokens,
    )
    assert 16 == (first.metadata or {})["cached_tokens"]
    assert first.cost is not None
    assert first.cost > 0
    assert "get_weather" == first.tools[0]["name"]  # type: ignore[index]
    tool_result = {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"}
    assert [
        system,
        user,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        tool_result,
    ] == second.messages
    assert {"role": "assistant", "content": ANSWER} == second.response
    assert (52, 9) == (second.usage.prompt_tokens, second.usage.completion_tokens)

    tool = events.one(event_name="get_weather")
    assert ({"city": "Paris"}, {"result": "sunny in Paris"}) == (tool.inputs, tool.outputs)
    weather = events.one(event_name="weather")
    assert ["get_weather"] == (weather.metadata or {})["tools"]
    assert all(e.error is None for e in events)


@pytest.mark.usefixtures("processor")
class TestRuns:
    def test_a_run_with_a_tool_call_is_one_session_tree(
        self, responses: ResponsesProvider
    ) -> None:
        queue_round_trip(responses)
        with capture_events() as events:
            result = Runner.run_sync(agent(responses), QUESTION)

        assert ANSWER == result.final_output
        check_round_trip(events)
        [session] = events.sessions
        assert "Agent workflow" == session.session_name
        assert str(session.metadata["trace_id"]).startswith("trace_")  # type: ignore[index]
        [end] = events.updates
        assert session.session_id == end.event_id
        assert 2 == len(responses.requests)
        assert responses.requests[1].body["input"][-1] == {
            "call_id": "call_1",
            "output": "sunny in Paris",
            "type": "function_call_output",
        }

    def test_an_async_run_and_a_streamed_run_record_the_same_tree(
        self, responses: ResponsesProvider
    ) -> None:
        async def run() -> Any:
            return (await Runner.run(agent(responses), QUESTION)).final_output

        async def run_streamed() -> Any:
            streamed = Runner.run_streamed(agent(responses), QUESTION)
            kinds = {event.type async for event in streamed.stream_events()}
            assert "raw_response_event" in kinds
            return streamed.final_output

        for runner, streamed in ((run, False), (run_streamed, True)):
            queue_round_trip(responses, streamed)
            with capture_events() as events:
                assert ANSWER == asyncio.run(runner())
            check_round_trip(events)

    def test_the_trace_is_a_chain_inside_an_open_session(
        self, responses: ResponsesProvider
    ) -> None:
        queue_round_trip(responses)
        with capture_events() as events:
            with hh.session(name="support") as outer:
                Runner.run_sync(agent(responses), QUESTION)

        [session] = events.sessions
        assert outer.session_id == session.session_id  # no session of its own
        workflow = [e for e in events if (e.metadata or {}).get("trace_id")]
        assert ["chain"] == [e.event_type for e in workflow]
        assert outer.session_id == workflow[0].parent_id
        assert ["Agent workflow"] == [e.event_name for e in events.children(workflow[0])]
        assert {outer.session_id} == {e.session_id for e in events}

    def test_turns_of_one_conversation_share_a_session_by_group_id(
        self, responses: ResponsesProvider
    ) -> None:
        responses.queue(responses_reply(message("Hi.")), responses_reply(message("Bye.")))
        run_config = RunConfig(group_id="conversation-7", workflow_name="chat")
        with capture_events() as events:
            Runner.run_sync(agent(responses, tools=[]), "Hello", run_config=run_config)
            Runner.run_sync(agent(responses, tools=[]), "Goodbye", run_config=run_config)

        assert 1 == len(events.sessions)  # started once, by the first turn
        ids = {e.session_id for e in events}
        assert {events.sessions[0].session_id} == ids
        assert "conversation-7" == (events.sessions[0].metadata or {})["session_key"]
        assert ["Hi.", "Bye."] == [e.response["content"] for e in events.find(ModelEvent)]

    def test_spans_of_a_custom_trace_hang_under_it(self, responses: ResponsesProvider) -> None:
        responses.queue(responses_reply(message("One.")), responses_reply(message("Two.")))

        async def two_runs() -> None:
            with trace("two-step", metadata={"ticket": "T-1"}):
                await Runner.run(agent(responses, tools=[]), "first")
                await Runner.run(agent(responses, tools=[]), "second")

        with capture_events() as events:
            asyncio.run(two_runs())

        [session] = events.sessions
        assert "two-step" == session.session_name
        assert "T-1" == (session.metadata or {})["ticket"]
        tops = [e for e in events if e.parent_id == session.session_id]
        assert 2 == len(tops)
        assert ["One.", "Two."] == [e.response["content"] for e in events.find(ModelEvent)]

    def test_a_failing_tool_records_its_error(self, responses: ResponsesProvider) -> None:
        @function_tool
        def broken(city: str) -> str:
            """Always fails."""
            raise ValueError(f"no station in {city}")

        responses.queue(
            responses_reply(function_call("call_9", "broken", ARGUMENTS)),
            responses_reply(message("I could not check.")),
        )
        with capture_events() as events:
            result = Runner.run_sync(agent(responses, tools=[broken]), QUESTION)

        assert "I could not check." == result.final_output  # the SDK told the model
        failed = events.one(event_name="broken")
        assert "tool" == failed.event_type
        # The SDK redacts the exception's text from its span; its summary is kept.
        assert (failed.error or "").startswith("Error running tool (non-fatal): Tool execution")


@pytest.mark.usefixtures("processor")
class TestErrors:
    @pytest.mark.parametrize(
        ("status", "kind", "sdk_error"),
        [
            (429, "rate_limit_exceeded", openai.RateLimitError),
            (500, "server_error", openai.InternalServerError),
            (400, "invalid_request_error", openai.BadRequestError),
        ],
    )
    def test_provider_errors_are_recorded_and_raised_unchanged(
        self, responses: ResponsesProvider, status: int, kind: str, sdk_error: Any
    ) -> None:
        responses.queue(openai_error(status, f"failed with {status}", kind))
        with capture_events() as events:
            with pytest.raises(sdk_error) as caught:
                Runner.run_sync(agent(responses), QUESTION)

        set_trace_processors([])  # the same run untraced raises the same error
        responses.queue(openai_error(status, f"failed with {status}", kind))
        with pytest.raises(sdk_error) as untraced:
            Runner.run_sync(agent(responses), QUESTION)
        assert (type(untraced.value), str(untraced.value)) == (
            type(caught.value),
            str(caught.value),
        )
        assert status == caught.value.status_code
        model = events.one(ModelEvent)
        assert f"failed with {status}" in (model.error or "")
        assert [] == model.messages  # the SDK keeps a failed call's input out of its span
        assert 1 == len(events.sessions)
        assert [] == [e.event_name for e in events if e.end_time is None]


@pytest.mark.usefixtures("processor")
class TestConcurrency:
    def test_concurrent_runs_are_separate_sessions(self, responses: ResponsesProvider) -> None:
        responses.queue(*(responses_reply(message(f"Answer {i}.")) for i in range(4)))

        async def four_runs() -> list[Any]:
            runs = [Runner.run(agent(responses, tools=[]), f"Q{i}") for i in range(4)]
            return [r.final_output for r in await asyncio.gather(*runs)]

        with capture_events() as events:
            answers = asyncio.run(four_runs())

        assert sorted(answers) == [f"Answer {i}." for i in range(4)]
        assert 4 == len(events.sessions)
        by_session: dict[str | None, list[str]] = {}
        for event in events:
            by_session.setdefault(event.session_id, []).append(event.event_type)
        assert {s.session_id for s in events.sessions} == set(by_session)
        for kinds in by_session.values():
            assert ["chain", "chain", "chain", "model"] == sorted(kinds)
        for model in events.find(ModelEvent):
            prompt = model.messages[-1]["content"]
            assert model.response["content"] is not None
            assert prompt.startswith("Q")


class TestDelivery:
    def test_the_session_and_its_events_reach_the_collector(
        self,
        responses: ResponsesProvider,
        processor: TracingProcessor,
        configure: Any,
        collector: Collector,
    ) -> None:
        configure()
        queue_round_trip(responses)
        Runner.run_sync(agent(responses), QUESTION)
        assert hh.flush(10)

        [listed] = collector.sessions()
        found = collector.session(listed["session_id"])
        assert found is not None
        assert "Agent workflow" == found["session"]["session_name"]
        names = sorted(e["event_name"] for e in found["events"])
        assert [
            "Agent workflow",
            "get_weather",
            "response",
            "response",
            "turn 1",
            "turn 2",
            "weather",
        ] == names
        assert "<TracingProcessor open=0>" == repr(processor)

    def test_nothing_is_recorded_when_tracing_is_off(
        self,
        responses: ResponsesProvider,
        processor: TracingProcessor,
        configure: Any,
        collector: Collector,
    ) -> None:
        configure(enabled=False)
        queue_round_trip(responses)
        assert ANSWER == Runner.run_sync(agent(responses), QUESTION).final_output
        assert hh.flush(10)
        assert ([], []) == (collector.sessions(), collector.events())
        assert "<TracingProcessor open=0>" == repr(processor)


@pytest.mark.usefixtures("processor")
class TestOtherSpans:
    def test_a_handoff_is_a_tool_event_between_the_two_agents(
        self, responses: ResponsesProvider
    ) -> None:
        weather = agent(responses)
        triage = agent(responses, tools=[], handoffs=[weather])
        triage.name = "triage"
        responses.queue(
            responses_reply(function_call("call_h", "transfer_to_weather", "{}")),
            responses_reply(message(ANSWER)),
        )
        with capture_events() as events:
            result = Runner.run_sync(triage, QUESTION)

        assert ANSWER == result.final_output
        handoff = events.one(event_name="handoff")
        assert "tool" == handoff.event_type
        assert {"from_agent": "triage", "to_agent": "weather"} == handoff.inputs
        agents = events.find(event_name="triage") + events.find(event_name="weather")
        assert ["chain", "chain"] == [a.event_type for a in agents]
        assert ["weather"] == (agents[0].metadata or {})["handoffs"]
        task = events.one(event_name="Agent workflow")
        assert {task.event_id} == {a.parent_id for a in agents}

    def test_chat_completions_calls_are_generation_spans(self, provider: Any) -> None:
        client = openai.AsyncOpenAI(
            base_url=provider.openai_url, api_key="sk-test", max_retries=0, timeout=10
        )
        model = OpenAIChatCompletionsModel("gpt-4o", openai_client=client)
        chat_agent = Agent(
            name="weather", instructions=INSTRUCTIONS, model=model, tools=[get_weather]
        )
        call = tool_call("call_1", "get_weather", ARGUMENTS)
        provider.queue(
            openai_chat(None, tool_calls=[call], usage=openai_usage(25, 7)),
            openai_chat(ANSWER, usage=openai_usage(40, 6)),
        )
        with capture_events() as events:
            result = Runner.run_sync(chat_agent, QUESTION)

        assert ANSWER == result.final_output
        first, second = events.find(ModelEvent)
        assert "generation" == first.event_name
        assert ("gpt-4o", "openai") == (first.model, first.provider)
        assert [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": QUESTION},
        ] == first.messages
        assert [call] == first.response["tool_calls"]
        assert (25, 7, 32) == (
            first.usage.prompt_tokens,
            first.usage.completion_tokens,
            first.usage.total_tokens,
        )
        assert ANSWER == second.response["content"]
        assert first.cost is not None
        assert "/v1/chat/completions" == provider.requests[0].path

    def test_what_a_tool_traces_hangs_under_the_tool(self, responses: ResponsesProvider) -> None:
        @hh.trace_tool
        def fetch(city: str) -> str:
            return f"sunny in {city}"

        @function_tool
        def weather_report(city: str) -> str:
            """The weather report of a city."""
            return fetch(city)

        responses.queue(
            responses_reply(function_call("call_2", "weather_report", ARGUMENTS)),
            responses_reply(message(ANSWER)),
        )
        with capture_events() as events:
            Runner.run_sync(agent(responses, tools=[weather_report]), QUESTION)
            assert hh.current_event() is None

        report = events.one(event_name="weather_report")
        inner = events.one(event_name="fetch")
        assert report.event_id == inner.parent_id
        assert report.session_id == inner.session_id
        assert report.session_id is not None

    def test_a_guardrail_is_a_chain_event_with_its_verdict(
        self, responses: ResponsesProvider
    ) -> None:
        @input_guardrail
        def polite(context: Any, agent: Any, given: Any) -> GuardrailFunctionOutput:
            return GuardrailFunctionOutput(output_info={"rude": False}, tripwire_triggered=False)

        responses.queue(responses_reply(message("Hi.")))
        with capture_events() as events:
            Runner.run_sync(agent(responses, tools=[], input_guardrails=[polite]), "Hello")

        guardrail = events.one(event_name="polite")
        assert ("chain", {"triggered": False}) == (guardrail.event_type, guardrail.outputs)
        assert "guardrail" == (guardrail.metadata or {})["span_type"]
