"""Property tests: an odd value in one field never costs the event.

Every field a user can fill (``trace_model``'s arguments and result,
``model_event(**fields)``/``event(**fields)``, every handle setter) gets
awkward values (those of :mod:`tests._support.properties`, plus lazy proxies
whose ``__class__`` lookup raises, dict and list subclasses whose reads raise,
and mappings that cannot be iterated). Each example checks that:

- the traced code is unaffected and nothing raises from a setter;
- exactly one event is built: none is dropped as ``build_error`` (nor for any
  other reason), and tracing reports no internal error;
- every body satisfies HoneyHive's published v0 OpenAPI schema
  (:func:`tests._support.openapi.spec_errors`), so a field the contract types
  as an object (``response``, ``tools`` items, ``messages`` items) is one.

The number of examples follows ``HH_PROPERTY_PROFILE``/``HH_PROPERTY_EXAMPLES``
(a quarter of the in-process count per test; about 10 s on two cores).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from tests._support.odd import (
    ANY,
    CALLS,
    FIELDS,
    SETTERS,
    UPDATES,
    BrokenDict,
    LazyProxy,
    call_setters,
)
from tests._support.openapi import spec_errors
from tests._support.properties import (
    EXAMPLES,
    PROFILE,
    capture,
    outcome,
)

N = max(10, EXAMPLES // 4)


def _check(events: Any, route: str, wrapper: str) -> None:
    stats = hh.stats()
    bad = {k: v for k, v in stats.items() if k.startswith(("dropped", "internal_errors")) and v}
    assert {} == bad
    assert 1 == len(events)
    [body] = events.bodies()
    assert [] == spec_errors("POST", route, {wrapper: body})


class TestEveryFieldDegradesAlone:
    @settings(PROFILE, max_examples=N)
    @given(
        fields=FIELDS,
        calls=CALLS,
        updates=UPDATES,
    )
    def test_model_event(
        self, fields: dict[str, Any], calls: list[tuple[str, Any]], updates: dict[str, Any]
    ) -> None:
        def block() -> None:
            with hh.model_event(**fields) as ev:
                call_setters(ev, calls)
                ev.update(**updates)

        with capture() as events:
            assert ("returned", None) == outcome(block)
            _check(events, "/events/model", "model_event")

    @pytest.mark.parametrize("kind", ["tool", "chain"])
    @settings(PROFILE, max_examples=N)
    @given(fields=FIELDS, calls=CALLS, result=ANY)
    def test_event(
        self, kind: str, fields: dict[str, Any], calls: list[tuple[str, Any]], result: Any
    ) -> None:
        def block() -> None:
            with hh.event(kind, **fields) as ev:  # type: ignore[arg-type]
                call_setters(ev, calls)
                ev.set_outputs(result)

        with capture() as events:
            assert ("returned", None) == outcome(block)
            _check(events, "/events", "event")

    @settings(PROFILE, max_examples=N)
    @given(args=st.lists(ANY, max_size=3), kwargs=FIELDS, result=ANY, calls=CALLS)
    def test_trace_model(
        self,
        args: list[Any],
        kwargs: dict[str, Any],
        result: Any,
        calls: list[tuple[str, Any]],
    ) -> None:
        @hh.trace_model
        def call(*args: Any, **kwargs: Any) -> Any:
            handle = hh.current_event()
            assert handle is not None
            call_setters(handle, calls)
            return result

        with capture() as events:
            got = outcome(lambda: call(*args, **kwargs))
            assert "returned" == got[0]
            assert got[1] is result
            _check(events, "/events/model", "model_event")


class TestExamples:
    """The cases the audit found, one by one."""

    def test_every_setter_takes_a_lazy_proxy_without_raising(self) -> None:
        proxy = LazyProxy()
        with capture() as events:
            with hh.model_event(model="gpt-4o") as ev:
                for name in SETTERS:
                    getattr(ev, name)(proxy)
                ev.set_usage(proxy, prompt_tokens=3, completion_tokens=4)
                ev.add_metadata(proxy, step=1)
                ev.update(tools=proxy, response=proxy)
            stats = hh.stats()
            [body] = events.bodies()
        assert [] == spec_errors("POST", "/events/model", {"model_event": body})
        assert (0, 0, 1) == (stats.get("internal_errors", 0), stats["dropped"], stats["sent"])
        assert stats["degraded_fields"] >= 1
        assert "gpt-4o" == body["model"]
        assert {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7} == body["usage"]
        assert 1 == body["metadata"]["step"]

    def test_an_unreadable_mapping_degrades_to_a_value_object(self) -> None:
        with capture() as events:
            with hh.model_event(model="m", tools=[{"type": "function"}, BrokenDict(a=1)]) as ev:
                ev.set_response(BrokenDict(role="assistant", content="hi"))
                ev.add_metadata(kept="yes")
            stats = hh.stats()
            [body] = events.bodies()
        assert [] == spec_errors("POST", "/events/model", {"model_event": body})
        assert {"value": "{'role': 'assistant', 'content': 'hi'}"} == body["response"]
        assert [{"type": "function"}, {"value": "{'a': 1}"}] == body["tools"]
        assert "yes" == body["metadata"]["kept"]
        assert 2 == stats["degraded_fields"]
        assert 0 == stats["dropped"]
