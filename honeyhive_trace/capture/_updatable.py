"""The setters shared by every live handle: an event's and a session's.

Each setter records one field by name through the handle's ``_set`` (replace)
or ``_merge`` (merge keys into what was set before). Only the fields that
``PUT /events`` can change after the fact live here, so a session (whose
enrichments are sent as such an update) has exactly these; an event's handle
adds its inputs and model fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from honeyhive_trace._state import report_failure
from honeyhive_trace.exceptions import TracingError

__all__ = ["UPDATE_FIELDS", "Updatable", "given_fields", "never_raises"]

_Setter = TypeVar("_Setter", bound=Callable[..., None])


def never_raises(setter: _Setter) -> _Setter:
    """Make a handle's setter count and log a failure instead of raising it.

    A value may fail the simplest check (a lazy proxy whose ``__class__``
    raises): tracing must not break the code that sets it.
    """

    @functools.wraps(setter)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            setter(*args, **kwargs)
        except TracingError:  # strict mode (tests): raised on purpose
            raise
        except Exception as exc:
            report_failure(f"{setter.__name__}() failed; the value is not recorded", exc)

    return guarded  # type: ignore[return-value]


#: The fields an update (``PUT /events``) may carry, besides ``duration``.
UPDATE_FIELDS = frozenset(
    {"outputs", "metadata", "metrics", "feedback", "config", "user_properties"}
)


def given_fields(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None), e.g. of ``log_feedback``."""
    return {k: v for k, v in fields.items() if v is not None}


class Updatable:
    """Setters for the fields an event or a session may gain while it runs."""

    __slots__ = ()

    def _set(self, name: str, value: Any) -> None:
        raise NotImplementedError

    def _merge(self, name: str, values: Any, kwargs: dict[str, Any]) -> None:
        raise NotImplementedError

    @never_raises
    def set_outputs(self, outputs: Any) -> None:
        """Set ``outputs``: a mapping is kept, anything else is sent as ``{"result": ...}``."""
        self._set("outputs", outputs)

    @never_raises
    def add_outputs(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``outputs``."""
        self._merge("outputs", values, kwargs)

    @never_raises
    def add_metadata(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``metadata``."""
        self._merge("metadata", values, kwargs)

    @never_raises
    def add_metrics(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``metrics`` (values computed over the output: scores, counts, ...)."""
        self._merge("metrics", values, kwargs)

    @never_raises
    def add_feedback(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``feedback`` (e.g. ``rating=1, comment="great"``)."""
        self._merge("feedback", values, kwargs)

    @never_raises
    def add_config(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``config`` (model or index names, prompt versions, ...)."""
        self._merge("config", values, kwargs)

    @never_raises
    def add_user_properties(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to ``user_properties`` (e.g. ``user_id="u-1"``)."""
        self._merge("user_properties", values, kwargs)
