"""Strategies and helpers of the property tests (test_properties*.py).

Awkward values, exceptions and argument names for Hypothesis, the examples
profile, and the checks every property test makes on outcomes and bodies.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import itertools
import json
import math
import os
import sys
import uuid
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import honeyhive_trace as hh
from honeyhive_trace.collector import ValidationError

# The collector's validator is public only behind HTTP (a 400 naming the
# fields); calling it in process keeps the bulk of the examples fast.
from honeyhive_trace.collector._validate import parse_single
from honeyhive_trace.delivery.codec import V1
from honeyhive_trace.delivery.protocol import kind_of
from honeyhive_trace.records import Record
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.contract import check_model_event
from tests._support.openapi import V1 as V1_SPEC
from tests._support.openapi import spec_errors

settings.register_profile(
    "hh-properties",
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        # The HTTP tests hold one configured client and collector for all
        # examples on purpose; each example reads and clears what was posted.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile(
    "hh-properties-long", parent=settings.get_profile("hh-properties"), max_examples=1700
)
settings.register_profile(
    "hh-properties-quick", parent=settings.get_profile("hh-properties"), max_examples=30
)
PROFILE = settings.get_profile(os.environ.get("HH_PROPERTY_PROFILE", "hh-properties"))
#: In-process examples per test; the inline (HTTP) tests run a tenth of this.
EXAMPLES = int(os.environ.get("HH_PROPERTY_EXAMPLES") or PROFILE.max_examples)
HTTP_EXAMPLES = max(10, EXAMPLES // 10)


# -- awkward values ------------------------------------------------------------------------


def _pretty(self: Any, printer: Any, cycle: bool) -> None:
    # Hypothesis prints failing examples with its pretty printer, which uses
    # _repr_pretty_ before __repr__; the library under test never does.
    printer.text(f"{type(self).__name__}()")


class BadRepr:
    """repr() and str() raise."""

    _repr_pretty_ = _pretty

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


class ReprNotStr:
    """repr() returns something that is not a string (so repr() raises TypeError)."""

    _repr_pretty_ = _pretty

    def __repr__(self) -> Any:
        return 42


class Hostile:
    """Every protocol a serialiser might try raises something odd."""

    _repr_pretty_ = _pretty

    def __getattr__(self, name: str) -> Any:
        raise KeyError(name)

    def __iter__(self) -> Iterator[Any]:
        raise MemoryError("iter")

    def __len__(self) -> int:
        raise OverflowError("len")

    def __bool__(self) -> bool:
        raise ZeroDivisionError("bool")

    def __int__(self) -> int:
        raise RuntimeError("int")

    def __float__(self) -> float:
        raise RuntimeError("float")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        raise SystemError("repr")


class BrokenMapping(Mapping[Any, Any]):
    """A Mapping whose every read raises."""

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("getitem")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


class FakePydantic:
    """Looks like a pydantic model whose model_dump raises."""

    def model_dump(self) -> Any:
        raise ValueError("cannot dump")


class BadStrSubclass(str):
    _repr_pretty_ = _pretty

    def __str__(self) -> str:
        raise RuntimeError("str subclass")


class Colour(enum.Enum):
    RED = "red"
    WEIRD = float("nan")


FIXED_VALUES: list[Any] = [
    "\ud800 lone surrogate",
    "nul \x00 and \u2028 separators",
    b"\xff\xfe invalid utf-8",
    bytearray(b"bytes"),
    float("nan"),
    float("inf"),
    -float("inf"),
    -0.0,
    10**400,
    -(2**64),
    decimal.Decimal("NaN"),
    decimal.Decimal("1e1000"),
    complex(1, float("nan")),
    datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    datetime.timedelta(days=-1),
    uuid.UUID(int=0),
    PurePosixPath("/tmp/x"),
    Colour.RED,
    Colour.WEIRD,
    Ellipsis,
    NotImplemented,
    type,
    print,
    sys,
    range(10**12),
    frozenset({1, "a", None}),
    deque([1, 2]),
]


def huge_text() -> str:
    """A string of a million characters (built, so the strategy's repr stays short)."""
    return "x" * 1_000_000 + "\u00e9"


def huge_int() -> int:
    """An int past the default limit of int -> str conversion (built, so never repr'd)."""
    return 10**5000


def _fresh(make: Callable[[], Any]) -> st.SearchStrategy[Any]:
    return st.builds(make)


FRESH_OBJECTS = st.one_of(
    _fresh(BadRepr),
    _fresh(ReprNotStr),
    _fresh(Hostile),
    _fresh(BrokenMapping),
    _fresh(FakePydantic),
    _fresh(lambda: BadStrSubclass("sub")),
    _fresh(mock.Mock),
    _fresh(mock.MagicMock),
    _fresh(lambda: mock.NonCallableMagicMock(spec=dict)),
    _fresh(lambda: (i for i in range(3))),
    _fresh(lambda: itertools.count()),
    _fresh(lambda: iter([1, 2])),
    _fresh(lambda: defaultdict(list, {"a": [1]})),
    _fresh(lambda: OrderedDict(b=1)),
    _fresh(object),
    _fresh(lambda: ValueError("an exception as a value")),
    _fresh(huge_int),
    _fresh(huge_text),
)

KEYS = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.builds(BadRepr),
    st.builds(object),
)

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=20),
    st.sampled_from(FIXED_VALUES),
    FRESH_OBJECTS,
)


def _cyclic(child: Any, kind: int) -> Any:
    if kind == 0:
        cycle: list[Any] = [child]
        cycle.append(cycle)
        return cycle
    if kind == 1:
        loop: dict[str, Any] = {"child": child}
        loop["self"] = loop
        return loop
    outer = {"list": [child]}
    outer["list"].append({"back": outer})
    return outer


def _nested(child: Any, depth: int) -> Any:
    for _ in range(depth):
        child = [child]
    return child


VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=4),
        st.tuples(children, children),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
        st.builds(_cyclic, children, st.integers(0, 2)),
        st.builds(_nested, children, st.sampled_from([50, 1200])),
    ),
    max_leaves=8,
)


class UserError(Exception):
    pass


class BadStrError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class BadReprError(Exception):
    _repr_pretty_ = _pretty

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> Any:
        return 42  # noqa: PLE0307 - str() of it raises TypeError


class UserBaseException(BaseException):
    pass


EXCEPTION_TYPES: list[type[BaseException]] = [
    UserError,
    ValueError,
    KeyError,
    BadStrError,
    BadReprError,
    UserBaseException,
    KeyboardInterrupt,
    SystemExit,
    asyncio.CancelledError,
    MemoryError,
    RecursionError,
]


def _exception(kind: type[BaseException], args: list[Any]) -> BaseException:
    return kind(*args)


EXCEPTIONS = st.builds(_exception, st.sampled_from(EXCEPTION_TYPES), st.lists(VALUES, max_size=2))
OUTCOMES = st.one_of(st.none(), EXCEPTIONS)

#: Argument names that mean something to the capture path, and a few that do not.
ARG_NAMES = [
    "messages",
    "model",
    "tools",
    "tool_choice",
    "response_format",
    "template",
    "template_inputs",
    "temperature",
    "top_p",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "stop",
    "n",
    "metadata",
    "user",
    "inputs",
    "project",
    "provider",
    "usage",
    "self_",
]
KWARGS = st.dictionaries(st.sampled_from(ARG_NAMES), VALUES, max_size=5)
ARGS = st.lists(VALUES, max_size=3)

#: Names model_event() and EventHandle.update() accept, and some they route to inputs.
FIELD_NAMES = [
    "project",
    "model",
    "provider",
    "messages",
    "response",
    "usage",
    "cost",
    "error",
    "source",
    "event_name",
    "hyperparameters",
    "template",
    "template_inputs",
    "tools",
    "tool_choice",
    "response_format",
    "inputs",
    "metadata",
    "temperature",
    "stop",
    "customer",
]
SETTABLE = [n for n in FIELD_NAMES if n not in ("temperature", "stop", "customer")]
FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=4)


# -- driving the code without an event loop ---------------------------------------------------


def drive(awaitable: Any) -> Any:
    """Run an awaitable that only awaits ``asyncio.sleep(0)``, without an event loop.

    Keeps the examples fast and leaves every BaseException to propagate as is.
    """
    iterator = awaitable.__await__()
    while True:
        try:
            iterator.send(None)
        except StopIteration as stop:
            return stop.value


def drain_async(agen: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        try:
            items.append(drive(agen.__anext__()))
        except StopAsyncIteration:
            return items


# -- checking bodies ------------------------------------------------------------------------


def _not_json_safe(event: Any) -> list[str]:
    """Where a decoded body holds NaN or an infinity, or text that is not valid UTF-8.

    Iterative: bodies nest deeper than the recursion limit.
    """
    problems: list[str] = []
    stack: list[tuple[str, Any]] = [("model_event", event)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{path}: {value!r}")
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(f"{path}: not UTF-8: {value[:40]!r}")
        elif isinstance(value, dict):
            stack.extend((f"{path} key", key) for key in value)
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return sorted(problems)


def check_event(event: dict[str, Any]) -> dict[str, Any]:
    """Check a decoded ``model_event`` object as the contract and the collector would."""
    # json.loads (inside bodies()) turns the constants NaN/Infinity into floats
    # and lets UTF-8-encoded surrogates through; both show up here.
    assert [] == _not_json_safe(event)
    problems = check_model_event(event)
    assert [] == problems, problems
    try:
        parse_single({"model_event": event})
    except ValidationError as exc:  # pragma: no cover - the message is the point
        raise AssertionError(f"the collector refuses the body: {exc}") from None
    return event


def check_wire(wire: bytes) -> dict[str, Any]:
    """Decode a request body as the server would and check it; return the event."""
    text = wire.decode("utf-8")  # strict: the body must be valid UTF-8
    body = json.loads(text, parse_constant=_no_constants)
    return check_event(body["model_event"])


def _no_constants(name: str) -> Any:
    raise AssertionError(f"the body holds the non-JSON constant {name}")


def capture(**settings: Any) -> Any:
    """Capture events in memory as production would build them (internal errors counted)."""
    return capture_events(strict=False, project="properties", **settings)


#: The v1 routes a record of each kind is checked against, one item and a batch.
V1_ROUTES = {
    "model": [("POST", "/v1/events"), ("POST", "/v1/events/batch")],
    "event": [("POST", "/v1/events"), ("POST", "/v1/events/batch")],
    "session": [("POST", "/v1/sessions")],
    "update": [("PUT", "/v1/events/{event_id}")],
}


def v1_errors(record: Record) -> list[str]:
    """Every way *record*'s v1 body breaks HoneyHive's v1 schema (strict: no unknown field)."""
    kind = kind_of(record)
    body = json.loads(V1.encode(record, kind))
    errors: list[str] = []
    for method, path in V1_ROUTES[kind]:
        wrapped = {"events": [body]} if path.endswith("/batch") else body
        errors += spec_errors(method, path, wrapped, V1_SPEC)
    return errors


def settle(events: CapturedEvents, event_id: str) -> dict[str, Any]:
    """Check that exactly one event, *event_id*, was built cleanly; return its body
    (valid in the legacy and the v1 API both)."""
    stats = hh.stats()
    bad = {k: v for k, v in stats.items() if k.startswith(("dropped", "internal_errors")) and v}
    assert {} == bad
    assert 1 == len(events)
    [event] = [check_event(body) for body in events.bodies()]
    assert event_id == events[0].event_id == event["event_id"]
    assert [] == v1_errors(events[0])
    assert hh.current_event() is None
    return event


# -- what a call gives back -----------------------------------------------------------------


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "returned", call()
    except BaseException as exc:  # comparing outcomes is the point
        return "raised", exc


def assert_same_outcome(traced: tuple[str, Any], expected: tuple[str, Any]) -> None:
    assert expected[0] == traced[0]
    if isinstance(expected[1], list):
        assert len(expected[1]) == len(traced[1])
        assert all(a is b for a, b in zip(expected[1], traced[1], strict=True))
    else:
        assert expected[1] is traced[1]


def assert_error_recorded(event: dict[str, Any], error: BaseException | None) -> None:
    if error is None:
        assert "error" not in event
    else:
        assert type(error).__name__ in event["error"]


def make_functions(
    result: Any, items: list[Any], error: BaseException | None, seen: list[Any]
) -> dict[str, Any]:
    """One plain function per kind, each returning/yielding the given objects or raising.

    Each appends the event current while it runs to *seen* (None when untraced).
    """

    def sync_fn(*args: Any, **kwargs: Any) -> Any:
        seen.append(hh.current_event())
        if error is not None:
            raise error
        return result

    async def async_fn(*args: Any, **kwargs: Any) -> Any:
        seen.append(hh.current_event())
        await asyncio.sleep(0)
        if error is not None:
            raise error
        return result

    def gen_fn(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        seen.append(hh.current_event())
        yield from items
        if error is not None:
            raise error
        return result

    async def agen_fn(*args: Any, **kwargs: Any) -> Any:
        seen.append(hh.current_event())
        for item in items:
            await asyncio.sleep(0)
            yield item
        if error is not None:
            raise error

    return {"sync": sync_fn, "async": async_fn, "gen": gen_fn, "agen": agen_fn}


def run(kind: str, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> tuple[str, Any]:
    if kind == "sync":
        return outcome(lambda: fn(*args, **kwargs))
    if kind == "async":
        return outcome(lambda: drive(fn(*args, **kwargs)))
    if kind == "gen":
        return outcome(lambda: list(fn(*args, **kwargs)))
    return outcome(lambda: drain_async(fn(*args, **kwargs)))


KINDS = ["sync", "async", "gen", "agen"]
