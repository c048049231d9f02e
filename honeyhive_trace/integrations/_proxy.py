"""The base of every stream proxy: a :class:`wrapt.ObjectProxy` that ends its event once.

wrapt's proxy forwards every attribute, ``isinstance`` and ``dir()`` to the
stream, and setting an attribute sets it on the stream; our own state lives in
``_self_*`` attributes, which wrapt keeps on the proxy. A weak-reference
finalizer ends the event (as closed early) if the caller drops an unfinished
stream.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import wrapt

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._access import field
from honeyhive_trace.integrations._capture import Capture, collected, end, request_of

__all__ = [
    "PROXY_MODULES",
    "ClosedOnAsyncExit",
    "ClosedOnExit",
    "Proxy",
    "consumer",
    "is_text_delta",
    "request_on_enter",
]

#: The modules whose classes are our proxies (a traced function may return one).
PROXY_MODULES = frozenset(
    {"honeyhive_trace.integrations._streams", "honeyhive_trace.integrations._astreams"}
)


if TYPE_CHECKING:
    _ObjectProxy = wrapt.ObjectProxy[Any]
else:  # wrapt before 2.0 has no generic ObjectProxy at run time
    _ObjectProxy = wrapt.ObjectProxy


class Proxy(_ObjectProxy):
    """Forwards everything to the wrapped stream; ends the event once."""

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        super().__init__(inner)
        self._self_handle = handle
        self._self_capture = capture
        finalizer = weakref.finalize(self, collected, handle, capture)
        finalizer.atexit = False
        self._self_finalizer = finalizer

    def _self_end(self, error: BaseException | None, closed_early: bool) -> None:
        if not self._self_capture.done:
            self._self_finalizer.detach()
            end(self._self_handle, self._self_capture, error, closed_early)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


class ClosedOnExit(Proxy):
    """A proxy whose ``with`` block ends the event when it ends (closed early if unfinished)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_end(None, True)


class ClosedOnAsyncExit(Proxy):
    """The ``async with`` twin of :class:`ClosedOnExit`."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_end(None, True)


def consumer(name: str, consume: Callable[..., Any]) -> property:
    """A property for helper method *name*: consume the stream through the proxy, then call it.

    The property exists only when the wrapped helper has the method (an
    ``AttributeError`` otherwise), so the proxy offers exactly what the helper does.
    """

    def get(self: Proxy) -> Any:
        method = getattr(self.__wrapped__, name)
        return functools.partial(consume, self, method)

    return property(get, doc=f"The helper's ``{name}()``, seeing every event through the proxy.")


def is_text_delta(event: Any) -> bool:
    """Whether a helper stream *event* is a text delta (``content_block_delta``)."""
    delta = field(event, "delta")
    return bool(
        field(event, "type") == "content_block_delta" and field(delta, "type") == "text_delta"
    )


def request_on_enter(capture: Capture, stream: Any) -> None:
    """Fill the request of a manager's capture from the stream it opened.

    A manager sends its request only when entered.
    """
    if capture.request is None:
        capture.request = request_of(stream, capture.sdk)
    elif capture.request.body is None and capture.request.http_request is None:
        found = request_of(stream, capture.sdk)
        capture.request.http_request = found.http_request
        capture.request.base_url = capture.request.base_url or found.base_url
        capture.request.provider = capture.request.provider or found.provider
