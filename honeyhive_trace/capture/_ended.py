"""What crosses from the caller's thread to the worker when an event ends.

When an event ends, its live :class:`~honeyhive_trace.capture.EventHandle`
itself is handed over: ended, it changes no more (its setters are ignored), so
the caller's thread packs nothing. The worker makes the :class:`EndedCall` from
it with :func:`named`, off the caller's thread. :data:`Submitted` is anything
the caller's thread hands the recorder, :data:`Call` what the worker makes of it.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple, Protocol

from honeyhive_trace.capture._sessions import Session, SessionCall
from honeyhive_trace.capture._snapshot import CallSpec, UpdateCall, uuid4_text

__all__ = [
    "Call",
    "Ended",
    "EndedCall",
    "HandleOutcome",
    "Outcome",
    "Submitted",
    "named",
]


class Outcome(Protocol):
    """``[record, server_event_id]``: a list, or what leaves them in the event's handle."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __setitem__(self, index: int, value: Any, /) -> None: ...


class EndedCall(NamedTuple):
    """Everything one ended event gathered, handed to the worker as it is.

    Made by :func:`named` on the worker, from the ended handle (or directly,
    by OpenTelemetry's span ingestion). Only
    ``outcome`` is written afterwards, by the worker: ``[record,
    server_event_id]``, read through the handle's ``record`` and
    ``server_event_id``.
    """

    #: The decorator's (or ``hh.event``'s) plan, or None for ``model_event`` and wrapped clients.
    spec: CallSpec | None
    args: tuple[Any, ...]
    #: Keyword arguments (for ``model_event``: the fields it was given).
    kwargs: dict[str, Any]
    #: 128 random bits: the event id, formatted on the worker.
    bits: int
    #: The enclosing event's bits (its id, for a remote parent), or None at the root.
    parent_bits: int | str | None
    session: Session | None
    wall_ns: int
    start_ns: int
    end_ns: int
    #: What user code set on the handle, by field name.
    updates: dict[str, Any] | None
    #: What the traced code returned (``shapes.UNSET`` when nothing).
    result: Any
    error: BaseException | None
    #: What a traced generator yielded, or None.
    chunks: list[Any] | None
    first_chunk_ns: int
    closed_early: bool
    #: ``[record, server_event_id]``, written by the worker (into the handle's slots).
    outcome: Outcome
    #: The event id when it was formatted on the caller's thread, else None.
    event_id_text: str | None
    #: Bits of the children that ended inside this event, in the order they ended.
    children: list[int] | None
    #: What the latest children returned (to tell a response a child already recorded).
    child_results: list[Any] | None
    #: The OpenTelemetry span active when the event ended, ``(trace_id, span_id)``;
    #: read only when an OTLP exporter is configured, else None.
    otel: tuple[int, int] | None
    #: The trace root's bits (its id, for a remote parent), or None when this event is the root.
    root_bits: int | str | None

    @property
    def event_id(self) -> str:
        """The event's id."""
        return self.event_id_text or uuid4_text(self.bits)

    @property
    def parent_id(self) -> str | None:
        """The enclosing event's id; at the top of a session, the session's; else None."""
        bits = self.parent_bits
        if bits is not None:
            # A remote parent (a continued trace) is its id as it came.
            return bits if isinstance(bits, str) else uuid4_text(bits)
        return self.session.session_id if self.session is not None else None

    @property
    def root_id(self) -> str | None:
        """The id of the trace's root event; None when this event is the root."""
        bits = self.root_bits
        if bits is None:
            return None
        return bits if isinstance(bits, str) else uuid4_text(bits)

    @property
    def children_ids(self) -> list[str] | None:
        """The ids of the children that ended inside this event, if any."""
        return [uuid4_text(b) for b in self.children] if self.children else None


class _Settled(Protocol):
    """The slots of a handle that the worker settles (an EventHandle's)."""

    _record: Any
    _server_id: str | None

    @property
    def server_event_id(self) -> str | None: ...


class HandleOutcome:
    """Where the worker leaves an ended event's record (0) and server id (1): its handle.

    Each exporter's worker gets one; both write the same two slots of the
    handle, the last write winning, and the caller's thread made nothing for it.
    The handle is referenced weakly: a batch waiting for its answer keeps its
    outcomes, and a handle nobody holds any more (with the arguments, result
    and record it keeps) need not live until then.
    """

    __slots__ = ("_handle",)

    def __init__(self, handle: _Settled) -> None:
        self._handle = weakref.ref(handle)

    def __getitem__(self, index: int) -> Any:
        handle = self._handle()
        if handle is None:
            return None
        # The record as the worker left it (maybe unmade: the sender reads its id only).
        return getattr(handle, "_record", None) if index == 0 else handle.server_event_id

    def __setitem__(self, index: int, value: Any) -> None:
        handle = self._handle()
        if handle is None:  # nobody can read it any more
            return
        if index == 0:
            handle._record = value
        else:
            handle._server_id = value


class Ended(Protocol):
    """An ended event's live handle, handed over as it is (it changes no more)."""

    def _held(self) -> tuple[Any, ...]: ...

    def _ended_call(self) -> EndedCall: ...


#: What the caller's thread hands the recorder.
Submitted = Ended | EndedCall | SessionCall | UpdateCall
#: What the worker works on: an ended event, a session to start, an update.
Call = EndedCall | SessionCall | UpdateCall


def named(raw: Submitted) -> Call:
    """The ended call, session start or update the caller's thread handed over.

    An event's handle gives its :class:`EndedCall`; a session start, an update
    or an :class:`EndedCall` is returned as it is.
    """
    kind = type(raw)
    if kind is SessionCall or kind is UpdateCall or kind is EndedCall:
        return raw  # type: ignore[return-value]
    return raw._ended_call()  # type: ignore[union-attr]
