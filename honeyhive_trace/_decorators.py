"""``@trace_model``: an adapter from calling conventions to the capture path.

Each kind of function (plain, ``async def``, generator, async generator) gets
its own wrapper so that ``inspect`` still sees the same kind, and
``functools.wraps`` keeps name, qualname, docstring and signature. The event
itself is started and ended by :class:`~honeyhive_trace._events.EventHandle`;
nothing here knows what goes into a record.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import ContextVar
from typing import Any, TypeVar, overload

from honeyhive_trace import _client
from honeyhive_trace._context import CURRENT_EVENT
from honeyhive_trace._events import CallSpec, EventHandle, snapshot_args, snapshot_kwargs
from honeyhive_trace.integrations import STREAM_WRAPPERS, stream_wrapper

__all__ = ["trace_model", "generator_wrapper", "async_generator_wrapper"]

F = TypeVar("F", bound=Callable[..., Any])
_STATE = _client.STATE
_resolve = _client.resolve_client

_MISSING: Any = object()
_set_event = CURRENT_EVENT.set
_reset_event = CURRENT_EVENT.reset


def _start(spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> EventHandle | None:
    """Start an event for one call, or return None when not recording."""
    client = _STATE.client
    if client is None:
        client = _resolve()
    if not client.recording:
        return None
    try:
        return EventHandle(client, spec, snapshot_args(args), snapshot_kwargs(kwargs))
    except Exception as exc:
        client.internal_error("could not start an event", exc)
        return None


#: What a wrapper needs to run one call in a scope: the variable to set while
#: the function runs, its value, a callback per yielded item, and a callback
#: at the end (error or None, closed early?).
Scope = tuple[
    ContextVar[Any],
    Any,
    Callable[[Any], None] | None,
    Callable[[Any, BaseException | None, bool], None] | None,
]
Begin = Callable[[tuple[Any, ...], dict[str, Any]], Scope | None]


def generator_wrapper(fn: Callable[..., Any], begin: Begin) -> Callable[..., Any]:
    """Wrap generator function *fn* so each run happens in the scope *begin* gives.

    Values sent in and exceptions thrown in are forwarded, closing closes the
    inner generator, and its return value is returned. The variable is set only
    while the inner generator runs, so it does not leak into the consumer
    between items.
    """

    @functools.wraps(fn)
    def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        scope = begin(args, kwargs)
        if scope is None:
            return (yield from fn(*args, **kwargs))
        var, value, on_item, on_end = scope
        gen = fn(*args, **kwargs)
        send_value: Any = None
        throw: BaseException | None = None
        try:
            while True:
                token = var.set(value)
                try:
                    if throw is None:
                        item = gen.send(send_value)
                    else:
                        exc, throw = throw, None
                        item = gen.throw(exc)
                except StopIteration as stop:
                    result = stop.value
                    break
                finally:
                    var.reset(token)
                if on_item is not None:
                    on_item(item)
                try:
                    send_value = yield item
                except GeneratorExit:
                    token = var.set(value)
                    try:
                        gen.close()
                    finally:
                        var.reset(token)
                    raise
                except BaseException as exc:
                    throw = exc
        except GeneratorExit:
            if on_end is not None:
                on_end(None, None, True)
            raise
        except BaseException as exc:
            if on_end is not None:
                on_end(None, exc, False)
            raise
        if on_end is not None:
            on_end(result, None, False)
        return result

    return gen_wrapper


def async_generator_wrapper(fn: Callable[..., Any], begin: Begin) -> Callable[..., Any]:
    """The async-generator twin of :func:`generator_wrapper`."""

    @functools.wraps(fn)
    async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        scope = begin(args, kwargs)
        var, value, on_item, on_end = scope if scope is not None else (None, None, None, None)
        agen = fn(*args, **kwargs)
        send_value: Any = None
        throw: BaseException | None = None
        try:
            while True:
                token = var.set(value) if var is not None else None
                try:
                    step = agen.asend(send_value) if throw is None else agen.athrow(throw)
                    throw = None
                    item = await step
                except StopAsyncIteration:
                    break
                finally:
                    if token is not None:
                        var.reset(token)  # type: ignore[union-attr]
                if on_item is not None:
                    on_item(item)
                try:
                    send_value = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    throw = exc
        except GeneratorExit:
            token = var.set(value) if var is not None else None
            try:
                await agen.aclose()
            finally:
                if token is not None:
                    var.reset(token)  # type: ignore[union-attr]
                if on_end is not None:
                    on_end(None, None, True)
            raise
        except BaseException as exc:
            if on_end is not None:
                on_end(None, exc, False)
            raise
        if on_end is not None:
            on_end(None, None, False)

    return agen_wrapper


def _end(handle: EventHandle, result: Any = _MISSING, error: BaseException | None = None) -> None:
    try:
        if result is _MISSING:
            handle._end(error=error)
        else:
            handle._end(result)
    except Exception as exc:  # never let tracing replace the user's outcome
        handle._client.internal_error("could not end an event", exc)


def _finish(handle: EventHandle, result: Any) -> Any:
    """End the event with *result*, or hand both to a stream wrapper.

    A stream's event ends only when the stream is consumed, so the user gets
    a transparent wrapper back instead of the stream itself.
    """
    wrap = STREAM_WRAPPERS.get(type(result), _MISSING)
    if wrap is _MISSING:
        wrap = stream_wrapper(type(result))
    if wrap is not None:
        try:
            return wrap(result, handle)
        except Exception as exc:
            handle._client.internal_error("could not wrap a stream", exc)
    try:
        handle._end(result)
    except Exception as exc:  # never let tracing replace the user's outcome
        handle._client.internal_error("could not end an event", exc)
    return result


def _wrap(fn: Callable[..., Any], spec: CallSpec) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):

        def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Scope | None:
            handle = _start(spec, args, kwargs)
            if handle is None:
                return None
            return CURRENT_EVENT, handle, handle._add_chunk, handle._end_of_generator

        if inspect.isasyncgenfunction(fn):
            return async_generator_wrapper(fn, begin)
        return generator_wrapper(fn, begin)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = _start(spec, args, kwargs)
            if handle is None:
                return await fn(*args, **kwargs)
            token = CURRENT_EVENT.set(handle)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                CURRENT_EVENT.reset(token)
                _end(handle, error=exc)
                raise
            CURRENT_EVENT.reset(token)
            return _finish(handle, result)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        client = _STATE.client
        if client is None:
            client = _resolve()
        if not client.recording:
            return fn(*args, **kwargs)
        # _start() inlined: this is the hottest path of the library.
        try:
            handle = EventHandle(client, spec, snapshot_args(args), snapshot_kwargs(kwargs))
            token = _set_event(handle)
        except Exception as exc:
            client.internal_error("could not start an event", exc)
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _reset_event(token)
            _end(handle, error=exc)
            raise
        _reset_event(token)
        return _finish(handle, result)

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
