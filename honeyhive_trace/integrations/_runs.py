"""Open events keyed by a framework's own run ids, for callback-style integrations.

LangChain's callbacks and the OpenAI Agents SDK's tracing processor do not
run the traced code inside a ``with`` block of ours: they announce that a run
(or span) started, with its id and its parent's id, and later that it ended.
:class:`Runs` starts one event per run with the parent the framework named
(the event of the parent run, or a session), keeps it by run id, and ends it
when the framework says so. A run whose parent is not known hangs under the
event or session current where it started, as any traced call does.

Every method is safe to call from any thread and never raises into the
framework (unless the configuration is ``strict``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from honeyhive_trace import _shapes
from honeyhive_trace.capture import (
    CURRENT_EVENT,
    CURRENT_SESSION,
    STEP_SPECS,
    EventHandle,
    Session,
    end,
    recorder,
    start,
)

__all__ = ["Parent", "Runs", "guarded"]

F = TypeVar("F", bound=Callable[..., Any])

#: What a run can hang under: the event of another run, or a session.
Parent = EventHandle | Session

_UNSET = _shapes.UNSET


def guarded(site: str) -> Callable[[F], F]:
    """Make a callback report (never raise) a tracing failure; it returns None then."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def safe(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                recorder().guard.report(site, exc)
                return None

        return cast(F, safe)

    return decorate


class Runs:
    """The events of the runs a framework started and has not ended yet."""

    __slots__ = ("_open", "_aliases", "_made_current", "_lock")

    def __init__(self) -> None:
        self._open: dict[Hashable, Parent] = {}
        #: Runs whose event was made current where they started: the event and
        #: session current there before, restored when the run ends.
        self._made_current: dict[Hashable, tuple[Any, Any]] = {}
        #: Runs not recorded (hidden by the framework): their children hang
        #: under what the run would have hung under.
        self._aliases: dict[Hashable, Parent | None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def parent_of(self, key: Hashable | None) -> Parent | None:
        """The open event (or session) recorded for run *key*, if any."""
        if key is None:
            return None
        with self._lock:
            found = self._open.get(key)
            if found is None:
                found = self._aliases.get(key)
        return found

    def skip(self, key: Hashable, parent_key: Hashable | None) -> None:
        """Record nothing for run *key*; its children hang under its parent."""
        parent = self.parent_of(parent_key)
        with self._lock:
            self._aliases[key] = parent

    def unskip(self, key: Hashable) -> bool:
        """Forget a skipped run; whether *key* was one."""
        with self._lock:
            if key in self._aliases:
                del self._aliases[key]
                return True
        return False

    def add_session(self, key: Hashable, opened: Session) -> None:
        """Let the runs whose parent is *key* hang under the session *opened*."""
        with self._lock:
            self._open[key] = opened

    def pop_session(self, key: Hashable) -> Session | None:
        """Forget the session kept as *key*, and return it."""
        with self._lock:
            found = self._open.get(key)
            if not isinstance(found, Session):
                return None
            del self._open[key]
        return found

    def open(
        self,
        key: Hashable,
        parent_key: Hashable | None,
        event_type: str,
        fields: dict[str, Any],
        *,
        current: bool = False,
    ) -> EventHandle | None:
        """Start the event of run *key*, under the event (or session) of run *parent_key*.

        Args:
            key: the framework's id of the run.
            parent_key: the framework's id of its parent run, or None.
            event_type: ``"model"``, ``"tool"`` or ``"chain"``.
            fields: the event's fields known at the start (``event_name``,
                ``inputs``, ``metadata``; for a model ``model``, ``messages``,
                ``hyperparameters``, ...).
            current: make the event the current one (and its session the
                current session) in the context where the run started, until
                it ends, so that what the run's own code traces (a
                ``@trace_tool`` function, a wrapped client) hangs under it.
                Only for runs that start and end in the same context.

        Returns:
            The live handle, or None when tracing is off.
        """
        client = recorder()
        if not client.recording:
            return None
        found = self.parent_of(parent_key)
        spec = None if event_type == "model" else STEP_SPECS[event_type]
        if found is None:  # the event or session current here, as for any traced call
            handle = start(client, spec, (), fields)
        else:
            if isinstance(found, Session):
                event_token = CURRENT_EVENT.set(None)
                session_token = CURRENT_SESSION.set(found)
            else:
                event_token = CURRENT_EVENT.set(found)
                session_token = CURRENT_SESSION.set(found._session)
            try:
                handle = start(client, spec, (), fields)
            finally:
                CURRENT_SESSION.reset(session_token)
                CURRENT_EVENT.reset(event_token)
        if handle is not None:
            with self._lock:
                self._open[key] = handle
                if current:
                    self._made_current[key] = (CURRENT_EVENT.get(), CURRENT_SESSION.get())
            if current:
                CURRENT_EVENT.set(handle)
                CURRENT_SESSION.set(handle._session)
        return handle

    def get(self, key: Hashable) -> EventHandle | None:
        """The live handle of run *key*, if it is open."""
        with self._lock:
            found = self._open.get(key)
        return found if isinstance(found, EventHandle) else None

    def close(
        self, key: Hashable, result: Any = _UNSET, error: BaseException | None = None
    ) -> EventHandle | None:
        """End the event of run *key* with *result* or *error*; None if it was not open."""
        with self._lock:
            found = self._open.get(key)
            if not isinstance(found, EventHandle):
                return None
            del self._open[key]
            before = self._made_current.pop(key, None)
        # Ended where it started (the usual case): what was current comes back.
        # Elsewhere, that context is not touched.
        if before is not None and CURRENT_EVENT.get() is found:
            CURRENT_EVENT.set(before[0])
            CURRENT_SESSION.set(before[1])
        end(found, result, error)
        return found
