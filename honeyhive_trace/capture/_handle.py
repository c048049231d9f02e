"""The live handle of one event: what code inside the event uses to enrich it.

A handle lives on the thread (or task) that runs the event. When the event
ends, :meth:`EventHandle._end` hands the handle itself to the recorder: from
then on it changes no more (its setters are ignored, a late child is not
adopted), and the worker makes an immutable
:class:`~honeyhive_trace.capture._ended.EndedCall` of it, off the caller's thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from honeyhive_trace import _shapes
from honeyhive_trace._errors import logger
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace.capture._ended import EndedCall, HandleOutcome
from honeyhive_trace.capture._sessions import CURRENT_SESSION, Session
from honeyhive_trace.capture._snapshot import CallSpec, random_bits, uuid4_text, wall_ns_at
from honeyhive_trace.capture._updatable import Updatable, never_raises
from honeyhive_trace.records import Event, ModelEvent, fields_with

if TYPE_CHECKING:
    from honeyhive_trace._state import Recorder

__all__ = ["CURRENT_EVENT", "NOOP_HANDLE", "SETTABLE_FIELDS", "EventHandle", "current_event"]

#: Fields a user may set through ``model_event(**fields)`` or :meth:`EventHandle.update`
#: (a model event's; a tool or chain event has the ones that are not model fields).
SETTABLE_FIELDS = frozenset(fields_with(ModelEvent, settable=True))

#: Results of a parent's latest children kept to tell a response a child already
#: recorded (its usage and cost are then not counted twice); a function returns
#: what one of its last calls produced, so a few are enough and memory stays bounded.
CHILD_RESULTS_KEPT = 16

_UNSET = _shapes.UNSET
_current_session = CURRENT_SESSION.get


class EventHandle(Updatable):
    """The live handle of one event, for code that runs inside it to enrich.

    Obtained from ``with model_event(...) as ev``, ``with event(...) as ev`` or
    :func:`current_event`. Every setter is safe to call with any value and
    never raises; calls made after the event has ended are ignored with a
    warning (use :func:`~honeyhive_trace.update_event` then).
    """

    #: True for the stand-in of a parent in another process (``RemoteParent``).
    _remote = False

    __slots__ = (
        # Set when the event starts (on the caller's thread, for every traced call).
        "_client",
        "_spec",
        "_args",
        "_kwargs",
        "_parent",
        "_session",
        "_bits",
        "_start_ns",
        "_done",
        "_root",
        "_children",
        "_updates",
        "_chunks",
        "_id",
        # Set with the first child, the first chunk.
        "_child_results",
        "_first_chunk_ns",
        # Set by _end().
        "_end_ns",
        "_result",
        "_error",
        "_closed_early",
        "_otel",
        "_size",  # estimated by the intake while a backlog waits (else 0)
        # Set by the worker (through a HandleOutcome).
        "_record",
        "_server_id",
        "__weakref__",
    )
    _record: Event | Unbuilt | None
    _server_id: str | None

    def __init__(
        self,
        client: Recorder,
        spec: CallSpec | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        # This runs on the caller's thread for every traced call: only what is needed
        # now is stored (a slot left unset costs more: getattr() raises and catches).
        self._client = client
        self._spec = spec
        self._args = args
        self._kwargs = kwargs
        parent = self._parent = _current_event()
        # The trace's root (whose id sampling decides by); None: this event is the root.
        self._root: int | str | None = (
            None if parent is None else parent._bits if parent._root is None else parent._root
        )
        self._children: list[int] | None = None
        self._session: Session | None = _current_session()
        self._bits: int = random_bits(128)
        self._updates: dict[str, Any] | None = None
        self._chunks: list[Any] | None = None
        self._done = False
        self._id: str | None = None
        self._start_ns = perf_counter_ns()  # the wall clock's start is worked out from it

    # -- what user code calls -------------------------------------------------

    @property
    def event_type(self) -> str:
        """``"model"``, ``"tool"`` or ``"chain"``."""
        return self._spec.event_type if self._spec is not None else "model"

    @property
    def record(self) -> Event | None:
        """The finished record, once built (after the event ended and was processed).

        A :class:`~honeyhive_trace.records.ModelEvent` for a model event, an
        :class:`~honeyhive_trace.records.Event` for a tool or chain step.
        """
        record = getattr(self, "_record", None)
        if type(record) is Unbuilt:  # left unmade by the worker: made on first read
            try:
                made = record.build()
            except Exception as exc:  # reading a property must not break the caller
                self._client.guard.report("could not make an event's record", exc)
                return None
            record = self._record  # another thread may have made it meanwhile
            if type(record) is Unbuilt:
                record = self._record = made
        return record

    @property
    def server_event_id(self) -> str | None:
        """The id the server answered with, once the event was delivered."""
        server_id: str | None = getattr(self, "_server_id", None)
        return server_id

    @property
    def event_id(self) -> str:
        """The event's id (a UUID4 string), known from the start."""
        if self._id is None:  # formatted on first use, off the caller's hot path
            self._id = uuid4_text(self._bits)
        return self._id

    @property
    def session_id(self) -> str | None:
        """The id of the session the event belongs to, if any."""
        return self._session.session_id if self._session is not None else None

    @property
    def parent_id(self) -> str | None:
        """The id of the enclosing event, if any (else the session's, inside one)."""
        if self._parent is not None:
            return self._parent.event_id
        return self._session.session_id if self._session is not None else None

    def _set(self, name: str, value: Any) -> None:
        if self._done:
            try:  # a user's logging filter may raise: a setter never does
                logger.warning("honeyhive_trace: %s set after the event ended; ignored", name)
            except Exception:
                pass
            return
        if self._updates is None:
            self._updates = {}
        self._updates[name] = value

    def _merge(self, name: str, values: Any, kwargs: dict[str, Any]) -> None:
        updates = self._updates
        if values is None and (updates is None or name not in updates):
            # The first keys given as keywords (the common call): their dict is
            # the call's own, which nobody else holds, so it is kept as it is.
            self._set(name, kwargs)
            return
        merged = _shapes.merge_into(None, (updates or {}).get(name))
        _shapes.merge_into(merged, values)
        merged.update(kwargs)
        self._set(name, merged)

    # The setters that only store their value (never look at it) cannot raise:
    # they go without never_raises' wrapper, a call less on the hot path.

    def set_response(self, response: Any) -> None:
        """Set the model's response: a message dict, a string, or an SDK object."""
        self._set("response", response)

    @never_raises
    def set_usage(
        self,
        usage: Any = None,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        total_tokens: int | None = None,
    ) -> None:
        """Set token counts, as keywords or as a mapping/object with those names.

        ``total_tokens`` is computed from the other two when not given.
        """
        self._set(
            "usage", _shapes.usage_from(usage, prompt_tokens, completion_tokens, total_tokens)
        )

    def set_cost(self, cost: float) -> None:
        """Set the cost of the call (e.g. in USD)."""
        self._set("cost", cost)

    def set_error(self, error: BaseException | str) -> None:
        """Record an error without raising one (e.g. a refusal you handled)."""
        self._set("error", error)

    def set_inputs(self, inputs: Any) -> None:
        """Set ``inputs``, replacing what the call's arguments gave."""
        self._set("inputs", inputs)

    @never_raises
    def add_hyperparameters(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to the event's ``hyperparameters``."""
        self._merge("hyperparameters", values, kwargs)

    @never_raises
    def add_inputs(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to the event's ``inputs``."""
        self._merge("inputs", values, kwargs)

    @never_raises
    def update(self, **fields: Any) -> None:
        """Set any contract field by name, e.g. ``update(model="gpt-4o", tools=[...])``.

        Unknown names are ignored, logged as an error and counted as
        ``internal_errors`` (raised as ``TracingError`` with ``strict=True``).
        """
        for name, value in fields.items():
            if name in SETTABLE_FIELDS:
                self._set(name, value)
            else:
                self._client.guard.report(f"update(): {name!r} is not an event field")

    def __repr__(self) -> str:
        state = "ended" if self._done else "live"
        return f"<EventHandle {self.event_id} {state}>"

    # -- what the capture path calls ------------------------------------------

    def _adopt(self, bits: int, result: Any) -> None:
        # A child that ended inside this event: its id goes to children_ids.
        if self._children is None:
            self._children = []
            self._child_results: list[Any] = []
        self._children.append(bits)
        if result is not _UNSET:
            results = self._child_results
            results.append(result)
            if len(results) > CHILD_RESULTS_KEPT:
                del results[0]

    def _add_chunk(self, chunk: Any) -> None:
        if self._chunks is None:
            self._chunks = []
            self._first_chunk_ns = perf_counter_ns()
        self._chunks.append(chunk)

    def _end(
        self, result: Any = _UNSET, error: BaseException | None = None, closed_early: bool = False
    ) -> None:
        """End the event once; later calls do nothing. Never raises (unless strict).

        The handle itself is handed to the recorder: ended, it changes no more
        (setters are ignored), and the worker reads it with :meth:`_ended_call`.
        """
        end_ns = perf_counter_ns()
        if self._done:
            return
        self._done = True
        self._end_ns = end_ns
        self._result = result
        self._error = error
        self._closed_early = closed_early
        self._size = 0
        parent = self._parent
        if parent is not None and not parent._done:
            parent._adopt(self._bits, result)
        client = self._client
        otel = client.otel_context
        self._otel = otel() if otel is not None else None
        client.submit(self)

    def _held(self) -> tuple[Any, ...]:
        """The user's values an ended event holds: args, kwargs, result, updates, chunks."""
        return (
            self._args,
            self._kwargs,
            self._result,
            self._updates,
            self._chunks,
        )

    def _ended_call(self) -> EndedCall:
        """What the ended event gathered, named; called by the worker when it takes it."""
        parent = self._parent
        chunks = self._chunks
        children = self._children
        # EndedCall's fields, in its order.
        return tuple.__new__(
            EndedCall,
            (
                self._spec,
                self._args,
                self._kwargs,
                self._bits,
                parent._bits if parent is not None else None,
                self._session,
                wall_ns_at(self._start_ns),
                self._start_ns,
                self._end_ns,
                self._updates,
                self._result,
                self._error,
                chunks,
                self._first_chunk_ns if chunks is not None else 0,
                self._closed_early,
                HandleOutcome(self),
                self._id,
                children,
                self._child_results if children is not None else None,
                self._otel,
                self._root,
            ),
        )


class _NoopHandle(EventHandle):
    """Handed out when tracing is off, so user code calling setters still works."""

    __slots__ = ()

    def __init__(self) -> None:  # deliberately skips the clocks and context
        self._bits = 0
        self._done = True
        self._updates = None
        self._parent = None
        self._children = None
        self._session = None
        self._id = None
        self._spec = None
        self._root = None

    def _set(self, name: str, value: Any) -> None:
        pass

    def update(self, **fields: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "<EventHandle (tracing off)>"


NOOP_HANDLE: EventHandle = _NoopHandle()

#: The live handle of the innermost event of the running thread or task (each
#: inherits its creator's; a new thread starts with none). Reset in ``finally``.
CURRENT_EVENT: ContextVar[EventHandle | None] = ContextVar(
    "honeyhive_trace.current_event", default=None
)
_current_event = CURRENT_EVENT.get  # bound once: read in every EventHandle()


def current_event() -> EventHandle | None:
    """Return the live handle of the innermost event, or ``None`` outside any.

    A remote parent (inside ``continue_trace()``) is not an event of this
    process: there it is ``None`` until an event starts.
    """
    handle = CURRENT_EVENT.get()
    return None if handle is None or handle._remote else handle
