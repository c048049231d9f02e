"""Property tests: tracing never hurts the traced code, and always yields a valid body.

Arbitrary arguments, return values, yielded items and exceptions (nested
containers, cycles, bytes, huge strings, NaN, objects whose ``__repr__`` or
``__str__`` raise, generators, mocks, ...) go through every kind of traced
function and through ``model_event``. Each example checks that:

- the caller gets exactly what the untraced function gives: the same return
  value and yielded items (same objects), or the same exception object;
- no event stays current afterwards, and arguments are not consumed or called;
- exactly one event is built, with the traced call's event id, nothing is
  dropped and tracing itself reports no internal error;
- its ``model_event`` body is valid JSON and UTF-8 without NaN or infinities,
  and satisfies the contract of ``shared/API.md`` (:mod:`tests._support.contract`)
  and the collector's own validator.

The bulk of the examples runs in process through the public test seam,
:func:`honeyhive_trace.testing.capture_events` (``strict=False``, as in
production): it builds each ended event's record, processors included, in the
ending thread, and :meth:`~honeyhive_trace.testing.CapturedEvents.bodies` gives
the JSON bodies as they would be sent; :func:`honeyhive_trace.stats` gives the
counters. A smaller number of examples goes through inline mode and real HTTP
to a collector on 127.0.0.1, checking the bytes on the wire.

How many examples: the Hypothesis profile ``hh-properties`` (the default,
400 per in-process test, about 2,800 in all, some 35 s on two cores),
``hh-properties-long`` (1,700 per test, about 12,000 in all, for a long run)
or ``hh-properties-quick`` (30 per test), chosen with the
``HH_PROPERTY_PROFILE`` environment variable; ``HH_PROPERTY_EXAMPLES=N`` sets
the in-process count of any profile (the HTTP tests run a tenth of it, at
least 10). Examples are derandomised, so a run is reproducible; a long run
explores what the default one does not reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.processors import redact, truncate
from tests._support.properties import (
    ARGS,
    EXAMPLES,
    EXCEPTIONS,
    FIELDS,
    HTTP_EXAMPLES,
    KINDS,
    KWARGS,
    OUTCOMES,
    PROFILE,
    SETTABLE,
    VALUES,
    assert_error_recorded,
    assert_same_outcome,
    capture,
    check_wire,
    drive,
    make_functions,
    outcome,
    run,
    settle,
)


@pytest.fixture(scope="module")
def module_collector() -> Iterator[Collector]:
    """One collector for the whole module (the HTTP examples share it)."""
    with Collector(db=":memory:", record_requests=True) as server:
        yield server


class TestDecoratorsInProcess:
    """The bulk of the examples: every decorator kind, bodies built in-process."""

    @pytest.mark.parametrize("kind", KINDS)
    @settings(PROFILE, max_examples=EXAMPLES)
    @given(
        args=ARGS,
        kwargs=KWARGS,
        result=VALUES,
        items=st.lists(VALUES, max_size=3),
        error=OUTCOMES,
        defaults=st.dictionaries(
            st.sampled_from(["model", "provider", "event_name", "project", "source"]),
            st.one_of(st.none(), st.text(max_size=10)),
            max_size=3,
        ),
    )
    def test_any_call_is_transparent_and_gives_a_valid_body(  # noqa: PLR0917
        self,
        kind: str,
        args: list[Any],
        kwargs: dict[str, Any],
        result: Any,
        items: list[Any],
        error: BaseException | None,
        defaults: dict[str, Any],
    ) -> None:
        seen: list[Any] = []
        plain = make_functions(result, items, error, seen)[kind]
        with capture() as events:
            traced = hh.trace_model(**defaults)(plain)
            probe_gen = (i for i in range(2))
            probe_mock = mock.MagicMock()
            expected = run(kind, plain, [*args, probe_gen], {**kwargs, "probe": probe_mock})
            assert ([None], 0) == (seen, len(events))  # the plain call recorded nothing
            probe_gen = (i for i in range(2))
            probe_mock = mock.MagicMock()

            got = run(kind, traced, [*args, probe_gen], {**kwargs, "probe": probe_mock})

            assert_same_outcome(got, expected)
            [_, handle] = seen
            event = settle(events, handle.event_id)
        assert [0, 1] == list(probe_gen)  # not consumed by tracing
        assert [] == probe_mock.mock_calls  # not called by tracing
        assert_error_recorded(event, error)


class TestModelEventInProcess:
    @pytest.mark.parametrize("use_async", [False, True], ids=["with", "async-with"])
    @settings(PROFILE, max_examples=EXAMPLES)
    @given(
        fields=FIELDS,
        response=st.one_of(st.just(None), VALUES),
        usage=st.one_of(st.just(None), VALUES),
        usage_counts=st.dictionaries(
            st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]),
            VALUES,
            max_size=2,
        ),
        cost=st.one_of(st.just(None), VALUES),
        set_error=st.one_of(st.just(None), VALUES, EXCEPTIONS),
        metadata=st.dictionaries(st.text(max_size=5), VALUES, max_size=2),
        hyperparameters=st.dictionaries(st.text(max_size=5), VALUES, max_size=2),
        inputs=st.dictionaries(st.text(max_size=5), VALUES, max_size=2),
        updates=st.dictionaries(st.sampled_from(SETTABLE), VALUES, max_size=3),
        error=OUTCOMES,
    )
    def test_any_block_is_transparent_and_gives_a_valid_body(  # noqa: PLR0917
        self,
        use_async: bool,
        fields: dict[str, Any],
        response: Any,
        usage: Any,
        usage_counts: dict[str, Any],
        cost: Any,
        set_error: Any,
        metadata: dict[str, Any],
        hyperparameters: dict[str, Any],
        inputs: dict[str, Any],
        updates: dict[str, Any],
        error: BaseException | None,
    ) -> None:
        handles: list[hh.EventHandle] = []

        def body(ev: hh.EventHandle) -> None:
            handles.append(ev)
            if response is not None:
                ev.set_response(response)
            if usage is not None or usage_counts:
                ev.set_usage(usage, **usage_counts)
            if cost is not None:
                ev.set_cost(cost)
            if set_error is not None:
                ev.set_error(set_error)
            ev.add_metadata(metadata)
            ev.add_hyperparameters(hyperparameters)
            ev.add_inputs(inputs)
            ev.update(**updates)
            if error is not None:
                raise error

        def sync_block() -> None:
            with hh.model_event(**fields) as ev:
                assert ev is hh.current_event()
                body(ev)

        async def async_block() -> None:
            async with hh.model_event(**fields) as ev:
                await asyncio.sleep(0)
                body(ev)

        with capture() as events:
            got = outcome(lambda: drive(async_block()) if use_async else sync_block())

            if error is None:
                assert ("returned", None) == got
            else:
                assert_same_outcome(got, ("raised", error))
            [handle] = handles
            event = settle(events, handle.event_id)
        if error is not None and set_error is None and "error" not in {**fields, **updates}:
            assert type(error).__name__ in event["error"]


class TestProcessorsOnAnyEvent:
    @settings(PROFILE, max_examples=max(10, EXAMPLES // 2))
    @given(fields=FIELDS, result=VALUES, error=OUTCOMES)
    def test_redact_and_truncate_keep_bodies_valid(
        self,
        fields: dict[str, Any],
        result: Any,
        error: BaseException | None,
    ) -> None:
        handles: list[hh.EventHandle] = []

        def block() -> None:
            with hh.model_event(**fields) as ev:
                handles.append(ev)
                ev.set_response(result)
                if error is not None:
                    raise error

        with capture(processors=[redact(fields=["customer"]), truncate(50)]) as events:
            got = outcome(block)
            assert_same_outcome(got, ("raised", error) if error else ("returned", None))
            [handle] = handles
            event = settle(events, handle.event_id)
        assert all(len(s) <= 50 + len("...[truncated]") for s in _strings(event, skip=_NOT_CUT))
        assert (
            "customer" not in event.get("inputs", {})
            or "[REDACTED]" == event["inputs"]["customer"]
        )


_NOT_CUT = frozenset({"project", "model", "provider", "event_id", "session_id", "parent_id"})


def _strings(value: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in skip for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# -- a smaller number through real HTTP -------------------------------------------------------


@pytest.fixture
def inline(module_collector: Collector, tmp_path: Path) -> Collector:
    """Tracing configured inline against the collector: each event is posted as it ends."""
    hh.configure(
        api_key="hh-property-key",
        server_url=module_collector.url,
        project="properties",
        mode="inline",
        strict=False,
        spool_dir=tmp_path / "spool",
    )
    return module_collector


def posted(collector: Collector) -> list[bytes]:
    # A body the collector refused unread (413 on its length) is recorded empty.
    bodies = [r.body for r in collector.requests if r.method == "POST" and r.body]
    collector.clear_requests()
    return bodies


class TestOverHttp:
    @pytest.mark.parametrize("kind", KINDS)
    @settings(PROFILE, max_examples=HTTP_EXAMPLES)
    @given(args=ARGS, kwargs=KWARGS, result=VALUES, items=st.lists(VALUES, max_size=2))
    def test_the_collector_accepts_every_body(  # noqa: PLR0917
        self,
        inline: Collector,
        kind: str,
        args: list[Any],
        kwargs: dict[str, Any],
        result: Any,
        items: list[Any],
    ) -> None:
        before = hh.stats()
        seen: list[Any] = []
        traced = hh.trace_model(make_functions(result, items, None, seen)[kind])
        kind_result = run(kind, traced, args, kwargs)
        assert "returned" == kind_result[0]
        wires = posted(inline)  # more than one when a 413 made the client cut strings
        assert wires
        [handle] = seen
        assert {handle.event_id} == {check_wire(wire)["event_id"] for wire in wires}
        after = hh.stats()
        assert (1, 0, 0) == (
            after["sent"] - before["sent"],
            after["rejected"] - before["rejected"],
            after["dropped"] - before["dropped"],
        )

    @settings(PROFILE, max_examples=HTTP_EXAMPLES)
    @given(fields=FIELDS, updates=st.dictionaries(st.sampled_from(SETTABLE), VALUES, max_size=3))
    def test_the_collector_accepts_every_model_event_body(
        self, inline: Collector, fields: dict[str, Any], updates: dict[str, Any]
    ) -> None:
        before = hh.stats()["sent"]
        with hh.model_event(**fields) as ev:
            ev.update(**updates)
        wires = posted(inline)
        assert wires
        assert {ev.event_id} == {check_wire(wire)["event_id"] for wire in wires}
        assert 1 == hh.stats()["sent"] - before
        assert 0 == hh.stats()["rejected"]
