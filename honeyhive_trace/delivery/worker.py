"""Background mode: the caller appends; a worker prepares, a sender posts.

The caller's thread only appends to a deque (:mod:`~.intake`, which bounds it).
The worker runs the :class:`~.pipeline.Pipeline` on it a slice of
:data:`PREPARE_SLICE` events at a time, as they arrive, into a batch
(:mod:`~.gather`) that goes to the sender thread when full, at
``flush_interval``, or on ``flush()``; the sender posts it (:class:`~.sender.Sender`),
settles it, and replays the spool when the server answers. Between slices the
worker really waits, so that it holds the GIL no longer than a slice takes
(``benchmarks/loop_lag.py``). ``flush()`` needs no marker in the queue: the
worker counts the calls it took and settled.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

from honeyhive_trace._errors import Counters, ErrorGuard, logger
from honeyhive_trace.capture import Call, Submitted, named
from honeyhive_trace.delivery.gather import Gathering
from honeyhive_trace.delivery.intake import Intake, Measured
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.delivery.posting import Posting
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.delivery.sender import REPLAY_BUDGET, Sender

__all__ = ["BackgroundDispatcher"]

#: Events prepared in one go (~0.5 ms of realistic ones); the intake wakes the worker at this.
PREPARE_SLICE = 25
#: How long the worker steps aside after a slice of a backlog while events keep arriving.
YIELD_SECONDS = 0.0002
#: Overflowing events are spooled this many at a time (one fsync).
SPILL_BATCH = 1000
#: The overflow holds at most this many spool batches (or queues, if larger)
#: while the worker writes them out; beyond it events are dropped and counted.
OVERFLOW_BATCHES = 10


class BackgroundDispatcher:
    """A bounded queue drained in batches by one worker thread."""

    def __init__(
        self, pipeline: Pipeline, sender: Sender, guard: ErrorGuard, counters: Counters
    ) -> None:
        self._pipeline = pipeline
        self._sender = sender
        self._guard = guard
        self._counters = counters
        config = sender.config
        self._batch_size = config.batch_size
        self._interval = config.flush_interval
        #: Events prepared in one go; the intake wakes the worker at this many.
        self._slice = min(PREPARE_SLICE, config.batch_size, config.max_queue_size)
        self._wake = threading.Event()
        self._intake = Intake(
            config,
            counters,
            guard,
            self._wake,
            after_shutdown=self._after_shutdown,
            max_overflow=OVERFLOW_BATCHES * max(config.max_queue_size, SPILL_BATCH),
            wake_at=self._slice,
        )
        #: The caller's entry point: the intake's, called directly (one bound method).
        self.submit = self._intake.submit
        self._init_state()
        self._start()

    def _init_state(self) -> None:
        self._wake = threading.Event()
        self._intake.reset(self._wake)
        self._queue = self._intake.queue
        self._overflow = self._intake.overflow
        # Guards the worker's position (taken/settled) and the batch in flight;
        # flush() and shutdown() read them under it. The caller never takes it.
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._taken = 0
        self._settled = 0
        self._gathering = Gathering(self._batch_size, self._interval)
        #: True while the worker prepares a slice or hands a batch over.
        self._preparing = False
        #: The hand-off to the sender thread, and the batch it posts.
        self._posting = Posting(
            self._sender, self._guard, self._lock, self._settle, self._wake.set
        )
        #: Set by flush(include_spool=True): replay at the next turn whatever happened last.
        self._replay_requested = False
        self._thread: threading.Thread | None = None
        self._sender_thread: threading.Thread | None = None
        self._pid = os.getpid()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="honeyhive-trace-worker", daemon=True
        )
        self._sender_thread = threading.Thread(
            target=self._posting.run, name="honeyhive-trace-sender", daemon=True
        )
        self._sender_thread.start()
        self._thread.start()

    def _after_shutdown(self, ended: Submitted) -> None:
        # An event that began before shutdown() and ended after it (a call still
        # running at interpreter exit): no worker is left to take it, so it is
        # spooled here, on the ending thread. The only disk write a caller makes.
        try:
            calls = [named(ended)]
            self._sender.ledger.spool_events(self._pipeline.prepare(calls), "after shutdown")
        except Exception as exc:
            self._counters.add("dropped_internal_error")
            self._guard.report("could not spool an event that ended after shutdown", exc)

    # -- flush and shutdown ------------------------------------------------------

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        """Wait until everything queued before this call is delivered or spooled.

        Args:
            timeout: seconds to wait at most; None waits as long as it takes.
            include_spool: also wait until the spool has been replayed (True
                only when it is empty).

        Returns:
            True when it was all settled in time.
        """
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            return not self.pending() and not (include_spool and self._spool_pending())
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._taken + len(self._queue) + len(self._overflow)
            self._gathering.asked = True
            self._wake.set()
            while self._settled < target:
                if not self._progress.wait(_left(deadline)) and _left(deadline) == 0:
                    return False
        if not include_spool:
            return True
        while self._spool_pending():
            with self._lock:
                self._sender.ledger.spool_dirty = True
                # Replay even if the last delivery failed: the caller asked.
                self._replay_requested = True
                self._wake.set()
                self._progress.wait(min(0.05, _left(deadline) or 0.05))
            if _left(deadline) == 0:
                return not self._spool_pending()
        return True

    def _spool_pending(self) -> bool:
        return self._sender.ledger.spool.holds_events()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush within *timeout*, then spool whatever is still pending and stop."""
        self._intake.stopping = True
        delivered = self.flush(timeout)
        if not delivered:
            self._take_over("shutdown")
        self._wake.set()
        thread = self._thread
        if delivered and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._intake.closed = True
        # Whatever reached the queues while the worker was stopping.
        with self._lock:
            late = self._intake.drain()
        for ended in late:
            self._after_shutdown(ended)
        self._sender.transport.close()
        return delivered

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        """Flush within *timeout*, then spool what is still pending; keep running.

        Afterwards nothing submitted before is only in memory (what was being
        sent may reach the server too: it keeps one copy of an event id).
        Returns True when everything was delivered in time.
        """
        if self.flush(timeout):
            return True
        self._take_over("flush deadline")
        self._sender.transport.resume()
        self._wake.set()
        return False

    def _take_over(self, reason: str) -> None:
        """Spool everything not delivered yet: in flight, handed over, being prepared, queued."""
        self._sender.transport.abort()
        left: list[Prepared] = []
        calls: list[Call] = []
        handed = 0
        stop_sender = False
        deadline = time.monotonic() + 1.0
        with self._lock:
            posting = self._posting
            if posting.inflight is not None:  # settled here; the sender lets go of it
                handed, _, left = posting.inflight
                posting.inflight = None
            while True:
                while True:  # a prepared batch the sender has not taken yet
                    try:
                        waiting = posting.handoff.get_nowait()
                    except queue.Empty:
                        break
                    if waiting is None:
                        stop_sender = True  # the worker's stop signal: passed on below
                    else:
                        handed += waiting[0]
                        left += waiting[2]
                # A slice the worker is preparing, or a batch it is handing over,
                # reaches the gathered batch or the hand-off in milliseconds.
                if not self._preparing or _left(deadline) == 0:
                    break
                self._progress.wait(_left(deadline))
            gathered, _, gathered_events = self._gathering.take()
            left += gathered_events
            handed += gathered
            calls += [named(raw) for raw in self._intake.drain()]
        left += self._pipeline.prepare(calls)
        if left:
            logger.warning(
                "honeyhive_trace: %d event(s) not delivered before the %s; spooling them",
                len(left),
                reason,
            )
            self._sender.ledger.spool_events(left, reason)
        self._settle(handed)
        if stop_sender:
            posting.handoff.put(None)

    def pending(self) -> int:
        """Events queued, being prepared or being sent right now."""
        with self._lock:
            return len(self._queue) + len(self._overflow) + self._taken - self._settled

    # -- the worker thread -------------------------------------------------------

    def _run(self) -> None:
        self._guarded(lambda: self._replay(max_files=8))
        while True:
            if len(self._queue) < self._slice:  # else a whole slice waits already
                self._wake.wait(max(0.0, self._gathering.due_at - time.monotonic()))
            self._wake.clear()
            self._guarded(self._turn)
            stopping = self._intake.stopping
            if stopping and not (self._queue or self._overflow or self._gathering.count):
                self._posting.handoff.put(None)  # the sender stops after what it holds
                return

    def _guarded(self, step: Callable[[], object]) -> None:
        try:
            step()
        except BaseException as exc:  # keep the threads alive whatever happens
            self._guard.report("worker failed", exc, raise_in_strict=False)

    def _turn(self) -> None:
        """One slice, or everything that waits when it is due; then back to waiting."""
        while self._overflow:
            self._spill()
        due = self._gathering.due(self._intake.stopping)
        while len(self._queue) >= self._slice or (due and self._queue):
            waiting = self._intake.waiting()
            waiting -= self._prepare_slice()
            while self._overflow:
                self._spill()
            if not due and len(self._queue) < self._slice:
                return  # caught up: back to the wait
            self._step_aside(waiting)
        if due and self._gathering.count:
            self._hand_off()
        with self._lock:
            busy = self._posting.inflight is not None or not self._posting.handoff.empty()
        if busy:
            # The sender is posting: a replay now would only wait for the same
            # connection and run out of its budget. The sender replays after
            # its batch when the server answered.
            return
        requested, self._replay_requested = self._replay_requested, False
        if self._sender.replay_due(requested):
            self._replay(max_files=8)  # a few files per turn, live events between

    def _replay(self, max_files: int) -> None:
        if self._sender.replay_spool(REPLAY_BUDGET, max_files=max_files):
            self._wake.set()  # more to replay: the loop goes on with it
        with self._lock:
            self._progress.notify_all()

    def _take(self, source: deque[Submitted | Measured], limit: int) -> list[Call]:
        with self._lock:
            raw = self._intake.take(source, limit)
            self._taken += len(raw)
        return [named(r) for r in raw]

    def _settle(self, n: int) -> None:
        with self._lock:
            self._settled += n
            self._progress.notify_all()

    def _spill(self) -> None:
        calls = self._take(self._overflow, SPILL_BATCH)
        try:
            events: list[Prepared] = []
            for start in range(0, len(calls), self._slice):
                waiting = self._intake.waiting()
                events += self._pipeline.prepare(calls[start : start + self._slice])
                self._step_aside(waiting)
            self._sender.ledger.spool_events(events, "queue_full")
        finally:
            self._settle(len(calls))

    def _step_aside(self, waiting: int) -> None:
        """After a slice: if events arrived meanwhile, the application runs, and a
        thread that computes keeps the GIL for the 5 ms switch interval; a real
        wait lets the application in after each slice."""
        if self._intake.waiting() > waiting:
            time.sleep(YIELD_SECONDS)

    def _prepare_slice(self) -> int:
        """Prepare up to a slice of queued events into the batch being gathered;
        returns how many were taken."""
        self._preparing = True  # before the take: _take_over() waits for these calls
        gathering = self._gathering
        calls = self._take(self._queue, min(self._slice, gathering.room()))
        try:
            events = self._pipeline.prepare(calls)
        except BaseException as exc:  # prepare() counts per-event failures; this is a bug
            self._counters.add("dropped_internal_error", len(calls))
            self._guard.report("could not prepare a batch", exc, raise_in_strict=False)
            self._settle(len(calls))
            self._prepared()
            return len(calls)
        with self._lock:
            full = gathering.add(calls, events)
        if full:
            self._hand_off()
        self._prepared()
        return len(calls)

    def _hand_off(self) -> None:
        """Give the gathered batch to the sender (waits while it holds one already)."""
        self._preparing = True
        with self._lock:
            batch = self._gathering.take()
        self._posting.handoff.put(batch)
        self._prepared()

    def _prepared(self) -> None:
        with self._lock:
            self._preparing = False
            self._progress.notify_all()

    def after_fork(self) -> None:
        """In a forked child: an empty queue and a fresh thread and locks.

        The parent still owns (and will send) what was queued before the fork.
        """
        self._sender.after_fork()
        self._init_state()
        self._start()


def _left(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())
