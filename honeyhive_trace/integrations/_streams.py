"""Streams returned by traced calls: transparent proxies that end the event with the stream.

A traced function (or a wrapped client) that returns an SDK stream hands the
caller a proxy instead (a :class:`wrapt.ObjectProxy`, see :mod:`._proxy`). The
proxy iterates, closes, enters and exits exactly as the stream does and
forwards every other attribute; ``isinstance`` still sees the SDK class. Per
chunk it does two things on the caller's thread: note the time of the first
one, and append the chunk to a list. The event ends once, when the stream is
exhausted, fails, is closed, or is garbage-collected; the chunks are assembled
into a response later, on the worker.

This module holds the synchronous proxies and the table of which SDK classes
get which proxy; :mod:`._astreams` holds the asynchronous twins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from time import perf_counter_ns
from typing import Any

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._astreams import (
    TracedAsyncHelperStream,
    TracedAsyncStream,
    TracedAsyncStreamManager,
)
from honeyhive_trace.integrations._capture import (
    Capture,
    Request,
    carries_content,
    end,
    request_of,
)
from honeyhive_trace.integrations._proxy import (
    PROXY_MODULES,
    ClosedOnExit,
    Proxy,
    consumer,
    is_text_delta,
    request_on_enter,
)

__all__ = [
    "PROXIES",
    "TracedHelperStream",
    "TracedRawResponse",
    "TracedStream",
    "TracedStreamManager",
    "factory",
    "proxy_factory",
    "stream_factory_for",
]


class TracedStream(ClosedOnExit):
    """A synchronous stream of chunks (``openai.Stream``, ``anthropic.Stream``)."""

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        super().__init__(inner, handle, capture)
        self._self_next = inner.__next__

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            item = self._self_next()
        except StopIteration:
            self._self_end(None, False)
            raise
        except BaseException as exc:
            self._self_end(exc, False)
            raise
        capture = self._self_capture
        if not capture.first_ns and carries_content(item):
            capture.first_ns = perf_counter_ns()
        if capture.chunks is not None:  # always a list for a stream's capture
            capture.chunks.append(item)
        return item

    def close(self) -> None:
        """Close the stream; an unfinished stream's event ends as closed early."""
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(None, True)

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self


def _consume_then(proxy: TracedHelperStream, method: Any, *args: Any, **kwargs: Any) -> Any:
    for _ in proxy:
        pass
    result = method(*args, **kwargs)
    return proxy if result is proxy.__wrapped__ else result  # until_done() returns the stream


def _text_deltas(stream: Iterator[Any]) -> Iterator[str]:
    for event in stream:
        if is_text_delta(event):
            yield event.delta.text


class TracedHelperStream(TracedStream):
    """A synchronous SDK helper stream (``MessageStream``, ``ChatCompletionStream``, ...).

    The helper's conveniences (``text_stream``, ``until_done()``,
    ``get_final_message()``, ...) consume the stream through the proxy, so every
    event is seen before the helper's own accumulated result is returned. They
    exist on the proxy only when the helper has them.
    """

    @property
    def text_stream(self) -> Iterator[str]:
        """The helper's text deltas, read through the proxy."""
        self.__wrapped__.text_stream  # noqa: B018 - AttributeError when the helper has none
        return _text_deltas(self)

    until_done = consumer("until_done", _consume_then)
    get_final_message = consumer("get_final_message", _consume_then)
    get_final_text = consumer("get_final_text", _consume_then)
    get_final_completion = consumer("get_final_completion", _consume_then)
    get_final_response = consumer("get_final_response", _consume_then)


class TracedStreamManager(ClosedOnExit):
    """A ``with`` manager that opens a helper stream (``client.messages.stream(...)``)."""

    def __enter__(self) -> Any:
        try:
            stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            self._self_end(exc, False)
            raise
        # From here on the stream's proxy owns the event (and its GC safety net).
        self._self_finalizer.detach()
        request_on_enter(self._self_capture, stream)
        return TracedHelperStream(stream, self._self_handle, self._self_capture)


class TracedRawResponse(Proxy):
    """A streamed call's raw response (``with_raw_response``): ``parse()`` gives the traced stream.

    The event ends with the stream; if ``parse()`` is never called, when the
    raw response is dropped (as closed early).
    """

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the response as the SDK does; a stream comes back traced."""
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as exc:
            self._self_end(exc, False)
            raise
        known = getattr(self, "_self_parsed", None)
        if known is not None and known.__wrapped__ is parsed:  # the SDK caches what it parsed
            return known
        proxy_class = _proxy_class(type(parsed))
        capture = self._self_capture
        if proxy_class is None or capture.done:
            capture.chunks, capture.result = None, parsed
            self._self_end(None, False)
            return parsed
        self._self_finalizer.detach()  # the stream's proxy owns the event from here on
        proxy = proxy_class(parsed, self._self_handle, capture)
        self._self_parsed = proxy
        return proxy


#: Stream shape (as named in :mod:`honeyhive_trace.integrations`) -> proxy class.
PROXIES: dict[str, type[Proxy]] = {
    "stream": TracedStream,
    "async_stream": TracedAsyncStream,
    "helper": TracedHelperStream,
    "async_helper": TracedAsyncHelperStream,
    "manager": TracedStreamManager,
    "async_manager": TracedAsyncStreamManager,
    "raw": TracedRawResponse,
}


def factory(shape: str, sdk: str) -> Callable[..., Any]:
    """Return the wrapper ``(stream, handle, request=None) -> proxy`` for one stream shape.

    Args:
        shape: a key of :data:`PROXIES`.
        sdk: ``"openai"`` or ``"anthropic"``: which assembler reads the chunks.

    Returns:
        A function that wraps a stream of that shape for an event's *handle*.
        Without *request*, the request is read from the stream's HTTP request.
    """
    if shape == "raw":
        return functools.partial(_wrap_raw, sdk)
    proxy_class = PROXIES[shape]
    managed = shape.endswith("manager")  # sends its request only when entered

    def wrap(stream: Any, handle: EventHandle, request: Request | None = None) -> Any:
        if request is None and not managed:
            request = request_of(stream, sdk)
        return proxy_class(stream, handle, Capture(sdk, request, chunks=[]))

    return wrap


def _wrap_raw(sdk: str, raw: Any, handle: EventHandle, request: Request | None = None) -> Any:
    """A raw response: read (the event ends now), or streamed (it ends with the stream)."""
    if request is None:
        request = request_of(raw, sdk)
    if not getattr(raw, "_stream", False):
        end(handle, Capture(sdk, request, result=raw), None, False)
        return raw
    return TracedRawResponse(raw, handle, Capture(sdk, request, chunks=[]))


def proxy_factory(proxy_class: type) -> Callable[..., Any] | None:
    """Return a wrapper for a stream that is already one of our proxies, or None.

    A traced function that returns a wrapped client's stream gets a second
    proxy with its own event; both end when the stream does.
    """
    shape = next((s for s, known in PROXIES.items() if proxy_class is known), None)
    if shape is None:
        return None

    def wrap(stream: Any, handle: EventHandle, request: Request | None = None) -> Any:
        inner: Capture = stream._self_capture
        return factory(shape, inner.sdk)(stream, handle, request or inner.request)

    return wrap


# -- which classes are streams --------------------------------------------------------

_SDKS = frozenset({"openai", "anthropic"})

#: (top-level package, class name) of the SDK streams whose event ends with the
#: stream, and the shape of proxy they get (see ``_streams.PROXIES``).
_SDK_STREAMS: dict[tuple[str, str], str] = {
    ("openai", "Stream"): "stream",
    ("openai", "AsyncStream"): "async_stream",
    ("openai", "ChatCompletionStream"): "helper",
    ("openai", "AsyncChatCompletionStream"): "async_helper",
    ("openai", "ResponseStream"): "helper",
    ("openai", "AsyncResponseStream"): "async_helper",
    ("openai", "ChatCompletionStreamManager"): "manager",
    ("openai", "AsyncChatCompletionStreamManager"): "async_manager",
    ("openai", "ResponseStreamManager"): "manager",
    ("openai", "AsyncResponseStreamManager"): "async_manager",
    ("openai", "LegacyAPIResponse"): "raw",
    ("anthropic", "Stream"): "stream",
    ("anthropic", "AsyncStream"): "async_stream",
    ("anthropic", "MessageStream"): "helper",
    ("anthropic", "AsyncMessageStream"): "async_helper",
    ("anthropic", "BetaMessageStream"): "helper",
    ("anthropic", "BetaAsyncMessageStream"): "async_helper",
    ("anthropic", "MessageStreamManager"): "manager",
    ("anthropic", "AsyncMessageStreamManager"): "async_manager",
    ("anthropic", "BetaMessageStreamManager"): "manager",
    ("anthropic", "BetaAsyncMessageStreamManager"): "async_manager",
}


def _proxy_class(cls: type) -> type[Proxy] | None:
    """The proxy class of an SDK stream class (not of a raw response), or None."""
    if cls in PROXIES.values() and cls is not TracedRawResponse:
        return cls  # already traced (a wrapped client's stream): one more event on it
    for klass in cls.__mro__:
        module = getattr(klass, "__module__", "") or ""
        shape = _SDK_STREAMS.get((module.partition(".")[0], klass.__name__))
        if shape is not None and shape != "raw":
            return PROXIES[shape]
    return None


@functools.lru_cache(maxsize=1024)  # bounded: classes can be made at run time
def stream_factory_for(cls: type) -> Callable[..., Any] | None:
    """Return the stream wrapper for an OpenAI/Anthropic stream class, else None.

    Looks only at class and module names, so no SDK is imported. Cached per class.
    """
    for klass in cls.__mro__:
        module = getattr(klass, "__module__", "") or ""
        root = module.partition(".")[0]
        if root in _SDKS:
            shape = _SDK_STREAMS.get((root, klass.__name__))
            if shape is not None:
                return factory(shape, root)
        elif module in PROXY_MODULES:
            return proxy_factory(klass)
    return None
