"""The size estimate for ``max_queue_bytes`` follows its rules exactly, fast paths and all.

:func:`~honeyhive_trace.delivery.sizing.estimate` sizes the common shapes (a
string result, no arguments, a message of strings) without a call each; these
tests hold it to the plain statement of its rules (the module's docstring),
written here as the simplest recursion, over values of every shape.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_trace._shapes import UNSET
from honeyhive_trace.capture import EndedCall
from honeyhive_trace.delivery.sizing import BUDGET, DEPTH, ITEMS, OVERHEAD, VALUE, estimate
from tests._support.properties import EXAMPLES


def ended(args: tuple[Any, ...], kwargs: dict[str, Any]) -> EndedCall:
    """An ended call with these arguments (as OpenTelemetry's ingestion submits one)."""
    return EndedCall(
        spec=None,
        args=args,
        kwargs=kwargs,
        bits=0,
        parent_bits=None,
        session=None,
        wall_ns=0,
        start_ns=0,
        end_ns=0,
        updates=None,
        result=UNSET,
        error=None,
        chunks=None,
        first_chunk_ns=0,
        closed_early=False,
        outcome=[None, None],
        event_id_text=None,
        children=None,
        child_results=None,
        otel=None,
        root_bits=None,
    )


def rules(parts: tuple[Any, ...]) -> int:
    """The estimate as its docstring states it: each part with a budget of its own."""

    def size(value: Any, depth: int, left: list[int]) -> int:
        if isinstance(value, (str, bytes)):
            return len(value) + VALUE
        if not isinstance(value, (dict, list, tuple)) or depth == 0:
            return VALUE
        children = list(value.values()) if isinstance(value, dict) else list(value)
        total = VALUE
        for seen, child in enumerate(children):
            if seen == ITEMS or left[0] <= 0:  # the rest, like the ones looked at
                return total + total * (len(children) - seen) // max(seen, 1)
            left[0] -= 1
            total += size(child, depth - 1, left)
        return total

    return OVERHEAD + sum(size(part, DEPTH, [BUDGET]) for part in parts if part is not None)


LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=40),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=8),
    ),
    max_leaves=60,
)


@settings(max_examples=max(100, EXAMPLES // 2), deadline=None)
@given(
    st.lists(VALUES, max_size=3),
    st.dictionaries(st.text(max_size=4), VALUES, max_size=4),
    st.one_of(st.just(UNSET), VALUES),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["metadata", "outputs"]), VALUES)),
)
def test_the_estimate_follows_its_rules(
    args: list[Any], kwargs: dict[str, Any], result: Any, updates: dict[str, Any] | None
) -> None:
    call = ended(tuple(args), kwargs)._replace(result=result, updates=updates)
    assert rules((call.args, call.kwargs, call.result, call.updates, call.chunks)) == estimate(
        call
    )


def test_a_message_of_strings_is_counted_by_its_strings() -> None:
    message = {"role": "user", "content": "x" * 1000}
    call = ended(([message, message],), {})
    # A value each: the arguments, the list, the empty kwargs and the unset result;
    # each message, a value and its two strings by their lengths.
    assert OVERHEAD + 4 * VALUE + 2 * (VALUE + 4 + VALUE + 1000 + VALUE) == estimate(call)


def test_the_size_estimate_counts_subclasses_and_stays_bounded() -> None:
    big = "x" * 1_000_000
    assert estimate(ended((OrderedDict(prompt=big),), {})) > 1_000_000
    assert estimate(ended((), {"d": defaultdict(str, prompt=big)})) > 1_000_000
    assert estimate(ended((bytearray(500_000),), {})) > 500_000
    # A call with many small values is estimated from a bounded sample, not walked whole.
    tools = [{"function": {"name": f"f{i}", "description": "d" * 40}} for i in range(5000)]
    size = estimate(ended((), {"tools": tools}))
    assert 5000 * 40 <= size <= 5000 * 40 * 4


def test_the_size_estimate_finds_one_big_value_among_small_ones_at_every_level() -> None:
    big = "x" * 1_000_000
    small = estimate(ended(([{"role": "user", "content": "hi"}] * 3,), {"n": 1}))
    assert small < 1000
    # A megabyte counts as a megabyte wherever it sits: an argument, a keyword,
    # a message's content, a list in a dict in a list, bytes, an object's attribute.
    messages = [{"role": "user", "content": "hi"}, {"role": "user", "content": big}]
    nested = {"a": [1, 2, {"b": big.encode()}]}

    class Reply:
        def __init__(self) -> None:
            self.id = 1
            self.text = big

    for args, kwargs in [
        ((1, big, None), {}),
        ((), {"t": 0.2, "prompt": big}),
        ((messages,), {}),
        ((), {"nested": nested}),
        ((Reply(),), {}),
    ]:
        assert estimate(ended(args, kwargs)) > 1_000_000, (args, kwargs)
