"""The asynchronous stream proxies: twins of those in :mod:`._streams`.

``openai.AsyncStream``, ``anthropic.AsyncStream``, the async helper streams and
the ``async with`` managers that open them. Each ends its event once, exactly
as the synchronous proxy of the same shape does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from time import perf_counter_ns
from typing import Any

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._capture import Capture, carries_content
from honeyhive_trace.integrations._proxy import (
    ClosedOnAsyncExit,
    consumer,
    is_text_delta,
    request_on_enter,
)

__all__ = ["TracedAsyncHelperStream", "TracedAsyncStream", "TracedAsyncStreamManager"]


class TracedAsyncStream(ClosedOnAsyncExit):
    """An asynchronous stream of chunks (``openai.AsyncStream``, ``anthropic.AsyncStream``)."""

    def __init__(self, inner: Any, handle: EventHandle, capture: Capture) -> None:
        super().__init__(inner, handle, capture)
        self._self_next = inner.__anext__

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._self_next()
        except StopAsyncIteration:
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

    async def close(self) -> None:
        """Close the stream; an unfinished stream's event ends as closed early."""
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end(None, True)

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self


async def _aconsume_then(
    proxy: TracedAsyncHelperStream, method: Any, *args: Any, **kwargs: Any
) -> Any:
    async for _ in proxy:
        pass
    result = await method(*args, **kwargs)
    return proxy if result is proxy.__wrapped__ else result


async def _atext_deltas(stream: AsyncIterator[Any]) -> AsyncIterator[str]:
    async for event in stream:
        if is_text_delta(event):
            yield event.delta.text


class TracedAsyncHelperStream(TracedAsyncStream):
    """The asynchronous twin of :class:`~._streams.TracedHelperStream`."""

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The helper's text deltas, read through the proxy."""
        self.__wrapped__.text_stream  # noqa: B018 - AttributeError when the helper has none
        return _atext_deltas(self)

    until_done = consumer("until_done", _aconsume_then)
    get_final_message = consumer("get_final_message", _aconsume_then)
    get_final_text = consumer("get_final_text", _aconsume_then)
    get_final_completion = consumer("get_final_completion", _aconsume_then)
    get_final_response = consumer("get_final_response", _aconsume_then)


class TracedAsyncStreamManager(ClosedOnAsyncExit):
    """An ``async with`` manager that opens an asynchronous helper stream."""

    async def __aenter__(self) -> Any:
        try:
            stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            self._self_end(exc, False)
            raise
        self._self_finalizer.detach()
        request_on_enter(self._self_capture, stream)
        return TracedAsyncHelperStream(stream, self._self_handle, self._self_capture)
