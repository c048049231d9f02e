"""What every dispatcher offers the client: background worker, inline, fan-out, memory.

Importing this module costs nothing: it imports no HTTP stack.
"""

from __future__ import annotations

from typing import Protocol

from honeyhive_trace.capture import Submitted

__all__ = ["Dispatcher"]


class Dispatcher(Protocol):
    """Where a client's ended calls go: background worker, inline, or memory (tests)."""

    def submit(self, ended: Submitted) -> None:
        """Take one ended call, session start or update."""

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        """Wait for what was submitted before."""

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        """Flush within *timeout*, then spool what is left, and go on."""

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush, then stop."""

    def pending(self) -> int:
        """Calls not settled yet."""

    def after_fork(self) -> None:
        """In a forked child: own connections, locks and threads."""
