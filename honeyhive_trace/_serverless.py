"""``@flush_after``: nothing left only in memory when a short-lived handler returns.

A serverless platform freezes (or ends) the process as soon as the handler
returns, so events still queued for the background worker would wait, or be
lost. The decorator flushes when the handler ends, within a deadline, and
spools to disk whatever could not be delivered by then: the handler's latency
stays bounded, and the next invocation (a warm instance) replays the spool.
On AWS Lambda the spool lives in ``/tmp``, the one writable place.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from honeyhive_trace._client import Client
from honeyhive_trace._state import STATE

__all__ = ["flush_after"]

F = TypeVar("F", bound=Callable[..., Any])


def _flush(timeout: float | None) -> None:
    client: Client | None = STATE.client
    if client is None or client.dispatcher is None:
        return
    try:
        client.flush_or_spool(client.config.exit_timeout if timeout is None else timeout)
    except Exception as exc:  # the handler's outcome stands, whatever happens here
        client.guard.report("flush_after: could not flush", exc, raise_in_strict=False)


def _decorate(fn: Any, timeout: float | None) -> Any:
    if not callable(fn):
        raise TypeError(f"@flush_after needs a function, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_handler(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            finally:
                # The flush waits on other threads: off the event loop. (asyncio is
                # loaded, a loop runs this; imported here so that importing the
                # library does not load it, about 17 ms.)
                import asyncio

                await asyncio.to_thread(_flush, timeout)

        return async_handler

    @functools.wraps(fn)
    def handler(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            _flush(timeout)

    return handler


@overload
def flush_after(fn: F, /) -> F: ...


@overload
def flush_after(fn: None = None, /, *, timeout: float | None = None) -> Callable[[F], F]: ...


def flush_after(fn: Any = None, /, *, timeout: float | None = None) -> Any:
    """Flush when the decorated handler returns or raises: for serverless functions.

    Usable bare (``@hh.flush_after``) or with a deadline
    (``@hh.flush_after(timeout=1.0)``), on plain and ``async def`` handlers.
    When the handler ends, every event it (or anything before it) recorded is
    delivered within *timeout*; what is not is written to the spool before
    the handler returns, so nothing is left only in memory when the platform
    freezes the process. The handler's return value and exception are
    unchanged, and tracing failures are logged, never raised.

    Args:
        fn: the handler, when used bare.
        timeout: seconds to wait for delivery (default: ``exit_timeout``, 2 s).

    Returns:
        The wrapped handler, or a decorator when called with keywords only.
    """
    if fn is None:
        return lambda f: _decorate(f, timeout)
    return _decorate(fn, timeout)
