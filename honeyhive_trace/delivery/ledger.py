"""Every outcome of delivery, counted once: sent, retried, rejected, spooled or dropped.

The worker and the inline path hand each :class:`~.protocol.Delivery` report
to :meth:`Ledger.settle`, which counts it, writes refusals to the dead-letter
file and spools what could not be sent, logging why.

The ledger also remembers which items it spooled (:meth:`Ledger.hold_back`): a
live item that needs one of them first (an event of a session whose start is
in the spool, an update of an event that is) is spooled behind it instead of
being sent ahead of it, so ordering holds across outages and replays.
"""

from __future__ import annotations

import threading

from honeyhive_trace._errors import Counters, logger
from honeyhive_trace.delivery.protocol import Delivery, Prepared
from honeyhive_trace.delivery.spool import Spool

__all__ = ["HELD_MAX", "Ledger"]

#: Most ids of spooled items remembered (about 110 bytes each). Beyond, the
#: ledger stops telling them apart and holds back every item that needs
#: anything, until the spool is empty: ordering holds, memory stays bounded.
HELD_MAX = 200_000


class Ledger:
    """Counts delivery outcomes and keeps what was not delivered."""

    def __init__(self, counters: Counters, spool: Spool) -> None:
        self.counters = counters
        self.spool = spool
        #: Set when events were spooled; replaying may be worth it after the next success.
        self.spool_dirty = True
        #: Ids of items this process spooled and has not replayed yet.
        self._held: set[str] = set()
        #: Set when more ids were spooled than HELD_MAX: hold back all that need one.
        self._hold_all = False
        self._held_lock = threading.Lock()

    def after_fork(self) -> None:
        """In a forked child: a lock no other thread holds."""
        self._held_lock = threading.Lock()

    def hold_back(self, events: list[Prepared]) -> tuple[list[Prepared], list[Prepared]]:
        """Split *events* into those that may be sent now and those that must wait.

        An item waits when what it needs (:attr:`~.protocol.Prepared.after`)
        is in the spool; it then counts as held itself, so what needs it waits too.

        Returns:
            (sendable, held back), each in the order given.
        """
        with self._held_lock:
            held, hold_all = self._held, self._hold_all
            if not held and not hold_all:
                return events, []
            sendable: list[Prepared] = []
            waiting: list[Prepared] = []
            for event in events:
                if event.after is not None and (hold_all or event.after in held):
                    waiting.append(event)
                    if not hold_all:
                        held.add(event.event_id)
                else:
                    sendable.append(event)
            return sendable, waiting

    def release(self, ids: list[str], everything: bool = False) -> None:
        """Forget held ids that a replay delivered (or all of them, the spool being empty)."""
        with self._held_lock:
            if everything:
                self._held.clear()
                self._hold_all = False
            elif not self._hold_all:
                self._held.difference_update(ids)

    def settle(self, report: Delivery, reason: str) -> None:
        """Count a delivery report; spool what was not sent, dead-letter refusals."""
        count = self.counters.add
        count("sent", len(report.acked))
        count("retried", report.retries)
        count("truncated", report.truncated)
        if report.rejected:
            count("rejected", len(report.rejected))
            try:
                count("dead_letter_full", self.spool.dead_letter(report.rejected))
            except OSError as exc:
                logger.error("honeyhive_trace: could not write the dead-letter file: %s", exc)
        if report.unsent:
            self.spool_events(report.unsent, reason)

    def spool_events(self, events: list[Prepared], reason: str) -> None:
        """Write *events* to the spool; count what is spooled or dropped, and why.

        Their ids are held (see :meth:`hold_back`) until a replay sends them.
        """
        if not events:
            return
        with self._held_lock:
            if not self._hold_all:
                self._held.update(e.event_id for e in events)
                if len(self._held) > HELD_MAX:
                    self._held.clear()
                    self._hold_all = True
        try:
            spooled, dropped = self.spool.write(events)
        except OSError as exc:
            logger.error(
                "honeyhive_trace: could not write %d event(s) to the spool %s: %s",
                len(events),
                self.spool.directory,
                exc,
            )
            self.counters.add("dropped_spool_error", len(events))
            return
        if spooled:
            logger.warning(
                "honeyhive_trace: %d event(s) spooled to %s (%s)",
                spooled,
                self.spool.directory,
                reason,
            )
            self.spool_dirty = True
        self.counters.add("spooled", spooled)
        self.counters.add("dropped_spool_full", dropped)
