"""The one capture path: start an event, let the code inside enrich it, end it.

``@trace_model``, ``@trace``, ``model_event``, ``event``, the wrapped SDK
clients and the stream proxies all start events with :func:`start` and end
them with :func:`finish`, :func:`fail` or :func:`end`. None of these raises
into the caller (unless the configuration is ``strict``): a tracing failure
goes to the client's one :class:`~honeyhive_trace._errors.ErrorGuard`, and the
traced code runs as if untraced.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from honeyhive_trace import _shapes
from honeyhive_trace._state import STATE, Recorder, recorder
from honeyhive_trace.capture._handle import CURRENT_EVENT, NOOP_HANDLE, EventHandle
from honeyhive_trace.capture._snapshot import CallSpec
from honeyhive_trace.capture._updatable import given_fields
from honeyhive_trace.capture._wrappers import AsyncWith
from honeyhive_trace.exceptions import ConfigurationError

__all__ = [
    "EventScope",
    "STEP_SPECS",
    "end",
    "fail",
    "finish",
    "event",
    "model_event",
    "recorder",
    "snapshot_args",
    "snapshot_kwargs",
    "start",
]

_UNSET = _shapes.UNSET
_set_event = CURRENT_EVENT.set
_reset_event = CURRENT_EVENT.reset
_MISSING: Any = object()
_COPIED = (list, dict)

#: The plan of ``event("tool"|"chain", ...)`` blocks: their keywords are fields.
STEP_SPECS = {kind: CallSpec({}, event_type=kind, explicit=True) for kind in ("tool", "chain")}


# Lists and dicts passed to a traced call are copied one level deep when the
# call starts, so that a chat loop appending the reply to its `messages` list
# after the call does not change what the event recorded.


def snapshot_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Copy list and dict arguments one level deep."""
    # `is` tests and no generator: this runs on every traced call.
    for value in args:
        kind = type(value)
        if kind is list or kind is dict:
            if len(args) == 1:
                return (value.copy(),)
            return tuple([v.copy() if type(v) in _COPIED else v for v in args])
    return args


def snapshot_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Copy list and dict keyword arguments one level deep, into a new dict."""
    if kwargs:
        for value in kwargs.values():
            kind = type(value)
            if kind is list or kind is dict:
                return {k: (v.copy() if type(v) in _COPIED else v) for k, v in kwargs.items()}
    return kwargs


def start(
    client: Recorder, spec: CallSpec | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> EventHandle | None:
    """Start an event for one call (its arguments are copied), or None if that failed."""
    try:
        return EventHandle(client, spec, snapshot_args(args), snapshot_kwargs(kwargs))
    except Exception as exc:
        client.guard.report("could not start an event", exc)
        return None


def end(
    handle: EventHandle,
    result: Any = _UNSET,
    error: BaseException | None = None,
    closed_early: bool = False,
) -> None:
    """End *handle*'s event; a tracing failure is reported, never raised (unless strict)."""
    try:
        handle._end(result, error, closed_early)
    except Exception as exc:  # never let tracing replace the user's outcome
        handle._client.guard.report("could not end an event", exc)


def fail(handle: EventHandle, error: BaseException) -> None:
    """End *handle*'s event with the user's *error* (which the caller re-raises)."""
    end(handle, error=error if not isinstance(error, GeneratorExit) else None)


def finish(handle: EventHandle, result: Any) -> Any:
    """End the event with *result*, or hand both to a stream wrapper.

    A stream's event ends only when the stream is consumed, so the caller gets
    a transparent proxy back instead of the stream itself.

    Returns:
        *result*, or the proxy standing in for it.
    """
    client = handle._client
    providers = client.providers
    try:
        # The registry's cache, read inline: this runs on every traced call.
        wrap = providers.wrappers.get(type(result), _MISSING)
        if wrap is _MISSING:
            wrap = providers.stream_wrapper(type(result), client.guard)
        if wrap is not None:
            return wrap(result, handle)
    except Exception as exc:
        client.guard.report("could not wrap a stream", exc)
    try:
        handle._end(result)
    except Exception as exc:  # never let tracing replace the user's outcome
        client.guard.report("could not end an event", exc)
    return result


class EventScope(AsyncWith[EventHandle]):
    """``with``/``async with`` block that records one event.

    Created by :func:`model_event` and :func:`event`; each ``with`` starts a
    new event, also when one scope object is entered again before it was left
    (nested, or by concurrent tasks): each entry gets its own event and error.
    """

    __slots__ = ("_spec", "_fields", "_handle", "_token", "_open", "_entered")

    def __init__(self, spec: CallSpec | None, fields: dict[str, Any]) -> None:
        self._spec = spec
        self._fields = fields
        # The one entry not left yet (the common case), in two slots...
        self._handle: EventHandle | None = None
        self._token: Any = None
        #: ...or, while entries overlap, (handle, context token) of each (made then).
        self._open: list[tuple[EventHandle, Any]] | None = None
        self._entered = False

    def __enter__(self) -> EventHandle:
        client = STATE.client
        if client is None:
            client = STATE.resolve()
        if not client.recording:
            return NOOP_HANDLE
        try:
            fields = self._fields
            if self._entered:  # entered again: this entry gets fields of its own
                fields = dict(fields)
            self._entered = True
            for name, value in fields.items():  # lists and dicts copied one level deep
                kind = type(value)
                if kind is list or kind is dict:
                    fields[name] = value.copy()
            handle = EventHandle(client, self._spec, (), fields)
            token = _set_event(handle)
        except Exception as exc:  # tracing must never break the block
            client.guard.report("could not start an event block", exc)
            return NOOP_HANDLE
        if self._handle is None and not self._open:
            self._handle, self._token = handle, token
        else:
            if self._open is None:
                self._open = []
            if self._handle is not None:
                self._open.append((self._handle, self._token))
                self._handle = None
            self._open.append((handle, token))
        return handle

    def _leave(self) -> tuple[EventHandle, Any] | None:
        if not self._open:
            handle, self._handle = self._handle, None
            return (handle, self._token) if handle is not None else None
        # Overlapping entries: the one of this context opened the event current here.
        current = CURRENT_EVENT.get()
        entries = self._open
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][0] is current:
                return entries.pop(index)
        return entries.pop()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entry = self._leave()
        if entry is None:
            return
        handle, token = entry
        try:
            _reset_event(token)
        except ValueError:  # exited in another context than entered; keep going
            pass
        try:
            handle._end(error=exc if not isinstance(exc, GeneratorExit) else None)
        except Exception as internal:  # never let tracing replace the user's outcome
            handle._client.guard.report("could not end an event block", internal)


def model_event(**fields: Any) -> EventScope:
    """Record the model call made inside a ``with`` (or ``async with``) block.

    Args:
        **fields: any contract field known before the call: ``model``,
            ``provider``, ``messages``, ``event_name``, ``hyperparameters``,
            ``tools``, ... Hyperparameter names (``temperature``, ``top_p``,
            ``max_tokens``, ...) may be given directly. Other names go to
            ``inputs``.

    Returns:
        A context manager whose ``__enter__`` gives the :class:`EventHandle`.
    """
    return EventScope(None, fields)


def event(
    event_type: str,
    *,
    event_name: str | None = None,
    inputs: Any = None,
    config: Any = None,
    metadata: Any = None,
    **fields: Any,
) -> EventScope:
    """Record the step run inside a ``with`` (or ``async with``) block.

    ``with event("tool", event_name="search", inputs={"q": q}) as ev:`` records a
    ``tool`` event; set what it produced with ``ev.set_outputs(...)``.
    ``event("model", ...)`` is :func:`model_event`.

    Args:
        event_type: ``"tool"``, ``"chain"`` or ``"model"``.
        event_name: the event's name (default: the event type).
        inputs: what the step was given (a mapping; anything else is sent as
            ``{"value": ...}``).
        config: its configuration (index name, prompt version, ...).
        metadata: any other facts about it.
        **fields: any other field known at the start (``user_properties``,
            ``metrics``, ...; model fields for a model event).

    Returns:
        A context manager whose ``__enter__`` gives the :class:`EventHandle`.

    Raises:
        ConfigurationError: *event_type* is not one of the three.
    """
    given = given_fields(event_name=event_name, inputs=inputs, config=config, metadata=metadata)
    given.update(fields)
    if event_type == "model":
        return EventScope(None, given)
    spec = STEP_SPECS.get(event_type)
    if spec is None:
        raise ConfigurationError(
            "event_type", f"expected 'model', 'tool' or 'chain', got {event_type!r}"
        )
    given.setdefault("event_name", event_type)
    return EventScope(spec, given)
