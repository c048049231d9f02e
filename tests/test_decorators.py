"""@trace_model on every kind of function, placement and form (tests for _decorators.py)."""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
import uuid
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

import honeyhive_trace as hh
from tests._support.wire import sent_bodies, stable

KINDS = ("sync", "async", "gen", "agen")
PLACEMENTS = ("function", "method", "classmethod", "staticmethod")
FORMS = ("bare", "args")
MESSAGES = [{"role": "user", "content": "Hi"}]


def _make(kind: str) -> Callable[..., Any]:
    """A function of *kind* with the signature (messages, temperature=0.5, user="u")."""
    if kind == "sync":

        def answer(messages: list[Any], temperature: float = 0.5, user: str = "u") -> str:
            """Answer."""
            return f"echo {messages[-1]['content']}"

    elif kind == "async":

        async def answer(messages: list[Any], temperature: float = 0.5, user: str = "u") -> str:  # type: ignore[misc]
            """Answer."""
            await asyncio.sleep(0)
            return f"echo {messages[-1]['content']}"

    elif kind == "gen":

        def answer(messages: list[Any], temperature: float = 0.5, user: str = "u") -> Any:  # type: ignore[misc]
            """Answer."""
            yield "echo "
            yield messages[-1]["content"]

    else:

        async def answer(messages: list[Any], temperature: float = 0.5, user: str = "u") -> Any:  # type: ignore[misc]
            """Answer."""
            yield "echo "
            await asyncio.sleep(0)
            yield messages[-1]["content"]

    return answer


def _method_version(fn: Callable[..., Any], first: str) -> Callable[..., Any]:
    """Same body as *fn*, with a leading self/cls parameter."""
    if inspect.isasyncgenfunction(fn):

        async def answer(_self: Any, *args: Any, **kwargs: Any) -> Any:
            async for item in fn(*args, **kwargs):
                yield item

    elif inspect.isgeneratorfunction(fn):

        def answer(_self: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            return (yield from fn(*args, **kwargs))

    elif inspect.iscoroutinefunction(fn):

        async def answer(_self: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            return await fn(*args, **kwargs)

    else:

        def answer(_self: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            return fn(*args, **kwargs)

    # Give it a real (first, messages, temperature, user) signature.
    params = [inspect.Parameter(first, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += list(inspect.signature(fn).parameters.values())
    answer.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return answer


def _decorated(kind: str, placement: str, form: str) -> Callable[..., Any]:
    deco: Any = (
        hh.trace_model if form == "bare" else hh.trace_model(model="gpt-4o", event_name="ask")
    )
    base = _make(kind)
    if placement == "function":
        return deco(base)
    if placement == "method":
        cls = type("Bot", (), {"answer": deco(_method_version(base, "self"))})
        return cls().answer
    if placement == "classmethod":
        cls = type("Bot", (), {"answer": deco(classmethod(_method_version(base, "cls")))})
        return cls.answer
    cls = type("Bot", (), {"answer": deco(staticmethod(base))})
    return cls().answer


def _call(kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        return fn(*args, **kwargs)
    if kind == "async":
        return asyncio.run(fn(*args, **kwargs))
    if kind == "gen":
        return "".join(fn(*args, **kwargs))

    async def consume() -> str:
        return "".join([item async for item in fn(*args, **kwargs)])

    return asyncio.run(consume())


class TestDecoratorMatrix:
    @pytest.mark.parametrize("form", FORMS)
    @pytest.mark.parametrize("placement", PLACEMENTS)
    @pytest.mark.parametrize("kind", KINDS)
    def test_records_one_event_with_inputs_and_response(
        self, configure: Any, collector: Any, kind: str, placement: str, form: str
    ) -> None:
        configure()
        fn = _decorated(kind, placement, form)

        result = _call(kind, fn, MESSAGES, temperature=0.1, user="alice")

        assert "echo Hi" == result
        [event] = sent_bodies(collector)
        metadata = event.pop("metadata", {})
        if kind in ("gen", "agen"):  # streamed: time to the first yielded item
            assert metadata.pop("time_to_first_token_ms") >= 0
        assert {} == metadata
        expected = {
            "project": "test-project",
            "model": "gpt-4o" if form == "args" else "unknown",
            "provider": "openai" if form == "args" else "unknown",
            "messages": MESSAGES,
            "response": {"role": "assistant", "content": "echo Hi"},
            "usage": {},
            "event_name": "ask" if form == "args" else "answer",
            "hyperparameters": {"temperature": 0.1},
            "inputs": {"user": "alice"},
        }
        assert expected == stable(event)
        assert uuid.UUID(event["event_id"]).version == 4
        assert event["duration"] >= 0
        assert event["end_time"] >= event["start_time"] > 1_600_000_000_000

    @pytest.mark.parametrize("kind", KINDS)
    def test_defaults_of_the_function_are_recorded(
        self, configure: Any, collector: Any, kind: str
    ) -> None:
        configure()
        _call(kind, hh.trace_model(_make(kind)), MESSAGES)
        [event] = sent_bodies(collector)
        assert {"temperature": 0.5} == event["hyperparameters"]
        assert {"user": "u"} == event["inputs"]


class TestSignaturePreserved:
    @pytest.mark.parametrize("kind", KINDS)
    def test_wraps_keeps_name_doc_signature_and_kind(self, kind: str) -> None:
        original = _make(kind)
        wrapped = hh.trace_model(original)
        assert original.__name__ == wrapped.__name__
        assert original.__qualname__ == wrapped.__qualname__
        assert original.__doc__ == wrapped.__doc__
        assert inspect.signature(original) == inspect.signature(wrapped)
        for predicate in (
            inspect.iscoroutinefunction,
            inspect.isgeneratorfunction,
            inspect.isasyncgenfunction,
        ):
            assert predicate(original) == predicate(wrapped)
        assert original is wrapped.__wrapped__  # type: ignore[attr-defined]

    def test_classmethod_and_staticmethod_stay_descriptors(self) -> None:
        class Bot:
            @hh.trace_model
            @classmethod
            def make(cls, messages: list[Any]) -> str:
                return cls.__name__

            @hh.trace_model
            @staticmethod
            def static(messages: list[Any]) -> str:
                return "s"

        assert isinstance(Bot.__dict__["make"], classmethod)
        assert isinstance(Bot.__dict__["static"], staticmethod)
        assert "Bot" == Bot.make([])
        assert "s" == Bot().static([])

    def test_unconfigured_calls_are_plain_calls(self, collector: Any) -> None:
        fn = hh.trace_model(_make("sync"))
        assert "echo Hi" == fn(MESSAGES)
        assert [] == collector.requests
        assert hh.current_event() is None

    def test_rejects_non_callables_at_decoration(self) -> None:
        with pytest.raises(TypeError, match="needs a function"):
            hh.trace_model(42)  # type: ignore[call-overload]

    @pytest.mark.parametrize(
        ("decorator", "name", "value"),
        [
            (hh.trace_model, "hyperparameters", "temperature=0"),
            (hh.trace_model, "metadata", 5),
            (hh.trace_tool, "config", ["a"]),
            (hh.trace_chain, "metadata", "team"),
        ],
    )
    def test_a_mapping_argument_that_is_not_one_fails_at_decoration(
        self, decorator: Any, name: str, value: Any
    ) -> None:
        # Once sorted into every call's fields, it would cost every event (a
        # hyperparameters string made every call's event be dropped).
        with pytest.raises(hh.ConfigurationError, match=f"{name}=.*takes a mapping") as raised:
            decorator(**{name: value})(_make("sync"))
        assert name == raised.value.setting

    def test_a_mapping_that_is_not_a_dict_is_taken(self, configure: Any, collector: Any) -> None:
        configure(mode="inline")
        fn = hh.trace_model(
            hyperparameters=MappingProxyType({"top_p": 0.5}),
            metadata=MappingProxyType({"team": "search"}),
        )(_make("sync"))
        fn(MESSAGES, temperature=0.2)
        [body] = sent_bodies(collector)
        assert {"top_p": 0.5, "temperature": 0.2} == body["hyperparameters"]
        assert "search" == body["metadata"]["team"]


class TestExceptions:
    @pytest.mark.parametrize("kind", KINDS)
    def test_user_exception_is_the_same_object_and_recorded(
        self, configure: Any, collector: Any, kind: str
    ) -> None:
        configure()
        boom = ValueError("model overloaded")

        def raising(messages: list[Any]) -> Any:
            raise boom

        async def araising(messages: list[Any]) -> Any:
            raise boom

        def graising(messages: list[Any]) -> Any:
            yield "partial "
            raise boom

        async def agraising(messages: list[Any]) -> Any:
            yield "partial "
            raise boom

        fn = {"sync": raising, "async": araising, "gen": graising, "agen": agraising}[kind]
        with pytest.raises(ValueError) as caught:
            _call(kind, hh.trace_model(fn), MESSAGES)
        assert boom is caught.value
        [event] = sent_bodies(collector)
        assert "ValueError: model overloaded" == event["error"]
        if kind in ("gen", "agen"):
            assert {"role": "assistant", "content": "partial "} == event["response"]

    def test_traceback_keeps_every_original_frame(self, configure: Any) -> None:
        configure()

        def deepest() -> None:
            raise KeyError("k")

        def plain(messages: list[Any]) -> None:
            deepest()

        try:
            plain([])
        except KeyError:
            bare_names = [f.name for f in traceback.extract_tb(sys.exc_info()[2])]
        try:
            hh.trace_model(plain)([])
        except KeyError:
            traced_names = [f.name for f in traceback.extract_tb(sys.exc_info()[2])]
        # The traced traceback is the plain one plus only the wrapper frame.
        assert bare_names[-2:] == traced_names[-2:]
        assert ["wrapper"] == [n for n in traced_names if n not in bare_names]

    def test_exception_inside_does_not_leak_current_event(self, configure: Any) -> None:
        configure()

        @hh.trace_model
        def fails(messages: list[Any]) -> None:
            raise RuntimeError

        with pytest.raises(RuntimeError):
            fails([])
        assert hh.current_event() is None


class TestGenerators:
    def test_send_throw_and_return_value_are_forwarded(
        self, configure: Any, collector: Any
    ) -> None:
        configure()

        @hh.trace_model
        def accumulate(messages: list[Any]) -> Any:
            total = ""
            while True:
                try:
                    received = yield total
                except KeyError:
                    received = "<k>"
                if received is None:
                    return total
                total += received

        gen = accumulate([])
        assert "" == next(gen)
        assert "a" == gen.send("a")
        assert "a<k>" == gen.throw(KeyError())
        with pytest.raises(StopIteration) as stop:
            gen.send(None)
        assert "a<k>" == stop.value.value
        [event] = sent_bodies(collector)
        assert {"role": "assistant", "content": "aa<k>"} == event["response"]

    def test_closing_early_ends_the_event_with_the_partial_response(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        cleaned = []

        @hh.trace_model
        def tokens(messages: list[Any]) -> Any:
            try:
                yield "one "
                yield "two "
                yield "three"
            finally:
                cleaned.append(True)

        gen = tokens([])
        assert "one " == next(gen)
        assert [] == sent_bodies(collector)  # still running
        gen.close()
        assert [True] == cleaned
        [event] = sent_bodies(collector)
        assert {"role": "assistant", "content": "one "} == event["response"]
        assert event["metadata"]["closed_early"] is True
        assert event["metadata"]["time_to_first_token_ms"] <= event["duration"]
        assert "error" not in event

    def test_async_generator_aclose_ends_the_event(self, configure: Any, collector: Any) -> None:
        configure()

        @hh.trace_model
        async def tokens(messages: list[Any]) -> Any:
            yield "a"
            yield "b"

        async def main() -> None:
            agen = tokens([])
            assert "a" == await agen.__anext__()
            await agen.aclose()

        asyncio.run(main())
        [event] = sent_bodies(collector)
        assert {"role": "assistant", "content": "a"} == event["response"]
        assert event["metadata"]["closed_early"] is True

    def test_current_event_is_set_only_while_the_generator_runs(self, configure: Any) -> None:
        configure()
        seen = []

        @hh.trace_model
        def tokens(messages: list[Any]) -> Any:
            seen.append(hh.current_event())
            yield 1
            seen.append(hh.current_event())
            yield 2

        for _ in tokens([]):
            assert hh.current_event() is None  # not leaked to the consumer
        assert 2 == len(seen)
        assert seen[0] is seen[1] is not None

    def test_non_string_chunks_are_kept_as_a_list(self, configure: Any, collector: Any) -> None:
        configure()

        @hh.trace_model
        def numbers(messages: list[Any]) -> Any:
            yield 1
            yield {"x": (2, 3)}

        assert [1, {"x": (2, 3)}] == list(numbers([]))
        [event] = sent_bodies(collector)
        assert {"role": "assistant", "content": [1, {"x": [2, 3]}]} == event["response"]


class TestArguments:
    def test_arguments_named_like_library_fields_are_inputs_never_the_fields(
        self, configure: Any, collector: Any
    ) -> None:
        configure()

        @hh.trace_model(model="gpt-4o")
        def call(provider: str, usage: Any, cost: float, error: str, duration: int) -> str:
            return "ok"

        call("my-gateway", {"prompt_tokens": 10**6}, 99.0, "not an error", 123456)
        [event] = sent_bodies(collector)
        assert {
            "provider": "my-gateway",
            "usage": {"prompt_tokens": 10**6},
            "cost": 99.0,
            "error": "not an error",
            "duration": 123456,
        } == event["inputs"]
        assert "openai" == event["provider"]  # inferred from the model, as without them
        assert ({}, None, None) == (event["usage"], event.get("cost"), event.get("error"))
        assert event["duration"] < 123456

    def test_call_arguments_fill_contract_fields(self, configure: Any, collector: Any) -> None:
        configure()
        tools = [{"type": "function", "function": {"name": "f"}}]

        @hh.trace_model(provider="openai", hyperparameters={"temperature": 1, "n": 2})
        def create(**params: Any) -> dict[str, Any]:
            return {"role": "assistant", "content": "ok"}

        create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            temperature=0.3,
            top_p=0.9,
            max_tokens=10,
            presence_penalty=0.1,
            frequency_penalty=0.2,
            stop="END",
            tools=tools,
            tool_choice="auto",
            response_format={"type": "json_object"},
            template=[{"role": "system", "content": "Hi {{name}}"}],
            template_inputs={"name": "Ann"},
            seed=7,
        )
        [event] = sent_bodies(collector)
        assert {
            "project": "test-project",
            "model": "gpt-4o-mini",
            "provider": "openai",
            "messages": MESSAGES,
            "response": {"role": "assistant", "content": "ok"},
            "usage": {},
            "event_name": "create",
            "hyperparameters": {
                "temperature": 0.3,
                "n": 2,
                "top_p": 0.9,
                "max_tokens": 10,
                "presence_penalty": 0.1,
                "frequency_penalty": 0.2,
                "stop": ["END"],
            },
            "template": [{"role": "system", "content": "Hi {{name}}"}],
            "template_inputs": {"name": "Ann"},
            "tools": tools,
            "tool_choice": "auto",
            "response_format": {"type": "json_object"},
            "inputs": {"seed": 7},
        } == stable(event)

    def test_varargs_and_decorator_metadata(self, configure: Any, collector: Any) -> None:
        configure()

        @hh.trace_model(metadata={"team": "search"}, project="other", source="ci")
        def call(prompt: str, *extra: Any) -> Any:
            return ["a", 1]

        call("hello", 1, b"raw")
        [event] = sent_bodies(collector)
        assert {"prompt": "hello", "extra": [1, "raw"]} == event["inputs"]
        assert {"team": "search"} == event["metadata"]
        assert "other" == event["project"]
        assert "ci" == event["source"]
        assert {"role": "assistant", "content": ["a", 1]} == event["response"]

    def test_arguments_are_recorded_as_they_were_at_call_time(
        self, configure: Any, collector: Any
    ) -> None:
        configure(mode="background")

        @hh.trace_model
        def chat(messages: list[Any], options: dict[str, Any]) -> str:
            return "reply"

        history = [{"role": "user", "content": "1"}]
        options = {"a": 1}
        chat(history, options=options)
        history.append({"role": "assistant", "content": "reply"})  # typical chat loop
        options["b"] = 2
        assert hh.flush(10)
        [event] = sent_bodies(collector)
        assert [{"role": "user", "content": "1"}] == event["messages"]
        assert {"options": {"a": 1}} == event["inputs"]

    def test_response_forms(self, configure: Any, collector: Any) -> None:
        configure()
        values: list[Any] = [
            "text",
            {"role": "assistant", "content": "dict"},
            {"answer": 42},
            None,
            (1, 2),
        ]

        @hh.trace_model
        def give(i: int) -> Any:
            return values[i]

        for i in range(len(values)):
            give(i)
        responses = [e["response"] for e in sent_bodies(collector)]
        assert [
            {"role": "assistant", "content": "text"},
            {"role": "assistant", "content": "dict"},
            {"answer": 42},
            {},
            {"role": "assistant", "content": [1, 2]},
        ] == responses
