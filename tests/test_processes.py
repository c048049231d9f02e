"""Child processes and serverless handlers: nothing traced is left only in memory."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.collector._faults import Faults
from honeyhive_trace.locations import default_spool_dir

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="the fork start method",
)


@hh.trace_tool
def square(n: int) -> int:
    return n * n


@hh.flush_after
def flushed_square(n: int) -> int:
    return square(n)


class TestForkedChildren:
    def test_a_fork_pools_workers_deliver_what_they_traced_and_nothing_twice(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(mode="background")
        context = multiprocessing.get_context("fork")
        with hh.session(name="pool") as s:
            with hh.event("chain", event_name="parent") as parent:
                square(0)  # queued in the parent when the workers fork
                pool = context.Pool(2)
                try:
                    assert [n * n for n in range(1, 9)] == pool.map(square, range(1, 9))
                finally:
                    pool.close()  # the workers end normally, with os._exit
                    pool.join()
        assert hh.flush(10)
        squares = list(collector.events(event_type="tool"))
        assert sorted(e["inputs"]["n"] for e in squares) == list(range(9))  # each once
        assert {parent.event_id} == {e["parent_id"] for e in squares}
        assert {s.session_id} == {e["session_id"] for e in squares}

    def test_a_terminated_pool_loses_nothing_when_its_tasks_flush(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(mode="background")
        context = multiprocessing.get_context("fork")
        with context.Pool(2) as pool:  # __exit__ terminates the workers (SIGTERM)
            assert [1, 4, 9] == pool.map(flushed_square, [1, 2, 3])
        assert hh.flush(10)
        assert [1, 2, 3] == sorted(e["inputs"]["n"] for e in collector.events(event_type="tool"))

    def test_a_forked_process_delivers_at_its_exit(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(mode="background")
        child = multiprocessing.get_context("fork").Process(target=square, args=(7,))
        child.start()
        child.join(30)
        assert 0 == child.exitcode
        [event] = collector.events(event_type="tool")
        assert 7 == event["inputs"]["n"]

    @pytest.mark.parametrize(
        "method",
        [
            m
            for m in ("fork", "forkserver", "spawn")
            if m in multiprocessing.get_all_start_methods()
        ],
    )
    def test_children_configured_from_the_environment_deliver_at_exit(
        self,
        method: str,
        collector: Collector,
        spool_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The parent traces nothing and has no client when it starts the pool.
        monkeypatch.setenv("HH_API_URL", collector.url)
        monkeypatch.setenv("HH_API_KEY", "hh-test-key")
        monkeypatch.setenv("HH_SPOOL_DIR", str(spool_dir))
        context = multiprocessing.get_context(method)
        pool = context.Pool(2)
        try:
            assert [1, 4, 9, 16] == pool.map(square, [1, 2, 3, 4])
        finally:
            pool.close()
            pool.join()
        assert [1, 2, 3, 4] == sorted(
            e["inputs"]["n"] for e in collector.events(event_type="tool")
        )


class TestFlushAfter:
    def test_a_handler_returns_with_everything_delivered(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(mode="background", flush_interval=3600)

        @hh.flush_after
        def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
            square(event["n"])
            return {"status": 200}

        assert {"status": 200} == handler({"n": 3}, None)
        assert 1 == collector.count()  # no flush by the caller: the decorator did it

    def test_a_hanging_server_bounds_the_latency_and_spools_the_rest(
        self, configure: Any, collector: Collector, faults: Faults, spool_dir: Path
    ) -> None:
        faults.hang(times=None)
        configure(mode="background", flush_interval=0.01)

        @hh.flush_after(timeout=0.5)
        async def handler(n: int) -> int:
            for i in range(n):
                square(i)
            return n

        loop_free = threading.Event()

        async def main() -> int:
            ticker = asyncio.get_running_loop().call_later(0.1, loop_free.set)
            try:
                return await handler(5)
            finally:
                ticker.cancel()

        assert 5 == asyncio.run(main())
        assert loop_free.is_set()  # the flush did not block the event loop
        # On disk (waiting, or already claimed by a replay): nothing only in memory.
        files = [*spool_dir.glob("*/pending-*"), *spool_dir.glob("*/claimed-*")]
        assert 5 == sum(len(p.read_text().splitlines()) for p in files)
        assert 5 == hh.stats()["spooled"] == hh.stats()["enqueued"]
        faults.clear()

    def test_the_handlers_exception_propagates_unchanged(self, configure: Any) -> None:
        configure(mode="background")
        error = RuntimeError("handler failed")

        @hh.flush_after
        def handler() -> None:
            square(1)
            raise error

        with pytest.raises(RuntimeError) as caught:
            handler()
        assert caught.value is error

    def test_unconfigured_it_is_a_plain_call(self) -> None:
        assert 4 == flushed_square(2)

    def test_on_lambda_the_default_mode_leaves_nothing_in_memory(
        self,
        collector: Collector,
        faults: Faults,
        spool_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
        hh.configure(server_url=collector.url, spool_dir=spool_dir, inline_retry_budget=0.2)
        assert "inline" == hh._client.STATE.client.config.mode  # type: ignore[attr-defined]
        square(2)  # delivered before the call returned
        assert 1 == collector.count()
        faults.respond(503, times=None)
        square(3)  # the server fails: spooled before the call returned, within the budget
        assert 1 == hh.stats()["spooled"]
        faults.clear()
        hh.configure(mode="background")  # an explicit mode is kept
        assert "background" == hh._client.STATE.client.config.mode  # type: ignore[attr-defined]

    def test_on_lambda_the_spool_is_in_tmp(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
        assert Path("/tmp/honeyhive-trace/spool") != default_spool_dir()
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
        assert Path("/tmp/honeyhive-trace/spool") == default_spool_dir()


def test_the_library_imports_neither_multiprocessing_nor_asyncio() -> None:
    code = (
        "import sys, honeyhive_trace as hh\n"
        "print([m for m in ('multiprocessing', 'asyncio') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()
