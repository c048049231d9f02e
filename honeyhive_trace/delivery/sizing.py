"""A cheap estimate of the memory an ended call holds, for ``max_queue_bytes``.

Runs on the caller's thread, so it encodes nothing: it adds up the lengths
of the strings and bytes it finds in the call's arguments, result, updates
and streamed chunks, looking :data:`DEPTH` levels deep, at most :data:`ITEMS`
items of each container and :data:`BUDGET` values of each part in all (the
rest extrapolated from those seen), plus
:data:`VALUE` bytes for each other value and :data:`OVERHEAD` for the event
itself. A prompt of 100 KB counts 100 KB; an event with a few short fields,
about 400 bytes.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace.capture import EventHandle, SessionCall, UpdateCall

__all__ = ["BUDGET", "DEPTH", "ITEMS", "OVERHEAD", "VALUE", "estimate"]

#: Bytes counted for an event besides what its values hold.
OVERHEAD = 256
#: Bytes counted for each value that is not a string (a number, a container).
VALUE = 16
#: Containers are looked into this many levels deep (messages -> message -> content).
DEPTH = 4
#: Items of one container looked at; a longer one is extrapolated from them.
ITEMS = 32
#: Values one estimate looks at in all (it runs on the caller's thread): past
#: them, each container is extrapolated from what was seen of it.
BUDGET = 64

_SCALARS = (int, float, bool, type(None))


class _Walk:
    """One estimate's walk: how many more values it may look at (:data:`BUDGET`)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = BUDGET

    def size(self, value: Any, depth: int) -> int:
        kind = type(value)
        if kind is str or kind is bytes:
            return len(value) + VALUE
        if kind in _SCALARS or depth == 0:
            return VALUE
        if kind is dict or kind is list or kind is tuple:
            items = value.values() if kind is dict else value
        elif isinstance(value, (str, bytes, bytearray)):  # subclasses, and bytearray
            return len(value) + VALUE
        elif isinstance(value, dict):
            items = value.values()
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            # An object (an SDK response): what its attributes hold. Looked up
            # without the object's own __getattr__/__getattribute__ (a lazy proxy's).
            try:
                attributes = object.__getattribute__(value, "__dict__")
            except Exception:
                return VALUE
            if type(attributes) is not dict:
                return VALUE
            items = attributes.values()
        total = VALUE
        for seen, item in enumerate(items):
            if seen == ITEMS or self.left <= 0:  # the rest, like the ones looked at
                return total + (total * (len(items) - seen)) // max(seen, 1)
            self.left -= 1
            total += self.size(item, depth - 1)
        return total


def estimate(raw: Any) -> int:
    """Bytes an ended call (or a session start, an update) holds, roughly."""
    if type(raw) is EventHandle:  # an ended event, as the caller hands it over
        parts = raw._held()
        return OVERHEAD + sum(_Walk().size(part, DEPTH) for part in parts if part is not None)
    if type(raw) is tuple:  # an EndedCall's fields: args, kwargs, updates, result, chunks
        parts = (raw[1], raw[2], raw[10], raw[9], raw[12])
        return OVERHEAD + sum(_Walk().size(part, DEPTH) for part in parts if part is not None)
    if type(raw) is UpdateCall or type(raw) is SessionCall:
        return OVERHEAD + _Walk().size(dict(raw.fields), DEPTH)
    return OVERHEAD
