"""Tracing one SDK function, for integrations whose results need their own handling.

:mod:`._wrap` traces methods whose streams are SDK stream classes it knows by
name. Google's SDK returns plain generators, boto3 returns a dict holding an
event stream, LiteLLM is a module-level function: each of those integrations
gives :func:`traced` (or :func:`patch_call`) a *finish* function that turns
the call's result into what the caller gets back, ending the event now or
handing it to a stream proxy. The event starts and ends on the caller's
thread, in the caller's context, so it keeps its parent.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from honeyhive_trace.capture import EventHandle, end, snapshot_kwargs
from honeyhive_trace.integrations._capture import Capture, Request
from honeyhive_trace.integrations._wrap import TRACED, start_event

__all__ = ["Finish", "end_with_result", "patch_call", "run", "run_async", "traced"]

#: ``(handle, request, result) -> what the caller gets``; ends the event, now or later.
Finish = Callable[[EventHandle, Request, Any], Any]


def end_with_result(handle: EventHandle, request: Request, result: Any) -> Any:
    """The plain *finish*: end the event with the result, and return it."""
    end(handle, Capture(request.sdk, request, result=result))
    return result


def _finish(finish: Finish, handle: EventHandle, request: Request, result: Any) -> Any:
    try:
        return finish(handle, request, result)
    except Exception as exc:  # the caller still gets the result, untouched
        handle._client.guard.report("could not record a call's result", exc)
        end_with_result(handle, request, result)
        return result


def _request(sdk: str, endpoint: str, kwargs: Mapping[str, Any], base_url: Any) -> Request:
    # Copied one level deep, so that a chat loop appending to its messages later
    # does not change this event.
    return Request(sdk, endpoint, snapshot_kwargs(dict(kwargs)), base_url=base_url)


def run(
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    sdk: str,
    endpoint: str,
    event_name: str,
    finish: Finish = end_with_result,
    base_url: Any = None,
) -> Any:
    """Call *original* (not ``async def``) and record one model event named *event_name*.

    Args:
        original: the SDK function or bound method.
        args: its positional arguments (not recorded: the SDKs take keywords).
        kwargs: its keyword arguments, read by the integration's ``request_fields``.
        sdk: the name its integration registered with ``register_sdk``.
        endpoint: passed to the integration's ``request_fields``.
        event_name: the name of the recorded event.
        finish: what to do with the result (see :data:`Finish`).
        base_url: the server the client talks to, if known.

    Returns:
        What *finish* gives (an awaitable if *original* returned one); the
        call's exceptions propagate unchanged.
    """
    handle = start_event(event_name)
    if handle is None:
        return original(*args, **kwargs)
    request = _request(sdk, endpoint, kwargs, base_url)
    try:
        result = original(*args, **kwargs)
    except BaseException as exc:
        end(handle, Capture(sdk, request), exc)
        raise
    if inspect.isawaitable(result):
        return _later(finish, handle, request, result)
    return _finish(finish, handle, request, result)


async def run_async(
    original: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    sdk: str,
    endpoint: str,
    event_name: str,
    finish: Finish = end_with_result,
    base_url: Any = None,
) -> Any:
    """The ``async def`` twin of :func:`run`: await *original* and record its event."""
    handle = start_event(event_name)
    if handle is None:
        return await original(*args, **kwargs)
    request = _request(sdk, endpoint, kwargs, base_url)
    try:
        result = await original(*args, **kwargs)
    except BaseException as exc:
        end(handle, Capture(sdk, request), exc)
        raise
    return _finish(finish, handle, request, result)


def traced(original: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    """Return *original* traced: each call records one model event (see :func:`run`).

    Args:
        original: the SDK function or bound method (sync or ``async def``).
        **options: the keyword arguments of :func:`run` after *kwargs*.

    Returns:
        A function with *original*'s signature; its exceptions propagate unchanged.
    """
    function: Callable[..., Any]
    if inspect.iscoroutinefunction(original):

        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            return await run_async(original, args, kwargs, **options)

        function = traced_async
    else:

        def traced_sync(*args: Any, **kwargs: Any) -> Any:
            return run(original, args, kwargs, **options)

        function = traced_sync
    functools.update_wrapper(function, original)
    setattr(function, TRACED, True)
    return function


async def _later(
    finish: Finish, handle: EventHandle, request: Request, pending: Awaitable[Any]
) -> Any:
    try:
        result = await pending
    except BaseException as exc:
        end(handle, Capture(request.sdk, request), exc)
        raise
    return _finish(finish, handle, request, result)


def patch_call(target: Any, method: str, **options: Any) -> bool:
    """Trace ``target.<method>`` for calls through this one object (an instance attribute).

    Args:
        target: one client's resource object, e.g. ``client.models``.
        method: the method's name.
        **options: the keyword arguments of :func:`traced`.

    Returns:
        True if the method is traced (now or already), False if there is no such method.
    """
    original = getattr(target, method, None)
    if not callable(original):
        return False
    if getattr(original, TRACED, False):
        return True
    setattr(target, method, traced(original, **options))
    return True
