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

from honeyhive_trace.capture import EndedCall, EventHandle, SessionCall, UpdateCall

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
        """Bytes *value* holds, looking *depth* levels into it."""
        kind = type(value)
        if kind is str or kind is bytes:
            return len(value) + VALUE
        if kind in _SCALARS or depth == 0:
            return VALUE
        if kind is dict:
            return self.items(value.values(), depth - 1)
        if kind is list or kind is tuple:
            return self.items(value, depth - 1)
        if isinstance(value, (str, bytes, bytearray)):  # subclasses, and bytearray
            return len(value) + VALUE
        if isinstance(value, dict):
            return self.items(value.values(), depth - 1)
        if isinstance(value, (list, tuple)):
            return self.items(value, depth - 1)
        # An object (an SDK response): what its attributes hold. Looked up
        # without the object's own __getattr__/__getattribute__ (a lazy proxy's).
        try:
            attributes = object.__getattribute__(value, "__dict__")
        except Exception:
            return VALUE
        if type(attributes) is not dict:
            return VALUE
        return self.items(attributes.values(), depth - 1)

    def items(self, items: Any, depth: int) -> int:
        """Bytes a container of *items* holds, looking *depth* levels into each."""
        # The common kinds are sized here, not by a call per value: that call
        # would cost most of the estimate.
        total = VALUE
        seen = 0
        left = self.left
        for item in items:
            if seen == ITEMS or left <= 0:  # the rest, like the ones looked at
                self.left = left
                return total + (total * (len(items) - seen)) // max(seen, 1)
            seen += 1  # enumerate() measured slower here
            left -= 1
            kind = type(item)
            if kind is str:
                total += len(item) + VALUE
            elif kind is dict or kind is list or kind is tuple:
                if not depth:
                    total += VALUE
                    continue
                inner = item.values() if kind is dict else item
                if len(inner) <= left and len(inner) <= ITEMS:
                    size = VALUE
                    for value in inner:
                        leaf = type(value)
                        if leaf is str:
                            size += len(value) + VALUE
                        elif leaf is int or leaf is float or leaf is bool or value is None:
                            size += VALUE
                        else:
                            break
                    else:
                        total += size
                        left -= len(inner)
                        continue
                self.left = left
                total += self.items(inner, depth - 1)
                left = self.left
            elif kind is int or kind is float or kind is bool or item is None:
                total += VALUE
            else:
                self.left = left
                total += self.size(item, depth)
                left = self.left
        self.left = left
        return total


def estimate(raw: Any) -> int:
    """Bytes an ended call (or a session start, an update) holds, roughly."""
    if type(raw) is EventHandle:  # an ended event, as the caller hands it over
        parts = raw._held()
    elif type(raw) is EndedCall:  # e.g. a span ingested from OpenTelemetry
        parts = (raw.args, raw.kwargs, raw.result, raw.updates, raw.chunks)
    elif type(raw) is UpdateCall or type(raw) is SessionCall:
        return OVERHEAD + _Walk().size(dict(raw.fields), DEPTH)
    else:
        return OVERHEAD
    total = OVERHEAD
    walk = None
    for part in parts:
        if part is None:  # no updates, no chunks: the common case
            continue
        kind = type(part)
        if kind is str:  # often the result
            total += len(part) + VALUE
            continue
        if not part and (kind is tuple or kind is dict):  # no args, no kwargs
            total += VALUE
            continue
        if walk is None:
            walk = _Walk()
        walk.left = BUDGET  # each part has a budget of its own
        if kind is tuple or kind is list:  # args, chunks, often the result
            total += walk.items(part, DEPTH - 1)
        elif kind is dict:  # kwargs, updates, often the result
            total += walk.items(part.values(), DEPTH - 1)
        else:
            total += walk.size(part, DEPTH)
    return total
