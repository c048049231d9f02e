"""``@trace_model`` and ``@trace``: adapters from calling conventions to the capture path.

The event is started with :func:`~honeyhive_trace.capture._path.start` and
ended with :func:`~honeyhive_trace.capture._path.finish` or
:func:`~honeyhive_trace.capture._path.fail`, the same calls ``model_event`` and
the integrations make; this module only fits them to each kind of function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, overload

from honeyhive_trace._state import STATE
from honeyhive_trace.capture._handle import CURRENT_EVENT, EventHandle
from honeyhive_trace.capture._path import (
    end,
    fail,
    finish,
    snapshot_args,
    snapshot_kwargs,
    start,
)
from honeyhive_trace.capture._snapshot import CallSpec
from honeyhive_trace.capture._wrappers import Scope, async_generator_wrapper, generator_wrapper
from honeyhive_trace.exceptions import ConfigurationError

__all__ = ["trace", "trace_chain", "trace_model", "trace_tool"]

F = TypeVar("F", bound=Callable[..., Any])
_set_event = CURRENT_EVENT.set
_reset_event = CURRENT_EVENT.reset


def _end_of_generator(handle: EventHandle) -> Callable[[Any, BaseException | None, bool], None]:
    def on_end(result: Any, error: BaseException | None, closed_early: bool) -> None:
        end(handle, result, error, closed_early)

    return on_end


def _wrap(fn: Callable[..., Any], spec: CallSpec) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Scope | None:
            client = STATE.client or STATE.resolve()
            if not client.recording:
                return None
            handle = start(client, spec, args, kwargs)
            if handle is None:
                return None
            return CURRENT_EVENT, handle, handle._add_chunk, _end_of_generator(handle)

        if inspect.isasyncgenfunction(fn):
            return async_generator_wrapper(fn, begin)
        return generator_wrapper(fn, begin)

    # The async and sync wrappers below are twins on purpose: each kind of
    # function needs its own wrapper so that `inspect` still sees that kind, and
    # the sync one inlines start() because it is the hottest path of the library.
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            client = STATE.client or STATE.resolve()
            handle = start(client, spec, args, kwargs) if client.recording else None
            if handle is None:
                return await fn(*args, **kwargs)
            token = _set_event(handle)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                _reset_event(token)
                fail(handle, exc)
                raise
            _reset_event(token)
            return finish(handle, result)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        client = STATE.client
        if client is None:
            client = STATE.resolve()
        if not client.recording:
            return fn(*args, **kwargs)
        # start() inlined: this is the hottest path of the library.
        try:
            handle = EventHandle(client, spec, snapshot_args(args), snapshot_kwargs(kwargs))
            token = _set_event(handle)
        except Exception as exc:
            client.guard.report("could not start an event", exc)
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _reset_event(token)
            fail(handle, exc)
            raise
        _reset_event(token)
        return finish(handle, result)

    return wrapper


def _step_name(fn: Any) -> str:
    # The qualified name ("Agent.search"), without the "<locals>" of nested functions.
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "step"
    return str(name).rsplit("<locals>.", 1)[-1]


#: Decorator arguments that are mappings, merged under each call's own.
_MAPPINGS = frozenset({"hyperparameters", "metadata", "config"})


def _decorate(fn: Any, defaults: dict[str, Any], event_type: str = "model") -> Any:
    if isinstance(fn, (classmethod, staticmethod)):
        return type(fn)(_decorate(fn.__func__, defaults, event_type))
    decorator = "@trace_model" if event_type == "model" else f"@trace_{event_type}"
    if not callable(fn):
        raise TypeError(f"{decorator} needs a function, got {type(fn).__name__}")
    spec_defaults = {k: v for k, v in defaults.items() if v is not None}
    for name in _MAPPINGS.intersection(spec_defaults):
        if not isinstance(spec_defaults[name], Mapping):
            # Sorted into every call's fields: anything else would cost every event.
            kind = type(spec_defaults[name]).__name__
            raise ConfigurationError(name, f"{decorator}({name}=...) takes a mapping, got {kind}")
    if event_type == "model":
        spec_defaults.setdefault("event_name", getattr(fn, "__name__", None) or "model_call")
    else:
        spec_defaults.setdefault("event_name", _step_name(fn))
    return _wrap(fn, CallSpec.for_function(fn, spec_defaults, event_type))


@overload
def trace_model(fn: F, /) -> F: ...


@overload
def trace_model(
    fn: None = None,
    /,
    *,
    model: str | None = None,
    provider: str | None = None,
    event_name: str | None = None,
    project: str | None = None,
    source: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace_model(
    fn: Any = None,
    /,
    *,
    model: str | None = None,
    provider: str | None = None,
    event_name: str | None = None,
    project: str | None = None,
    source: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Record every call of the decorated function as a model event.

    Usable bare (``@trace_model``) or with defaults (``@trace_model(model=...)``)
    on plain functions, ``async def`` functions, generators and async
    generators, including methods, classmethods and staticmethods. The wrapped
    function keeps its name, docstring, signature and calling contract.

    Arguments named ``messages``, ``model``, ``tools``, ``tool_choice``,
    ``response_format``, ``template`` and ``template_inputs`` fill those fields;
    ``temperature``, ``top_p``, ``max_tokens``, ``presence_penalty``,
    ``frequency_penalty``, ``stop`` and ``n`` become ``hyperparameters``; the
    other arguments (except ``self``/``cls``) become ``inputs``. The return value
    (or what a generator yields) becomes ``response``; an exception becomes
    ``error`` and is re-raised unchanged.

    Args:
        fn: the function, when used bare.
        model: model name used when the call gives none.
        provider: provider name (``openai``, ``anthropic``, ...); inferred from
            well-known model names when not given.
        event_name: the event's name; the function's ``__name__`` by default.
        project: overrides the configured project for these events.
        source: overrides the configured source for these events.
        hyperparameters: defaults merged under the call's own.
        metadata: added to each event's ``metadata``.

    Returns:
        The wrapped function, or a decorator when called with keywords only.

    Raises:
        ConfigurationError: *hyperparameters* or *metadata* is not a mapping.
    """
    defaults = {
        "model": model,
        "provider": provider,
        "event_name": event_name,
        "project": project,
        "source": source,
        "hyperparameters": hyperparameters,
        "metadata": metadata,
    }
    if fn is None:
        return lambda f: _decorate(f, defaults)
    return _decorate(fn, defaults)


def _step_decorator(event_type: str, fn: Any, defaults: dict[str, Any]) -> Any:
    if event_type not in ("model", "tool", "chain"):
        raise ConfigurationError(
            "event_type", f"expected 'model', 'tool' or 'chain', got {event_type!r}"
        )
    if fn is None:
        return lambda f: _decorate(f, defaults, event_type)
    return _decorate(fn, defaults, event_type)


@overload
def trace(fn: F, /) -> F: ...


@overload
def trace(
    fn: None = None,
    /,
    *,
    event_type: Literal["model", "tool", "chain"] = "chain",
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace(
    fn: Any = None,
    /,
    *,
    event_type: Literal["model", "tool", "chain"] = "chain",
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Record every call of the decorated function as an event of *event_type*.

    Usable bare (``@trace``, a ``chain`` step) or with keywords, on the same
    kinds of function as :func:`trace_model` (plain, ``async def``,
    generators, async generators; methods, classmethods, staticmethods), with
    the same guarantees: the signature is kept, the function's own exception
    is re-raised unchanged, and tracing never raises into it.

    For a ``tool`` or ``chain`` step, the call's arguments (except
    ``self``/``cls``) become ``inputs`` by parameter name, and the return value
    becomes ``outputs``: a mapping as it is, anything else as
    ``{"result": value}`` (nothing for ``None``). A generator's items are
    recorded as ``{"chunks": [...]}`` (with ``"result"``, its return value, if
    any). Events that end inside the call become its children
    (``children_ids``). ``event_type="model"`` is :func:`trace_model`.

    Args:
        fn: the function, when used bare.
        event_type: ``"chain"`` (default), ``"tool"`` or ``"model"``.
        event_name: the event's name; by default the function's qualified
            name (``"Agent.search"``).
        config: configuration recorded on each event (index, prompt version...).
        metadata: added to each event's ``metadata``.

    Returns:
        The wrapped function, or a decorator when called with keywords only.

    Raises:
        ConfigurationError: *event_type* is not one of the three, or *config*
            or *metadata* is not a mapping.
    """
    defaults = {"event_name": event_name, "config": config, "metadata": metadata}
    return _step_decorator(event_type, fn, defaults)


@overload
def trace_tool(fn: F, /) -> F: ...


@overload
def trace_tool(
    fn: None = None,
    /,
    *,
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace_tool(
    fn: Any = None,
    /,
    *,
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """``@trace(event_type="tool")``: a retrieval, a function the model calls, an API.

    Bare (``@trace_tool``) or with the keywords of :func:`trace`.
    """
    defaults = {"event_name": event_name, "config": config, "metadata": metadata}
    return _step_decorator("tool", fn, defaults)


@overload
def trace_chain(fn: F, /) -> F: ...


@overload
def trace_chain(
    fn: None = None,
    /,
    *,
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace_chain(
    fn: Any = None,
    /,
    *,
    event_name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """``@trace(event_type="chain")``: a step that runs other steps (an agent turn, a pipeline).

    Bare (``@trace_chain``) or with the keywords of :func:`trace`.
    """
    defaults = {"event_name": event_name, "config": config, "metadata": metadata}
    return _step_decorator("chain", fn, defaults)
