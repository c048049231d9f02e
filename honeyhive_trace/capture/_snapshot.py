"""What crosses from the caller's thread to the worker: immutable data only.

An :class:`EndedCall` is made once, when an event ends, from what the live
:class:`~honeyhive_trace.capture.EventHandle` gathered; the handle is never
seen by another thread. A :class:`CallSpec` is what a decorator learnt about
its function once, at decoration time. A :class:`Session` is the id and name
shared by a session's events.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple

import attrs

__all__ = [
    "CURRENT_SESSION",
    "CallSpec",
    "EndedCall",
    "Session",
    "RawCall",
    "named",
    "uuid4_text",
]


def uuid4_text(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID, as ``str(uuid.UUID(...))`` does."""
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


#: Namespace of the UUIDs made from session ids that are not UUIDs themselves.
SESSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://honeyhive.ai/honeyhive-trace/session")


class Session:
    """One session: an id and an optional name shared by the events inside it.

    Attributes:
        session_id: the UUID string every event of the session carries.
        name: the readable name, or None.
        key: the id the caller gave when it was not a UUID (e.g. ``"conv-42"``),
            from which ``session_id`` was derived; else None.
    """

    __slots__ = ("key", "name", "session_id")

    def __init__(self, name: str | None, session_id: str | None) -> None:
        self.name = name
        self.key: str | None = None
        if session_id is None:
            self.session_id = str(uuid.uuid4())
            return
        text = str(session_id)
        try:
            self.session_id = str(uuid.UUID(text))
        except ValueError:
            # HoneyHive's session_id is a UUID: derive a stable one, so the same
            # conversation id maps to the same session in every process.
            self.session_id = str(uuid.uuid5(SESSION_NAMESPACE, text))
            self.key = text

    def __repr__(self) -> str:
        return f"Session(name={self.name!r}, session_id={self.session_id!r})"


#: The innermost open session of the running thread or task (each inherits its
#: creator's; a new thread starts with none). Reset with the token, in ``finally``.
CURRENT_SESSION: ContextVar[Session | None] = ContextVar(
    "honeyhive_trace.current_session", default=None
)


@attrs.frozen
class CallSpec:
    """What ``@trace_model`` learnt about a function when it decorated it.

    Binding a call's arguments to parameter names is done from this plan on
    the worker, instead of with :meth:`inspect.Signature.bind`, which costs
    several times more.
    """

    #: Field defaults given to the decorator (model, provider, event_name, ...).
    defaults: Mapping[str, Any]
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

    @classmethod
    def for_function(cls, fn: Any, defaults: Mapping[str, Any]) -> CallSpec:
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
        return cls(defaults, positional, var_positional, with_defaults, skip)


class EndedCall(NamedTuple):
    """Everything one ended event gathered, handed to the worker as it is.

    :meth:`EventHandle._end` makes a plain tuple of these fields, in this
    order (a tuple literal costs the caller's thread under a tenth of a
    microsecond, half of what making a named one does); the dispatcher names it
    with :func:`named` when it takes it, off the caller's thread. Only
    ``outcome`` is written afterwards, by the worker: ``[record,
    server_event_id]``, read through the handle's ``record`` and
    ``server_event_id``.
    """

    #: The decorator's plan, or None for ``model_event`` and wrapped clients.
    spec: CallSpec | None
    args: tuple[Any, ...]
    #: Keyword arguments (for ``model_event``: the fields it was given).
    kwargs: dict[str, Any]
    #: 128 random bits: the event id, formatted on the worker.
    bits: int
    #: The enclosing event's bits, or None at the root.
    parent_bits: int | None
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
    #: ``[record, server_event_id]``, written by the worker.
    outcome: list[Any]
    #: The event id when it was formatted on the caller's thread, else None.
    event_id_text: str | None

    @property
    def event_id(self) -> str:
        """The event's id."""
        return self.event_id_text or uuid4_text(self.bits)

    @property
    def parent_id(self) -> str | None:
        """The enclosing event's id, if any."""
        return uuid4_text(self.parent_bits) if self.parent_bits is not None else None


#: What the caller's thread hands over: an :class:`EndedCall`'s fields, unnamed.
RawCall = tuple[Any, ...]


def named(raw: RawCall) -> EndedCall:
    """Name the fields of an ended call the caller's thread handed over."""
    return tuple.__new__(EndedCall, raw)
