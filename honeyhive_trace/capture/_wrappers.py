"""Wrappers that run each call of a function inside a scope, one per kind of function.

Each kind of function (plain, ``async def``, generator, async generator) gets
its own wrapper so that ``inspect`` still sees the same kind, and
``functools.wraps`` keeps name, qualname, docstring and signature. Used by
``@trace_model`` (the scope is an event) and ``@session`` (the scope is a
session); nothing here knows what goes into a record.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["AsyncWith", "Begin", "Scope", "async_generator_wrapper", "generator_wrapper"]


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
    """The async-generator twin of :func:`generator_wrapper`.

    A twin on purpose, not a shared helper: ``yield`` and ``await`` cannot be
    abstracted over in Python, and the wrapper must itself be an async generator.
    """

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


class AsyncWith(Generic[T]):
    """``async with`` for a scope whose ``with`` does no I/O: the same enter and exit."""

    __slots__ = ()

    def __enter__(self) -> T:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
