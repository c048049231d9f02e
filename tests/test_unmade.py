"""An event whose record is left unmade is sent exactly as its record would be.

With no processor and a JSON codec, the worker does not make an ended event's
record: it writes the record's keywords (an ``Unbuilt``) with a writer generated
from the same field roles as the record's. These tests hold the two paths to
the same bytes (property tests over odd values, in both API versions), and
check that ``ev.record`` is still there, made when it is first read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace._config import from_settings
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace._wire import converter, take_degraded
from honeyhive_trace.capture import Call, Submitted, named
from honeyhive_trace.collector import Collector
from honeyhive_trace.delivery.codec import LEGACY, V1, Codec
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.records import Event, EventUpdate, ModelEvent, SessionStart, Usage
from honeyhive_trace.testing import _MemoryDispatcher
from tests._support.odd import ANY, CALLS, FIELDS, UPDATES, call_setters
from tests._support.properties import EXAMPLES, PROFILE, VALUES

N = max(10, EXAMPLES // 4)


class _Collect(_MemoryDispatcher):
    """``capture_events``' dispatcher, keeping what the caller's thread hands over as it is."""

    def __init__(self) -> None:  # nothing of capture_events' own is needed
        self.calls: list[Call] = []

    def submit(self, raw: Submitted) -> None:
        self.calls.append(named(raw))


@contextmanager
def ended_calls() -> Iterator[tuple[_Collect, _client.Client]]:
    """The ended calls of the events run inside, as the worker would take them."""
    config = from_settings({"project": "unmade", "strict": False}, {})
    collect = _Collect()
    client = _client.Client(config, dispatcher=collect)
    previous = _client.swap_client(client)
    try:
        yield collect, client
    finally:
        _client.swap_client(previous)


def _keep(record: Any) -> Any:
    return record  # a processor that changes nothing: the pipeline makes records


def prepared_both_ways(client: _client.Client, call: Call, codec: Codec) -> tuple[Any, Any]:
    """(what prepare() gives with records, what it gives with records left unmade)."""
    config = client.config
    made = Pipeline(
        attrs.evolve(config, processors=(_keep,)),
        client.guard,
        client.counters,
        client.providers,
        codec,
    )
    unmade = Pipeline(config, client.guard, client.counters, client.providers, codec)
    with_records = made.prepare([call])
    take_degraded()
    without = unmade.prepare([call])
    take_degraded()
    return with_records, without


def check_the_same(collect: _Collect, client: _client.Client) -> None:
    assert collect.calls
    for call in collect.calls:
        for codec in (LEGACY, V1):
            with_records, without = prepared_both_ways(client, call, codec)
            assert with_records == without
            assert len(without) == 1


class TestTheSameBytes:
    """prepare() gives the same items (ids, kinds, bytes) either way."""

    @settings(PROFILE, max_examples=N)
    @given(
        fields=FIELDS,
        calls=CALLS,
        updates=UPDATES,
    )
    def test_model_event(
        self, fields: dict[str, Any], calls: list[tuple[str, Any]], updates: dict[str, Any]
    ) -> None:
        with ended_calls() as (collect, client):
            with hh.model_event(**fields) as ev:
                call_setters(ev, calls)
                ev.update(**updates)
            check_the_same(collect, client)

    @pytest.mark.parametrize("kind", ["tool", "chain"])
    @settings(PROFILE, max_examples=N)
    @given(
        fields=FIELDS,
        calls=CALLS,
        result=ANY,
    )
    def test_step(
        self, kind: str, fields: dict[str, Any], calls: list[tuple[str, Any]], result: Any
    ) -> None:
        with ended_calls() as (collect, client):
            with hh.event(kind, **fields) as ev:
                call_setters(ev, calls)
                ev.set_outputs(result)
            check_the_same(collect, client)

    @settings(PROFILE, max_examples=N)
    @given(args=st.lists(VALUES, max_size=3), result=VALUES, calls=CALLS)
    def test_trace_model_nested_in_a_session(
        self, args: list[Any], result: Any, calls: list[tuple[str, Any]]
    ) -> None:
        @hh.trace_model(model="gpt-4o", provider="openai")
        def call(*args: Any) -> Any:
            handle = hh.current_event()
            assert handle is not None
            call_setters(handle, calls)
            return result

        @hh.trace_chain
        def agent() -> Any:
            return call(*args)

        with ended_calls() as (collect, client):
            with hh.session("unmade"):
                agent()
            collect.calls = [c for c in collect.calls if type(c).__name__ == "EndedCall"]
            check_the_same(collect, client)


def _sample(field: attrs.Attribute[Any]) -> Any:
    # A value of the field's declared type (resolved: the writers resolve them).
    kind = field.type
    if kind in (str, str | None):
        return "x"
    if kind in (int, int | None):
        return 7
    if kind in (float, float | None):
        return 1.5
    if kind is Usage:
        return Usage(prompt_tokens=1)
    if "list" in str(kind):
        return ["a"]
    return {"k": [1, None, "v"]}


class TestTheWriter:
    """The fields writer gives what the record's writer gives, key for key, in order."""

    @pytest.mark.parametrize("cls", [ModelEvent, Event, SessionStart, EventUpdate])
    @settings(PROFILE, max_examples=N)
    @given(data=st.data())
    def test_any_keywords(self, cls: type[Any], data: st.DataObject) -> None:
        attrs.resolve_types(cls)
        keywords: dict[str, Any] = {}
        for field in attrs.fields(cls):
            mandatory = field.default is attrs.NOTHING
            choice = data.draw(st.sampled_from(["left out", "None", "a value"]))
            if mandatory or choice == "a value":
                keywords[field.name] = _sample(field)
            elif choice == "None":
                keywords[field.name] = None
        record = cls(**keywords)
        assert record == Unbuilt(cls, keywords).build()
        try:
            expected: Any = list(converter.unstructure(record).items())
        except Exception as exc:  # e.g. usage=None: no writer can write it
            expected = type(exc)
        try:
            written: Any = list(converter.unstructure(Unbuilt(cls, dict(keywords))).items())
        except Exception as exc:
            written = type(exc)
        assert expected == written

    def test_a_mandatory_field_left_out_fails_as_the_record_would(self) -> None:
        with pytest.raises(TypeError):
            ModelEvent(project="p", model="m", provider="o")  # type: ignore[call-arg]
        with pytest.raises(KeyError, match="event_id"):
            converter.unstructure(Unbuilt(ModelEvent, {"project": "p", "model": "m"}))


class TestTheRecordIsMadeWhenRead:
    def test_ev_record_after_background_delivery(
        self, collector: Collector, spool_dir: Path
    ) -> None:
        hh.configure(server_url=collector.url, spool_dir=spool_dir)
        with hh.model_event(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]) as ev:
            ev.set_response("hello")
            ev.set_usage(prompt_tokens=3, completion_tokens=1)
        assert hh.flush(10)
        assert type(getattr(ev, "_record", None)) is Unbuilt  # nothing made it yet
        record = ev.record
        assert isinstance(record, ModelEvent)
        assert record is ev.record  # made once
        assert ev.event_id == record.event_id
        assert {"role": "assistant", "content": "hello"} == record.response
        assert Usage(3, 1, 4) == record.usage
        assert ev.server_event_id is not None
        [stored] = collector.events()
        assert (stored["event_id"], stored["response"]) == (ev.event_id, record.response)

    def test_a_processor_gets_a_record(self, collector: Collector, spool_dir: Path) -> None:
        seen: list[Any] = []

        def look(record: Any) -> Any:
            seen.append(record)
            return record

        hh.configure(server_url=collector.url, spool_dir=spool_dir, processors=[look])
        with hh.event("tool", event_name="search") as ev:
            ev.set_outputs({"hits": 1})
        assert hh.flush(10)
        assert [type(r) for r in seen] == [Event]
        assert ev.record is seen[0]

    def test_a_record_that_cannot_be_made_reads_as_none(
        self, collector: Collector, spool_dir: Path
    ) -> None:
        hh.configure(server_url=collector.url, spool_dir=spool_dir)
        with hh.model_event(model="m") as ev:
            pass
        assert hh.flush(10)
        ev._record = Unbuilt(ModelEvent, {"no_such_field": 1})  # what no builder gives
        assert ev.record is None  # reported, not raised into the code reading it
        assert 1 == hh.stats()["internal_errors"]
