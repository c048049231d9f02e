"""Tracing one client instance's methods, without touching any SDK class.

:func:`patch` sets an attribute on a single resource object (say the
``client.chat.completions`` of one client) that shadows its class's method,
so only calls through that client are traced; the client's ``copy()`` and
``with_options()`` wrap the copies they make, and the cached
``with_raw_response`` views are dropped so that they are rebuilt over the
traced methods. Each call starts an
:class:`~honeyhive_trace.capture.EventHandle`, the same capture path
``@trace_model`` uses, and ends it with a
:class:`~honeyhive_trace.integrations._streams.Capture` of the call's
arguments and result; a returned stream is handed back behind a proxy that
ends the event when the stream ends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from honeyhive_trace.capture import EventHandle, end, recorder, snapshot_kwargs
from honeyhive_trace.integrations._capture import Capture, Request, client_provider
from honeyhive_trace.integrations._streams import stream_factory_for

__all__ = ["TRACED", "patch", "resource", "start_event", "wrap_client"]

C = TypeVar("C")

#: Set on the functions :func:`patch` installs, so that wrapping twice is a no-op.
TRACED = "__hh_traced__"
#: The client methods that make a new client with the same options.
_COPIES = ("copy", "with_options")
#: Views an SDK builds once (``functools.cached_property``) over a resource's methods.
_VIEWS = ("with_raw_response", "with_streaming_response")


def resource(client: Any, path: str) -> Any:
    """Return ``client.<path>`` (dotted), or None if any step is missing."""
    obj = client
    for name in path.split("."):
        try:
            obj = getattr(obj, name)
        except Exception:  # a client without this resource (or one that fails to build)
            return None
    return obj


def wrap_client(
    client: C,
    sdk: str,
    methods: Iterable[tuple[str, str, str]],
    needs: str,
    *,
    provider: str | None = None,
) -> C:
    """Trace *methods* of this one *client* instance, and return it.

    Args:
        client: the SDK client.
        sdk: ``"openai"`` or ``"anthropic"``.
        methods: (resource path, method name, endpoint) of each call to trace.
        needs: what the error names when *client* has none of them
            (``"an OpenAI client"``).
        provider: the ``provider`` of its events, when the base URL cannot tell
            (a self-hosted server); None: named from the client and its URL.

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has none of the resources.
    """
    methods = tuple(methods)
    patched = 0
    for path, method, endpoint in methods:
        target = resource(client, path)
        if target is not None and patch(
            target,
            method,
            sdk=sdk,
            endpoint=endpoint,
            event_name=f"{sdk}.{path}.{method}",
            client=client,
            provider=provider,
        ):
            patched += 1
    if not patched:
        raise TypeError(f"wrap_{sdk}() needs {needs}, got {type(client).__name__}")
    _forget_views(client, {path for path, _, _ in methods})
    for name in _COPIES:
        _wrap_copies(client, name, sdk, methods, needs, provider=provider)
    return client


def _forget_views(client: Any, paths: set[str]) -> None:
    """Drop the cached raw-response views, so that they are rebuilt over the traced methods.

    ``client.chat.completions.with_raw_response`` reads ``create`` once, when
    first built; one built before the client was wrapped would call the
    untraced method.
    """
    owners = [client]
    for path in paths:
        parts = path.split(".")
        owners.extend(resource(client, ".".join(parts[: i + 1])) for i in range(len(parts)))
    for owner in owners:
        try:
            cached = vars(owner)
        except TypeError:  # no __dict__: nothing cached
            continue
        for view in _VIEWS:
            cached.pop(view, None)


def _wrap_copies(
    client: Any,
    name: str,
    sdk: str,
    methods: tuple[tuple[str, str, str], ...],
    needs: str,
    *,
    provider: str | None,
) -> None:
    """Make ``client.<name>(...)`` (``copy``, ``with_options``) return a wrapped copy."""
    original = getattr(client, name, None)
    if not callable(original) or getattr(original, TRACED, False):
        return

    def copied(*args: Any, **kwargs: Any) -> Any:
        new = original(*args, **kwargs)
        try:
            wrap_client(new, sdk, methods, needs, provider=provider)
        except Exception as exc:  # a copy we cannot trace is still the user's client
            recorder().guard.report(f"could not trace a copy made by {name}()", exc)
        return new

    functools.update_wrapper(copied, original)
    setattr(copied, TRACED, True)
    try:
        setattr(client, name, copied)
    except Exception:  # a client that refuses instance attributes keeps its method
        return


def patch(
    target: Any,
    method: str,
    *,
    sdk: str,
    endpoint: str,
    event_name: str,
    client: Any,
    provider: str | None = None,
) -> bool:
    """Trace calls of ``target.<method>`` made through this one object.

    Args:
        target: a resource object of one client, e.g. ``client.chat.completions``.
        method: the method's name, e.g. ``"create"``.
        sdk: ``"openai"`` or ``"anthropic"``.
        endpoint: which API the method calls (``"chat"``, ``"responses"``, ...).
        event_name: the name of the recorded events.
        client: the client, whose ``base_url`` is read at each call.
        provider: the events' ``provider`` hint (see :func:`wrap_client`).

    Returns:
        True if the method is traced (now or already), False if *target* has
        no such method.
    """
    original = getattr(target, method, None)
    if not callable(original):
        return False
    if getattr(original, TRACED, False):
        return True
    traced: Callable[..., Any]
    site = _Site(sdk, endpoint, client, provider or client_provider(client))
    if inspect.iscoroutinefunction(original):
        traced = _async_traced(original, event_name, site)
    else:
        traced = _traced(original, event_name, site)
    functools.update_wrapper(traced, original)
    setattr(traced, TRACED, True)
    setattr(target, method, traced)  # an attribute of this instance, not of its class
    return True


def start_event(event_name: str) -> EventHandle | None:
    """A model event for one SDK call, or None when nothing is recorded (never raises)."""
    client = recorder()
    if not client.recording:
        return None
    try:
        return EventHandle(client, None, (), {"event_name": event_name})
    except Exception as exc:
        client.guard.report("could not start an event", exc)
        return None


class _Site:
    """What every call of one traced method shares."""

    __slots__ = ("sdk", "endpoint", "client", "provider")

    def __init__(self, sdk: str, endpoint: str, client: Any, provider: str | None) -> None:
        self.sdk = sdk
        self.endpoint = endpoint
        self.client = client
        self.provider = provider


def _request(site: _Site, kwargs: dict[str, Any]) -> Request:
    # Copied one level deep, as the decorators do, so that a chat loop appending
    # to its `messages` later does not change this event.
    body = snapshot_kwargs(kwargs)
    return Request(
        site.sdk,
        site.endpoint,
        body,
        base_url=getattr(site.client, "base_url", None),
        provider=site.provider,
    )


def _finish(handle: EventHandle, request: Request, result: Any) -> Any:
    wrap = stream_factory_for(type(result))  # type: ignore[arg-type]  # classes hash
    if wrap is not None:
        try:
            return wrap(result, handle, request)
        except Exception as exc:
            handle._client.guard.report("could not wrap a stream", exc)
    end(handle, Capture(request.sdk, request, result=result))
    return result


def _fail(handle: EventHandle, request: Request, error: BaseException) -> None:
    end(handle, Capture(request.sdk, request), error)


async def _finish_later(handle: EventHandle, request: Request, pending: Awaitable[Any]) -> Any:
    try:
        result = await pending
    except BaseException as exc:
        _fail(handle, request, exc)
        raise
    return _finish(handle, request, result)


def _traced(original: Callable[..., Any], event_name: str, site: _Site) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Any:
        handle = start_event(event_name)
        if handle is None:
            return original(*args, **kwargs)
        request = _request(site, kwargs)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            _fail(handle, request, exc)
            raise
        if inspect.isawaitable(result):  # an async client's method not declared `async def`
            return _finish_later(handle, request, result)
        return _finish(handle, request, result)

    return traced


def _async_traced(
    original: Callable[..., Any], event_name: str, site: _Site
) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        handle = start_event(event_name)
        if handle is None:
            return await original(*args, **kwargs)
        request = _request(site, kwargs)
        try:
            result = await original(*args, **kwargs)
        except BaseException as exc:
            _fail(handle, request, exc)
            raise
        return _finish(handle, request, result)

    return traced
