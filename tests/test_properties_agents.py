"""Property tests for tool and chain steps, sessions and updates (see test_properties.py).

Arbitrary arguments, return values, yielded items, exceptions and enrichments
go through ``@trace_tool``/``@trace_chain`` on every kind of function, through
``hh.event`` and sessions, and through ``log_feedback``/``update_event``. Each
example checks that the traced code sees exactly what the untraced code does,
that nothing is dropped and tracing reports no internal error, and that every
body is JSON-safe and valid for its route in HoneyHive's published OpenAPI
document (``jsonschema``, :mod:`tests._support.openapi`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace._wire import encode_event
from honeyhive_trace.records import Record
from tests._support.openapi import spec_errors
from tests._support.properties import (
    ARGS,
    EXAMPLES,
    KINDS,
    KWARGS,
    OUTCOMES,
    PROFILE,
    VALUES,
    _not_json_safe,
    assert_same_outcome,
    capture,
    make_functions,
    outcome,
    run,
    v1_errors,
)

UPDATE_NAMES = ["outputs", "metadata", "metrics", "feedback", "config", "user_properties"]
STEP_SETTERS = ["set_inputs", "add_inputs", "set_outputs", "add_outputs", "add_metadata"]
STEP_SETTERS += ["add_metrics", "add_feedback", "add_config", "add_user_properties", "set_error"]


def body_of(record: Record) -> dict[str, Any]:
    """The record's legacy JSON as it would be sent, checked to be JSON-safe (and its
    v1 body checked against the v1 schema)."""
    body: dict[str, Any] = json.loads(encode_event(record).decode("utf-8"))
    assert [] == _not_json_safe(body)
    assert [] == v1_errors(record)
    return body


def assert_clean() -> None:
    stats = hh.stats()
    bad = {k: v for k, v in stats.items() if k.startswith(("dropped", "internal_errors")) and v}
    assert {} == bad


class TestStepsInProcess:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("decorator", ["trace_tool", "trace_chain"])
    @settings(PROFILE, max_examples=max(10, EXAMPLES // 2))
    @given(
        args=ARGS, kwargs=KWARGS, result=VALUES, items=st.lists(VALUES, max_size=3), error=OUTCOMES
    )
    def test_any_step_is_transparent_and_gives_a_valid_body(  # noqa: PLR0917
        self,
        decorator: str,
        kind: str,
        args: list[Any],
        kwargs: dict[str, Any],
        result: Any,
        items: list[Any],
        error: BaseException | None,
    ) -> None:
        seen: list[Any] = []
        plain = make_functions(result, items, error, seen)[kind]
        with capture() as events:
            traced = getattr(hh, decorator)(plain)
            expected = run(kind, plain, args, kwargs)
            got = run(kind, traced, args, kwargs)
            assert_same_outcome(got, expected)
            [_, handle] = seen
            assert_clean()
        [event] = events
        assert handle.event_id == event.event_id
        body = body_of(event)
        assert [] == spec_errors("POST", "/events", {"event": body})
        if error is not None:
            assert type(error).__name__ in body["error"]

    @settings(PROFILE, max_examples=max(10, EXAMPLES // 2))
    @given(
        start=st.dictionaries(
            st.sampled_from(["inputs", "config", "metadata", "event_name"]), VALUES, max_size=4
        ),
        calls=st.lists(st.tuples(st.sampled_from(STEP_SETTERS), VALUES), max_size=6),
        updates=st.dictionaries(st.sampled_from(UPDATE_NAMES), VALUES, max_size=3),
        error=OUTCOMES,
    )
    def test_any_event_block_gives_a_valid_body(
        self,
        start: dict[str, Any],
        calls: list[tuple[str, Any]],
        updates: dict[str, Any],
        error: BaseException | None,
    ) -> None:
        def block() -> None:
            with hh.event("tool", **start) as ev:
                for name, value in calls:
                    getattr(ev, name)(value)
                ev.update(**updates)
                if error is not None:
                    raise error

        with capture() as events:
            got = outcome(block)
            assert_clean()
        assert_same_outcome(got, ("raised", error) if error is not None else ("returned", None))
        [event] = events
        assert [] == spec_errors("POST", "/events", {"event": body_of(event)})


class TestSessionsAndUpdates:
    @settings(PROFILE, max_examples=max(10, EXAMPLES // 2))
    @given(
        name=st.one_of(st.none(), st.text(max_size=8), VALUES),
        session_id=st.one_of(st.none(), st.text(max_size=12)),
        given_fields=st.dictionaries(
            st.sampled_from(["inputs", "config", "metadata", "user_properties"]),
            VALUES,
            max_size=4,
        ),
        enrichment=st.dictionaries(st.sampled_from(UPDATE_NAMES), VALUES, max_size=4),
        later=st.dictionaries(st.sampled_from(UPDATE_NAMES), VALUES, min_size=1, max_size=3),
        error=OUTCOMES,
    )
    def test_any_session_and_update_give_valid_bodies(  # noqa: PLR0917
        self,
        name: Any,
        session_id: str | None,
        given_fields: dict[str, Any],
        enrichment: dict[str, Any],
        later: dict[str, Any],
        error: BaseException | None,
    ) -> None:
        def block() -> str:
            with hh.session(name=name, session_id=session_id, **given_fields) as s:
                s.update(**enrichment)
                with hh.event("chain") as ev:
                    pass
                if error is not None:
                    raise error
            return ev.event_id

        with capture() as events:
            got = outcome(block)
            if got[0] == "returned":
                hh.update_event(got[1], **later)
            assert_clean()
        if error is not None:
            assert_same_outcome(got, ("raised", error))
        [start] = events.sessions
        assert [] == spec_errors("POST", "/session/start", {"session": body_of(start)})
        assert events.updates
        for update in events.updates:
            assert [] == spec_errors("PUT", "/events", body_of(update))
        [event] = events
        assert start.session_id == event.session_id == event.parent_id


class TestIncomingHeaders:
    @settings(PROFILE, max_examples=max(10, EXAMPLES // 2))
    @given(
        headers=st.one_of(
            st.dictionaries(
                st.sampled_from(["baggage", "Baggage", "traceparent", "x-other"]),
                st.one_of(
                    st.text(max_size=200),
                    st.builds(
                        lambda k, v: f"{k}={v}",
                        st.sampled_from(["honeyhive.event_id", "honeyhive.session_id", "x"]),
                        st.one_of(st.uuids().map(str), st.text(max_size=60)),
                    ),
                ),
                max_size=4,
            ),
            st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=200)), max_size=4),
        )
    )
    def test_any_headers_are_read_safely(self, headers: Any) -> None:
        with capture() as events:
            with hh.continue_trace(headers):
                with hh.event("tool"):
                    pass
            assert_clean()
        [event] = events
        for value in (event.parent_id, event.session_id):
            if value is not None:  # only ever an id that came in, as a canonical UUID
                assert value == str(uuid.UUID(value))
                assert value.lower() in json.dumps(headers, default=repr).lower()
        assert [] == spec_errors("POST", "/events", {"event": body_of(event)})
