"""Inline mode: each event is posted on the thread that ends it, before the call returns."""

from __future__ import annotations

import threading
import time

from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace.capture import Submitted, named
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.delivery.sender import REPLAY_BUDGET, Sender, outcomes_of

__all__ = ["InlineDispatcher"]


class InlineDispatcher:
    """Posts each event in the caller's thread when it ends (``mode="inline"``)."""

    def __init__(self, pipeline: Pipeline, sender: Sender, guard: ErrorGuard) -> None:
        self._pipeline = pipeline
        self._sender = sender
        self._guard = guard
        self._replay_in_background()

    def submit(self, raw: Submitted) -> None:
        """Deliver one ended event now, within the short inline retry budget.

        While the server is unreachable (an event ran out of its budget), an
        event gets one try, then goes to the spool, until one is answered
        again: an outage costs each traced call one try, not the whole budget.
        """
        sender = self._sender
        try:
            ended = named(raw)
            events = self._pipeline.prepare([ended])
            if not events:
                return  # dropped by a processor (counted)
            budget = sender.config.inline_retry_budget
            report = sender.deliver(events, budget, once=not sender.reachable)
            reachable = sender.settle(outcomes_of([ended]), report)
        except Exception as exc:
            self._guard.report("inline delivery failed", exc)
            return
        if reachable and sender.ledger.spool_dirty:
            self._replay_in_background()

    def _replay_in_background(self) -> None:
        if not self._sender.ledger.spool.pending_files():
            return
        threading.Thread(
            target=self._sender.replay_spool,
            args=(REPLAY_BUDGET,),
            name="honeyhive-trace-replay",
            daemon=True,
        ).start()

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        """Nothing waits in inline mode: every event was settled when it ended.

        With *include_spool*, replay the spool now, on this thread, within
        *timeout*; True only when it is empty.
        """
        spool = self._sender.ledger.spool
        if not include_spool:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while spool.holds_events():
            left = 60.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            self._sender.replay_spool(REPLAY_BUDGET, wait=left)
            if not self._sender.reachable:  # still down: no use trying again now
                break
        return not spool.holds_events()

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        """Nothing waits in inline mode: everything was delivered or spooled when it ended."""
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        """Close the transport."""
        self._sender.transport.close()
        return True

    def pending(self) -> int:
        """Events waiting: none in inline mode."""
        return 0

    def after_fork(self) -> None:
        """In a forked child: own connections."""
        self._sender.after_fork()
