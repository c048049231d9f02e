"""Tool and chain events, hh.event, and the tree they make (_decorators, _path, _builders)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import random
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.records import Event, ModelEvent
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.openapi import spec_errors

KINDS = ("sync", "async", "gen", "agen")
PLACEMENTS = ("function", "method", "classmethod", "staticmethod")
DECORATORS: dict[str, tuple[Callable[..., Any], str]] = {
    "trace_tool": (hh.trace_tool, "tool"),
    "trace_chain": (hh.trace_chain, "chain"),
    "trace(tool)": (hh.trace(event_type="tool"), "tool"),
    "trace": (hh.trace, "chain"),
    "trace_tool(named)": (hh.trace_tool(event_name="search", metadata={"v": 1}), "tool"),
}


def _make(kind: str) -> Callable[..., Any]:
    """A function of *kind* with the signature (query, k=3, *, exact=False)."""
    if kind == "sync":

        def lookup(query: str, k: int = 3, *, exact: bool = False) -> Any:
            """Look up."""
            return f"{query}:{k}"

    elif kind == "async":

        async def lookup(query: str, k: int = 3, *, exact: bool = False) -> Any:  # type: ignore[misc]
            """Look up."""
            await asyncio.sleep(0)
            return f"{query}:{k}"

    elif kind == "gen":

        def lookup(query: str, k: int = 3, *, exact: bool = False) -> Any:  # type: ignore[misc]
            """Look up."""
            yield query
            yield k

    else:

        async def lookup(query: str, k: int = 3, *, exact: bool = False) -> Any:  # type: ignore[misc]
            """Look up."""
            yield query
            await asyncio.sleep(0)
            yield k

    return lookup


def _placed(fn: Callable[..., Any], deco: Any, placement: str) -> Any:
    """What to call for *fn* decorated and placed as *placement* in a class."""
    if placement == "function":
        return deco(fn)
    body = _make_method(fn, "cls" if placement == "classmethod" else "self")
    if placement == "method":
        return type("Index", (), {"lookup": deco(body)})().lookup
    if placement == "classmethod":
        return type("Index", (), {"lookup": deco(classmethod(body))}).lookup
    return type("Index", (), {"lookup": deco(staticmethod(fn))})().lookup


def _make_method(fn: Callable[..., Any], first: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"fn": fn, "asyncio": asyncio}
    if inspect.isasyncgenfunction(fn):
        code = f"async def lookup({first}, query, k=3, *, exact=False):\n"
        code += "    async for item in fn(query, k, exact=exact):\n        yield item\n"
    elif inspect.isgeneratorfunction(fn):
        code = f"def lookup({first}, query, k=3, *, exact=False):\n"
        code += "    return (yield from fn(query, k, exact=exact))\n"
    elif inspect.iscoroutinefunction(fn):
        code = f"async def lookup({first}, query, k=3, *, exact=False):\n"
        code += "    return await fn(query, k, exact=exact)\n"
    else:
        code = f"def lookup({first}, query, k=3, *, exact=False):\n"
        code += "    return fn(query, k, exact=exact)\n"
    exec(code, namespace)  # a real signature with the self/cls parameter
    method: Callable[..., Any] = namespace["lookup"]
    method.__qualname__ = f"Index.{method.__name__}"
    return method


def _call(kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        return fn(*args, **kwargs)
    if kind == "async":
        return asyncio.run(fn(*args, **kwargs))
    if kind == "gen":
        return list(fn(*args, **kwargs))

    async def consume() -> list[Any]:
        return [item async for item in fn(*args, **kwargs)]

    return asyncio.run(consume())


def assert_valid_event(event: Event) -> dict[str, Any]:
    """The event's body, checked against the published schema of its route."""
    [body] = CapturedEventsBodies.of(event)
    if isinstance(event, ModelEvent):
        assert [] == spec_errors("POST", "/events/model", {"model_event": body})
    else:
        assert [] == spec_errors("POST", "/events", {"event": body})
    return body


class CapturedEventsBodies:
    @staticmethod
    def of(*records: Event) -> list[dict[str, Any]]:
        events = CapturedEvents()
        for record in records:
            events._add(record)
        return events.bodies()


class TestStepDecorators:
    @pytest.mark.parametrize("placement", PLACEMENTS)
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("name", sorted(DECORATORS))
    def test_records_one_step_with_inputs_and_outputs(
        self, name: str, kind: str, placement: str
    ) -> None:
        deco, event_type = DECORATORS[name]
        fn = _placed(_make(kind), deco, placement)
        with capture_events() as events:
            result = _call(kind, fn, "cats", k=2, exact=True)

        expected_result = ["cats", 2] if kind in ("gen", "agen") else "cats:2"
        assert expected_result == result
        [event] = events
        assert (type(event), event.event_type) == (Event, event_type)
        assert {"query": "cats", "k": 2, "exact": True} == event.inputs
        if kind in ("gen", "agen"):
            assert {"chunks": ["cats", 2]} == event.outputs
        else:
            assert {"result": "cats:2"} == event.outputs
        # The qualified name, without the "<locals>." of a function defined in a function.
        qualified = "Index.lookup" if placement in ("method", "classmethod") else "lookup"
        expected_name = "search" if "named" in name else qualified
        assert expected_name == event.event_name
        metadata = dict(event.metadata or {})
        if kind in ("gen", "agen"):  # streamed: time to the first item, as for a model
            assert metadata.pop("time_to_first_token_ms") >= 0
        assert ({"v": 1} if "named" in name else {}) == metadata
        assert (event.error, event.parent_id, event.session_id) == (None, None, None)
        assert event.duration >= 0
        assert event.end_time >= event.start_time > 0
        assert "dev" == event.source
        assert "test" == event.project
        body = assert_valid_event(event)
        assert {
            "project",
            "event_type",
            "event_name",
            "source",
            "config",
            "inputs",
            "duration",
        } <= set(body)

    @pytest.mark.parametrize("kind", KINDS)
    def test_the_function_keeps_its_kind_name_and_signature(self, kind: str) -> None:
        original = _make(kind)
        traced = hh.trace_tool(original)
        assert inspect.signature(original) == inspect.signature(traced)
        assert (original.__name__, original.__doc__) == (traced.__name__, traced.__doc__)
        assert traced.__wrapped__ is original
        kinds = (
            inspect.iscoroutinefunction,
            inspect.isgeneratorfunction,
            inspect.isasyncgenfunction,
        )
        assert [k(original) for k in kinds] == [k(traced) for k in kinds]

    @pytest.mark.parametrize("kind", KINDS)
    def test_the_users_exception_propagates_unchanged_and_is_recorded(self, kind: str) -> None:
        raised = KeyError("no such document")

        if kind == "sync":

            def fetch(doc: str) -> Any:
                raise raised

        elif kind == "async":

            async def fetch(doc: str) -> Any:  # type: ignore[misc]
                raise raised

        elif kind == "gen":

            def fetch(doc: str) -> Any:  # type: ignore[misc]
                yield 1
                raise raised

        else:

            async def fetch(doc: str) -> Any:  # type: ignore[misc]
                yield 1
                raise raised

        traced = hh.trace_tool(fetch)
        with capture_events() as events:
            with pytest.raises(KeyError) as caught:
                _call(kind, traced, "d-1")
        assert caught.value is raised
        frames = [f.name for f in traceback.extract_tb(caught.value.__traceback__)]
        assert "fetch" == frames[-1]  # the user's own frame is where it was raised
        [event] = events
        assert "KeyError: 'no such document'" == event.error
        assert_valid_event(event)

    def test_outputs_keep_a_mapping_and_wrap_anything_else(self) -> None:
        class Answer:
            def __repr__(self) -> str:
                return "Answer(42)"

        returns: list[Any] = [{"hits": 3}, None, [1, 2], Answer(), "text"]

        @hh.trace_chain
        def step(i: int) -> Any:
            return returns[i]

        with capture_events() as events:
            for i in range(len(returns)):
                step(i)
        outputs = [e.outputs for e in events]
        assert [{"hits": 3}, None, {"result": [1, 2]}, {"result": "Answer(42)"}] == [
            outputs[0],
            outputs[1],
            events.bodies()[2]["outputs"],
            events.bodies()[3]["outputs"],
        ]
        assert {"result": "text"} == outputs[4]
        assert "outputs" not in events.bodies()[1]

    def test_trace_model_type_is_trace_model(self) -> None:
        @hh.trace(event_type="model", event_name="ask")
        def ask(messages: list[Any], model: str = "gpt-4o") -> str:
            return "hi"

        with capture_events() as events:
            ask([{"role": "user", "content": "q"}])
        [event] = events
        assert isinstance(event, ModelEvent)
        assert ("ask", "gpt-4o", {"role": "assistant", "content": "hi"}) == (
            event.event_name,
            event.model,
            event.response,
        )

    def test_bad_event_type_fails_fast_naming_the_setting(self) -> None:
        with pytest.raises(hh.ConfigurationError) as caught:
            hh.trace(event_type="retriever")  # type: ignore[arg-type]
        assert "event_type" == caught.value.setting
        with pytest.raises(hh.ConfigurationError):
            hh.event("retriever")
        with pytest.raises(TypeError, match="@trace_tool needs a function"):
            hh.trace_tool(42)

    def test_model_fields_set_on_a_step_are_reported_not_sent(self) -> None:
        @hh.trace_tool
        def search() -> None:
            hh.current_event().set_usage(prompt_tokens=3)  # type: ignore[union-attr]

        with capture_events(strict=False) as events:
            search()
        [body] = events.bodies()
        assert "usage" not in body
        assert [] == spec_errors("POST", "/events", {"event": body})


class TestEventBlock:
    def test_with_and_async_with_record_the_step(self) -> None:
        async def run() -> None:
            async with hh.event("chain", event_name="plan", inputs={"goal": "g"}) as ev:
                ev.add_outputs(step=1)
                ev.add_outputs(done=True)

        with capture_events() as events:
            with hh.event(
                "tool", event_name="search", inputs={"q": "x"}, config={"index": "v2"}
            ) as ev:
                assert hh.current_event() is ev
                assert "tool" == ev.event_type
                ev.set_outputs({"hits": 3})
                ev.add_metrics(latency_ok=True)
                ev.add_feedback(rating=1)
                ev.add_metadata({"a": 1}, b=2)
                ev.add_config(top_k=5)
                ev.add_user_properties(user_id="u-1")
                ev.add_inputs(extra=True)
            assert hh.current_event() is None
            asyncio.run(run())
        search, plan = events
        assert {
            "event_type": "tool",
            "event_name": "search",
            "inputs": {"q": "x", "extra": True},
            "config": {"index": "v2", "top_k": 5},
            "outputs": {"hits": 3},
            "metrics": {"latency_ok": True},
            "feedback": {"rating": 1},
            "metadata": {"a": 1, "b": 2},
            "user_properties": {"user_id": "u-1"},
        }.items() <= assert_valid_event(search).items()
        assert ("chain", "plan", {"goal": "g"}, {"step": 1, "done": True}) == (
            plan.event_type,
            plan.event_name,
            plan.inputs,
            plan.outputs,
        )

    def test_event_id_is_known_at_once_and_is_the_records(self) -> None:
        with capture_events() as events:
            with hh.event("tool") as ev:
                early = ev.event_id
        assert early == events[0].event_id
        assert "tool" == events[0].event_name

    def test_an_error_in_the_block_is_recorded_and_propagates(self) -> None:
        error = RuntimeError("index offline")
        with capture_events() as events:
            with pytest.raises(RuntimeError) as caught:
                with hh.event("tool", event_name="search"):
                    raise error
        assert caught.value is error
        assert "RuntimeError: index offline" == events[0].error

    def test_set_inputs_replaces_and_set_error_records_without_raising(self) -> None:
        @hh.trace_tool
        def call(secret: str) -> str:
            handle = hh.current_event()
            assert handle is not None
            handle.set_inputs({"secret": "[hidden]"})
            handle.set_error("refused politely")
            return "ok"

        with capture_events() as events:
            assert "ok" == call("s3cret")
        assert ({"secret": "[hidden]"}, "refused politely") == (events[0].inputs, events[0].error)

    def test_update_sets_fields_by_name_and_reports_unknown_ones(self) -> None:
        with capture_events(strict=False) as events:
            with hh.event("chain") as ev:
                ev.update(outputs={"a": 1}, metrics={"m": 2}, colour="red")
            errors = hh.stats()["internal_errors"]
        assert ({"a": 1}, {"m": 2}) == (events[0].outputs, events[0].metrics)
        assert 1 == errors

    def test_setters_after_the_end_are_ignored(self) -> None:
        with capture_events() as events:
            with hh.event("tool") as ev:
                pass
            ev.set_outputs({"late": True})
        assert events[0].outputs is None

    def test_tracing_off_hands_out_a_handle_that_does_nothing(self) -> None:
        with capture_events(enabled=False) as events:
            with hh.event("tool", event_name="x") as ev:
                ev.set_outputs({"a": 1})
                ev.add_feedback(rating=1)
        assert 0 == len(events)


class TestTree:
    def test_parents_children_and_session_across_kinds(self) -> None:
        @hh.trace_tool
        def retrieve(q: str) -> list[str]:
            return ["d1"]

        @hh.trace_model(model="gpt-4o")
        def generate(messages: list[Any]) -> str:
            return "answer"

        @hh.trace_chain
        def answer(q: str) -> str:
            retrieve(q)
            return generate([{"role": "user", "content": q}])

        with capture_events() as events:
            with hh.session(name="support") as s:
                answer("why?")
        tool, model, chain = events
        assert [tool.event_id, model.event_id] == chain.children_ids
        assert tool.parent_id == model.parent_id == chain.event_id
        assert chain.parent_id == s.session_id  # the session is the root
        assert {s.session_id} == {e.session_id for e in events}
        assert [tool, model] == events.children(chain)
        assert None is tool.children_ids is model.children_ids
        assert "support" == chain.metadata["session_name"]  # type: ignore[index]

    def test_children_in_threads_and_tasks_belong_to_their_parent(self) -> None:
        @hh.trace_tool
        def work(n: int) -> int:
            return n

        @hh.trace_chain
        def fan_out() -> list[int]:
            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(contextvars.copy_context().run, work, n) for n in range(4)]
                return [f.result() for f in futures]

        @hh.trace_tool
        async def awork(n: int) -> int:
            await asyncio.sleep(0)
            return n

        @hh.trace_chain
        async def gather() -> list[int]:
            return list(await asyncio.gather(*(awork(n) for n in range(4))))

        with capture_events() as events:
            with hh.session(name="s"):
                assert [0, 1, 2, 3] == fan_out()
                assert [0, 1, 2, 3] == asyncio.run(gather())
        chains = events.find(event_type="chain")
        assert 2 == len(chains)
        for chain in chains:
            children = events.children(chain)
            assert 4 == len(children)
            assert sorted(c.event_id for c in children) == sorted(chain.children_ids or [])
            assert {chain.session_id} == {c.session_id for c in children}

    def test_a_thread_without_the_context_starts_its_own_tree(self) -> None:
        @hh.trace_tool
        def work() -> None:
            pass

        with capture_events() as events:
            with hh.event("chain", event_name="parent"):
                thread = threading.Thread(target=work)
                thread.start()
                thread.join()
        tool, chain = events
        assert (tool.parent_id, chain.children_ids) == (None, None)

    def test_a_child_ending_after_its_parent_is_not_listed(self) -> None:
        def overlapping() -> Any:  # scopes that do not nest, in a context of their own
            with hh.event("chain", event_name="parent"):
                late = hh.event("tool", event_name="late")
                handle = late.__enter__()
            late.__exit__(None, None, None)
            return handle

        with capture_events() as events:
            handle = contextvars.copy_context().run(overlapping)
        parent = events.one(event_name="parent")
        child = events.one(event_name="late")
        assert parent.children_ids is None
        assert child.parent_id == parent.event_id
        assert handle.event_id == child.event_id

    def test_events_outside_a_session_have_no_session(self) -> None:
        with capture_events() as events:
            with hh.event("tool"):
                pass
        assert (events[0].session_id, events[0].parent_id) == (None, None)
        assert "session_id" not in events.bodies()[0]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup")
def test_task_groups_keep_the_tree() -> None:
    @hh.trace_tool
    async def leaf(n: int) -> int:
        return n

    @hh.trace_chain
    async def root() -> None:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            for n in range(3):
                group.create_task(leaf(n))

    with capture_events() as events:
        asyncio.run(root())
    chain = events.one(event_type="chain")
    assert 3 == len(events.children(chain)) == len(chain.children_ids or [])


def test_tracing_leaves_the_applications_random_sequence_alone() -> None:
    @hh.trace_tool
    def roll() -> float:
        return random.random()

    random.seed(1234)
    plain = [random.random() for _ in range(5)]
    random.seed(1234)
    with capture_events() as events:
        traced = [roll() for _ in range(5)]
        hh.log_feedback(events[0].event_id, {"rating": 1})
    assert plain == traced  # event ids come from the library's own generator


class TestOneScopeEnteredTwice:
    def test_nested_entries_of_one_scope_are_two_events_with_their_own_errors(self) -> None:
        scope = hh.model_event(model="m", messages=[{"role": "user", "content": "q"}])
        with capture_events() as events:
            with pytest.raises(KeyError):
                with scope as outer:
                    try:
                        with scope as inner:
                            raise ValueError("inner failed")
                    except ValueError:
                        pass
                    raise KeyError("outer failed")
        assert 2 == len(events)
        by_id = {e.event_id: e for e in events}
        assert "ValueError: inner failed" == by_id[inner.event_id].error
        assert "KeyError: 'outer failed'" == by_id[outer.event_id].error
        assert by_id[inner.event_id].parent_id == outer.event_id

    def test_concurrent_tasks_sharing_one_scope_each_get_their_event(self) -> None:
        scope = hh.event("tool", event_name="shared", inputs={"q": "x"})

        async def task(n: int, gate: asyncio.Event, other: asyncio.Event) -> str:
            async with scope as ev:
                ev.set_outputs({"n": n})
                gate.set()
                await other.wait()  # both are inside the block at once
            return ev.event_id

        async def main() -> list[str]:
            a, b = asyncio.Event(), asyncio.Event()
            return list(await asyncio.gather(task(1, a, b), task(2, b, a)))

        with capture_events() as events:
            ids = asyncio.run(main())
        assert sorted(ids) == sorted(e.event_id for e in events)
        assert {1, 2} == {e.outputs["n"] for e in events}  # type: ignore[index]
        assert [None, None] == [e.parent_id for e in events]  # neither inside the other
