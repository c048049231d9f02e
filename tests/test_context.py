"""Nesting, sessions, threads and asyncio tasks (tests for _context.py and _sessions.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import honeyhive_trace as hh
from tests._support.wire import sent_bodies


class TestNesting:
    def test_nested_calls_get_the_parent_event_id(self, configure: Any, collector: Any) -> None:
        configure()

        @hh.trace_model
        def leaf(q: str) -> str:
            return q

        @hh.trace_model
        def middle(q: str) -> str:
            with hh.model_event(model="m", event_name="block"):
                leaf(q)
            return leaf(q)

        middle("x")
        events = {e["event_name"]: e for e in sent_bodies(collector)}
        by_id = {e["event_id"]: e["event_name"] for e in sent_bodies(collector)}
        assert 4 == len(sent_bodies(collector))
        assert "parent_id" not in events["middle"]
        assert "middle" == by_id[events["block"]["parent_id"]]
        leaves = [e for e in sent_bodies(collector) if e["event_name"] == "leaf"]
        assert ["block", "middle"] == [by_id[e["parent_id"]] for e in leaves]


class TestSessions:
    def test_with_session_shares_one_id_and_records_the_name(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        with hh.session(name="support-chat") as current:
            assert current is hh.current_session()
            with hh.model_event(model="a"):
                pass
            with hh.model_event(model="b"):
                pass
        with hh.model_event(model="c"):
            pass
        a, b, c = sent_bodies(collector)
        assert a["session_id"] == b["session_id"] == current.session_id
        assert {"session_name": "support-chat"} == a["metadata"]
        assert "session_id" not in c
        assert hh.current_session() is None

    def test_session_decorator_opens_a_new_session_per_call(
        self, configure: Any, collector: Any
    ) -> None:
        configure()

        @hh.session(name="request")
        def handle_request() -> str:
            with hh.model_event(model="m"):
                pass
            return "done"

        @hh.session(name="async-request")
        async def handle_async() -> None:
            with hh.model_event(model="m"):
                pass

        @hh.session()
        def stream() -> Any:
            with hh.model_event(model="m"):
                yield 1

        assert "done" == handle_request()
        handle_request()
        asyncio.run(handle_async())
        assert [1] == list(stream())
        ids = [e["session_id"] for e in sent_bodies(collector)]
        assert 4 == len(set(ids))
        assert handle_request.__name__ == "handle_request"

    def test_fixed_uuid_session_id_is_used_as_is(self, configure: Any, collector: Any) -> None:
        configure()
        fixed = "0b4bd0b8-4a52-4ef4-9b49-3a3c1fd0b0a1"
        for _ in range(2):
            with hh.session(session_id=fixed.upper()), hh.model_event(model="m"):
                pass
        assert [fixed, fixed] == [e["session_id"] for e in collector.events()]

    def test_other_session_ids_become_a_stable_uuid_and_are_kept(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        for _ in range(2):
            with hh.session(session_id="conv-42"), hh.model_event(model="m"):
                pass
        stored = collector.events()  # the collector accepted them: valid UUIDs
        assert 2 == len(stored)
        assert 1 == len({e["session_id"] for e in stored})
        assert uuid.UUID(stored[0]["session_id"]).version == 5
        assert ["conv-42", "conv-42"] == [e["metadata"]["session_key"] for e in stored]
        with hh.session(session_id="conv-42") as again:
            assert stored[0]["session_id"] == again.session_id


class TestConcurrency:
    def test_fifty_threads_each_see_their_own_parent_and_session(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background")
        barrier = threading.Barrier(50)
        expected: dict[str, str] = {}
        lock = threading.Lock()

        @hh.trace_model
        def child(k: int) -> int:
            return k

        def worker(n: int) -> None:
            with hh.session(name=f"s{n}") as current, hh.model_event(model=f"parent-{n}") as ev:
                barrier.wait()  # all threads are inside their events at once
                child(n)
                with lock:
                    expected[ev.event_id] = current.session_id

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert hh.flush(30)
        events = sent_bodies(collector)
        assert 100 == len(events)
        parents = {e["event_id"]: e for e in events if e["model"].startswith("parent-")}
        children = [e for e in events if e.get("event_name") == "child"]
        assert 50 == len(parents) == len(children)
        for c in children:
            parent = parents[c["parent_id"]]
            assert parent["model"] == f"parent-{c['inputs']['k']}"
            assert c["session_id"] == parent["session_id"] == expected[parent["event_id"]]

    def test_two_hundred_asyncio_tasks(self, configure: Any, collector: Any) -> None:
        configure(mode="background")

        @hh.trace_model
        async def child(k: int) -> int:
            await asyncio.sleep(0)
            return k

        async def task(n: int) -> None:
            async with hh.session(name=f"s{n}"):
                with hh.model_event(model=f"parent-{n}"):
                    await asyncio.sleep(0)
                    await child(n)
                    await asyncio.sleep(0)

        async def main() -> None:
            await asyncio.gather(*(task(n) for n in range(200)))

        asyncio.run(main())
        assert hh.flush(30)
        events = sent_bodies(collector)
        assert 400 == len(events)
        parents = {e["event_id"]: e for e in events if e["model"].startswith("parent-")}
        for c in (e for e in events if e.get("event_name") == "child"):
            parent = parents[c["parent_id"]]
            assert parent["model"] == f"parent-{c['inputs']['k']}"
            assert c["session_id"] == parent["session_id"]
        assert 200 == len({e["session_id"] for e in events})

    def test_tasks_created_inside_an_event_inherit_it(
        self, configure: Any, collector: Any
    ) -> None:
        configure()

        @hh.trace_model
        async def child() -> None:
            pass

        async def main() -> str:
            with hh.model_event(model="parent") as ev:
                await asyncio.gather(asyncio.create_task(child()), asyncio.create_task(child()))
            return ev.event_id

        parent_id = asyncio.run(main())
        children = [e for e in sent_bodies(collector) if e.get("event_name") == "child"]
        assert [parent_id, parent_id] == [e["parent_id"] for e in children]

    def test_thread_pool_gets_the_parent_with_copy_context(
        self, configure: Any, collector: Any
    ) -> None:
        configure()

        @hh.trace_model
        def child() -> None:
            pass

        with hh.model_event(model="parent") as ev, ThreadPoolExecutor(2) as pool:
            pool.submit(child).result()  # no context: a new root event
            pool.submit(contextvars.copy_context().run, child).result()
        plain, carried = (e for e in sent_bodies(collector) if e.get("event_name") == "child")
        assert "parent_id" not in plain
        assert ev.event_id == carried["parent_id"]
