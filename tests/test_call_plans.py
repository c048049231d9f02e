"""A decorated function's arguments are sorted into fields from a plan per shape of call.

:func:`~honeyhive_trace._builders._args.call_fields` must give exactly what
binding the arguments and routing them gives (``bound_arguments`` then
``route``, the general way), with the order of each field's keys (``inputs``,
``hyperparameters``) kept, for any signature, any
decorator defaults and any call, including calls that raised ``TypeError``
(an argument given twice) and values that are None.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace._builders import _args
from honeyhive_trace._builders._args import (
    PLANS_KEPT,
    bound_arguments,
    call_fields,
    copied,
    route,
    routed,
)
from honeyhive_trace.capture import CallSpec
from honeyhive_trace.testing import capture_events
from tests._support.properties import EXAMPLES

#: Argument names: model call fields, hyperparameters, plain inputs, self.
NAMES = st.sampled_from(
    ["messages", "model", "tools", "temperature", "top_p", "stop", "query", "k", "user", "self"]
)
VALUES = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 2), max_size=2),
)
#: What a decorator may be given: fields, hyperparameters and merged mappings.
DEFAULTS = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.none(), st.text(max_size=2)),
        "temperature": VALUES,
        **{
            merged: st.dictionaries(NAMES, VALUES, max_size=2)
            for merged in ("metadata", "inputs", "hyperparameters")
        },
    },
)


def ordered(value: Any) -> Any:
    """*value* with each dict as its items in order, so that equality sees key order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def general(spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    fields = copied(routed(spec))
    route(bound_arguments(spec, args, kwargs), fields, explicit=False)
    return fields


@st.composite
def calls(draw: st.DrawFn) -> tuple[CallSpec, tuple[Any, ...], dict[str, Any]]:
    positional = tuple(draw(st.lists(NAMES, unique=True, max_size=4)))
    if "self" in positional[1:]:
        positional = tuple(n for n in positional if n != "self")
    with_defaults = draw(st.lists(st.sampled_from(positional), unique=True)) if positional else []
    extra = draw(st.lists(NAMES.filter(lambda n: n not in positional), unique=True, max_size=2))
    # Keyword-only parameters (*extra*) have defaults too.
    param_defaults = tuple((name, draw(VALUES)) for name in [*with_defaults, *extra])
    spec = CallSpec(
        draw(DEFAULTS),
        "model",
        False,
        positional,
        draw(st.sampled_from([None, "args"])),
        param_defaults,
        "self" if positional[:1] == ("self",) else None,
    )
    args = tuple(draw(st.lists(VALUES, max_size=len(positional) + 1)))
    kwargs = draw(st.dictionaries(NAMES, VALUES, max_size=3))
    return spec, args, kwargs


@settings(max_examples=max(200, EXAMPLES), deadline=None)
@given(calls())
def test_a_planned_call_gives_the_fields_of_the_general_way(
    call: tuple[CallSpec, tuple[Any, ...], dict[str, Any]],
) -> None:
    spec, args, kwargs = call
    # The fields' own order is not kept (the record's decides the body's), their values' is.
    expected = {k: ordered(v) for k, v in general(spec, args, kwargs).items()}
    for _ in range(2):  # the plan is made, then used
        assert expected == {k: ordered(v) for k, v in call_fields(spec, args, kwargs).items()}
    assert expected == {k: ordered(v) for k, v in general(spec, args, kwargs).items()}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {"self": "bot", "query": "q"}),  # self by keyword: left out as well
        (("bot", "q"), {"query": "again"}),  # given twice: the call raised TypeError
        (("bot", "q", "extra"), {}),  # more than the parameters (the call raised)
    ],
)
def test_odd_calls_give_the_fields_of_the_general_way(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    spec = CallSpec.for_function(lambda self, query, k=3: None, {})
    assert general(spec, args, kwargs) == call_fields(spec, args, kwargs)


def test_a_none_hyperparameter_leaves_the_decorators_value_and_the_order() -> None:
    spec = CallSpec.for_function(
        lambda messages, temperature=0.1, top_p=0.9: None, {"temperature": 0.5, "stop": "x"}
    )
    fields = call_fields(spec, ([],), {"temperature": None, "top_p": None})
    # None sets nothing: the decorator's temperature stays where it was.
    assert [("temperature", 0.5), ("stop", "x")] == list(fields["hyperparameters"].items())
    fields = call_fields(spec, ([], 0.2), {})
    assert [("temperature", 0.2), ("stop", "x"), ("top_p", 0.9)] == list(
        fields["hyperparameters"].items()
    )


def test_plans_are_bounded_and_calls_past_the_bound_still_give_their_fields() -> None:
    spec = CallSpec.for_function(lambda query, **options: None, {})
    for n in range(PLANS_KEPT + 10):
        fields = call_fields(spec, ("q",), {f"option_{n}": n})
        assert {"query": "q", f"option_{n}": n} == fields["inputs"]
    assert PLANS_KEPT == len(spec.plans)


def test_a_method_leaves_self_out(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bot:
        @hh.trace_model(model="m")
        def chat(self, messages: list[Any], user: str = "u") -> str:
            return "ok"

    made: list[Any] = []
    real = _args._plan
    monkeypatch.setattr(_args, "_plan", lambda *a: made.append(real(*a)) or made[-1])
    with capture_events() as events:
        Bot().chat([{"role": "user", "content": "hi"}])
        Bot().chat([{"role": "user", "content": "again"}])
    assert [{"user": "u"}, {"user": "u"}] == [e.inputs for e in events]
    assert "again" == events[1].messages[0]["content"]
    assert 1 == len(made)  # planned once, then reused
    assert made[0] is not _args._GENERAL
