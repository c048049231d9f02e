"""model_event() and the live EventHandle (tests for _events.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace import _shapes
from honeyhive_trace.capture import _snapshot
from honeyhive_trace.exceptions import TracingError
from tests._support.properties import PROFILE
from tests._support.wire import sent_bodies, stable

MESSAGES = [{"role": "user", "content": "Hi"}]


class TestModelEvent:
    def test_block_records_fields_and_enrichment(self, configure: Any, collector: Any) -> None:
        configure(source="staging")
        with hh.model_event(
            model="gpt-4o",
            provider="openai",
            messages=MESSAGES,
            event_name="answer",
            temperature=0,
            tools=[{"type": "function"}],
            customer="acme",
        ) as ev:
            ev.set_response({"role": "assistant", "content": "Hello"})
            ev.set_usage(prompt_tokens=10, completion_tokens=5)
            ev.set_cost(0.00008)
            ev.add_metadata(user_id="u-1")
            ev.add_metadata({"tier": "pro"})
            ev.add_hyperparameters(top_p=1)
            ev.update(tool_choice="none")
        [event] = sent_bodies(collector)
        assert {
            "project": "test-project",
            "model": "gpt-4o",
            "provider": "openai",
            "messages": MESSAGES,
            "response": {"role": "assistant", "content": "Hello"},
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            "cost": 0.00008,
            "source": "staging",
            "event_name": "answer",
            "hyperparameters": {"temperature": 0, "top_p": 1},
            "tools": [{"type": "function"}],
            "tool_choice": "none",
            "inputs": {"customer": "acme"},
            "metadata": {"user_id": "u-1", "tier": "pro"},
        } == stable(event)
        assert ev.event_id == event["event_id"]
        assert ev.server_event_id == event["event_id"]
        assert ev.record is not None
        assert ev.record.event_id == event["event_id"]

    def test_async_with_and_string_response(self, configure: Any, collector: Any) -> None:
        configure()

        async def main() -> None:
            async with hh.model_event(model="claude-3-5-sonnet", messages="Hi") as ev:
                await asyncio.sleep(0)
                ev.set_response("Hello")

        asyncio.run(main())
        [event] = sent_bodies(collector)
        assert "anthropic" == event["provider"]
        assert [{"role": "user", "content": "Hi"}] == event["messages"]
        assert {"role": "assistant", "content": "Hello"} == event["response"]

    def test_exception_propagates_unchanged_and_is_recorded(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        boom = TimeoutError("upstream timed out")
        with pytest.raises(TimeoutError) as caught, hh.model_event(model="m"):
            raise boom
        assert boom is caught.value
        [event] = sent_bodies(collector)
        assert "TimeoutError: upstream timed out" == event["error"]

    def test_set_error_records_without_raising(self, configure: Any, collector: Any) -> None:
        configure()
        with hh.model_event(model="m") as ev:
            ev.set_error("refused: content policy")
        assert "refused: content policy" == sent_bodies(collector)[0]["error"]

    def test_required_fields_present_even_when_nothing_is_known(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        with hh.model_event():
            pass
        [event] = sent_bodies(collector)
        assert {
            "project": "test-project",
            "model": "unknown",
            "provider": "unknown",
            "messages": [],
            "response": {},
            "usage": {},
        } == stable(event)
        assert isinstance(event["duration"], float)

    def test_duration_is_milliseconds_from_a_monotonic_clock(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        with hh.model_event(model="m"):
            start = time.perf_counter()
            while time.perf_counter() - start < 0.02:  # busy 20 ms, not a sleep
                pass
        [event] = sent_bodies(collector)
        assert 20 <= event["duration"] < 2000
        assert event["end_time"] - event["start_time"] == round(event["duration"])


class TestHandle:
    def test_current_event_is_the_innermost_live_handle(self, configure: Any) -> None:
        configure()
        assert hh.current_event() is None
        with hh.model_event(model="outer") as outer:
            assert outer is hh.current_event()
            with hh.model_event(model="inner") as inner:
                assert inner is hh.current_event()
                assert outer.event_id == inner.parent_id
            assert outer is hh.current_event()
        assert hh.current_event() is None

    def test_deep_code_can_enrich_the_decorated_call(self, configure: Any, collector: Any) -> None:
        configure()

        def helper_deep_in_the_stack() -> None:
            event = hh.current_event()
            assert event is not None
            event.set_usage({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
            event.add_metadata(cache="hit")

        @hh.trace_model
        def answer(messages: list[Any]) -> str:
            helper_deep_in_the_stack()
            return "ok"

        answer(MESSAGES)
        [event] = sent_bodies(collector)
        assert {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7} == event["usage"]
        assert {"cache": "hit"} == event["metadata"]

    def test_setting_after_the_end_is_ignored_with_a_warning(
        self, configure: Any, collector: Any, log_text: Any
    ) -> None:
        configure()
        with hh.model_event(model="m") as ev:
            pass
        ev.set_cost(1.0)
        assert "cost" not in sent_bodies(collector)[0]
        assert "set after the event ended" in log_text()

    def test_a_late_setter_does_not_raise_even_when_logging_does(self, configure: Any) -> None:
        configure()

        def refuse(record: logging.LogRecord) -> bool:
            raise RuntimeError("a broken logging filter")

        with hh.model_event(model="m") as ev:
            pass
        logger = logging.getLogger("honeyhive_trace")
        logger.addFilter(refuse)
        try:
            for setter, value in [
                (ev.set_response, "late"),
                (ev.set_cost, 1.0),
                (ev.set_error, "late"),
                (ev.set_inputs, {"q": 1}),
            ]:
                setter(value)  # type: ignore[operator]
        finally:
            logger.removeFilter(refuse)
        record = ev.record
        assert record is not None
        assert (record.cost, record.error, record.inputs) == (None, None, None)

    def test_unknown_field_raises_only_in_strict_mode(
        self, configure: Any, collector: Any, log_text: Any
    ) -> None:
        configure()
        with pytest.raises(TracingError), hh.model_event(model="m") as ev:
            ev.update(colour="blue")
        configure(strict=False)
        with hh.model_event(model="m") as ev:
            ev.update(colour="blue")
        assert "'colour' is not an event field" in log_text()

    def test_added_keys_merge_and_the_callers_own_dict_is_not_kept(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        mine = {"user_id": "u-1"}
        with hh.model_event(model="m") as ev:
            ev.add_metadata(**mine)  # the first keys: kept as the call's own dict
            mine["user_id"] = "changed"  # the caller's dict changes afterwards
            ev.add_metadata(tier="pro")
            ev.add_metadata({"user_id": "u-2"}, region="eu")
            ev.add_inputs(q="a")
            ev.add_inputs(q="b")
        [event] = sent_bodies(collector)
        assert {"user_id": "u-2", "tier": "pro", "region": "eu"} == event["metadata"]
        assert {"q": "b"} == event["inputs"]
        assert {"user_id": "changed"} == mine

    def test_handle_outside_tracing_accepts_every_call(self, collector: Any) -> None:
        with hh.model_event(model="m") as ev:
            ev.set_response("x")
            ev.set_usage(prompt_tokens=1)
            ev.add_metadata(a=1)
            ev.update(model="y")
        assert [] == collector.requests
        assert "tracing off" in repr(ev)

    def test_bad_values_do_not_raise(self, configure: Any, collector: Any) -> None:
        configure(strict=False)

        class Weird:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        with hh.model_event(model=Weird(), messages=Weird(), temperature=Weird()) as ev:
            ev.set_cost(float("nan"))
            ev.set_usage(prompt_tokens="many")  # type: ignore[arg-type]
            ev.set_response(Weird())
        [event] = sent_bodies(collector)
        assert "<unrepresentable Weird>" == event["model"]
        assert [{"role": "user", "content": "<unrepresentable Weird>"}] == event["messages"]
        assert "cost" not in event
        assert {} == event["usage"]
        assert {"role": "assistant", "content": "<unrepresentable Weird>"} == event["response"]


class TestWallClock:
    """An event stamps the monotonic clock only; its wall-clock start is worked out."""

    def test_the_start_time_is_the_wall_clock_when_the_event_started(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        before = time.time_ns() // 1_000_000
        with hh.model_event(model="m"):
            pass
        after = time.time_ns() // 1_000_000
        [event] = sent_bodies(collector)
        assert before - 1 <= event["start_time"] <= after + 1

    def test_the_offset_is_read_again_once_stale(self, monkeypatch: pytest.MonkeyPatch) -> None:
        true = time.time_ns() - time.perf_counter_ns()
        far = time.perf_counter_ns() + 10**15  # read "later": fresh whatever the machine's load
        # A fresh (if wrong) offset is used as it is: the clocks are not read per event...
        monkeypatch.setattr(_snapshot, "_wall_offset", (far, 0))
        assert 1234 == _snapshot.wall_ns_at(1234)
        # ...one older than WALL_OFFSET_TTL_NS is read again, and replaced if it moved...
        stale = time.perf_counter_ns() - _snapshot.WALL_OFFSET_TTL_NS - 1
        monkeypatch.setattr(_snapshot, "_wall_offset", (stale, 0))
        assert abs(_snapshot.wall_ns_at(0) - true) < 50_000_000
        # ...by more than its noise: a reading within WALL_OFFSET_STEP_NS keeps the one in use.
        near = true + _snapshot.WALL_OFFSET_STEP_NS // 2
        monkeypatch.setattr(_snapshot, "_wall_offset", (stale, near))
        assert near == _snapshot.wall_ns_at(0)
        assert near == _snapshot._wall_offset[1]

    def test_a_coarse_wall_clock_cannot_put_a_child_before_its_parent(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tick = 15_625_000  # time.time_ns()'s step on Windows before Python 3.13
        phase = [0]
        monkeypatch.setattr(
            _snapshot, "time_ns", lambda: (time.time_ns() + phase[0]) // tick * tick
        )
        monkeypatch.setattr(_snapshot, "WALL_OFFSET_STEP_NS", 2 * tick)

        def taken(perf_ns: int, when: int) -> int:
            # The worker takes an event *when* ns into a tick, the offset due a check.
            phase[0] = when
            monkeypatch.setattr(_snapshot, "_wall_offset", (0, _snapshot._wall_offset[1]))
            return _snapshot.wall_ns_at(perf_ns) // 1_000_000

        for trial in range(40):
            parent = time.perf_counter_ns()
            child = parent + 1_000_000  # starts 1 ms after its parent, ends (is taken) first
            child_ms = taken(child, trial * tick // 40)
            assert taken(parent, trial * tick // 40 + tick // 2) + 1 == child_ms


#: Token counts as a caller may pass them: ints at and past the edges, and not ints.
COUNTS = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.integers(min_value=2**63 - 5, max_value=2**63 + 5),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
)


class TestSetUsage:
    @settings(PROFILE, max_examples=300)
    @given(prompt=COUNTS, completion=COUNTS)
    def test_two_counts_make_the_usage_the_general_path_makes(
        self, prompt: Any, completion: Any
    ) -> None:
        # usage_from() takes a short cut for two plain ints; _usage_from() is the general path.
        expected = _shapes._usage_from(None, prompt, completion, None)
        assert expected == _shapes.usage_from(None, prompt, completion)
