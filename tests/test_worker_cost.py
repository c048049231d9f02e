"""What the background worker keeps alive, leaves to the garbage collector, and when it sends."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import weakref
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard
from honeyhive_trace.capture import EventHandle
from honeyhive_trace.collector import Faults
from honeyhive_trace.delivery.codec import LEGACY, V1
from honeyhive_trace.delivery.gather import Gathering
from honeyhive_trace.delivery.intake import Intake
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.delivery.retry import let_go
from honeyhive_trace.testing import capture_events
from tests._support.delivery import free_port, produce, wait_until


class TestNoCyclesLeft:
    def test_a_failed_try_leaves_nothing_for_the_collector(self) -> None:
        # In a process of its own: threads left by other tests in this one would
        # leave garbage of their own while the collector is off.
        code = textwrap.dedent(
            f"""
            import gc, time
            from honeyhive_trace._config import Config
            from honeyhive_trace.delivery.http import HttpTransport
            from honeyhive_trace.delivery.protocol import Prepared

            transport = HttpTransport(Config(server_url="http://127.0.0.1:{free_port()}"))
            item = Prepared("00000000-0000-4000-8000-000000000001", b'{{"event_id":"x"}}')
            gc.collect()
            gc.disable()
            report = transport.deliver([item], time.monotonic() + 0.3)
            transport.close()
            assert report.unsent == [item], report
            assert report.retries >= 1, report
            print(gc.collect())
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        # Before, each failed try left about a thousand objects in reference
        # cycles (exceptions, tracebacks, frames): freed only by a collection.
        assert int(out) < 100

    def test_let_go_clears_every_chained_traceback(self) -> None:
        def inner() -> None:
            payload = [1, 2, 3]  # a local the frame keeps
            raise KeyError(payload)

        try:
            try:
                inner()
            except KeyError as first:
                raise ValueError("outer") from first
        except ValueError as exc:
            caught = exc
        chain = [caught, caught.__cause__]
        assert all(e is not None and e.__traceback__ is not None for e in chain)
        let_go(caught)
        assert all(e is not None and e.__traceback__ is None for e in chain)


class TestHeldOnlyWhileNeeded:
    def test_a_handle_nobody_holds_is_freed_before_its_batch_is_answered(
        self, configure: Any, faults: Faults
    ) -> None:
        faults.respond(503, times=None)  # the batch stays in flight, retried
        configure(mode="background", batch_size=1, retry_budget=5, strict=False)
        refs: list[weakref.ref[Any]] = []

        @hh.trace_model(model="m")
        def call() -> list[int]:
            refs.append(weakref.ref(hh.current_event()))  # type: ignore[arg-type]
            return list(range(1000))  # a result the handle holds

        call()
        assert wait_until(lambda: refs[0]() is None)
        assert 0 == hh.stats()["sent"] + hh.stats()["spooled"]  # still in flight

    def test_a_held_handle_still_gets_its_record_and_server_id(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background", batch_size=1)
        with hh.model_event(model="m") as ev:
            pass
        assert hh.flush(10)
        assert ev.record is not None
        assert ev.record.model == "m"
        assert ev.server_event_id == ev.event_id
        assert [ev.event_id] == [e["event_id"] for e in collector.events()]


class TestGathering:
    def test_full_at_batch_size(self) -> None:
        batch = Gathering(batch_size=3, interval=60)
        assert 3 == batch.room()
        assert not batch.add([], [])
        item = Prepared("a", b"{}")
        assert batch.add([None, None, None], [item])  # type: ignore[list-item]
        count, outcomes, events = batch.take()
        assert (3, [], [item]) == (count, outcomes, events)
        assert (0, 3) == (batch.count, batch.room())

    def test_due_at_the_interval_when_asked_or_stopping(self) -> None:
        batch = Gathering(batch_size=3, interval=60)
        assert not batch.due(stopping=False)
        assert batch.due(stopping=True)
        batch.asked = True
        assert batch.due(stopping=False)
        assert not batch.asked
        assert not batch.due(stopping=False)
        batch.due_at = time.monotonic() - 1
        assert batch.due(stopping=False)
        assert batch.due_at > time.monotonic() + 59


def _intake(**settings: Any) -> Intake:
    counters = Counters()
    return Intake(
        Config(**settings),
        counters,
        ErrorGuard(False, counters),
        threading.Event(),
        after_shutdown=lambda ended: None,
        max_overflow=10,
        wake_at=100,
    )


def _ended_handles(n: int) -> list[Any]:
    handles = []
    with capture_events(strict=False):
        for i in range(n):
            with hh.model_event(model="m", messages=[{"content": "x" * (1000 * i)}]) as ev:
                pass
            handles.append(ev)
    return handles


class TestAWaitingEvent:
    def test_is_queued_as_its_handle_with_its_estimate_in_it(self) -> None:
        intake = _intake(batch_size=2, max_queue_size=10)
        handles = _ended_handles(5)
        for handle in handles:
            intake.submit(handle)
        # Past batch_size waiting, each one's size is estimated; it stays in the
        # handle, not in a wrapper: one object fewer per waiting event for the
        # garbage collector's full collections to walk.
        assert all(type(item) is EventHandle for item in intake.queue)
        assert intake.bytes == sum(h._size for h in handles[2:]) > 2000 + 3000 + 4000
        assert [h._size for h in handles[:2]] == [0, 0]
        assert intake.take(intake.queue, 3) == handles[:3]
        assert intake.bytes == handles[3]._size + handles[4]._size
        assert intake.drain() == handles[3:]
        assert intake.bytes == 0

    def test_handed_to_two_exporters_each_intake_counts_its_own_estimates(self) -> None:
        two = {
            "api_key": "hh-test-key",
            "server_url": "http://127.0.0.1:9",
            "otlp_endpoint": "http://127.0.0.1:9/v1/traces",
            "exporters": ("honeyhive", "otlp"),
        }
        behind = _intake(batch_size=1, max_queue_size=10, **two)  # measures from the 2nd
        keeping_up = _intake(batch_size=100, max_queue_size=10, **two)  # measures none
        handles = _ended_handles(5)
        for handle in handles:  # as FanOut.submit does: the same handle to each
            behind.submit(handle)
            keeping_up.submit(handle)
        assert behind.bytes > 2000 + 3000 + 4000
        assert keeping_up.bytes == 0
        assert keeping_up.take(keeping_up.queue, 3) == handles[:3]
        assert keeping_up.bytes == 0  # not what the other intake estimated
        measured = behind.bytes
        assert behind.take(behind.queue, 1) == handles[:1]  # the unmeasured one
        assert behind.bytes == measured
        assert behind.take(behind.queue, 2) == handles[1:3]
        assert 0 < behind.bytes < measured
        assert behind.drain() == handles[3:] == keeping_up.drain()
        assert behind.bytes == keeping_up.bytes == 0


class TestBatchBody:
    @pytest.mark.parametrize("codec", [LEGACY, V1], ids=["legacy", "v1"])
    def test_is_the_items_joined_in_one_allocation_of_its_size(self, codec: Any) -> None:
        items = [
            Prepared(f"id-{i}", json.dumps({"event_id": f"id-{i}", "x": "y" * 2000}).encode())
            for i in range(200)
        ]
        tracemalloc.start()
        try:
            _, _, body, batched = codec.request(items)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert batched
        assert [e["event_id"] for e in json.loads(body)[codec.routes["model"].batch_key]] == [
            f"id-{i}" for i in range(200)
        ]
        # Built with `+`, each step copied the whole body again (two bodies at
        # the peak), and the allocator's pages went back and forth to the kernel
        # on every batch: most of the sender's system time.
        assert peak < 1.5 * len(body)


class TestAnOutage:
    def test_after_a_batch_ran_out_of_its_budget_the_next_gets_one_try(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.respond(503, times=None)
        configure(mode="background", batch_size=5, flush_interval=60, retry_budget=1.0)
        produce(5)
        assert hh.flush(20)
        first = len(collector.requests)
        assert first >= 2  # retried within its budget
        produce(5)
        assert hh.flush(20)
        assert first + 1 == len(collector.requests)  # one try, then the spool
        assert 10 == hh.stats()["spooled"]
        faults.clear()
        produce(1)  # the server answers again: full budget, replay
        assert hh.flush(20, include_spool=True)
        assert 11 == len(collector.events())
