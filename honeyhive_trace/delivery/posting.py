"""The sender thread of background mode: it posts each batch the worker hands over.

The hand-off holds one batch, so the worker is never more than one batch ahead.
The batch being posted is ``inflight`` until it is settled; both are guarded by
the dispatcher's lock, under which :meth:`BackgroundDispatcher._take_over
<.worker.BackgroundDispatcher>` may spool them instead (and settle them itself).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace.delivery.gather import Batch
from honeyhive_trace.delivery.sender import REPLAY_BUDGET, Sender

__all__ = ["Posting"]

#: Spool files replayed between two live batches while both are waiting.
REPLAY_FILES_PER_BATCH = 1


class Posting:
    """The hand-off, the batch in flight, and the loop of the sender thread."""

    def __init__(
        self,
        sender: Sender,
        guard: ErrorGuard,
        lock: threading.Lock,
        settle: Callable[[int], None],
        more_to_replay: Callable[[], None],
    ) -> None:
        self._sender = sender
        self._guard = guard
        self._lock = lock
        self._settle = settle
        self._more_to_replay = more_to_replay
        #: Worker -> sender: a prepared batch, or None to stop.
        self.handoff: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        #: The batch being posted (under the lock).
        self.inflight: Batch | None = None

    def run(self) -> None:
        """The sender thread: post what is handed over until told to stop."""
        while True:
            batch = self.handoff.get()
            if batch is None:
                return
            try:
                self._send(batch)
            except BaseException as exc:  # keep the thread alive whatever happens
                self._guard.report("delivery failed", exc, raise_in_strict=False)

    def _send(self, batch: Batch) -> None:
        count, outcomes, events = batch
        sender = self._sender
        with self._lock:
            self.inflight = batch
        mine = True  # False once _take_over() spooled (and settled) the batch
        try:
            # While the server is unreachable (the last batch ran out of its
            # budget), a batch gets one try, then the spool holds it: an outage
            # fills the spool, not memory, and batches keep their order.
            report = sender.deliver(events, sender.config.retry_budget, once=not sender.reachable)
            with self._lock:
                mine = self.inflight is not None
                self.inflight = None
            if not mine:
                return
            if sender.settle(outcomes, report) and sender.ledger.spool_dirty:
                # The server answers again: replay a file between live batches
                # (the worker goes on with the rest once idle).
                if sender.replay_spool(REPLAY_BUDGET, max_files=REPLAY_FILES_PER_BATCH):
                    self._more_to_replay()
        except Exception as exc:  # a bug must not lose the batch: spool it
            self._guard.report("delivery failed", exc, raise_in_strict=False)
            with self._lock:
                held, self.inflight = self.inflight, None
            mine = held is not None
            if held is not None:
                sender.ledger.spool_events(held[2], "internal_error")
        finally:
            if mine:
                self._settle(count)
