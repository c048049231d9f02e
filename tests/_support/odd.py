"""Values that fail the simplest look, and the handle setters to give them to.

Lazy proxies whose ``__class__`` lookup raises, dict and list subclasses whose
reads raise: what the property tests (``test_properties_fields``,
``test_unmade``) mix with the ordinary values of :mod:`.properties`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

import honeyhive_trace as hh
from tests._support.properties import FIELD_NAMES, SETTABLE, VALUES


class LazyProxy:
    """Like an unbound ``werkzeug.local.LocalProxy``: even ``__class__`` raises."""

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise RuntimeError("working outside of a request context")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("working outside of a request context")

    def __repr__(self) -> str:
        raise RuntimeError("working outside of a request context")


class BrokenDict(dict):  # type: ignore[type-arg]
    """A dict whose every read raises (a real dict: ``type(x) is dict`` is False)."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")

    def items(self) -> Any:
        raise RuntimeError("items")

    def keys(self) -> Any:
        raise RuntimeError("keys")

    def get(self, *args: Any) -> Any:
        raise RuntimeError("get")

    def __len__(self) -> int:
        raise RuntimeError("len")


class BrokenList(list):  # type: ignore[type-arg]
    """A list whose iteration raises."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


ODD = st.one_of(
    st.builds(LazyProxy),
    st.builds(lambda: BrokenDict(role="user", content="hi")),
    st.builds(lambda: BrokenList([{"role": "user"}])),
    st.builds(lambda: [BrokenDict(a=1), LazyProxy()]),
    st.builds(lambda: [{"type": "function", "function": LazyProxy()}, BrokenDict(a=1)]),
    st.builds(lambda: {"prompt_tokens": LazyProxy(), "completion_tokens": 2**70}),
)
ANY = st.one_of(ODD, VALUES)
FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), ANY, max_size=5)
SETTERS = [
    "set_response",
    "set_usage",
    "set_cost",
    "set_error",
    "set_inputs",
    "add_hyperparameters",
    "add_inputs",
    "add_metadata",
    "add_metrics",
    "add_feedback",
    "add_config",
    "add_user_properties",
    "set_outputs",
]
CALLS = st.lists(st.tuples(st.sampled_from(SETTERS), ANY), max_size=4)


def call_setters(ev: hh.EventHandle, calls: list[tuple[str, Any]]) -> None:
    for name, value in calls:
        setter = getattr(ev, name, None)
        if setter is not None:
            setter(value)  # never raises, whatever the value


#: Fields set by name with ``ev.update(**updates)``.
UPDATES = st.dictionaries(st.sampled_from(SETTABLE), ANY, max_size=3)
