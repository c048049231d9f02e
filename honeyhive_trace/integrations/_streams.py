"""Streams returned by traced calls: transparent proxies that end the event with the stream.

A traced function (or a wrapped client) that returns an SDK stream hands the
caller a proxy instead. The proxy iterates, closes, enters and exits exactly as
the stream does and forwards every other attribute; ``isinstance`` still sees
the SDK class. Per chunk it does two things on the caller's thread: note the
time of the first one, and append the chunk to a list. The event ends once,
when the stream is exhausted, fails, is closed, or is garbage-collected; the
chunks are assembled into a response later, on the worker.

What ends the event is a :class:`Capture`: the request (its arguments, or the
HTTP request to read them from), the chunks or the plain result, and the time
to the first chunk. :func:`extract_capture` turns it into event fields.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from time import perf_counter_ns
from types import TracebackType
from typing import Any

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._access import field
from honeyhive_trace.integrations._capture import Capture, Request, collected, end, request_of

__all__ = [
    "PROXIES",
    "TracedAsyncHelperStream",
    "TracedAsyncStream",
    "TracedAsyncStreamManager",
    "TracedHelperStream",
    "TracedStream",
    "TracedStreamManager",
    "factory",
    "proxy_factory",
    "stream_factory_for",
]


# -- proxies ------------------------------------------------------------------------------

_OWN = frozenset({"_hh_inner", "_hh_handle", "_hh_capture", "_hh_finalizer", "_hh_next"})


class _Proxy:
    """Forwards attribute access to the wrapped object; ends the event once."""

    __slots__ = ("_hh_inner", "_hh_handle", "_hh_capture", "_hh_finalizer", "__weakref__")

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        object.__setattr__(self, "_hh_inner", inner)
        object.__setattr__(self, "_hh_handle", handle)
        object.__setattr__(self, "_hh_capture", capture)
        finalizer = weakref.finalize(self, collected, handle, capture)
        finalizer.atexit = False
        object.__setattr__(self, "_hh_finalizer", finalizer)

    def _hh_end(self, error: BaseException | None, closed_early: bool) -> None:
        if not self._hh_capture.done:
            self._hh_finalizer.detach()
            end(self._hh_handle, self._hh_capture, error, closed_early)

    # `isinstance(proxy, openai.Stream)` stays true, as with wrapt's proxies.
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        cls: type = self._hh_inner.__class__
        return cls

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_hh_"):
            raise AttributeError(name)
        return getattr(self._hh_inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._hh_inner, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._hh_inner, name)

    def __dir__(self) -> list[str]:
        return dir(self._hh_inner)

    def __repr__(self) -> str:
        return repr(self._hh_inner)


class TracedStream(_Proxy):
    """A synchronous stream of chunks (``openai.Stream``, ``anthropic.Stream``)."""

    __slots__ = ("_hh_next",)

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        super().__init__(inner, handle, capture)
        object.__setattr__(self, "_hh_next", inner.__next__)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            item = self._hh_next()
        except StopIteration:
            self._hh_end(None, False)
            raise
        except BaseException as exc:
            self._hh_end(exc, False)
            raise
        capture = self._hh_capture
        if not capture.first_ns:
            capture.first_ns = perf_counter_ns()
        capture.chunks.append(item)
        return item

    def close(self) -> None:
        """Close the stream; an unfinished stream's event ends as closed early."""
        try:
            self._hh_inner.close()
        finally:
            self._hh_end(None, True)

    def __enter__(self) -> TracedStream:
        self._hh_inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return self._hh_inner.__exit__(exc_type, exc, tb)
        finally:
            self._hh_end(None, True)


class TracedHelperStream(TracedStream):
    """A synchronous SDK helper stream (``MessageStream``, ``ChatCompletionStream``, ...).

    The helper's conveniences (``text_stream``, ``until_done()``,
    ``get_final_message()``, ...) consume the stream through the proxy, so every
    event is seen before the helper's own accumulated result is returned. They
    exist on the proxy only when the helper has them.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_hh_"):
            raise AttributeError(name)
        value = getattr(self._hh_inner, name)
        if name == "text_stream":
            return _text_deltas(self)
        if name == "until_done" or name in _CONSUMERS:
            return functools.partial(_consume_then, self, value)
        return value


#: Helper methods that wait for the whole stream, then return what it accumulated.
_CONSUMERS = frozenset(
    {"get_final_message", "get_final_text", "get_final_completion", "get_final_response"}
)


def _consume_then(proxy: TracedHelperStream, method: Any, *args: Any, **kwargs: Any) -> Any:
    for _ in proxy:
        pass
    result = method(*args, **kwargs)
    return proxy if result is proxy._hh_inner else result  # until_done() returns the stream


def _is_text_delta(event: Any) -> bool:
    delta = field(event, "delta")
    return bool(
        field(event, "type") == "content_block_delta" and field(delta, "type") == "text_delta"
    )


def _text_deltas(stream: Iterator[Any]) -> Iterator[str]:
    for event in stream:
        if _is_text_delta(event):
            yield event.delta.text


class TracedAsyncStream(_Proxy):
    """An asynchronous stream of chunks (``openai.AsyncStream``, ``anthropic.AsyncStream``)."""

    __slots__ = ("_hh_next",)

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        super().__init__(inner, handle, capture)
        object.__setattr__(self, "_hh_next", inner.__anext__)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._hh_next()
        except StopAsyncIteration:
            self._hh_end(None, False)
            raise
        except BaseException as exc:
            self._hh_end(exc, False)
            raise
        capture = self._hh_capture
        if not capture.first_ns:
            capture.first_ns = perf_counter_ns()
        capture.chunks.append(item)
        return item

    async def close(self) -> None:
        """Close the stream; an unfinished stream's event ends as closed early."""
        try:
            await self._hh_inner.close()
        finally:
            self._hh_end(None, True)

    async def __aenter__(self) -> TracedAsyncStream:
        await self._hh_inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return await self._hh_inner.__aexit__(exc_type, exc, tb)
        finally:
            self._hh_end(None, True)


class TracedAsyncHelperStream(TracedAsyncStream):
    """The asynchronous twin of :class:`TracedHelperStream`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_hh_"):
            raise AttributeError(name)
        value = getattr(self._hh_inner, name)
        if name == "text_stream":
            return _atext_deltas(self)
        if name == "until_done" or name in _CONSUMERS:
            return functools.partial(_aconsume_then, self, value)
        return value


async def _aconsume_then(
    proxy: TracedAsyncHelperStream, method: Any, *args: Any, **kwargs: Any
) -> Any:
    async for _ in proxy:
        pass
    result = await method(*args, **kwargs)
    return proxy if result is proxy._hh_inner else result


async def _atext_deltas(stream: AsyncIterator[Any]) -> AsyncIterator[str]:
    async for event in stream:
        if _is_text_delta(event):
            yield event.delta.text


def _request_on_enter(capture: Capture, stream: Any) -> None:
    # A manager sends its request only when entered.
    if capture.request is None:
        capture.request = request_of(stream, capture.sdk)
    elif capture.request.body is None and capture.request.http_request is None:
        found = request_of(stream, capture.sdk)
        capture.request.http_request = found.http_request
        capture.request.base_url = capture.request.base_url or found.base_url


class TracedStreamManager(_Proxy):
    """A ``with`` manager that opens a helper stream (``client.messages.stream(...)``)."""

    __slots__ = ()

    def __enter__(self) -> Any:
        try:
            stream = self._hh_inner.__enter__()
        except BaseException as exc:
            self._hh_end(exc, False)
            raise
        # From here on the stream's proxy owns the event (and its GC safety net).
        self._hh_finalizer.detach()
        _request_on_enter(self._hh_capture, stream)
        return TracedHelperStream(stream, self._hh_handle, self._hh_capture)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return self._hh_inner.__exit__(exc_type, exc, tb)
        finally:
            self._hh_end(None, True)


class TracedAsyncStreamManager(_Proxy):
    """An ``async with`` manager that opens an asynchronous helper stream."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        try:
            stream = await self._hh_inner.__aenter__()
        except BaseException as exc:
            self._hh_end(exc, False)
            raise
        self._hh_finalizer.detach()
        _request_on_enter(self._hh_capture, stream)
        return TracedAsyncHelperStream(stream, self._hh_handle, self._hh_capture)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return await self._hh_inner.__aexit__(exc_type, exc, tb)
        finally:
            self._hh_end(None, True)


#: Stream shape (as named in :mod:`honeyhive_trace.integrations`) -> proxy class.
PROXIES: dict[str, type[_Proxy]] = {
    "stream": TracedStream,
    "async_stream": TracedAsyncStream,
    "helper": TracedHelperStream,
    "async_helper": TracedAsyncHelperStream,
    "manager": TracedStreamManager,
    "async_manager": TracedAsyncStreamManager,
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
    proxy_class = PROXIES[shape]
    managed = shape.endswith("manager")  # sends its request only when entered

    def wrap(stream: Any, handle: EventHandle, request: Request | None = None) -> Any:
        if request is None and not managed:
            request = request_of(stream, sdk)
        return proxy_class(stream, handle, Capture(sdk, request, chunks=[]))

    return wrap


def proxy_factory(proxy_class: type) -> Callable[..., Any] | None:
    """Return a wrapper for a stream that is already one of our proxies, or None.

    A traced function that returns a wrapped client's stream gets a second
    proxy with its own event; both end when the stream does.
    """
    shape = next((s for s, known in PROXIES.items() if proxy_class is known), None)
    if shape is None:
        return None

    def wrap(stream: Any, handle: EventHandle, request: Request | None = None) -> Any:
        inner: Capture = stream._hh_capture
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
_PROXY_MODULE = "honeyhive_trace.integrations._streams"


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
        elif module == _PROXY_MODULE:
            return proxy_factory(klass)
    return None
