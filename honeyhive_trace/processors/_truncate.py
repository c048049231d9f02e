"""The :func:`truncate` processor: long strings shortened, original lengths recorded."""

from __future__ import annotations

from typing import Any

import attrs

from honeyhive_trace._wire import record_truncation, to_jsonable, truncate_strings
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.processors._base import Processor, inspected_fields
from honeyhive_trace.records import Record

__all__ = ["truncate"]

# -- truncate ---------------------------------------------------------------------------


class _Truncate:
    """The processor :func:`truncate` returns."""

    __name__ = "truncate"

    def __init__(self, max_chars: int, marker: str) -> None:
        self._limit = max_chars
        self._marker = marker

    def __repr__(self) -> str:
        return f"truncate(max_chars={self._limit}, marker={self._marker!r})"

    def __call__(self, event: Record) -> Record:
        cut: dict[str, int] = {}
        changes: dict[str, Any] = {}
        for name in inspected_fields(type(event)):
            value = getattr(event, name)
            if value is None:
                continue
            changes[name] = truncate_strings(
                to_jsonable(value), self._limit, self._marker, name, cut
            )
        if not cut:
            return event
        changes["metadata"] = record_truncation(changes.get("metadata"), cut, self._limit)
        return attrs.evolve(event, **changes)


def truncate(max_chars: int = 10_000, *, marker: str = "...[truncated]") -> Processor:
    """Make a processor that shortens every string longer than *max_chars*.

    Each long string keeps its first *max_chars* characters followed by
    *marker*. The original lengths go to ``metadata.original_lengths`` (by
    path, e.g. ``{"messages[0].content": 52011}``, at most 100 entries) and the
    limit to ``metadata.truncated_to_chars``. The event itself is never dropped.
    ``model``, ``provider`` and ``project`` are left alone.

    Args:
        max_chars: the longest string kept whole, at least 1.
        marker: appended to each shortened string.

    Returns:
        The processor.

    Raises:
        ConfigurationError: *max_chars* is not a positive integer, or *marker*
            is not a string.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ConfigurationError("max_chars", f"expected a positive integer, got {max_chars!r}")
    if not isinstance(marker, str):
        raise ConfigurationError("marker", f"expected a string, got {marker!r}")
    return _Truncate(max_chars, marker)
