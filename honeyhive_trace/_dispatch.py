"""When events are sent: a background worker that batches, or inline.

Both dispatchers take ended :class:`~honeyhive_trace._events.EventHandle`
objects from the client, ask the client to turn them into JSON-ready events
(records, processors, serialisation), hand those to the transport, and settle
the outcome: acknowledged, rejected (dead letter), or spooled. Nothing leaves
a dispatcher without being counted.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from honeyhive_trace._client import Client
    from honeyhive_trace._events import EventHandle
    from honeyhive_trace._transport import Delivery, Prepared

__all__ = ["BackgroundDispatcher", "InlineDispatcher"]

logger = logging.getLogger("honeyhive_trace")

#: How often an idle worker looks for spool files (e.g. left by other processes).
IDLE_REPLAY_INTERVAL = 30.0
#: Seconds one replay may spend on the server: short, so that a server still
#: down does not hold up new events; what is not sent stays in the spool.
REPLAY_BUDGET = 1.0
#: Spool files replayed between two live batches while both are waiting.
REPLAY_FILES_PER_BATCH = 1
#: Events the worker prepares between two points where it lets other threads run.
PREPARE_SLICE = 25
#: Events that overflow a full queue are spooled this many at a time (one fsync).
SPILL_BATCH = 1000


class _Outgoing(NamedTuple):
    """A prepared batch on its way from the worker to the sender."""

    batch: list[EventHandle]
    events: list[Prepared]
    markers: list[_Marker]


class _Marker:
    """Put on the queue by flush(); set once everything before it is settled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _Dispatcher:
    """What both dispatchers share: settling deliveries and replaying the spool."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._config = client.config
        self._replay_lock = threading.Lock()
        self._last_replay = 0.0
        #: Whether the last delivery reached the server (so replaying may work).
        self._reachable = True

    def after_fork(self) -> None:
        """In a forked child: locks that another thread may have held are new."""
        self._replay_lock = threading.Lock()

    def _deliver(self, events: list[Prepared], budget: float) -> Delivery:
        return self._client.transport.deliver(events, time.monotonic() + budget)

    def _settle(self, handles: list[EventHandle], report: Delivery) -> bool:
        """Record the server's ids on the handles and count/spool the outcome.

        Returns:
            Whether the server answered (nothing left unsent), so that
            replaying the spool may work now.
        """
        for handle in handles:
            handle.server_event_id = report.acked.get(handle.event_id)
        self._client.settle(report, "unreachable")
        self._reachable = not report.unsent
        return self._reachable

    def replay_spool(self, budget: float, max_files: int | None = None) -> bool:
        """Send what the spool holds; put back what still cannot be sent.

        Args:
            budget: seconds each file may spend being retried.
            max_files: replay at most this many files now, so that a large spool
                does not hold up live events; None for all.

        Returns:
            True when files were left for a later call.
        """
        spool = self._client.spool
        if not self._replay_lock.acquire(blocking=False):
            return False
        more = False
        try:
            self._last_replay = time.monotonic()
            self._client.spool_dirty = False
            for done, (path, events, unreadable) in enumerate(spool.claim()):
                if unreadable:
                    self._client.count("replay_unreadable", unreadable)
                if not events:
                    spool.settle(path, [])
                    continue
                report = self._deliver(events, budget)
                self._client.count("replayed", len(report.acked))
                self._client.count("replay_rejected", len(report.rejected))
                spool.dead_letter(report.rejected)
                spool.settle(path, report.unsent)
                if report.unsent:
                    self._client.spool_dirty = True
                    self._reachable = False
                    break  # still unreachable: try again later
                if max_files is not None and done + 1 >= max_files:
                    more = self._client.spool_dirty = bool(spool.pending_files())
                    break
        except OSError as exc:
            logger.error("honeyhive_trace: could not replay the spool: %s", exc)
        finally:
            self._replay_lock.release()
        return more


class InlineDispatcher(_Dispatcher):
    """Posts each event in the caller's thread when it ends."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._replay_in_background()

    def submit(self, handle: EventHandle) -> None:
        """Deliver one ended event now, within the short inline retry budget."""
        try:
            events = self._client.prepare([handle])
            if not events:
                return  # dropped by a processor (counted)
            report = self._deliver(events, self._config.inline_retry_budget)
            reachable = self._settle([handle], report)
        except Exception as exc:
            self._client.internal_error("inline delivery failed", exc)
            return
        if reachable and self._client.spool_dirty:
            self._replay_in_background()

    def _replay_in_background(self) -> None:
        if not self._client.spool.pending_files():
            return
        threading.Thread(
            target=self.replay_spool,
            args=(REPLAY_BUDGET,),
            name="honeyhive-trace-replay",
            daemon=True,
        ).start()

    def flush(self, timeout: float | None = None) -> bool:
        """Nothing waits in inline mode: every event was settled when it ended."""
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        """Close the transport."""
        self._client.transport.close()
        return True

    def pending(self) -> int:
        """Events waiting: none in inline mode."""
        return 0


class BackgroundDispatcher(_Dispatcher):
    """A bounded queue drained in batches by a worker thread and a sender thread.

    The caller's thread only appends the ended handle to a deque. The worker
    builds records, runs processors and encodes a batch while the sender posts
    the previous one, so our CPU work overlaps the server's. When the queue is
    full, events go to an overflow buffer that is spooled 1,000 at a time.
    """

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._batch_size = self._config.batch_size
        self._max_queue = self._config.max_queue_size
        self._interval = self._config.flush_interval
        self._init_state()
        self._start()

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._overflow: list[EventHandle] = []
        self._overflow_lock = threading.Lock()
        # Batches taken off the queue and not yet settled. The lock guards the
        # hand-over between the threads and shutdown(): whoever removes a batch
        # from `_inflight` settles it, so nothing is counted twice.
        self._handoff = threading.Lock()
        self._inflight: list[list[EventHandle]] = []
        # Worker -> sender: (batch, its encoded events, flush markers after it).
        # Two deep: the worker prepares at most one batch ahead of the sender.
        self._outbox: queue.Queue[_Outgoing | None] = queue.Queue(maxsize=2)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self._pid = os.getpid()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="honeyhive-trace-worker", daemon=True
        )
        self._sender = threading.Thread(
            target=self._send_loop, name="honeyhive-trace-sender", daemon=True
        )
        self._sender.start()
        self._thread.start()

    # -- caller's thread ---------------------------------------------------------

    def submit(self, handle: EventHandle) -> None:
        """Queue an ended event; never blocks on I/O unless the queue is full."""
        queue = self._queue
        if len(queue) >= self._max_queue or self._stopping:
            self._spill(handle)
            return
        queue.append(handle)
        if len(queue) >= self._batch_size:
            self._wake.set()

    def _spill(self, handle: EventHandle) -> None:
        with self._overflow_lock:
            self._overflow.append(handle)
            if len(self._overflow) < SPILL_BATCH and not self._stopping:
                return
            spill, self._overflow = self._overflow, []
        self._spool_handles(spill, "queue_full")

    def _spool_handles(self, handles: list[EventHandle], reason: str) -> None:
        if not handles:
            return
        try:
            events = self._client.prepare(handles)
            self._client.spool_events(events, reason)
        except Exception as exc:
            self._client.internal_error("could not spool events", exc)
        self._wake.set()  # the worker replays them as soon as the server answers

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued before this call is delivered or spooled."""
        if self._pid != os.getpid():
            return True
        marker = _Marker()
        self._queue.append(marker)
        self._wake.set()
        done = marker.done.wait(timeout)
        with self._overflow_lock:
            spill, self._overflow = self._overflow, []
        self._spool_handles(spill, "queue_full")
        return done

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush within *timeout*, then spool whatever is still pending and stop."""
        self._stopping = True
        delivered = self.flush(timeout)
        if not delivered:
            self._client.transport.abort()
            with self._handoff:
                left = [handle for batch in self._inflight for handle in batch]
                self._inflight = []
                while self._queue:
                    item = self._queue.popleft()
                    if isinstance(item, _Marker):
                        item.done.set()
                    else:
                        left.append(item)
            if left:
                logger.warning(
                    "honeyhive_trace: %d event(s) not delivered before shutdown; spooling them",
                    len(left),
                )
                self._spool_handles(left, "shutdown")
        self._wake.set()
        thread = self._thread
        if delivered and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._client.transport.close()
        return delivered

    def pending(self) -> int:
        """Events queued or being sent right now (approximate while running)."""
        queued = sum(1 for item in list(self._queue) if not isinstance(item, _Marker))
        return queued + sum(len(batch) for batch in list(self._inflight))

    # -- worker thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.replay_spool(REPLAY_BUDGET, max_files=8):
                self._wake.set()  # more to replay: the loop goes on with it
        except Exception as exc:
            self._client.internal_error("spool replay failed", exc, raise_in_strict=False)
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
                if self._client.spool_dirty and self._reachable:
                    # Idle, and the server answers: work through the spool a
                    # few files per turn, coming back to live events between.
                    if self.replay_spool(REPLAY_BUDGET, max_files=8):
                        self._wake.set()
                elif time.monotonic() - self._last_replay > IDLE_REPLAY_INTERVAL:
                    self.replay_spool(REPLAY_BUDGET, max_files=8)  # other processes' files
            except Exception as exc:  # keep the worker alive whatever happens
                self._client.internal_error("worker failed", exc, raise_in_strict=False)
            if self._stopping and not self._queue:
                self._outbox.put(None)  # the sender stops after what it holds
                return

    def _drain(self) -> None:
        waiting = self._queue
        while waiting:
            markers: list[_Marker] = []
            with self._handoff:
                batch: list[EventHandle] = []
                while waiting and len(batch) < self._batch_size:
                    item = waiting.popleft()
                    if isinstance(item, _Marker):
                        markers.append(item)
                        break
                    batch.append(item)
                if batch:
                    self._inflight.append(batch)
            events: list[Prepared] = []
            if batch:
                try:
                    events = self._prepare(batch)
                except Exception as exc:  # a bug must not lose the batch: spool it
                    self._client.internal_error(
                        "could not prepare a batch", exc, raise_in_strict=False
                    )
                    if self._release(batch):
                        self._spool_handles(batch, "internal_error")
                    batch = []
            self._outbox.put(_Outgoing(batch, events, markers))

    def _prepare(self, batch: list[EventHandle]) -> list[Prepared]:
        # Preparing 200 events holds the GIL for several milliseconds. Without
        # a pause the sender, whose answer has arrived, waits for the
        # interpreter's switch interval (5 ms) before it can post the next
        # batch, and the server sits idle: yielding every few events lifted
        # delivery from ~18k to ~25k events/s (benchmarks/throughput.py).
        events: list[Prepared] = []
        for start in range(0, len(batch), PREPARE_SLICE):
            events += self._client.prepare(batch[start : start + PREPARE_SLICE])
            time.sleep(0)  # let the sender run
        return events

    # -- sender thread -----------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            outgoing = self._outbox.get()
            if outgoing is None:
                return
            try:
                if outgoing.batch:
                    self._send_batch(outgoing.batch, outgoing.events)
            except Exception as exc:  # keep the sender alive whatever happens
                self._client.internal_error("sender failed", exc, raise_in_strict=False)
            for marker in outgoing.markers:
                marker.done.set()

    def _send_batch(self, batch: list[EventHandle], events: list[Prepared]) -> None:
        budget = self._config.retry_budget
        try:
            report = self._deliver(events, budget) if events else None
        except Exception as exc:  # a bug must not lose the batch: spool it
            self._client.internal_error("delivery failed", exc, raise_in_strict=False)
            if self._release(batch):
                self._client.spool_events(events, "internal_error")
            return
        if not self._release(batch):
            return  # shutdown() took this batch over and spooled it
        if report is not None and self._settle(batch, report) and self._client.spool_dirty:
            # The server answers again: send what piled up while it did not,
            # a file at a time between live batches.
            self.replay_spool(REPLAY_BUDGET, max_files=REPLAY_FILES_PER_BATCH)

    def _release(self, batch: list[EventHandle]) -> bool:
        """Take *batch* out of `_inflight`; False if shutdown took it first."""
        with self._handoff:
            for index, held in enumerate(self._inflight):
                if held is batch:
                    del self._inflight[index]
                    return True
            return False

    def after_fork(self) -> None:
        """In a forked child: an empty queue and fresh threads and locks.

        The parent still owns (and will send) what was queued before the fork.
        """
        super().after_fork()
        self._init_state()
        self._start()
