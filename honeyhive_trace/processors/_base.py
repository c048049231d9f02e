"""What every processor shares: its type, the fail-closed mark, the fields it looks into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.records import Record, fields_with

__all__ = ["P", "Processor", "fail_closed", "inspected_fields"]

#: What a processor is: a finished record in, a record of the same class (or
#: None to drop it) out. Records are events of every type (model, tool, chain),
#: session starts and updates: check ``event_type`` or the class when it matters.
Processor = Callable[[Record], Record | None]

P = TypeVar("P", bound=Callable[..., Any])


#: Record class -> its inspected fields (record classes are few and fixed).
_INSPECTED: dict[type, tuple[str, ...]] = {}


def inspected_fields(cls: type[Record]) -> tuple[str, ...]:
    """The fields of record class *cls* whose contents processors look into.

    Its free-form fields and its optional text fields, as their roles declare
    them (see :func:`honeyhive_trace.records.role`); never ``model``,
    ``provider``, ``project`` or the ids.
    """
    try:
        return _INSPECTED[cls]
    except KeyError:
        pass
    text = tuple(
        a.name
        for a in attrs.fields(cls)
        if a.name in fields_with(cls, kind="optional", free_form=False)
        and str(a.type).startswith("str")
    )
    found = _INSPECTED[cls] = fields_with(cls, free_form=True) + text
    return found


def fail_closed(processor: P) -> P:
    """Mark *processor* so that an event it fails on is dropped, not sent as it was.

    Use it on your own privacy processors; the built-in ones are marked already.
    Usable as a decorator.

    Args:
        processor: a function taking a record.

    Returns:
        The same function, marked with ``fail_closed = True``.

    Raises:
        ConfigurationError: *processor* is not callable or cannot carry the mark
            (wrap a bound method in a ``def``).
    """
    if not callable(processor):
        raise ConfigurationError("processor", f"expected a callable, got {processor!r}")
    try:
        processor.fail_closed = True  # type: ignore[attr-defined]
    except AttributeError:
        raise ConfigurationError(
            "processor", f"{processor!r} cannot be marked; wrap it in a def"
        ) from None
    return processor
