"""One trace across threads and services: executors, threads, headers (_threads, _propagation)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
import traceback
import uuid
from concurrent.futures import Future
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.capture import propagate_threads
from honeyhive_trace.testing import CapturedEvents, capture_events


@hh.trace_tool
def work(n: int) -> int:
    return n * 2


def under(events: CapturedEvents, parent: Any) -> list[Any]:
    return [e for e in events if e.parent_id == parent.event_id]


class TestExecutors:
    def test_a_pool_of_8_workers_by_1000_tasks_keeps_every_parent_and_session(self) -> None:
        with capture_events() as events:
            with hh.session(name="batch") as s:
                with hh.event("chain", event_name="fan-out") as parent:
                    with hh.ThreadPoolExecutor(max_workers=8) as pool:
                        results = list(pool.map(work, range(1000)))
        assert [n * 2 for n in range(1000)] == results
        children = under(events, parent)
        assert 1000 == len(children) == len(events) - 1
        assert {s.session_id} == {e.session_id for e in events}
        [fan_out] = events.find(event_name="fan-out")
        assert sorted(c.event_id for c in children) == sorted(fan_out.children_ids or [])

    def test_the_collector_receives_the_pools_tree(self, configure: Any, collector: Any) -> None:
        configure(mode="background", batch_size=500)
        with hh.session(name="batch") as s:
            with hh.event("chain", event_name="fan-out") as parent:
                with hh.ThreadPoolExecutor(max_workers=8) as pool:
                    assert 1000 == len(list(pool.map(work, range(1000))))
        assert hh.flush(30)
        detail = collector.session(s.session_id)
        tools = [e for e in detail["events"] if e["event_type"] == "tool"]
        assert 1000 == len(tools)
        assert {parent.event_id} == {e["parent_id"] for e in tools}
        [chain] = [e for e in detail["events"] if e["event_name"] == "fan-out"]
        assert sorted(e["event_id"] for e in tools) == sorted(chain["children_ids"])
        assert detail["session"]["started"]

    def test_50_threads_each_under_their_own_parent(self) -> None:
        def branch(n: int) -> None:
            with hh.event("chain", event_name=f"branch-{n}"):
                thread = hh.Thread(target=work, args=(n,))
                thread.start()
                thread.join()

        with capture_events() as events:
            with hh.session(name="threads") as s:
                threads = [hh.Thread(target=branch, args=(n,)) for n in range(50)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        branches = {e.event_id: e for e in events if e.event_name.startswith("branch-")}
        tools = [e for e in events if e.event_type == "tool"]
        assert (50, 50) == (len(branches), len(tools))
        assert {s.session_id} == {e.session_id for e in events}
        assert all(b.parent_id == s.session_id for b in branches.values())
        for tool in tools:  # each under the branch that started its thread
            assert tool.parent_id in branches
            assert branches[tool.parent_id].children_ids == [tool.event_id]

    def test_the_pass_through_contract_is_unchanged(self) -> None:
        error = ValueError("task failed")

        def fails() -> None:
            raise error

        with capture_events():
            with hh.ThreadPoolExecutor(2) as pool:
                ok: Future[int] = pool.submit(work, 21)
                bad = pool.submit(fails)
                kw = pool.submit(lambda *, x: x, x=5)
                assert (42, 5) == (ok.result(), kw.result())
                with pytest.raises(ValueError) as caught:
                    bad.result()
                assert caught.value is error
                assert "fails" == traceback.extract_tb(caught.value.__traceback__)[-1].name
                assert bad.exception() is error
                assert isinstance(ok, concurrent.futures.Future)

    def test_copy_context_to_wraps_any_callable_even_run_in_parallel(self) -> None:
        with capture_events() as events:
            with hh.event("chain", event_name="parent") as parent:
                wrapped = hh.copy_context_to(work)
            with concurrent.futures.ThreadPoolExecutor(8) as plain:
                assert [n * 2 for n in range(40)] == list(plain.map(wrapped, range(40)))
        assert 40 == len(under(events, parent))
        assert work.__name__ == wrapped.__name__

    def test_tasks_do_not_leak_context_into_each_other(self) -> None:
        marker: contextvars.ContextVar[int] = contextvars.ContextVar("marker", default=0)

        def task(n: int) -> int:
            before = marker.get()
            marker.set(n)
            return before

        with hh.ThreadPoolExecutor(4) as pool:
            assert [0] * 20 == list(pool.map(task, range(1, 21)))
        assert 0 == marker.get()

    def test_a_plain_executor_starts_root_events_unless_propagation_is_on(self) -> None:
        with capture_events() as events:
            with hh.event("chain", event_name="parent") as parent:
                with concurrent.futures.ThreadPoolExecutor(2) as plain:
                    plain.submit(work, 1).result()
                propagate_threads(True)
                try:
                    with concurrent.futures.ThreadPoolExecutor(2) as plain:
                        plain.submit(work, 2).result()
                    thread = threading.Thread(target=work, args=(3,))
                    thread.start()
                    thread.join()
                finally:
                    propagate_threads(False)
                with concurrent.futures.ThreadPoolExecutor(2) as plain:
                    plain.submit(work, 4).result()
        by_input = {e.inputs["n"]: e for e in events if e.event_type == "tool"}
        assert [None, parent.event_id, parent.event_id, None] == [
            by_input[n].parent_id for n in (1, 2, 3, 4)
        ]
        assert concurrent.futures.ThreadPoolExecutor.submit is not hh.ThreadPoolExecutor.submit

    def test_configure_turns_propagation_on_and_off(self, configure: Any) -> None:
        original = threading.Thread.start
        configure(propagate_threads=True)
        try:
            assert threading.Thread.start is not original
        finally:
            configure(propagate_threads=False)
        assert threading.Thread.start is original

    def test_a_parent_ending_before_its_thread_keeps_the_childs_parent_id(self) -> None:
        release = threading.Event()

        def late_child() -> None:
            release.wait(10)
            work(1)

        with capture_events() as events:
            with hh.event("chain", event_name="parent") as parent:
                thread = hh.Thread(target=late_child)
                thread.start()
            release.set()  # the child runs (and ends) after the parent ended
            thread.join()
        [child] = [e for e in events if e.event_type == "tool"]
        [recorded_parent] = events.find(event_name="parent")
        assert child.parent_id == parent.event_id
        assert recorded_parent.children_ids is None  # it ended before the child

    def test_asyncio_to_thread_keeps_the_parent_and_run_in_executor_with_help(self) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            with hh.event("chain", event_name="async-parent"):
                await asyncio.to_thread(work, 1)
                await loop.run_in_executor(None, hh.copy_context_to(work), 2)
                await loop.run_in_executor(None, work, 3)  # a plain one: no context

        with capture_events() as events:
            asyncio.run(main())
        [parent] = events.find(event_name="async-parent")
        by_input = {e.inputs["n"]: e.parent_id for e in events if e.event_type == "tool"}
        assert {1: parent.event_id, 2: parent.event_id, 3: None} == by_input


class TestHeaders:
    def test_headers_carry_the_session_and_event_to_a_continued_trace(self) -> None:
        with capture_events() as events:
            with hh.session(name="frontend") as s:
                with hh.event("chain", event_name="call-backend") as caller:
                    headers = hh.propagation_headers()
            # ... in the other service:
            with hh.continue_trace(headers):
                assert hh.current_event() is None
                with hh.event("chain", event_name="handle") as handle:
                    work(1)
        assert {"traceparent", "baggage"} == set(headers)
        version, trace, span, flags = headers["traceparent"].split("-")
        assert ("00", uuid.UUID(s.session_id).hex, uuid.UUID(caller.event_id).hex[16:], "01") == (
            version,
            trace,
            span,
            flags,
        )
        [remote] = events.find(event_name="handle")
        assert (remote.parent_id, remote.session_id) == (caller.event_id, s.session_id)
        [tool] = under(events, handle)
        assert tool.session_id == s.session_id
        assert 1 == len(events.sessions)  # the continued session is not started again

    @pytest.mark.parametrize(
        "headers",
        [
            {"Baggage": "honeyhive.session_id=%s,honeyhive.event_id=%s"},
            [(b"baggage", b"honeyhive.event_id=%s;prop=1,other=x,honeyhive.session_id=%s")],
        ],
        ids=["mapping", "asgi-pairs"],
    )
    def test_any_header_shape_is_read(self, headers: Any) -> None:
        session_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
        if isinstance(headers, dict):
            headers = {k: v % (session_id, event_id) for k, v in headers.items()}
        else:
            headers = [(k, v % (event_id.encode(), session_id.encode())) for k, v in headers]
        with capture_events() as events:
            with hh.continue_trace(headers):
                work(1)
        assert (event_id, session_id) == (events[0].parent_id, events[0].session_id)

    @pytest.mark.parametrize(
        "baggage",
        [
            "honeyhive.event_id=not-a-uuid",
            "honeyhive.event_id=" + "0" * 5000,
            "honeyhive.event_id={" + str(uuid.uuid4()) + "}",
            "honeyhive.event_id=" + uuid.uuid4().hex,
            "honeyhive.session_id=../../etc/passwd",
            "honeyhive.event_id=" + str(uuid.uuid4()) + "," + "x" * 9000,
        ],
        ids=["not-uuid", "huge", "braces", "hex", "hostile", "oversized-header"],
    )
    def test_malformed_values_are_ignored_with_one_log_line(
        self, baggage: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        with capture_events(strict=True) as events:
            with caplog.at_level(logging.WARNING, logger="honeyhive_trace"):
                for _ in range(3):
                    with hh.continue_trace({"baggage": baggage}):
                        work(1)
        assert [None] * 3 == [e.parent_id for e in events]
        assert [None] * 3 == [e.session_id for e in events]
        assert 1 == sum("ignored incoming trace headers" in r.getMessage() for r in caplog.records)

    def test_an_upper_case_uuid_is_taken_as_the_same_id(self) -> None:
        event_id = str(uuid.uuid4())
        with capture_events() as events:
            with hh.continue_trace({"baggage": f"honeyhive.event_id={event_id.upper()}"}):
                work(1)
        assert event_id == events[0].parent_id

    def test_headers_without_honeyhive_ids_change_nothing(self) -> None:
        with capture_events() as events:
            with hh.event("chain", event_name="local") as local:
                with hh.continue_trace({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}):
                    work(1)
        assert events[0].parent_id == local.event_id
        assert {} == hh.propagation_headers()

    def test_async_with_and_enrichment_of_a_continued_session(self) -> None:
        with capture_events() as events:
            with hh.session(name="a") as s:
                headers = hh.propagation_headers()

            async def remote() -> None:
                async with hh.continue_trace(headers):
                    hh.enrich_session(metrics={"remote": 1})
                    await asyncio.sleep(0)
                    work(1)

            asyncio.run(remote())
        assert s.session_id == events[0].session_id == events[0].parent_id
        [enriched] = [u for u in events.updates if u.metrics]
        assert (s.session_id, {"remote": 1}) == (enriched.event_id, enriched.metrics)
