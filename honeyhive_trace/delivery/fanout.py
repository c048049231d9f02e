"""Several exporters at once: one dispatcher each, every call handed to all.

With ``exporters=("honeyhive", "otlp")`` each exporter has its own pipeline
(its own encoding), worker, retries and spool, so that one destination being
down never holds up, or loses, what goes to the other. :class:`FanOut` is the
dispatcher the client sees: it hands each ended call to every exporter's
dispatcher and waits for all of them within one deadline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from honeyhive_trace.capture import Submitted
from honeyhive_trace.delivery.dispatcher import Dispatcher

__all__ = ["FanOut"]


class FanOut:
    """Hands every call to each of *dispatchers*; the first is the primary one."""

    def __init__(self, dispatchers: Sequence[Any]) -> None:
        self.dispatchers: tuple[Dispatcher, ...] = tuple(dispatchers)

    def submit(self, ended: Submitted) -> None:
        """Give *ended* to every exporter (each only appends to its own queue)."""
        for dispatcher in self.dispatchers:
            dispatcher.submit(ended)

    def _each(self, timeout: float | None, step: Any) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        done = True
        for dispatcher in self.dispatchers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done = bool(step(dispatcher, left)) and done
        return done

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        """Flush every exporter within one *timeout*; True when all settled."""
        return self._each(timeout, lambda d, left: d.flush(left, include_spool))

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        """Flush every exporter, spooling what is left, within one *timeout*."""
        return self._each(timeout, lambda d, left: d.flush_or_spool(left))

    def shutdown(self, timeout: float | None = None) -> bool:
        """Shut every exporter down within one *timeout*."""
        return self._each(timeout, lambda d, left: d.shutdown(left))

    def pending(self) -> int:
        """The primary exporter's calls not settled yet (the others count their own)."""
        return self.dispatchers[0].pending()

    def after_fork(self) -> None:
        """In a forked child: each exporter's own connections, locks and threads."""
        for dispatcher in self.dispatchers:
            dispatcher.after_fork()
