"""The context variables that carry the current event and session.

Each thread and each asyncio task sees its own values; a task inherits its
creator's values when it is created, a new thread starts empty (carry them over
with :func:`contextvars.copy_context`). Setters return a token that must be
reset in a ``finally`` block so that an exception cannot leak context.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from honeyhive_trace.capture._handle import EventHandle
    from honeyhive_trace.capture._snapshot import Session

__all__ = ["CURRENT_EVENT", "CURRENT_SESSION"]

CURRENT_EVENT: ContextVar[EventHandle | None] = ContextVar(
    "honeyhive_trace.current_event", default=None
)
CURRENT_SESSION: ContextVar[Session | None] = ContextVar(
    "honeyhive_trace.current_session", default=None
)
