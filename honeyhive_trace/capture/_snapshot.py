"""Immutable pieces of what crosses from the caller's thread to the worker.

A :class:`CallSpec` is what a decorator learnt about its function once, at
decoration time. An :class:`UpdateCall` asks for fields to be added to an
event that was already created. (An ended event is an
:class:`~honeyhive_trace.capture._ended.EndedCall`; a session's start a
:class:`~honeyhive_trace.capture._sessions.SessionCall`.)
"""

from __future__ import annotations

import inspect
import os
import random
from collections.abc import Mapping
from time import get_clock_info, perf_counter_ns, time_ns
from typing import Any

import attrs

__all__ = ["RNG", "CallSpec", "UpdateCall", "random_bits", "uuid4_text", "wall_ns_at"]

#: The library's own random numbers (event ids, retry jitter). Drawing from the
#: global ``random`` would change the sequence an application seeded for itself.
#: Reseeded in a forked child, as the global one is, so that parent and child
#: never make the same ids.
RNG = random.Random()
random_bits = RNG.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=RNG.seed)


#: How long the wall clock's offset from ``perf_counter_ns()`` is used before it
#: is read again.
WALL_OFFSET_TTL_NS = 50_000_000
#: How far a new reading of the offset must be from the one in use to replace it:
#: a step of the wall clock (NTP, a user setting the time) shows, the reading's
#: own noise does not (twice the wall clock's resolution: 15.6 ms steps on
#: Windows before Python 3.13). One offset for every event also keeps a child's
#: start after its parent's, and the same start for every exporter.
WALL_OFFSET_STEP_NS = max(1_000_000, 2 * int(get_clock_info("time").resolution * 1e9))
#: (when it was read, by perf_counter_ns(); the offset): one tuple, swapped whole.
_wall_offset = (perf_counter_ns(), time_ns() - perf_counter_ns())


def wall_ns_at(perf_ns: int) -> int:
    """The wall-clock time (ns since the epoch) of the ``perf_counter_ns()`` reading *perf_ns*.

    An event stamps only the monotonic clock when it starts (one clock read
    less on the caller's thread); its wall-clock start is worked out from it
    when the worker takes the event, with the offset between the two clocks
    checked at most :data:`WALL_OFFSET_TTL_NS` before and replaced when it
    moved by more than :data:`WALL_OFFSET_STEP_NS`.
    """
    global _wall_offset
    read_at, offset = _wall_offset
    now = perf_counter_ns()
    if now - read_at > WALL_OFFSET_TTL_NS:
        fresh = time_ns() - perf_counter_ns()
        if abs(fresh - offset) > WALL_OFFSET_STEP_NS:
            offset = fresh
        _wall_offset = (now, offset)
    return perf_ns + offset


#: The bits a version-4 UUID fixes: its version (4) and its RFC 4122 variant.
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def uuid4_text(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID, as ``str(uuid.UUID(...))`` does."""
    # bytes.hex() is a third faster than a 032x format (once per event, on the worker).
    text = (bits & _UUID4_KEEP | _UUID4_SET).to_bytes(16, "big").hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@attrs.frozen
class CallSpec:
    """What a decorator learnt about a function when it decorated it.

    Binding a call's arguments to parameter names is done from this plan on
    the worker, instead of with :meth:`inspect.Signature.bind`, which costs
    several times more. ``hh.event(...)`` blocks have a plan too, with no
    parameters and ``explicit`` set: their keywords are event fields.
    """

    #: Field defaults given to the decorator (model, provider, event_name, ...).
    defaults: Mapping[str, Any]
    #: ``"model"``, ``"tool"`` or ``"chain"``.
    event_type: str = "model"
    #: The call's keywords are event fields (``hh.event``), not a function's arguments.
    explicit: bool = False
    #: Parameters that take positional arguments, in order.
    positional: tuple[str, ...] = ()
    #: Name of the ``*args`` parameter, if any.
    var_positional: str | None = None
    #: (name, default) of every parameter that has a default.
    param_defaults: tuple[tuple[str, Any], ...] = ()
    #: The ``self``/``cls`` parameter left out of the inputs.
    skip: str | None = None
    #: *defaults* sorted into event fields, filled by the record builder on first use.
    routed: dict[str, Any] = attrs.field(factory=dict, eq=False)
    #: The record builder's plan for each shape of call (how many positional
    #: arguments, which keywords), made on first use; bounded by the builder.
    plans: dict[Any, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def for_function(
        cls, fn: Any, defaults: Mapping[str, Any], event_type: str = "model"
    ) -> CallSpec:
        """Plan argument binding for *fn* (no plan if it has no signature)."""
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        kinds = inspect.Parameter
        positional = tuple(
            p.name
            for p in params
            if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        )
        var_positional = next((p.name for p in params if p.kind is kinds.VAR_POSITIONAL), None)
        with_defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
        skip = positional[0] if positional and positional[0] in ("self", "cls") else None
        return cls(defaults, event_type, False, positional, var_positional, with_defaults, skip)


@attrs.frozen
class UpdateCall:
    """Fields to add to an event already created, with ``PUT /events``."""

    #: The id of the event (or session) to update.
    event_id: Any
    #: outputs, metadata, metrics, feedback, config, user_properties (as given).
    fields: Mapping[str, Any]
    #: The event's duration in milliseconds, when the update carries it.
    duration_ms: float | None = None
