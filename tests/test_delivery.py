"""Background batching, retries, spool and shutdown (tests for delivery/)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace.collector import Collector, Faults
from honeyhive_trace.delivery.protocol import TRUNCATION_MARKER
from honeyhive_trace.delivery.retry import RETRY_AFTER_CAP, retry_after_seconds, retry_delay
from tests._support.delivery import (
    free_port,
    produce,
    run_script,
    settled,
    spooled_ids,
    wait_until,
)
from tests._support.wire import API_KEY, sent_bodies


def batch_sizes(collector: Collector) -> list[int]:
    return [
        len(json.loads(r.body)["model_events"])
        for r in collector.requests
        if r.path == "/events/model/batch"
    ]


class TestBatching:
    def test_batches_by_count_on_the_batch_endpoint(self, configure: Any, collector: Any) -> None:
        configure(mode="background", batch_size=10, flush_interval=60)
        ids = produce(25)
        assert hh.flush(10)
        sizes = batch_sizes(collector)
        assert 25 == sum(sizes)
        assert max(sizes) <= 10
        assert ids == [e["event_id"] for e in sent_bodies(collector)]
        stats = hh.stats()
        assert (25, 25, 25) == (stats["sent"], stats["enqueued"], settled(stats))

    def test_batches_are_cut_at_max_batch_bytes(self, configure: Any, collector: Any) -> None:
        configure(mode="background", batch_size=50, flush_interval=60, max_batch_bytes=20_000)
        ids = produce(20, size=3000)  # ~3.3 KB each: six fit in 20,000 bytes
        assert hh.flush(10)
        bodies = [r.body for r in collector.requests]
        assert all(len(body) <= 20_000 + 100 for body in bodies)  # + the envelope
        assert [6, 6, 6, 2] == batch_sizes(collector)
        assert ids == [e["event_id"] for e in sent_bodies(collector)]

    def test_batches_by_age_without_flush(self, configure: Any, collector: Any) -> None:
        configure(mode="background", batch_size=1000, flush_interval=0.05)
        produce(3)
        assert wait_until(lambda: collector.count() == 3)
        assert [3] == batch_sizes(collector)

    def test_caller_never_waits_on_the_network(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.hang(times=None)  # any request on the caller's thread would block
        configure(mode="background", read_timeout=30, batch_size=5)
        start = time.monotonic()
        produce(50)
        assert time.monotonic() - start < 5.0
        assert not hh.flush(0.2)
        hh.shutdown(0.5)

    def test_missing_batch_endpoint_falls_back_to_single_posts(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.respond(405, path="/events/model/batch", times=None)
        configure(mode="background", batch_size=5)
        ids = produce(7)
        assert hh.flush(10)
        singles = [r for r in collector.requests if r.path == "/events/model"]
        assert 7 == len(singles)
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events())


class TestRetries:
    def test_bursts_of_503_are_retried_until_delivered(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.respond(503, times=3)
        configure(mode="background", batch_size=4)
        ids = produce(4)
        assert hh.flush(20)
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events())
        stats = hh.stats()
        assert (3, 4, 0) == (stats["retried"], stats["sent"], stats["spooled"])

    def test_429_retry_after_is_honoured(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.respond(429, headers={"Retry-After": "1"})
        configure(mode="background")
        produce(2)
        start = time.monotonic()
        assert hh.flush(20)
        assert time.monotonic() - start >= 1.0
        assert 2 == collector.count()

    def test_retry_after_parses_seconds_and_http_dates(self) -> None:
        assert 3.0 == retry_after_seconds("3")
        assert retry_after_seconds(None) is None
        assert retry_after_seconds("soon") is None
        now = 1_700_000_000.0
        assert 120.0 == retry_after_seconds("Tue, 14 Nov 2023 22:15:20 GMT", now=now)
        assert 0.0 == retry_after_seconds("Tue, 14 Nov 2000 22:15:20 GMT", now=now)

    def test_connection_dropped_is_retried(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.drop(times=2)
        configure(mode="inline", inline_retry_budget=10)
        ids = produce(1)
        assert ids == [e["event_id"] for e in collector.events()]
        assert 2 == hh.stats()["retried"]

    def test_partial_500_retries_only_the_unacknowledged(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.partial(reject=2)
        configure(mode="background", batch_size=5, flush_interval=60)
        ids = produce(5)
        assert hh.flush(20)
        assert [5, 2] == batch_sizes(collector)
        retried = json.loads(collector.requests[1].body)["model_events"]
        assert ids[3:] == [e["event_id"] for e in retried]
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events())
        assert 5 == hh.stats()["sent"]

    def test_413_splits_the_batch_in_halves(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.respond(413, times=1)
        configure(mode="background", batch_size=8, flush_interval=60)
        produce(8)
        assert hh.flush(20)
        assert [8, 4, 4] == batch_sizes(collector)
        assert 8 == collector.count()

    def test_event_too_large_alone_is_truncated_not_dropped(
        self, spool_dir: Path, tmp_path: Path
    ) -> None:
        with Collector(max_body_bytes=40_000, record_requests=True) as small:
            hh.configure(server_url=small.url, mode="inline", spool_dir=spool_dir, strict=True)
            [event_id] = produce(1, size=200_000)
            [stored] = small.events()
        assert event_id == stored["event_id"]
        content = stored["response"]["content"]
        assert content.endswith(TRUNCATION_MARKER)
        assert len(content) < 40_000
        assert {"response.content": 200_000} == stored["metadata"]["original_lengths"]
        assert 1 == hh.stats()["truncated"]

    def test_other_4xx_are_dead_lettered_not_retried(
        self,
        configure: Any,
        collector: Any,
        faults: Faults,
        spool_dir: Path,
        log_text: Any,
    ) -> None:
        faults.respond(400, body={"message": "project not found"}, times=None)
        configure(mode="background", batch_size=3)
        ids = produce(3)
        assert hh.flush(10)
        assert 1 == len(collector.requests)
        stats = hh.stats()
        assert (3, 0, 3) == (stats["rejected"], stats["sent"], settled(stats))
        [dead] = list(spool_dir.glob("*/dead-letter.jsonl"))
        lines = [json.loads(line) for line in dead.read_text().splitlines()]
        assert ids == [line["model_event"]["event_id"] for line in lines]
        assert all("project not found" in line["reason"] for line in lines)
        assert "project not found" in log_text()


class TestSpool:
    def test_server_down_then_back_every_event_arrives_once(
        self, spool_dir: Path, log_text: Any
    ) -> None:
        port = free_port()
        hh.configure(
            server_url=f"http://127.0.0.1:{port}",
            mode="background",
            retry_budget=0.3,
            spool_dir=spool_dir,
            batch_size=10,
        )
        down = produce(15, "down")
        assert hh.flush(20)
        assert sorted(down) == sorted(spooled_ids(spool_dir))
        assert 15 == hh.stats()["spooled"]
        with Collector(port=port) as server:
            up = produce(1, "up")
            assert hh.flush(20)
            # Replay goes on in the background, between live batches.
            assert wait_until(lambda: server.count() == 16)
            stored = Counter(e["event_id"] for e in server.events())
        assert set(down + up) == set(stored)
        assert {1} == set(stored.values())
        assert [] == spooled_ids(spool_dir)
        stats = hh.stats()
        assert (1, 15, 15) == (stats["sent"], stats["spooled"], stats["replayed"])
        assert "spooled" in log_text()

    def test_queue_overflow_goes_to_the_spool_and_is_replayed(
        self, configure: Any, collector: Any, faults: Faults
    ) -> None:
        faults.delay(1.0)  # hold the worker on its first batch
        configure(mode="background", max_queue_size=10, batch_size=5, flush_interval=60)
        ids = produce(100)
        # include_spool: flush() alone returns once every event is sent or spooled;
        # this waits for the spooled ones to be replayed too.
        assert hh.flush(30, include_spool=True)
        stats = hh.stats()
        assert 100 == settled(stats)
        assert stats["spooled"] > 0
        assert wait_until(lambda: collector.count() == 100)
        stored = Counter(e["event_id"] for e in collector.events())
        assert set(ids) == set(stored)
        assert {1} == set(stored.values())
        assert stats["spooled"] == hh.stats()["replayed"]

    def test_never_answering_server_shutdown_keeps_its_deadline(
        self, configure: Any, collector: Any, faults: Faults, spool_dir: Path
    ) -> None:
        faults.hang(times=None)
        configure(mode="background", read_timeout=60, batch_size=100)
        ids = produce(5)
        start = time.monotonic()
        assert not hh.shutdown(timeout=1.0)
        assert time.monotonic() - start < 3.0
        assert sorted(ids) == sorted(spooled_ids(spool_dir))
        stats = hh.stats()
        assert (5, 0, 5) == (stats["spooled"], stats["sent"], settled(stats))

        faults.clear()
        configure(mode="background")  # a new start replays the spool
        assert wait_until(lambda: collector.count() == 5)
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events())
        assert [] == spooled_ids(spool_dir)

    def test_spool_cap_drops_are_counted_and_logged(self, spool_dir: Path, log_text: Any) -> None:
        hh.configure(
            server_url=f"http://127.0.0.1:{free_port()}",
            mode="inline",
            inline_retry_budget=0.1,
            spool_dir=spool_dir,
            spool_max_bytes=2000,
        )
        produce(20)
        stats = hh.stats()
        assert stats["dropped_spool_full"] > 0
        assert stats["spooled"] > 0
        assert 20 == settled(stats)
        assert "spool" in log_text()
        assert "full" in log_text()

    def test_spool_is_per_destination(self, spool_dir: Path, collector: Any) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        hh.configure(server_url=dead, mode="inline", inline_retry_budget=0.1, spool_dir=spool_dir)
        produce(2)
        hh.configure(server_url=collector.url, mode="background")
        produce(1)
        assert hh.flush(10)
        assert 1 == collector.count()  # another server's events are not sent here
        assert 2 == len(spooled_ids(spool_dir))

    def test_an_event_ending_after_shutdown_is_spooled_not_lost(
        self, configure: Any, collector: Any, spool_dir: Path
    ) -> None:
        configure(mode="background")
        with hh.model_event(model="m", event_name="late") as ev:
            assert hh.shutdown(5)  # e.g. the exit hook, while this call still runs
        assert [ev.event_id] == spooled_ids(spool_dir)
        stats = hh.stats()
        assert (1, 1, 0) == (stats["enqueued"], stats["spooled"], stats["sent"])
        assert 1 == settled(stats)

    def test_a_batch_that_cannot_be_prepared_is_counted_as_dropped(
        self, configure: Any, collector: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from honeyhive_trace.delivery.pipeline import Pipeline

        def broken(self: Pipeline, calls: list[Any]) -> list[Any]:
            raise RuntimeError("a bug in the pipeline")

        configure(mode="background", strict=False, batch_size=5)
        monkeypatch.setattr(Pipeline, "prepare", broken)
        produce(5)
        assert hh.flush(10)
        stats = hh.stats()
        assert (5, 5, 0) == (stats["enqueued"], stats["dropped_internal_error"], stats["sent"])


class TestModes:
    def test_inline_mode_posts_before_the_call_returns(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="inline")
        with hh.model_event(model="m") as ev:
            pass
        assert [ev.event_id] == [e["event_id"] for e in collector.events()]
        assert ev.server_event_id == ev.event_id

    def test_inline_mode_retries_then_spools(
        self, configure: Any, collector: Any, faults: Faults, spool_dir: Path
    ) -> None:
        faults.respond(503, times=None)
        configure(mode="inline", inline_retry_budget=0.3)
        ids = produce(2)
        assert sorted(ids) == sorted(spooled_ids(spool_dir))
        assert 2 == hh.stats()["spooled"]

    def test_inline_mode_in_an_outage_spends_one_try_per_event_after_the_first(
        self, configure: Any, collector: Any, faults: Faults, spool_dir: Path
    ) -> None:
        faults.respond(503, times=None)
        configure(mode="inline", inline_retry_budget=1.0)
        produce(1)
        first = len(collector.requests)
        assert first >= 2  # retried within its budget
        ids = produce(3)
        assert first + 3 == len(collector.requests)  # then one try each: no budget spent
        assert ids == spooled_ids(spool_dir)[1:]
        faults.clear()
        (answered,) = produce(1)  # the server answers again: sent, and the spool replayed
        assert answered in [e["event_id"] for e in collector.events()]
        assert hh.flush(10, include_spool=True)
        assert 5 == collector.count()

    def test_many_threads_and_tasks_exact_count_no_duplicates(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background", strict=False)
        per_thread = 10_000

        def worker(t: int) -> None:
            for i in range(per_thread):
                with hh.model_event(model="m", event_name=f"t{t}-{i}"):
                    pass

        async def tasks() -> None:
            async def one(i: int) -> None:
                async with hh.model_event(model="m", event_name=f"a{i}"):
                    await asyncio.sleep(0)

            await asyncio.gather(*(one(i) for i in range(1000)))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        asyncio.run(tasks())
        for t in threads:
            t.join()
        assert hh.flush(120)
        expected = 8 * per_thread + 1000
        assert expected == settled(hh.stats())
        assert wait_until(lambda: collector.count() == expected, timeout=120)
        assert expected == len({e["event_name"] for e in collector.events(limit=None)})


class TestProcesses:
    @pytest.mark.timeout(60)
    def test_kill_9_then_replay_on_next_start(self, spool_dir: Path) -> None:
        port = free_port()
        env = {"HH_API_URL": f"http://127.0.0.1:{port}", "HH_SPOOL_DIR": str(spool_dir)}
        producer = run_script(
            """
            import sys, time
            import honeyhive_trace as hh
            hh.configure(retry_budget=0.2)
            for i in range(20):
                with hh.model_event(model="m", event_name=f"k{i}"):
                    pass
            print("flushed", hh.flush(20), flush=True)
            time.sleep(600)
            """,
            env,
        )
        assert producer.stdout is not None
        assert "flushed True\n" == producer.stdout.readline()
        producer.kill()  # SIGKILL: no atexit, no cleanup
        producer.wait()
        assert 20 == len(spooled_ids(spool_dir))

        with Collector(port=port) as server:
            consumer = run_script(
                "import honeyhive_trace as hh; hh.configure(); print(hh.flush(20))", env
            )
            out, err = consumer.communicate(timeout=60)
            assert "True\n" == out, err
            names = sorted(e["event_name"] for e in server.events())
        assert sorted(f"k{i}" for i in range(20)) == names
        assert [] == spooled_ids(spool_dir)

    @pytest.mark.timeout(60)
    def test_exit_with_a_hanging_server_spools_within_the_deadline(
        self, collector: Any, faults: Faults, spool_dir: Path
    ) -> None:
        faults.hang(times=None)
        env = {"HH_API_URL": collector.url, "HH_SPOOL_DIR": str(spool_dir)}
        start = time.monotonic()
        script = run_script(
            """
            import honeyhive_trace as hh
            hh.configure(read_timeout=60)
            for i in range(5):
                with hh.model_event(model="m"):
                    pass
            """,
            env,
        )
        _, err = script.communicate(timeout=30)
        assert 0 == script.returncode, err
        assert time.monotonic() - start < 10  # 2 s exit deadline + interpreter start
        assert 5 == len(spooled_ids(spool_dir))
        assert API_KEY not in err

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_fork_in_inline_mode_gives_the_child_its_own_connection(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="inline")
        produce(1, "parent-before")  # the parent's session now has a pooled socket
        client = _client.STATE.client
        assert client is not None
        parent_session = client.transport._session
        pid = os.fork()
        if pid == 0:
            try:
                fresh = _client.STATE.client.transport._session is not parent_session
                produce(2, "child")
                os._exit(0 if fresh and hh.stats()["sent"] == 2 else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert 0 == os.waitstatus_to_exitcode(status)
        produce(1, "parent-after")
        names = Counter(e["event_name"] for e in collector.events())
        assert {"parent-before0": 1, "child0": 1, "child1": 1, "parent-after0": 1} == names

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_fork_child_gets_its_own_worker_and_nothing_is_sent_twice(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background", flush_interval=60, batch_size=1000)
        parent_ids = produce(10, "parent")  # queued, not yet sent
        pid = os.fork()
        if pid == 0:  # the child: must leave through os._exit
            try:
                produce(5, "child")
                os._exit(0 if hh.flush(20) else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert 0 == os.waitstatus_to_exitcode(status)
        assert hh.flush(20)
        names = Counter(e["event_name"] for e in collector.events())
        assert {f"parent{i}" for i in range(10)} | {f"child{i}" for i in range(5)} == set(names)
        assert {1} == set(names.values())
        assert 10 == hh.stats()["sent"]
        assert sorted(parent_ids) == sorted(
            e["event_id"] for e in collector.events() if e["event_name"].startswith("parent")
        )


class TestRetryAfterBounds:
    @pytest.mark.parametrize(
        ("value", "most"),
        [
            # Waits floored at 0.1, 0.2, 0.4, 0.8 s: four tries in a second.
            ("0", 6),
            ("-5", 6),
            ("Thu, 01 Jan 1970 00:00:00 GMT", 6),
            # Not a number of seconds at all: the usual backoff, whose jittered
            # waits may start near zero: 7 tries or more in about one run in a
            # hundred, 10 in none of 200,000 simulated.
            ("nan", 10),
        ],
    )
    def test_a_retry_after_of_nothing_cannot_make_a_retry_storm(
        self, configure: Any, collector: Any, faults: Faults, value: str, most: int
    ) -> None:
        faults.respond(503, headers={"Retry-After": value}, times=None)
        configure(mode="inline", inline_retry_budget=1.0)
        with hh.model_event(model="m"):
            pass
        posts = [r for r in collector.requests if r.path == "/events/model"]
        # A handful of tries in a second, not thousands.
        assert 2 <= len(posts) <= most
        assert 1 == hh.stats()["spooled"]

    def test_a_long_retry_after_is_capped(self) -> None:
        assert RETRY_AFTER_CAP == retry_delay(86_400.0, 0)
        assert 0.1 == retry_delay(0.0, 0)
        assert 3.0 == retry_delay(3.0, 1)


class _Doom(BaseException):
    """Not an Exception: what a hostile __repr__ might raise."""


class _Hostile:
    def __repr__(self) -> str:
        raise _Doom("no repr")

    __str__ = __repr__


class TestHostileValues:
    def test_a_base_exception_from_a_users_repr_does_not_stop_the_worker(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background", flush_interval=0.01)

        @hh.trace_tool
        def odd() -> Any:
            return {"value": _Hostile()}

        odd()
        for n in range(20):
            with hh.event("tool", event_name=f"after-{n}"):
                pass
        assert hh.flush(10)  # nothing left unsettled
        events = collector.events(event_type="tool")
        assert 21 == len(events)  # the odd one too, its field degraded
        [odd_event] = [e for e in events if e["event_name"] == "odd"]
        assert odd_event["outputs"]["value"].startswith("<unrepresentable")
        assert 0 == hh.stats()["dropped"]


def test_flush_after_shutdown_returns_at_once(configure: Any, faults: Faults) -> None:
    faults.hang(times=None)
    configure(mode="background", flush_interval=0.01)
    with hh.model_event(model="m"):
        pass
    assert not hh.shutdown(timeout=0.3)  # not delivered: spooled
    start = time.monotonic()
    assert hh.flush(timeout=None)  # nothing is pending any more
    assert time.monotonic() - start < 1.0
    assert 1 == hh.stats()["spooled"]
    faults.clear()
