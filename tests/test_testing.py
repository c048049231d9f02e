"""capture_events() and the captured_events pytest fixture (tests for testing.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

import honeyhive_trace as hh
from honeyhive_trace.records import ModelEvent
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.wire import sent_bodies


@hh.trace_model(model="gpt-4o")
def answer(messages: list[Any]) -> str:
    return "Hello"


class TestCaptureEvents:
    def test_collects_records_in_order_without_sending(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        with capture_events() as events:
            answer([{"role": "user", "content": "Hi"}])
            with hh.model_event(model="claude-3-haiku", event_name="block"):
                pass
        assert 2 == len(events)
        first = events.one(event_name="answer")
        assert {"role": "assistant", "content": "Hello"} == first.response
        assert "anthropic" == events.one(event_name="block").provider
        assert [first] == events.find(model="gpt-4o")
        assert "test" == first.project
        assert [] == sent_bodies(collector)  # nothing left the process
        answer([])  # the previous configuration is back
        assert 1 == len(sent_bodies(collector))

    def test_records_are_there_when_the_call_returns(self) -> None:
        with capture_events() as events:
            answer([])
            assert 1 == len(events)

    def test_bodies_are_the_wire_form(self) -> None:
        with capture_events(project="p") as events:
            asyncio.run(_async_answer())
        [body] = events.bodies()
        assert {
            "project",
            "model",
            "provider",
            "messages",
            "response",
            "duration",
            "usage",
        } <= set(body)
        assert "p" == body["project"]

    def test_processors_run_and_can_drop(self) -> None:
        def rename(event: ModelEvent) -> ModelEvent | None:
            if event.event_name == "drop-me":
                return None
            return attrs.evolve(event, model="renamed")

        with capture_events(processors=[rename]) as events:
            answer([])
            with hh.model_event(event_name="drop-me"):
                pass
        assert ["renamed"] == [e.model for e in events]

    def test_one_fails_clearly(self) -> None:
        with capture_events() as events:
            answer([])
            answer([])
        with pytest.raises(AssertionError, match="found 2"):
            events.one(event_name="answer")
        events.clear()
        assert 0 == len(events)

    def test_capture_works_when_unconfigured_and_restores_no_op(self, collector: Any) -> None:
        with capture_events() as events:
            answer([])
        answer([])
        assert 1 == len(events)
        assert [] == collector.requests


def test_pytest_fixture_captures(captured_events: CapturedEvents) -> None:
    answer([{"role": "user", "content": "Hi"}])
    assert "Hello" == captured_events.one(event_name="answer").response["content"]


async def _async_answer() -> None:
    @hh.trace_model
    async def inner() -> str:
        return "x"

    await inner()
