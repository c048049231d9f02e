"""Threads and executors that carry the trace: the caller's context, copied in.

A new thread starts with an empty :mod:`contextvars` context, so events it
records have no parent and no session. :class:`ThreadPoolExecutor` and
:class:`Thread` copy the submitting (or starting) context into the worker;
:func:`copy_context_to` does it for any callable handed to another executor.
:func:`propagate_threads` does it for every ``ThreadPoolExecutor.submit`` and
``threading.Thread.start`` of the process, opt-in (``configure(propagate_threads=True)``).

Each task runs in a copy of its own: what it changes in the context (events
it opens, for instance) never leaks into the caller's or another task's.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar

__all__ = ["Thread", "ThreadPoolExecutor", "copy_context_to", "propagate_threads"]

P = ParamSpec("P")
R = TypeVar("R")

_ORIGINAL_SUBMIT = concurrent.futures.ThreadPoolExecutor.submit
_ORIGINAL_START = threading.Thread.start
#: Set on the patched methods, so that they are recognised and undone.
_PATCHED = "__hh_propagates__"


def copy_context_to(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap *fn* so that every call runs in a copy of the context of this moment.

    For executors other than :class:`ThreadPoolExecutor` (``loop.run_in_executor``,
    a process's thread pool, a callback registry): events inside each call
    get the current event as parent and the current session. Each call has a
    copy of its own, so the wrapper may run in several threads at once.
    Return values and exceptions pass through unchanged.

    Args:
        fn: any callable.

    Returns:
        The wrapper (with *fn*'s name and docstring).
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        return captured.copy().run(fn, *args, **kwargs)

    return in_context


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ``concurrent.futures.ThreadPoolExecutor`` whose tasks run in the submitter's context.

    A drop-in replacement: each ``submit`` (and so ``map``) takes a copy of the
    calling context to the worker, so events inside a task are children of the
    event that submitted it, in its session. Futures, results and exceptions
    behave exactly as with the standard executor.
    """

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` in a copy of the current context."""
        return _ORIGINAL_SUBMIT(self, contextvars.copy_context().run, fn, *args, **kwargs)


class Thread(threading.Thread):
    """A ``threading.Thread`` that runs in a copy of the context that started it.

    Events inside get the event current at ``start()`` as parent, and its
    session. Works for ``target=`` threads and for subclasses overriding ``run``.
    """

    def start(self) -> None:
        """Start the thread; its ``run`` goes in a copy of the current context."""
        _in_current_context(self)
        _ORIGINAL_START(self)


def _in_current_context(thread: threading.Thread) -> None:
    # An attribute of the instance shadows the class's run(), whatever subclass
    # defined it; the thread's bootstrap calls self.run().
    thread.run = functools.partial(contextvars.copy_context().run, thread.run)  # type: ignore[method-assign]


def _submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    return _ORIGINAL_SUBMIT(self, contextvars.copy_context().run, fn, *args, **kwargs)


def _start(self: threading.Thread) -> None:
    _in_current_context(self)
    _ORIGINAL_START(self)


setattr(_submit, _PATCHED, True)
setattr(_start, _PATCHED, True)


def propagate_threads(on: bool) -> None:
    """Make every ``ThreadPoolExecutor.submit`` and ``Thread.start`` carry the context, or stop.

    Patches the two standard methods for the whole process (and restores them
    with ``on=False``); :class:`ThreadPoolExecutor` and :class:`Thread` do it
    without patching anything. Set by ``configure(propagate_threads=...)``.
    """
    executor, thread = concurrent.futures.ThreadPoolExecutor, threading.Thread
    if on:
        if not getattr(executor.submit, _PATCHED, False):
            executor.submit = _submit  # type: ignore[method-assign]
        if not getattr(thread.start, _PATCHED, False):
            thread.start = _start  # type: ignore[method-assign]
    else:
        if getattr(executor.submit, _PATCHED, False):
            executor.submit = _ORIGINAL_SUBMIT  # type: ignore[method-assign]
        if getattr(thread.start, _PATCHED, False):
            thread.start = _ORIGINAL_START  # type: ignore[method-assign]
