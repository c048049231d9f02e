"""What a type checker sees through honeyhive_trace's decorators and helpers.

This file is checked with ``mypy --strict`` by ``tests/test_typing.py``; it is
never run. Each ``assert_type`` fails if a decorator turned a type into ``Any``,
and each ``# type: ignore[...]`` marks a call that *must* be an error: with
``--strict`` (``warn_unused_ignores``), an ignore that is no longer needed,
because a signature was lost, is itself an error.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import honeyhive_trace as hh
from honeyhive_trace.integrations import wrap_anthropic, wrap_openai
from honeyhive_trace.processors import Processor, hide_inputs, redact, sample, truncate
from honeyhive_trace.records import Event, ModelEvent, Record, SessionStart, Usage
from honeyhive_trace.testing import CapturedEvents, capture_events

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover
    from typing_extensions import assert_type

Messages = list[dict[str, str]]


# -- @trace_model, bare ----------------------------------------------------------------


@hh.trace_model
def answer(messages: Messages, temperature: float = 0.2) -> str:
    return "hi"


@hh.trace_model
async def answer_async(messages: Messages) -> str:
    return "hi"


@hh.trace_model
def stream(messages: Messages) -> Iterator[str]:
    yield "hi"


@hh.trace_model
async def stream_async(messages: Messages) -> AsyncIterator[str]:
    yield "hi"


# -- @trace_model(...), with defaults --------------------------------------------------


@hh.trace_model(model="gpt-4o", provider="openai", event_name="answer")
def answer_with_defaults(messages: Messages, *, max_tokens: int | None = None) -> dict[str, str]:
    return {"role": "assistant", "content": "hi"}


@hh.trace_model(model="gpt-4o", metadata={"team": "search"})
async def answer_with_defaults_async(messages: Messages) -> int:
    return 1


# -- @trace, @trace_tool, @trace_chain ---------------------------------------------------


@hh.trace_tool
def search(query: str, k: int = 3) -> list[str]:
    return [query] * k


@hh.trace_chain(event_name="answer-question", metadata={"v": 2})
async def pipeline(question: str) -> dict[str, str]:
    return {"answer": question}


@hh.trace(event_type="tool", event_name="lookup")
def lookup(key: str) -> Iterator[int]:
    yield len(key)


@hh.trace
def step(x: int) -> int:
    return x


# -- methods, classmethods, staticmethods ------------------------------------------------


class Bot:
    @hh.trace_model
    def reply(self, question: str) -> str:
        return question

    @hh.trace_model(model="gpt-4o")
    async def reply_async(self, question: str) -> str:
        return question

    @classmethod
    @hh.trace_model
    def build(cls, name: str) -> Bot:
        return cls()

    @staticmethod
    @hh.trace_model(event_name="tokens")
    def count(text: str) -> int:
        return len(text)


# -- sessions ------------------------------------------------------------------------------


@hh.session(name="chat")
def conversation(turns: int) -> list[str]:
    return []


@hh.session(name="chat")
async def conversation_async(turns: int) -> list[str]:
    return []


async def check_async() -> None:
    assert_type(await answer_async([]), str)
    assert_type(await answer_with_defaults_async([]), int)
    assert_type(await Bot().reply_async("q"), str)
    assert_type(await conversation_async(3), list[str])
    async for chunk in stream_async([]):
        assert_type(chunk, str)
    async with hh.model_event(model="gpt-4o") as ev:
        assert_type(ev, hh.EventHandle)
    async with hh.session(name="chat") as current:
        assert_type(current, hh.Session)


def check_sync() -> None:
    # Return types survive every form of the decorator.
    assert_type(answer([]), str)
    pending = assert_type(answer_async([]), Coroutine[Any, Any, str])
    pending.close()
    assert_type(stream([]), Iterator[str])
    assert_type(stream_async([]), AsyncIterator[str])
    assert_type(answer_with_defaults([], max_tokens=5), dict[str, str])
    assert_type(Bot().reply("q"), str)
    assert_type(Bot.build("b"), Bot)
    assert_type(Bot.count("abc"), int)
    assert_type(conversation(2), list[str])

    # Parameter types survive too: each call below must stay an error.
    answer([], temperature="hot")  # type: ignore[arg-type]
    answer([], top_k=3)  # type: ignore[call-arg]
    answer_with_defaults([], 5)  # type: ignore[call-arg]
    Bot().reply(42)  # type: ignore[arg-type]
    Bot.count(b"abc")  # type: ignore[arg-type]
    conversation("two")  # type: ignore[arg-type]

    # The context manager, the handle and the module functions.
    with hh.model_event(model="gpt-4o", provider="openai") as ev:
        assert_type(ev, hh.EventHandle)
        ev.set_response({"role": "assistant", "content": "hi"})
        ev.set_usage(prompt_tokens=10, completion_tokens=5)
        ev.set_cost(0.0001)
        ev.add_metadata(user_id="u-1")
        assert_type(ev.event_id, str)
        assert_type(ev.record, Event | None)
    assert_type(hh.current_event(), hh.EventHandle | None)
    assert_type(hh.current_session(), hh.Session | None)
    with hh.session(name="chat") as current:
        assert_type(current.session_id, str)
    assert_type(hh.flush(timeout=1.0), bool)
    assert_type(hh.shutdown(), bool)
    assert_type(hh.stats(), dict[str, int])
    assert_type(hh.__version__, str)

    # Agent traces.
    assert_type(search("q"), list[str])
    chained = assert_type(pipeline("q"), Coroutine[Any, Any, dict[str, str]])
    chained.close()
    assert_type(lookup("k"), Iterator[int])
    assert_type(step(1), int)
    with hh.event("tool", event_name="search", inputs={"q": "x"}) as ev:
        assert_type(ev, hh.EventHandle)
        ev.set_outputs({"hits": 3})
        ev.add_feedback(rating=1)
        assert_type(ev.event_id, str)
    with hh.session(name="chat", user_properties={"user_id": "u-1"}) as chat:
        chat.set_outputs({"answer": "a"})
        chat.add_metrics(turns=3)
        hh.enrich_session(metrics={"turns": 3})
    assert_type(hh.log_feedback(ev.event_id, feedback={"rating": 1}), None)
    assert_type(hh.update_event(ev.event_id, outputs={"a": 1}, metrics={"m": 1}), None)
    hh.update_event(ev.event_id, colour="red")  # type: ignore[call-arg]

    # Processors are plain functions of a record (any event, session start or update).
    def tag(event: Record) -> Record | None:
        return event

    def model_only(event: ModelEvent) -> ModelEvent | None:
        return event

    chain: list[Processor] = [sample(0.5), redact(fields=["ssn"]), truncate(4000), hide_inputs]
    hh.configure(processors=[*chain, tag], mode="inline", prices={"my-model": (1.0, 2.0)})
    hh.configure(mode="sometimes")  # type: ignore[arg-type]
    hh.configure(processors=[model_only])  # type: ignore[list-item]  # sees every record

    # Test helpers.
    with capture_events(project="p") as events:
        assert_type(events, CapturedEvents)
        assert_type(events[0], Event)
        assert_type(events.one(ModelEvent, model="gpt-4o").usage, Usage)
        assert_type(events.one(event_type="tool").outputs, dict[str, Any] | None)
        assert_type(events.sessions[0], SessionStart)
        assert_type(events.updates[0].feedback, dict[str, Any] | None)
        assert_type(events.bodies(), list[dict[str, Any]])

    # Client wrappers hand back the very client they were given.
    class FakeClient:
        pass

    assert_type(wrap_openai(FakeClient()), FakeClient)
    assert_type(wrap_anthropic(FakeClient()), FakeClient)
