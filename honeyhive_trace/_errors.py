"""The one error policy for failures of tracing itself.

Every place that can fail inside the library (starting an event, an extractor,
a stream proxy, a processor, the worker, the spool) reports to one
:class:`ErrorGuard`, naming its *site*. The guard counts each failure (in
total and per site), logs the first failure of each site with its traceback and
later ones at DEBUG only (so a broken extractor does not flood the log once per
call), and raises :class:`~honeyhive_trace.exceptions.TracingError` when the
configuration is ``strict``. The user's own exceptions never come here.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import Counter

from honeyhive_trace.exceptions import TracingError, TracingWarning

__all__ = ["Counters", "ErrorGuard", "alert", "alerts", "forget_alerts", "logger"]

logger = logging.getLogger("honeyhive_trace")


#: The counters :func:`~honeyhive_trace.stats` always reports, even at zero.
STAT_NAMES = ("enqueued", "sent", "retried", "spooled", "replayed", "rejected", "truncated")


class Counters:
    """Thread-safe named counters (the numbers behind ``hh.stats()``)."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Add *n* to counter *name*."""
        if n:
            with self._lock:
                self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)

    def totals(self, pending: int) -> dict[str, int]:
        """The counts, with ``enqueued`` (settled + *pending*) and ``dropped`` (all reasons).

        Every name of :data:`STAT_NAMES` is there, at zero if never counted.
        """
        counts = self.snapshot()
        settled = sum(
            v
            for k, v in counts.items()
            if k in ("sent", "spooled", "rejected") or k.startswith("dropped_")
        )
        counts["enqueued"] = settled + pending
        counts["dropped"] = sum(v for k, v in counts.items() if k.startswith("dropped_"))
        for name in STAT_NAMES:
            counts.setdefault(name, 0)
        return counts

    def after_fork(self) -> None:
        """In a forked child: fresh counts, and a lock no other thread can hold."""
        self._counts = Counter()
        self._lock = threading.Lock()


class ErrorGuard:
    """Counts, logs once per site, and raises in strict mode.

    Args:
        strict: raise :class:`TracingError` instead of only logging.
        counters: where ``internal_errors`` (or the *counter* a site names) is counted.
    """

    __slots__ = ("_counters", "_seen", "_sites", "strict")

    def __init__(self, strict: bool, counters: Counters) -> None:
        self.strict = strict
        self._counters = counters
        self._seen: set[str] = set()
        self._sites: Counter[str] = Counter()

    def report(
        self,
        site: str,
        exc: BaseException | None = None,
        *,
        counter: str | None = "internal_errors",
        raise_in_strict: bool = True,
        level: int = logging.ERROR,
    ) -> None:
        """Report one failure of tracing at *site*.

        Args:
            site: what failed, in words (``"could not start an event"``); the
                unit of "log once".
            exc: the exception, if any (its traceback is logged the first time).
            counter: the ``stats()`` counter to add one to (None: count
                nothing, for a failure another counter already records).
            raise_in_strict: raise in strict mode (False where raising would
                lose data, e.g. on the worker).
            level: the log level of the first report of the site.

        Raises:
            TracingError: in strict mode, when *raise_in_strict*.
        """
        if counter is not None:
            self._counters.add(counter)
        self._sites[site] += 1
        if self.strict and raise_in_strict:
            raise TracingError(site) from exc
        if site not in self._seen:
            self._seen.add(site)
            logger.log(level, "honeyhive_trace: %s", site, exc_info=exc)
        elif logger.isEnabledFor(logging.DEBUG):  # cheap when it repeats on a hot path
            logger.debug("honeyhive_trace: %s (%d times so far)", site, self._sites[site])

    def by_site(self) -> dict[str, int]:
        """How many failures each site reported."""
        return dict(self._sites)


_APP = "honeyhive_trace"
#: kind -> the latest message of each problem the user must act on (see :func:`alert`).
_ALERTS: dict[str, str] = {}
#: The kinds already shown as a warning in this process.
_WARNED: dict[str, object] = {}


def alert(kind: str, message: str) -> None:
    """Tell the user about a problem only they can fix; once per *kind* and process.

    The first time for *kind*, *message* is issued as a
    :class:`~honeyhive_trace.exceptions.TracingWarning` (shown on stderr by
    Python's default filters, whatever the logging setup); every time, it
    becomes the kind's latest message for :func:`honeyhive_trace.health`.
    Callers log it too. Never raises, even with warnings turned into errors.

    Args:
        kind: what went wrong, e.g. ``"config"``, ``"rejected_401"``, ``"spool"``.
        message: one line, in words, saying what to do.
    """
    _ALERTS[kind] = message
    mine = object()
    if _WARNED.setdefault(kind, mine) is not mine:
        return  # shown before (setdefault is atomic: one thread wins)
    try:
        # One line on stderr, "honeyhive_trace:0: TracingWarning: honeyhive_trace: ...",
        # without a line of the library's source under it.
        warnings.warn_explicit(f"honeyhive_trace: {message}", TracingWarning, _APP, 0, module=_APP)
    except Exception:  # -W error, or a broken showwarning: never into the caller
        logger.debug("honeyhive_trace: could not issue a warning", exc_info=True)


def alerts() -> dict[str, str]:
    """The latest message of each kind of problem since the last :func:`forget_alerts`."""
    return dict(_ALERTS)


def forget_alerts(shown_too: bool = False) -> None:
    """Forget the current problems (a new configuration); what was shown stays shown.

    Args:
        shown_too: also forget which kinds were shown, so they are shown
            again (``_client.reset()``, for tests).
    """
    _ALERTS.clear()
    if shown_too:
        _WARNED.clear()
