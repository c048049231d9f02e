"""The caller's side of background mode: a queue bounded by events and by bytes.

:meth:`Intake.submit` runs on the thread that ends an event and only appends
to a deque: to the queue while it holds fewer than ``max_queue_size`` events,
else to an overflow the worker writes to the spool; beyond
:data:`~.worker.OVERFLOW_BATCHES` spool batches an event is dropped, counted
as ``dropped_queue_full`` and logged once.

``max_queue_bytes`` bounds the memory the waiting events hold. While fewer
than ``batch_size`` events wait (the worker, woken at a slice, takes them
soon) nothing is measured, so the traced call pays nothing for it; beyond,
each new event's size is estimated (:func:`~.sizing.estimate`, strings counted, nothing
encoded). An event that would take the queue over the bound goes to the
overflow, which the worker writes to the spool, as when the queue holds
``max_queue_size`` events; the overflow has a bound of the same size, and only
an event that would take it over as well is dropped and counted
(``dropped_queue_full``), with one log line.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard
from honeyhive_trace.capture import EventHandle, Submitted
from honeyhive_trace.delivery.sizing import OVERHEAD, estimate

__all__ = ["Intake", "Measured"]


class Measured:
    """A waiting item whose size was estimated (counted in :attr:`Intake.bytes`).

    A session start or an update; an ended event only when other exporters'
    intakes hold its handle too. Otherwise the estimate is kept in the handle:
    one object fewer per waiting event for the garbage collector to walk.
    """

    __slots__ = ("item", "size")

    def __init__(self, item: Submitted, size: int) -> None:
        self.item = item
        self.size = size


class Intake:
    """The queue and overflow the caller's thread appends to."""

    def __init__(
        self,
        config: Config,
        counters: Counters,
        guard: ErrorGuard,
        wake: threading.Event,
        *,
        after_shutdown: Callable[[Submitted], None],
        max_overflow: int,
        wake_at: int,
    ) -> None:
        #: Events waiting when the worker is woken (it prepares them as one slice).
        self._wake_at = wake_at
        #: Events that may wait unmeasured: the worker takes them as one batch.
        self._unmeasured = min(config.batch_size, config.max_queue_size)
        self._max_queue = config.max_queue_size
        self._max_bytes = config.max_queue_bytes
        self._max_overflow = max_overflow
        #: Whether each ended handle is handed to other exporters' intakes too:
        #: then its estimate cannot be kept in the handle, each intake has its own.
        self._shared = len(config.active_exporters) > 1
        self._counters = counters
        self._guard = guard
        self._after_shutdown = after_shutdown
        self.reset(wake)

    def reset(self, wake: threading.Event) -> None:
        """Start empty (also in a forked child: the parent sends what it had queued).

        The object stays the same, so the client's bound ``submit`` stays valid.
        """
        self.queue: deque[Submitted | Measured] = deque()
        self.overflow: deque[Submitted | Measured] = deque()
        #: Estimated bytes of the measured events in the queue (see the module's doc).
        self.bytes = 0
        #: The same for the overflow (bounded by max_queue_bytes too).
        self.overflow_bytes = 0
        #: Set by shutdown(): new events go to the overflow (spooled by the worker).
        self.stopping = False
        #: Set once shutdown() is done: new events are spooled by the caller.
        self.closed = False
        self._wake = wake

    def submit(self, ended: Submitted) -> None:
        """Queue an ended event. Never blocks, encodes or touches the disk."""
        queue = self.queue
        waiting = len(queue)
        if waiting < self._unmeasured and not self.stopping:
            queue.append(ended)
            if waiting + 1 >= self._wake_at and not self._wake.is_set():
                self._wake.set()
            return
        if self.closed:
            self._after_shutdown(ended)
            return
        try:
            size = estimate(ended)
        except Exception:  # a value's lookup failed: count it as small, never raise
            size = OVERHEAD
        if (
            waiting < self._max_queue
            and not self.stopping
            and self.bytes + size <= self._max_bytes
        ):
            self.bytes += size
            queue.append(self._measured(ended, size))
        elif len(self.overflow) >= self._max_overflow:
            self._drop(
                "the queue and its overflow are full; events are dropped "
                "(raise max_queue_size, or check that the server answers)"
            )
            return
        elif self.overflow_bytes + size > self._max_bytes:
            self._drop(
                "the events waiting hold max_queue_bytes twice over (queue and overflow); "
                "events are dropped (raise max_queue_bytes, or check that the server answers)"
            )
            return
        else:  # written to the spool by the worker
            self.overflow_bytes += size
            self.overflow.append(self._measured(ended, size))
        wake = self._wake
        if not wake.is_set():  # the worker is busy with a backlog: usually set already
            wake.set()

    def _measured(self, ended: Submitted, size: int) -> Submitted | Measured:
        if type(ended) is EventHandle and not self._shared:
            ended._size = size
            return ended
        return Measured(ended, size)

    def _drop(self, site: str) -> None:
        self._counters.add("dropped_queue_full")
        self._guard.report(
            site,
            counter=None,  # counted as dropped_queue_full above
            raise_in_strict=False,
            level=logging.WARNING,
        )

    def take(self, source: deque[Submitted | Measured], limit: int) -> list[Submitted]:
        """Take up to *limit* events from the left of *source* (the worker, under its lock)."""
        raw: list[Submitted] = []
        freed = 0
        while source and len(raw) < limit:
            item = source.popleft()
            if type(item) is EventHandle:
                freed += item._size
            elif type(item) is Measured:
                freed += item.size
                item = item.item
            raw.append(item)  # type: ignore[arg-type]
        if freed:
            if source is self.overflow:
                self.overflow_bytes -= freed
            else:
                self.bytes -= freed
        # Exact again when empty: a caller's += racing another's may have been lost.
        if not self.queue:
            self.bytes = 0
        if not self.overflow:
            self.overflow_bytes = 0
        return raw

    def drain(self) -> list[Submitted]:
        """Take everything waiting, queue first."""
        raw = self.take(self.queue, len(self.queue) + 1)
        raw += self.take(self.overflow, len(self.overflow) + 1)
        return raw

    def waiting(self) -> int:
        """Events in the queue and the overflow."""
        return len(self.queue) + len(self.overflow)
