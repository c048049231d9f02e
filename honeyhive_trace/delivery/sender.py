"""What both delivery modes share: posting, settling, and replaying the spool."""

from __future__ import annotations

import threading
import time

from honeyhive_trace._config import Config
from honeyhive_trace._errors import logger
from honeyhive_trace.capture import Call, EndedCall, Outcome
from honeyhive_trace.delivery.http import HttpTransport
from honeyhive_trace.delivery.ledger import Ledger
from honeyhive_trace.delivery.protocol import Delivery, Prepared, by_phase
from honeyhive_trace.delivery.target import Target

__all__ = ["IDLE_REPLAY_INTERVAL", "REPLAY_BUDGET", "Sender", "outcomes_of"]

#: Seconds between replay attempts while idle (picks up other processes' files).
IDLE_REPLAY_INTERVAL = 30.0
#: Seconds each spool file may spend being retried during a replay.
REPLAY_BUDGET = 1.0


def outcomes_of(calls: list[Call]) -> list[Outcome]:
    """The outcomes of the ended events among *calls*: all that settling needs of
    them, so that what the calls hold can go once they are prepared."""
    return [call.outcome for call in calls if type(call) is EndedCall]


class Sender:
    """Posts encoded events, settles the outcome, and replays the spool."""

    def __init__(
        self,
        config: Config,
        transport: HttpTransport,
        ledger: Ledger,
        target: Target | None = None,
        primary: bool = True,
    ) -> None:
        self.config = config
        self.transport = transport
        self.ledger = ledger
        #: Where the transport posts (None: HoneyHive's API, from the config).
        self.target = target
        #: Whether the server's ids are left for the handles (the first exporter's only).
        self.primary = primary
        self._replay_lock = threading.Lock()
        self.last_replay = 0.0
        #: Whether the last delivery reached the server (so replaying may work).
        self.reachable = True

    def after_fork(self) -> None:
        """In a forked child: own connections, and locks no other thread holds."""
        self._replay_lock = threading.Lock()
        self.transport.abandon_in_child()
        self.transport = HttpTransport(self.config, target=self.target)
        self.ledger.spool.after_fork()
        self.ledger.after_fork()

    def deliver(self, events: list[Prepared], budget: float, once: bool = False) -> Delivery:
        """Post live *events*, retrying for at most *budget* seconds (*once*: not at all).

        Items that need one still in the spool are not sent: they come back in
        ``unsent`` (in order), to be spooled behind it.
        """
        sendable, waiting = self.ledger.hold_back(events)
        report = self.transport.deliver(sendable, time.monotonic() + budget, once=once)
        if waiting:
            behind = {id(e) for e in waiting} | {id(e) for e in report.unsent}
            report.unsent = [e for e in by_phase(events) if id(e) in behind]
            report.held = len(waiting)
        return report

    def settle(self, outcomes: list[Outcome], report: Delivery) -> bool:
        """Leave the server's ids for the handles, and count/spool the outcome.

        *outcomes* are those of the ended calls sent (see :func:`outcomes_of`).

        Returns:
            Whether the server answered (nothing left unsent), so that
            replaying the spool may work now.
        """
        if self.primary:
            acked = report.acked
            for outcome in outcomes:
                record = outcome[0]  # None: dropped (never sent), or nobody to tell
                if record is not None:
                    outcome[1] = acked.get(record.event_id)
        unreachable = len(report.unsent) > report.held
        self.ledger.settle(report, "unreachable" if unreachable else "behind the spool")
        self.reachable = not unreachable
        return self.reachable

    def replay_due(self, requested: bool) -> bool:
        """Whether an idle worker should replay now: the spool holds items and the
        server answers (or a flush asked), or other processes' files are due a look."""
        if self.ledger.spool_dirty and (self.reachable or requested):
            return True
        return time.monotonic() - self.last_replay > IDLE_REPLAY_INTERVAL

    def replay_spool(self, budget: float, max_files: int | None = None, wait: float = 0.0) -> bool:
        """Send what the spool holds; put back what still cannot be sent.

        Args:
            budget: seconds each file may spend being retried.
            max_files: replay at most this many files now, so that a large spool
                does not hold up live events; None for all.
            wait: seconds to wait for a replay under way on another thread to
                end (0: give up at once).

        Returns:
            True when files were left for a later call.
        """
        spool, ledger = self.ledger.spool, self.ledger
        count = ledger.counters.add
        if (
            not self._replay_lock.acquire(timeout=wait)
            if wait > 0
            else not (self._replay_lock.acquire(blocking=False))
        ):
            return False
        more = False
        try:
            self.last_replay = time.monotonic()
            ledger.spool_dirty = False
            for done, (path, events, unreadable) in enumerate(spool.claim()):
                if unreadable:
                    count("replay_unreadable", unreadable)
                if not events:
                    spool.settle(path, [])
                    continue
                # Straight to the transport: a file's items are in the order
                # they must be sent, and what they need was in earlier files.
                report = self.transport.deliver(events, time.monotonic() + budget, patient=True)
                ledger.release([*report.acked, *(e.event_id for e, _ in report.rejected)])
                count("replayed", len(report.acked))
                count("replay_rejected", len(report.rejected))
                count("dead_letter_full", spool.dead_letter(report.rejected))
                spool.settle(path, report.unsent)
                if report.unsent:
                    ledger.spool_dirty = True
                    self.reachable = False
                    break  # still unreachable: try again later
                if max_files is not None and done + 1 >= max_files:
                    more = ledger.spool_dirty = bool(spool.pending_files())
                    break
            if not spool.holds_events():
                ledger.release([], everything=True)
        except OSError as exc:
            logger.error("honeyhive_trace: could not replay the spool: %s", exc)
        finally:
            self._replay_lock.release()
        return more
