"""Sessions, enrichment, feedback and updates after the fact (tests for _sessions, _updates)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.processors import hide_outputs, redact, sample
from honeyhive_trace.records import Event, EventUpdate, Record, SessionStart
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.openapi import spec_errors


def start_body(record: SessionStart) -> dict[str, Any]:
    events = CapturedEvents()
    events._add(record)
    from honeyhive_trace._wire import encode_event

    body: dict[str, Any] = json.loads(encode_event(record))
    assert [] == spec_errors("POST", "/session/start", {"session": body})
    return body


def update_body(record: EventUpdate) -> dict[str, Any]:
    from honeyhive_trace._wire import encode_event

    body: dict[str, Any] = json.loads(encode_event(record))
    assert [] == spec_errors("PUT", "/events", body)
    return body


class TestSessionStart:
    def test_a_session_starts_once_with_what_it_was_given(self) -> None:
        with capture_events(source="staging") as events:
            with hh.session(
                name="support-chat",
                user_properties={"user_id": "u-1"},
                metadata={"channel": "web"},
                inputs={"question": "why?"},
                config={"prompt": "v3"},
            ) as s:
                with hh.event("tool"):
                    pass
        [start] = events.sessions
        body = start_body(start)
        assert {
            "project": "test",
            "source": "staging",
            "session_name": "support-chat",
            "session_id": s.session_id,
            "event_id": s.session_id,
            "event_type": "session",
            "inputs": {"question": "why?"},
            "config": {"prompt": "v3"},
            "metadata": {"channel": "web"},
            "user_properties": {"user_id": "u-1"},
        }.items() <= body.items()
        assert "end_time" not in body
        assert body["start_time"] <= events[0].start_time
        assert s.event_id == s.session_id

    def test_the_same_session_id_is_started_once(self) -> None:
        with capture_events() as events:
            for turn in range(3):
                with hh.session(name="chat", session_id="conversation-42") as s:
                    with hh.event("chain", event_name=f"turn-{turn}"):
                        pass
        assert 1 == len(events.sessions)
        assert {s.session_id} == {e.session_id for e in events}
        assert (
            str(uuid.uuid5(hh.capture._sessions.SESSION_NAMESPACE, "conversation-42"))
            == s.session_id
        )  # type: ignore[attr-defined]
        assert {"session_key": "conversation-42"} == events.sessions[0].metadata
        # The turn that started the session sends its duration; later turns add nothing.
        assert [s.session_id] == [u.event_id for u in events.updates]

    def test_a_later_turn_of_a_session_sends_only_what_it_added(self) -> None:
        with capture_events() as events:
            with hh.session(name="chat", session_id="conversation-7"):
                pass
            with hh.session(name="chat", session_id="conversation-7") as again:
                again.add_metrics(turns=2)
        first, second = events.updates
        assert first.duration is not None
        assert (None, {"turns": 2}) == (second.duration, second.metrics)

    def test_a_session_without_a_name_and_the_decorator_forms(self) -> None:
        @hh.session()
        def handle_request(n: int) -> int:
            with hh.event("tool"):
                pass
            return n

        @hh.session(name="batch")
        async def handle_async() -> str:
            return "done"

        @hh.session()
        def stream() -> Any:
            yield 1
            yield 2

        with capture_events() as events:
            with hh.session():
                pass
            assert 7 == handle_request(7)
            assert 8 == handle_request(8)
            assert "done" == asyncio.run(handle_async())
            assert [1, 2] == list(stream())
        names = [s.session_name for s in events.sessions]
        assert ["session", "handle_request", "handle_request", "batch", "stream"] == names
        assert 5 == len({s.session_id for s in events.sessions})
        assert len(events.updates) == 5
        assert all(u.duration is not None for u in events.updates)

    def test_tracing_off_starts_nothing(self) -> None:
        with capture_events(enabled=False) as events:
            with hh.session(name="x") as s:
                s.set_outputs({"a": 1})
        assert ([], [], 0) == (events.sessions, events.updates, len(events))


class TestSessionEnd:
    def test_what_the_block_adds_is_sent_once_when_it_ends(self) -> None:
        with capture_events() as events:
            with hh.session(name="chat") as s:
                s.set_outputs({"answer": "42"})
                s.add_metrics(turns=1)
                s.add_metrics(turns=3, tokens=10)
                s.add_feedback(rating=1)
                hh.enrich_session(metadata={"experiment": "b"}, user_properties={"plan": "pro"})
                s.add_config(model="gpt-4o")
                assert [] == events.updates  # nothing is sent before the end
        [update] = events.updates
        body = update_body(update)
        assert {
            "event_id": s.session_id,
            "outputs": {"answer": "42"},
            "metrics": {"turns": 3, "tokens": 10},
            "feedback": {"rating": 1},
            "metadata": {"experiment": "b"},
            "user_properties": {"plan": "pro"},
            "config": {"model": "gpt-4o"},
        }.items() <= body.items()
        assert body["duration"] >= 0

    def test_after_the_end_each_addition_is_sent_at_once(self) -> None:
        with capture_events() as events:
            with hh.session(name="chat") as s:
                pass
            s.add_feedback(rating=0, comment="wrong")
            s.set_outputs("late")
        end, feedback, outputs = events.updates
        assert end.duration is not None
        assert (end.feedback, end.outputs) == (None, None)
        assert ({"rating": 0, "comment": "wrong"}, None) == (feedback.feedback, feedback.duration)
        assert {"result": "late"} == outputs.outputs

    def test_an_error_ending_the_session_is_recorded_and_propagates(self) -> None:
        error = ValueError("bad turn")
        with capture_events() as events:
            with pytest.raises(ValueError) as caught:
                with hh.session(name="chat"):
                    raise error
        assert caught.value is error
        assert {"error": "ValueError: bad turn"} == events.updates[0].metadata

    def test_enrich_session_outside_a_session_warns_once_and_does_nothing(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with capture_events() as events:
            with caplog.at_level(logging.WARNING, logger="honeyhive_trace"):
                hh.enrich_session(metrics={"a": 1})
                hh.enrich_session(metrics={"a": 2})
        assert ([], []) == (events.updates, events.sessions)
        assert 1 == sum("outside any session" in r.getMessage() for r in caplog.records)

    def test_a_session_shared_by_threads_gathers_from_all(self) -> None:
        import contextvars
        from concurrent.futures import ThreadPoolExecutor

        def add(n: int) -> None:
            hh.enrich_session(metrics={f"m{n}": n})

        with capture_events() as events:
            with hh.session(name="s"):
                with ThreadPoolExecutor(8) as pool:
                    for f in [
                        pool.submit(contextvars.copy_context().run, add, n) for n in range(50)
                    ]:
                        f.result()
        assert {f"m{n}": n for n in range(50)} == events.updates[0].metrics


class TestFeedbackAfterTheFact:
    def test_log_feedback_and_update_event_send_updates(self) -> None:
        with capture_events() as events:
            with hh.event("chain", event_name="answer") as ev:
                pass
            hh.log_feedback(
                ev.event_id, feedback={"rating": 1, "comment": "great"}, metrics={"ok": 1}
            )
            hh.update_event(
                ev,
                outputs={"answer": "edited"},
                metadata={"editor": "me"},
                config={"v": 2},
                user_properties={"u": 1},
                duration=12.5,
            )
            hh.log_feedback("7f22137a-6911-4ed3-bc36-110f1dde6b66", {"rating": 5})
        _first, _second, _remote = events.updates
        assert [update_body(u) for u in events.updates] == [
            {
                "event_id": ev.event_id,
                "feedback": {"rating": 1, "comment": "great"},
                "metrics": {"ok": 1},
            },
            {
                "event_id": ev.event_id,
                "outputs": {"answer": "edited"},
                "metadata": {"editor": "me"},
                "config": {"v": 2},
                "user_properties": {"u": 1},
                "duration": 12.5,
            },
            {"event_id": "7f22137a-6911-4ed3-bc36-110f1dde6b66", "feedback": {"rating": 5}},
        ]
        assert events[0].feedback is None

    def test_feedback_for_an_event_still_running_travels_with_it(self) -> None:
        with capture_events() as events:
            with hh.event("chain", event_name="outer") as outer:
                with hh.event("tool", event_name="inner") as inner:
                    hh.log_feedback(outer.event_id, {"rating": 1})
                    hh.log_feedback(inner, {"rating": 0}, metadata={"why": "slow"})
                    hh.update_event(outer, outputs={"early": True})
            with hh.session(name="s") as s:
                hh.log_feedback(s.session_id, {"rating": 2})
        inner_event, outer_event = events
        assert ({"rating": 0}, {"why": "slow"}) == (inner_event.feedback, inner_event.metadata)
        assert ({"rating": 1}, {"early": True}) == (outer_event.feedback, outer_event.outputs)
        [session_end] = events.updates
        assert {"rating": 2} == session_end.feedback

    def test_a_bad_event_id_is_counted_as_dropped_and_never_raises(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with capture_events(strict=True) as events:
            hh.log_feedback(None, {"rating": 1})  # type: ignore[arg-type]
            hh.update_event("  ", metrics={"a": 1})
            hh.update_event("7f22137a-6911-4ed3-bc36-110f1dde6b66")  # nothing to update
            stats = hh.stats()
        assert [] == events.updates
        assert 2 == stats["dropped_invalid_update"]
        assert stats["enqueued"] == stats["dropped"] == 2

    def test_unconfigured_feedback_is_a_no_op(self) -> None:
        hh.log_feedback("7f22137a-6911-4ed3-bc36-110f1dde6b66", {"rating": 1})
        assert 0 == hh.stats()["enqueued"]


class TestProcessorsSeeEveryRecord:
    def test_redact_reaches_feedback_session_inputs_and_step_outputs(self) -> None:
        with capture_events(processors=[redact()]) as events:
            with hh.session(name="s", inputs={"note": "mail me at jo@example.com"}):
                with hh.event("tool") as ev:
                    ev.set_outputs({"token": "Bearer abcdefghijklmnop"})
            hh.log_feedback(ev.event_id, {"comment": "reach me at jo@example.com"})
        text = json.dumps(
            [
                events.bodies(),
                [start_body(s) for s in events.sessions],
                [update_body(u) for u in events.updates],
            ]
        )
        assert "jo@example.com" not in text
        assert "abcdefghijklmnop" not in text
        assert "[REDACTED]" in text

    def test_hide_outputs_blanks_steps_and_updates(self) -> None:
        with capture_events(processors=[hide_outputs]) as events:
            with hh.event("tool") as ev:
                ev.set_outputs({"secret": 1})
            hh.update_event(ev, outputs={"secret": 2}, metrics={"kept": 1})
        assert ({}, {}, {"kept": 1}) == (
            events[0].outputs,
            events.updates[0].outputs,
            events.updates[0].metrics,
        )

    def test_sampling_drops_a_session_whole_with_its_updates(self) -> None:
        with capture_events(processors=[sample(0.5)]) as events:
            ids = []
            for n in range(40):
                with hh.session(name=f"s{n}") as s:
                    ids.append(s.session_id)
                    with hh.event("tool") as ev:
                        pass
                hh.log_feedback(ev.event_id, {"rating": 1})
            stats = hh.stats()
        kept = {s.session_id for s in events.sessions}
        assert 0 < len(kept) < 40
        assert kept == {e.session_id for e in events}
        assert kept == {u.event_id for u in events.updates if u.duration is not None}
        assert {e.event_id for e in events} == {u.event_id for u in events.updates if u.feedback}
        dropped = 40 - len(kept)
        assert 2 * dropped == stats["dropped_by_processor"]
        assert 2 * dropped == stats["dropped_update_of_dropped_event"]

    def test_a_processor_returning_another_class_is_an_error_and_the_record_kept(self) -> None:
        def to_model(record: Record) -> Record | None:
            if isinstance(record, EventUpdate):
                return SessionStart(project="p", event_id="x", session_name="n")
            return record

        with capture_events(processors=[to_model], strict=False) as events:
            hh.log_feedback("7f22137a-6911-4ed3-bc36-110f1dde6b66", {"rating": 1})
            errors = hh.stats()["processor_errors"]
        assert 1 == errors
        assert isinstance(events.updates[0], EventUpdate)
        assert [] == [e for e in events if not isinstance(e, Event)]
