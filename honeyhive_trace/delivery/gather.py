"""The batch the background worker gathers, slice by slice, and when it must go."""

from __future__ import annotations

import time

from honeyhive_trace.capture import Call
from honeyhive_trace.delivery.protocol import Prepared

__all__ = ["Batch", "Gathering"]

#: Calls taken from the queue, and what they became (fewer when some were dropped).
Batch = tuple[list[Call], list[Prepared]]


class Gathering:
    """A batch being gathered; it goes when full, at ``flush_interval``, or when asked."""

    def __init__(self, batch_size: int, interval: float) -> None:
        self.calls: list[Call] = []
        self.events: list[Prepared] = []
        self._batch_size = batch_size
        self._interval = interval
        #: When what waits (queued or gathered) must go at the latest.
        self.due_at = time.monotonic() + interval
        #: Set by flush(): what waits goes now.
        self.asked = False

    def room(self) -> int:
        """How many more calls the batch takes."""
        return self._batch_size - len(self.calls)

    def add(self, calls: list[Call], events: list[Prepared]) -> bool:
        """Add a prepared slice; True when the batch is full."""
        self.calls += calls
        self.events += events
        return len(self.calls) >= self._batch_size

    def take(self) -> Batch:
        """The batch so far; gathering starts again, empty."""
        batch = (self.calls, self.events)
        self.calls, self.events = [], []
        return batch

    def due(self, stopping: bool) -> bool:
        """Whether what waits must go now; if so, the next interval starts."""
        now = time.monotonic()
        if not (self.asked or stopping or now >= self.due_at):
            return False
        self.asked = False
        self.due_at = now + self._interval
        return True
