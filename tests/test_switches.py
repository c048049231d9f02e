"""The switches: ``enabled`` (and HH_TRACING_ENABLED) and ``strict``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace.exceptions import TracingError
from tests._support.wire import API_KEY, sent_bodies


@hh.trace_model(model="sync")
def sync_call(messages: list[Any]) -> Any:
    return {"seen": messages, "event": hh.current_event()}


@hh.trace_model(model="async")
async def async_call(messages: list[Any]) -> Any:
    await asyncio.sleep(0)
    return {"seen": messages, "event": hh.current_event()}


@hh.trace_model(model="gen")
def gen_call(messages: list[Any]) -> Iterator[Any]:
    yield messages
    yield hh.current_event()


@hh.trace_model(model="agen")
async def agen_call(messages: list[Any]) -> AsyncIterator[Any]:
    yield messages
    await asyncio.sleep(0)
    yield hh.current_event()


async def _collect(agen: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in agen]


def run_every_kind(messages: list[Any]) -> list[tuple[Any, Any]]:
    """Call each kind of traced function and a model_event block once.

    Returns:
        (what the function saw of *messages*, the current event inside) per kind.
    """
    seen: list[tuple[Any, Any]] = []
    out = sync_call(messages)
    seen.append((out["seen"], out["event"]))
    out = asyncio.run(async_call(messages))
    seen.append((out["seen"], out["event"]))
    first, event = list(gen_call(messages))
    seen.append((first, event))
    first, event = asyncio.run(_collect(agen_call(messages)))
    seen.append((first, event))
    with hh.model_event(model="block", messages=messages) as ev:
        ev.set_response("r")
        ev.set_usage(prompt_tokens=1, completion_tokens=1)
        ev.add_metadata(k="v")
        ev.update(cost=0.1)
        seen.append((messages, hh.current_event()))
    return seen


KINDS = ["sync", "async", "gen", "agen", "block"]


class TestEnabled:
    def test_disabled_every_kind_is_a_plain_call(self, configure: Any, collector: Any) -> None:
        configure(enabled=False)
        messages = [{"role": "user", "content": "hi"}]
        seen = run_every_kind(messages)
        # The function gets the caller's very object, and no event is live inside.
        assert all(arg is messages for arg, _ in seen)
        assert [None] * 5 == [event for _, event in seen]
        assert [] == collector.requests
        assert 0 == hh.stats()["enqueued"]

    def test_a_disabled_block_hands_out_an_inert_shared_handle(self, configure: Any) -> None:
        configure(enabled=False, strict=True)
        with hh.model_event(model="a") as first:
            first.update(not_a_field=1)  # would raise in strict mode if recording
            first.set_response(object())
        with hh.model_event(model="b") as second:
            pass
        assert first is second
        assert first.record is None

    def test_flipping_at_run_time_keeps_one_client(self, configure: Any, collector: Any) -> None:
        configure()
        client = _client.STATE.client
        run_every_kind([])
        hh.configure(enabled=False)
        run_every_kind([])
        hh.configure(enabled=True)
        run_every_kind([])
        assert client is _client.STATE.client
        assert KINDS * 2 == [e["model"] for e in sent_bodies(collector)]

    def test_flipping_in_background_mode_keeps_the_queue(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background")
        with hh.model_event(model="before"):
            pass
        hh.configure(enabled=False)
        with hh.model_event(model="off"):
            pass
        assert hh.flush(10)
        hh.configure(enabled=True)
        with hh.model_event(model="after"):
            pass
        assert hh.flush(10)
        assert ["before", "after"] == [e["model"] for e in sent_bodies(collector)]

    def test_an_event_started_while_on_is_delivered_after_turning_off(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        stream = gen_call([])
        next(stream)
        hh.configure(enabled=False)
        assert 1 == len(list(stream))
        assert ["gen"] == [e["model"] for e in sent_bodies(collector)]

    def test_starting_disabled_then_enabling_starts_delivery(
        self, configure: Any, collector: Any
    ) -> None:
        configure(enabled=False)
        assert _client.STATE.client is not None
        assert _client.STATE.client.recording is False
        hh.configure(enabled=True)
        run_every_kind([])
        assert KINDS == [e["model"] for e in sent_bodies(collector)]

    @pytest.mark.parametrize("value", ["false", "0", "no", "off", "FALSE", " False "])
    def test_environment_variable_turns_tracing_off(
        self, monkeypatch: pytest.MonkeyPatch, collector: Any, value: str
    ) -> None:
        monkeypatch.setenv("HH_API_URL", collector.url)
        monkeypatch.setenv("HH_API_KEY", API_KEY)
        monkeypatch.setenv("HH_TRACING_ENABLED", value)
        run_every_kind([])
        hh.configure(mode="inline")
        run_every_kind([])
        assert [] == collector.requests

    def test_explicit_enabled_wins_over_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, configure: Any, collector: Any
    ) -> None:
        monkeypatch.setenv("HH_TRACING_ENABLED", "false")
        configure(enabled=True)
        run_every_kind([])
        assert KINDS == [e["model"] for e in sent_bodies(collector)]

    def test_configure_after_shutdown_records_again(self, configure: Any, collector: Any) -> None:
        configure()
        with hh.model_event(model="one"):
            pass
        hh.shutdown(5)
        with hh.model_event(model="while-shut-down"):
            pass
        configure()
        with hh.model_event(model="two"):
            pass
        assert ["one", "two"] == [e["model"] for e in sent_bodies(collector)]


class TestStrict:
    def test_strict_raises_internal_errors(self, configure: Any) -> None:
        configure(strict=True)
        with pytest.raises(TracingError, match="not_a_field"), hh.model_event(model="m") as ev:
            ev.update(not_a_field=1)

    def test_not_strict_logs_counts_and_goes_on(
        self, configure: Any, collector: Any, log_text: Any
    ) -> None:
        configure(strict=False)
        with hh.model_event(model="m") as ev:
            ev.update(not_a_field=1)
        assert 1 == hh.stats()["internal_errors"]
        assert "'not_a_field' is not an event field" in log_text()
        assert ["m"] == [e["model"] for e in sent_bodies(collector)]

    def test_strict_never_replaces_the_users_exception(self, configure: Any) -> None:
        configure(strict=True)
        error = KeyError("mine")

        @hh.trace_model
        def fails() -> None:
            raise error

        with pytest.raises(KeyError) as caught:
            fails()
        assert error is caught.value

    def test_delivery_failures_are_not_internal_errors_even_in_strict_mode(
        self, configure: Any, faults: Any
    ) -> None:
        faults.respond(401, times=None)
        configure(strict=True)
        with hh.model_event(model="m"):
            pass
        stats = hh.stats()
        assert (1, 0) == (stats["rejected"], stats.get("internal_errors", 0))
