"""A cheap estimate of the memory an ended call holds, for ``max_queue_bytes``.

Runs on the caller's thread, so it encodes nothing: it adds up the lengths
of the strings and bytes it finds in the call's arguments, result, updates
and streamed chunks, looking :data:`DEPTH` levels deep and at most
:data:`ITEMS` items of each container (the rest extrapolated from those), plus
:data:`VALUE` bytes for each other value and :data:`OVERHEAD` for the event
itself. A prompt of 100 KB counts 100 KB; an event with a few short fields,
about 400 bytes.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace.capture import SessionCall, UpdateCall

__all__ = ["DEPTH", "ITEMS", "OVERHEAD", "VALUE", "estimate"]

#: Bytes counted for an event besides what its values hold.
OVERHEAD = 256
#: Bytes counted for each value that is not a string (a number, a container).
VALUE = 16
#: Containers are looked into this many levels deep (messages -> message -> content).
DEPTH = 4
#: Items of one container looked at; a longer one is extrapolated from them.
ITEMS = 32

_SCALARS = (int, float, bool, type(None))


def _size(value: Any, depth: int) -> int:
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value) + VALUE
    if kind in _SCALARS or depth == 0:
        return VALUE
    if kind is dict:
        items = value.values()
    elif kind is list or kind is tuple:
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
        if seen == ITEMS:  # the rest, like the first ITEMS
            return total + (total * (len(items) - seen)) // seen
        total += _size(item, depth - 1)
    return total


def estimate(raw: Any) -> int:
    """Bytes an ended call (or a session start, an update) holds, roughly."""
    if type(raw) is tuple:  # an EndedCall's fields: args, kwargs, updates, result, chunks
        size = OVERHEAD + _size(raw[1], DEPTH) + _size(raw[2], DEPTH) + _size(raw[10], DEPTH)
        if raw[9]:
            size += _size(raw[9], DEPTH)
        if raw[12]:
            size += _size(raw[12], DEPTH)
        return size
    if type(raw) is UpdateCall or type(raw) is SessionCall:
        return OVERHEAD + _size(dict(raw.fields), DEPTH)
    return OVERHEAD
