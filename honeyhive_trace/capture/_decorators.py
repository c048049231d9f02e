"""``@trace_model``: an adapter from calling conventions to the capture path.

The event is started with :func:`~honeyhive_trace.capture._path.start` and
ended with :func:`~honeyhive_trace.capture._path.finish` or
:func:`~honeyhive_trace.capture._path.fail`, the same calls ``model_event`` and
the integrations make; this module only fits them to each kind of function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

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

__all__ = ["trace_model"]

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


def _decorate(fn: Any, defaults: dict[str, Any]) -> Any:
    if isinstance(fn, (classmethod, staticmethod)):
        return type(fn)(_decorate(fn.__func__, defaults))
    if not callable(fn):
        raise TypeError(f"@trace_model needs a function, got {type(fn).__name__}")
    spec_defaults = {k: v for k, v in defaults.items() if v is not None}
    spec_defaults.setdefault("event_name", getattr(fn, "__name__", None) or "model_call")
    return _wrap(fn, CallSpec.for_function(fn, spec_defaults))


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
