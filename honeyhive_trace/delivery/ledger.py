"""Every outcome of delivery, counted once: sent, retried, rejected, spooled or dropped.

The worker and the inline path hand each :class:`~.protocol.Delivery` report
to :meth:`Ledger.settle`, which counts it, writes refusals to the dead-letter
file and spools what could not be sent, logging why.
"""

from __future__ import annotations

from honeyhive_trace._errors import Counters, logger
from honeyhive_trace.delivery.protocol import Delivery, Prepared
from honeyhive_trace.delivery.spool import Spool

__all__ = ["Ledger"]


class Ledger:
    """Counts delivery outcomes and keeps what was not delivered."""

    def __init__(self, counters: Counters, spool: Spool) -> None:
        self.counters = counters
        self.spool = spool
        #: Set when events were spooled; replaying may be worth it after the next success.
        self.spool_dirty = True

    def settle(self, report: Delivery, reason: str) -> None:
        """Count a delivery report; spool what was not sent, dead-letter refusals."""
        count = self.counters.add
        count("sent", len(report.acked))
        count("retried", report.retries)
        count("truncated", report.truncated)
        if report.rejected:
            count("rejected", len(report.rejected))
            try:
                self.spool.dead_letter(report.rejected)
            except OSError as exc:
                logger.error("honeyhive_trace: could not write the dead-letter file: %s", exc)
        if report.unsent:
            self.spool_events(report.unsent, reason)

    def spool_events(self, events: list[Prepared], reason: str) -> None:
        """Write *events* to the spool; count what is spooled or dropped, and why."""
        if not events:
            return
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
