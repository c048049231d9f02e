"""The one capture path: start an event, let user code enrich it, end it.

``with model_event(...)`` and ``@trace_model`` both go through
:class:`EventHandle`. The caller's thread does as little as possible: it takes
the clocks, remembers the call's arguments and result, and hands the handle to
the client. Turning that into a frozen :class:`~honeyhive_trace.records.ModelEvent`
(:func:`build_record`) happens later, on the worker thread in background mode.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections.abc import Mapping
from random import getrandbits
from time import perf_counter_ns, time_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from honeyhive_trace import _client as _client_module
from honeyhive_trace._context import CURRENT_EVENT, CURRENT_SESSION
from honeyhive_trace._serialization import to_jsonable
from honeyhive_trace.integrations import assemble_chunks, complete_fields, extract_response
from honeyhive_trace.records import OPTIONAL_FIELDS, REQUIRED_FIELDS, ModelEvent, Usage

if TYPE_CHECKING:
    from honeyhive_trace._client import Client
    from honeyhive_trace._config import Config
    from honeyhive_trace._sessions import Session

__all__ = ["EventHandle", "ModelEventScope", "model_event", "current_event", "build_record"]

logger = logging.getLogger("honeyhive_trace")

#: Call arguments that become ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {"temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "stop", "n"}
)
#: Call arguments that fill a contract field of the same name.
CALL_FIELDS = frozenset(
    {"messages", "model", "tools", "tool_choice", "response_format", "template", "template_inputs"}
)
#: Fields a user may set through ``model_event(**fields)`` or :meth:`EventHandle.update`:
#: every contract field but ``duration`` (measured), plus ``inputs`` and ``metadata``.
SETTABLE_FIELDS = (
    frozenset(REQUIRED_FIELDS) - {"duration"} | frozenset(OPTIONAL_FIELDS) | {"inputs", "metadata"}
)

_UNSET: Any = object()


def _uuid4_text(bits: int) -> str:
    """Format 128 random bits as a version-4 UUID, as ``str(uuid.UUID(...))`` does."""
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_current_event = CURRENT_EVENT.get
_current_session = CURRENT_SESSION.get
_STATE = _client_module.STATE
_COPIED = (list, dict)


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
    #: *defaults* sorted into event fields once, at decoration time.
    routed: Mapping[str, Any] = attrs.field(factory=dict)

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
        routed: dict[str, Any] = {}
        _route(defaults, routed, explicit=True)
        return cls(defaults, positional, var_positional, with_defaults, skip, routed)


class EventHandle:
    """The live handle of one event, for code that runs inside it to enrich.

    Obtained from ``with model_event(...) as ev`` or :func:`current_event`.
    Every setter is safe to call with any value and never raises; calls made
    after the event has ended are ignored with a warning.
    """

    __slots__ = (
        "_client",
        "_spec",
        "_args",
        "_kwargs",
        "_parent",
        "_session",
        "_bits",
        "_wall_ns",
        "_start_ns",
        "_end_ns",
        "_updates",
        "_result",
        "_error",
        "_chunks",
        "_first_chunk_ns",
        "_closed_early",
        "_done",
        "_record",
        "_server_event_id",
        "_id",
    )

    def __init__(
        self,
        client: Client,
        spec: CallSpec | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        # This runs on the caller's thread for every traced call: only what is
        # needed now is stored. _result, _error and _end_ns are set by _end();
        # _record and _server_event_id by the worker.
        self._client = client
        self._spec = spec
        self._args = args
        self._kwargs = kwargs
        self._parent: EventHandle | None = _current_event()
        self._session: Session | None = _current_session()
        self._bits = getrandbits(128)
        self._updates: dict[str, Any] | None = None
        self._chunks: list[Any] | None = None
        self._closed_early = False
        self._done = False
        self._wall_ns = time_ns()
        self._start_ns = perf_counter_ns()

    # -- what user code calls -------------------------------------------------

    @property
    def record(self) -> ModelEvent | None:
        """The finished record, once built (after the event ended and was processed)."""
        return getattr(self, "_record", None)

    @record.setter
    def record(self, value: ModelEvent | None) -> None:
        self._record = value

    @property
    def server_event_id(self) -> str | None:
        """The id the server answered with, once the event was delivered."""
        return getattr(self, "_server_event_id", None)

    @server_event_id.setter
    def server_event_id(self, value: str | None) -> None:
        self._server_event_id = value

    @property
    def event_id(self) -> str:
        """The event's id (a UUID4 string), known from the start."""
        try:
            return self._id
        except AttributeError:  # formatted on first use, off the caller's hot path
            self._id: str = _uuid4_text(self._bits)
            return self._id

    @property
    def session_id(self) -> str | None:
        """The id of the session the event belongs to, if any."""
        return self._session.session_id if self._session is not None else None

    @property
    def parent_id(self) -> str | None:
        """The id of the enclosing event, if any."""
        return self._parent.event_id if self._parent is not None else None

    def _set(self, name: str, value: Any) -> None:
        if self._done:
            logger.warning("honeyhive_trace: %s set after the event ended; ignored", name)
            return
        if self._updates is None:
            self._updates = {}
        self._updates[name] = value

    def _merge(self, name: str, values: Any, kwargs: dict[str, Any]) -> None:
        merged = _merge_into(None, (self._updates or {}).get(name))
        _merge_into(merged, values)
        merged.update(kwargs)
        self._set(name, merged)

    def set_response(self, response: Any) -> None:
        """Set the model's response: a message dict, a string, or an SDK object."""
        self._set("response", response)

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
            "usage",
            _usage_from(usage, prompt_tokens, completion_tokens, total_tokens),
        )

    def set_cost(self, cost: float) -> None:
        """Set the cost of the call (e.g. in USD)."""
        self._set("cost", cost)

    def set_error(self, error: BaseException | str) -> None:
        """Record an error without raising one (e.g. a refusal you handled)."""
        self._set("error", error)

    def add_metadata(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to the event's ``metadata``."""
        self._merge("metadata", values, kwargs)

    def add_hyperparameters(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to the event's ``hyperparameters``."""
        self._merge("hyperparameters", values, kwargs)

    def add_inputs(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Add keys to the event's ``inputs``."""
        self._merge("inputs", values, kwargs)

    def update(self, **fields: Any) -> None:
        """Set any contract field by name, e.g. ``update(model="gpt-4o", tools=[...])``.

        Unknown names are ignored, logged as an error and counted as
        ``internal_errors`` (raised as ``TracingError`` with ``strict=True``).
        """
        for name, value in fields.items():
            if name in SETTABLE_FIELDS:
                self._set(name, value)
            else:
                self._client.internal_error(f"update(): {name!r} is not an event field")

    def __repr__(self) -> str:
        state = "ended" if self._done else "live"
        return f"<EventHandle {self.event_id} {state}>"

    # -- what the capture path calls ------------------------------------------

    def _add_chunk(self, chunk: Any) -> None:
        if self._chunks is None:
            self._chunks = []
            self._first_chunk_ns = perf_counter_ns()
        self._chunks.append(chunk)

    def _end_of_generator(
        self, result: Any, error: BaseException | None, closed_early: bool
    ) -> None:
        self._closed_early = closed_early
        try:
            self._end(result, error)
        except Exception as exc:  # never let tracing replace the user's outcome
            self._client.internal_error("could not end an event", exc)

    def _end(self, result: Any = _UNSET, error: BaseException | None = None) -> None:
        self._end_ns = perf_counter_ns()
        if self._done:
            return
        self._result = result
        self._error = error
        self._done = True
        self._client.submit(self)


class _NoopHandle(EventHandle):
    """Handed out when tracing is off, so user code calling setters still works."""

    __slots__ = ()

    def __init__(self) -> None:  # deliberately skips the clocks and context
        self._bits = 0
        self._done = True
        self._updates = None
        self._parent = None
        self._session = None

    def _set(self, name: str, value: Any) -> None:
        pass

    def update(self, **fields: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "<EventHandle (tracing off)>"


NOOP_HANDLE: EventHandle = _NoopHandle()


def current_event() -> EventHandle | None:
    """Return the live handle of the innermost event, or ``None`` outside any."""
    return CURRENT_EVENT.get()


class ModelEventScope:
    """``with``/``async with`` block that records one model event.

    Created by :func:`model_event`; each ``with`` starts a new event.
    """

    __slots__ = ("_fields", "_handle", "_token")

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._handle: EventHandle | None = None
        self._token: Any = None

    def __enter__(self) -> EventHandle:
        client = _STATE.client
        if client is None:
            client = _client_module.resolve_client()
        if not client.recording:
            return NOOP_HANDLE
        try:
            fields = self._fields
            for name, value in fields.items():  # our own dict: copy values in place
                if type(value) in _COPIED:
                    fields[name] = value.copy()
            handle = EventHandle(client, None, (), fields)
            self._token = CURRENT_EVENT.set(handle)
        except Exception as exc:  # tracing must never break the block
            client.internal_error("could not start model_event", exc)
            return NOOP_HANDLE
        self._handle = handle
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            CURRENT_EVENT.reset(self._token)
        except ValueError:  # exited in another context than entered; keep going
            pass
        try:
            handle._end(error=exc if not isinstance(exc, GeneratorExit) else None)
        except Exception as internal:
            handle._client.internal_error("could not end model_event", internal)

    async def __aenter__(self) -> EventHandle:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def model_event(**fields: Any) -> ModelEventScope:
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
    return ModelEventScope(fields)


# Lists and dicts passed to a traced call are copied one level deep when the
# call starts, so that a chat loop appending the reply to its `messages` list
# after the call does not change what the event recorded.


def snapshot_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Copy list and dict arguments one level deep."""
    for value in args:
        if type(value) in _COPIED:
            return tuple(v.copy() if type(v) in _COPIED else v for v in args)
    return args


def snapshot_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Copy list and dict keyword arguments one level deep, into a new dict."""
    for value in kwargs.values():
        if type(value) in _COPIED:
            return {k: (v.copy() if type(v) in _COPIED else v) for k, v in kwargs.items()}
    return kwargs


# -- building the record (worker side) ----------------------------------------


def _usage_from(
    usage: Any,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    total_tokens: int | None = None,
) -> Usage:
    if isinstance(usage, Usage):
        return usage
    # `is None`, never `==`: this runs on the caller's thread (set_usage) and a
    # user object's __eq__ may raise.
    if usage is None and prompt_tokens is None and completion_tokens is None:
        if total_tokens is None:
            return _NO_USAGE
    if usage is not None:

        def get(key: str) -> Any:
            try:
                if isinstance(usage, Mapping):
                    return usage.get(key)
                return getattr(usage, key, None)
            except Exception:  # a broken mapping, or a __getattr__ raising
                return None

        prompt_tokens = prompt_tokens if prompt_tokens is not None else get("prompt_tokens")
        completion_tokens = (
            completion_tokens if completion_tokens is not None else get("completion_tokens")
        )
        total_tokens = total_tokens if total_tokens is not None else get("total_tokens")
    counts = [_count(x) for x in (prompt_tokens, completion_tokens, total_tokens)]
    if counts[2] is None and counts[0] is not None and counts[1] is not None:
        counts[2] = _count(counts[0] + counts[1])
    return Usage(*counts)


_NO_USAGE = Usage()

#: Largest count the wire format carries (the collector stores int64).
_INT64_MAX = 2**63 - 1


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        count = int(value)
    except Exception:  # TypeError, ValueError, OverflowError, or a broken __int__
        return None
    return count if 0 <= count <= _INT64_MAX else None


def _bound_arguments(
    spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Map a call's arguments to parameter names; ``**kwargs`` are flattened."""
    names = spec.positional
    out: dict[str, Any] = dict(zip(names, args, strict=False))
    if len(args) > len(names):
        out[spec.var_positional or "args"] = list(args[len(names) :])
    out.update(kwargs)
    for name, default in spec.param_defaults:
        if name not in out:
            out[name] = default
    if spec.skip is not None:
        out.pop(spec.skip, None)
    return out


def _route(values: Mapping[str, Any], fields: dict[str, Any], explicit: bool) -> None:
    """Sort call arguments (or ``model_event`` keywords) into event fields."""
    hyper: dict[str, Any] = fields.setdefault("hyperparameters", {})
    inputs: dict[str, Any] = fields.setdefault("inputs", {})
    for name, value in values.items():
        if name in HYPERPARAMETERS:
            if value is not None:
                hyper[name] = value
        elif name in CALL_FIELDS or (explicit and name in SETTABLE_FIELDS):
            if value is None:
                continue
            if name in _MERGED and isinstance(value, Mapping):
                fields[name] = _merge_into(fields.get(name), value)
            else:
                fields[name] = value
        else:
            inputs[name] = value


def _messages(value: Any, name: str = "") -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, Mapping):
        value = [value]
    if type(value) is list:
        for message in value:
            if type(message) is not dict:
                break
        else:
            return value  # the common case; made JSON-safe when encoded
    converted = to_jsonable(value)
    if not isinstance(converted, list):
        return [{"role": "user", "content": converted}]
    return [m if isinstance(m, dict) else {"role": "user", "content": m} for m in converted]


def response_from(result: Any) -> dict[str, Any]:
    """Turn what a traced function returned into the ``response`` object."""
    if result is None or result is _UNSET:
        return {}
    if isinstance(result, str):
        return {"role": "assistant", "content": result}
    if isinstance(result, dict):
        return result
    converted = to_jsonable(result)
    if isinstance(converted, dict):
        return converted
    return {"role": "assistant", "content": converted}


def _response_from_chunks(chunks: list[Any]) -> dict[str, Any]:
    if all(isinstance(c, str) for c in chunks):
        return {"role": "assistant", "content": "".join(chunks)}
    return {"role": "assistant", "content": to_jsonable(chunks)}


def _error_text(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = "<unprintable>"
    return f"{name}: {message}" if message else name


def _str_field(value: Any) -> str:
    if isinstance(value, str):
        return value
    converted = to_jsonable(value)
    return converted if isinstance(converted, str) else json.dumps(converted)


def _finite_number(value: Any) -> float | None:
    try:
        number = float(value)
    except Exception:  # TypeError, ValueError, OverflowError, or a broken __float__
        return None
    return number if math.isfinite(number) else None


_PROVIDER_PREFIXES = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("text-embedding", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("mistral", "mistral"),
    ("command", "cohere"),
)


def infer_provider(model: str) -> str | None:
    """Guess the provider from a well-known model name prefix."""
    lowered = model.lower()
    for prefix, provider in _PROVIDER_PREFIXES:
        if lowered.startswith(prefix):
            return provider
    return None


_MERGED = frozenset({"hyperparameters", "inputs", "metadata"})


def _apply(fields: dict[str, Any], updates: Mapping[str, Any]) -> None:
    """Lay *updates* over *fields*; mapping-valued fields are merged key by key."""
    for name, value in updates.items():
        if name in _MERGED and isinstance(value, Mapping):
            fields[name] = _merge_into(fields.get(name), value)
        else:
            fields[name] = value


def build_record(handle: EventHandle, config: Config) -> ModelEvent:
    """Build the frozen record of an ended event.

    Precedence, lowest first: decorator defaults, the call's arguments (or the
    ``model_event`` keywords), what the traced code returned, then what user code
    set on the handle.
    """
    fields: dict[str, Any] = {}
    spec = handle._spec
    if spec is not None:
        # Nested dicts are copied: they are merged into per event.
        fields = {k: (dict(v) if type(v) is dict else v) for k, v in spec.routed.items()}
        _route(_bound_arguments(spec, handle._args, handle._kwargs), fields, explicit=False)
    else:
        _route(handle._kwargs, fields, explicit=True)

    extracted: dict[str, Any] | None = None
    if handle._chunks:
        extracted = assemble_chunks(handle._chunks)
        if extracted is None:
            fields["response"] = _response_from_chunks(handle._chunks)
    elif handle._result is not _UNSET and "response" not in (handle._updates or {}):
        extracted = extract_response(handle._result)
        if extracted is None:
            fields["response"] = response_from(handle._result)
    if extracted is not None:
        _apply(fields, extracted)
    if handle._updates:
        _apply(fields, handle._updates)
    complete_fields(fields, config.prices)

    metadata = _object(fields.get("metadata"), "metadata")
    if handle._closed_early:
        metadata["closed_early"] = True
    if handle._chunks:
        first = handle._first_chunk_ns - handle._start_ns
        metadata.setdefault("time_to_first_token_ms", round(first / 1e6, 3))
    session = handle._session
    if session is not None:
        if session.name is not None:
            metadata.setdefault("session_name", session.name)
        if session.key is not None:
            metadata.setdefault("session_key", session.key)

    error = fields.get("error")
    if error is None and handle._error is not None:
        error = handle._error

    duration_ms = (handle._end_ns - handle._start_ns) / 1e6
    start_ms = handle._wall_ns // 1_000_000
    model = _str_field(fields["model"]) if _given(fields.get("model")) else "unknown"
    provider = fields.get("provider")
    if not _given(provider):
        provider = infer_provider(model) or "unknown"
    hyperparameters = _object(fields.get("hyperparameters"), "hyperparameters")
    if isinstance(hyperparameters.get("stop"), str):
        hyperparameters["stop"] = [hyperparameters["stop"]]
    source = fields.get("source") if _given(fields.get("source")) else config.source
    project = fields.get("project") if _given(fields.get("project")) else config.project
    cost = fields.get("cost")
    response = fields.get("response")

    return ModelEvent(
        project=_str_field(project),
        model=model,
        provider=_str_field(provider),
        messages=_messages(fields.get("messages")),
        response=response if type(response) is dict else response_from(response),
        duration=round(duration_ms, 3),
        usage=_usage_from(fields.get("usage")),
        event_id=handle.event_id,
        session_id=handle.session_id,
        parent_id=handle.parent_id,
        start_time=start_ms,
        end_time=start_ms + round(duration_ms),
        cost=_finite_number(cost) if cost is not None else None,
        error=_error_text(error) if error is not None else None,
        source=_str_field(source) if _given(source) else None,
        event_name=_str_field(fields["event_name"]) if _given(fields.get("event_name")) else None,
        hyperparameters=hyperparameters or None,
        template=_optional(fields, "template", _messages),
        template_inputs=_optional(fields, "template_inputs", _object),
        tools=_optional(fields, "tools", _array),
        tool_choice=_optional(fields, "tool_choice", _str_field),
        response_format=_optional(fields, "response_format", _object),
        inputs=_object(fields.get("inputs"), "inputs") or None,
        metadata=metadata or None,
    )


# Shapes the contract requires of fields that users may fill with anything.


def _object(value: Any, name: str = "") -> dict[str, Any]:
    """An object-typed field: a mapping is kept; anything else is wrapped."""
    if value is None:
        return {}
    if type(value) is dict:
        return value
    if isinstance(value, Mapping):
        try:
            return dict(value)
        except Exception:  # a mapping that cannot be read
            return {"value": to_jsonable(value)}
    if name == "response_format" and isinstance(value, str):
        return {"type": value}  # e.g. "json_object"
    converted = to_jsonable(value)  # e.g. a pydantic model becomes its fields
    return converted if isinstance(converted, dict) else {"value": converted}


def _array(value: Any, name: str = "") -> list[Any]:
    """An array of objects (``tools``): a list or tuple is kept, anything else wrapped.

    Items that are not objects become one: their JSON form, or ``{"value": ...}``.
    """
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    return [item if isinstance(item, dict) else _object(item) for item in items]


def _merge_into(target: Any, values: Any) -> dict[str, Any]:
    """Merge mapping *values* into *target* (kept if a dict, else a new dict); never raises.

    A mapping that cannot be read, or a value that is not one, is kept whole
    under ``"value"``.
    """
    merged: dict[str, Any] = target if type(target) is dict else {}
    if values is None:
        return merged
    if isinstance(values, Mapping):
        try:
            merged.update(values)
            return merged
        except Exception:
            pass
    merged["value"] = values
    return merged


def _given(value: Any) -> bool:
    """Whether a field was given: not None, nor an empty string or container.

    Never calls the value's own ``__bool__``/``__len__`` (a numpy array's raises).
    """
    if value is None:
        return False
    if type(value) in (str, list, tuple, dict):
        return len(value) > 0
    return True


def _optional(fields: dict[str, Any], name: str, shape: Any) -> Any:
    value = fields.get(name)
    if value is None:
        return None
    return shape(value, name) if shape is not _str_field else shape(value)
