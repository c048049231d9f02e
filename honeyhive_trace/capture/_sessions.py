"""Sessions: a shared ``session_id`` for every event inside a block or call."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, cast

from honeyhive_trace.capture._snapshot import CURRENT_SESSION, Session
from honeyhive_trace.capture._wrappers import (
    AsyncWith,
    async_generator_wrapper,
    generator_wrapper,
)

__all__ = ["Session", "session", "current_session"]

F = TypeVar("F", bound=Callable[..., Any])


class SessionScope(AsyncWith[Session]):
    """A ``with``/``async with`` block or decorator that opens a session.

    Each ``with`` (and each call of a decorated function) opens a new session,
    unless a fixed ``session_id`` was given, which is then reused.
    """

    __slots__ = ("_name", "_session_id", "_tokens")

    def __init__(self, name: str | None, session_id: str | None) -> None:
        self._name = name
        self._session_id = session_id
        self._tokens: list[Any] = []

    def _open(self) -> tuple[Session, Any]:
        current = Session(self._name, self._session_id)
        return current, CURRENT_SESSION.set(current)

    def __enter__(self) -> Session:
        current, token = self._open()
        self._tokens.append(token)
        return current

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self._tokens.pop()
        try:
            CURRENT_SESSION.reset(token)
        except ValueError:  # exited in another context than entered
            pass

    def __call__(self, fn: F) -> F:
        """Decorate *fn* so that each call runs in a new session."""
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):

            def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return CURRENT_SESSION, Session(self._name, self._session_id), None, None

            if inspect.isasyncgenfunction(fn):
                return cast(F, async_generator_wrapper(fn, begin))
            return cast(F, generator_wrapper(fn, begin))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                _, token = self._open()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    CURRENT_SESSION.reset(token)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _, token = self._open()
            try:
                return fn(*args, **kwargs)
            finally:
                CURRENT_SESSION.reset(token)

        return cast(F, wrapper)


def session(name: str | None = None, *, session_id: str | None = None) -> SessionScope:
    """Group the events inside a block, or each call of a function, in a session.

    Usable as ``with session(name=...):``, ``async with session(...):`` and as
    the decorator ``@session(name=...)``.

    Args:
        name: a readable name, recorded in each event's ``metadata.session_name``.
        session_id: a fixed id, so that the turns of one conversation land in
            one session. A UUID is used as it is; any other string (your own
            conversation id) is turned into a stable UUID5 and kept in each
            event's ``metadata.session_key``. A new UUID4 by default.

    Returns:
        A reusable scope; each entry opens a session.
    """
    return SessionScope(name, session_id)


def current_session() -> Session | None:
    """Return the innermost open session, or ``None``."""
    return CURRENT_SESSION.get()
