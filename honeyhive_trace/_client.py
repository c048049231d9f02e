"""The client: configuration, counters, and the one place global state lives.

``configure()`` builds a :class:`Client` and installs it in :data:`STATE`.
Until then the first traced call resolves one from the environment; with
nowhere to send events, that client does not record and every traced call is
a plain call.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs

from honeyhive_trace._config import Config, from_settings
from honeyhive_trace._serialization import encode_event
from honeyhive_trace.exceptions import ConfigurationError, TracingError
from honeyhive_trace.records import ModelEvent

if TYPE_CHECKING:
    from honeyhive_trace._events import EventHandle
    from honeyhive_trace._spool import Spool
    from honeyhive_trace._transport import Delivery, HttpTransport, Prepared

__all__ = [
    "Client",
    "STATE",
    "resolve_client",
    "active_client",
    "configure",
    "flush",
    "shutdown",
    "stats",
    "reset",
]

logger = logging.getLogger("honeyhive_trace")

#: The counters :func:`stats` always reports, even at zero.
STAT_NAMES = ("enqueued", "sent", "retried", "spooled", "replayed", "rejected", "truncated")


class Client:
    """Owns one configuration's transport, dispatcher, spool and counters."""

    def __init__(self, config: Config, dispatcher: Any = None) -> None:
        """Create a client; *dispatcher* replaces HTTP delivery (used by testing)."""
        self.config = config
        #: Read on every traced call: a plain attribute, not a property.
        self.recording = config.recording
        self._counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self.transport: HttpTransport
        self.spool: Spool
        self._dispatcher: Any = None
        #: Set when events were spooled; the dispatcher replays after the next success.
        self.spool_dirty = True
        #: Set by shutdown(); a closed client is never reused by configure().
        self.closed = False
        if dispatcher is not None:
            self.recording = config.enabled
            self._dispatcher = dispatcher
            self.submit = dispatcher.submit  # type: ignore[method-assign]
        elif self.recording:
            self._start_delivery()

    def __repr__(self) -> str:
        return (
            f"<Client recording={self.recording} mode={self.config.mode} "
            f"server_url={self.config.server_url!r}>"
        )

    def _start_delivery(self) -> None:
        from honeyhive_trace._dispatch import BackgroundDispatcher, InlineDispatcher
        from honeyhive_trace._spool import Spool, destination_key
        from honeyhive_trace._transport import HttpTransport
        from honeyhive_trace.locations import user_cache_dir

        config = self.config
        self.transport = HttpTransport(config)
        root = config.spool_dir or (user_cache_dir() / "spool")
        self.spool = Spool(
            root,
            destination_key(config.server_url, config.api_key),
            config.spool_max_bytes,
        )
        if config.mode == "inline":
            self._dispatcher = InlineDispatcher(self)
        else:
            self._dispatcher = BackgroundDispatcher(self)
        # The traced call's hot path calls this directly: one bound method.
        self.submit = self._dispatcher.submit  # type: ignore[method-assign]

    def submit(self, handle: EventHandle) -> None:
        """Accept an ended event (replaced by the dispatcher's when recording)."""

    # -- counters ------------------------------------------------------------------

    def count(self, name: str, n: int = 1) -> None:
        """Add *n* to counter *name*."""
        if n:
            with self._count_lock:
                self._counts[name] += n

    def stats(self) -> dict[str, int]:
        """Counters since this client started, including ``dropped_<reason>`` ones.

        ``enqueued`` is every event handed over for delivery; once flushed it
        equals sent + spooled + rejected + all drops.
        """
        with self._count_lock:
            counts = dict(self._counts)
        settled = sum(
            v
            for k, v in counts.items()
            if k in ("sent", "spooled", "rejected") or k.startswith("dropped_")
        )
        pending = self._dispatcher.pending() if self._dispatcher is not None else 0
        counts["enqueued"] = settled + pending
        counts["dropped"] = sum(v for k, v in counts.items() if k.startswith("dropped_"))
        for name in STAT_NAMES:
            counts.setdefault(name, 0)
        return counts

    # -- errors ----------------------------------------------------------------------

    def internal_error(
        self, what: str, exc: BaseException | None = None, *, raise_in_strict: bool = True
    ) -> None:
        """Log (and count) a failure of tracing itself; raise it in strict mode."""
        self.count("internal_errors")
        if self.config.strict and raise_in_strict:
            raise TracingError(what) from exc
        logger.error("honeyhive_trace: %s", what, exc_info=exc is not None and exc)

    # -- the worker side of one event ---------------------------------------------

    def process(self, handle: EventHandle) -> ModelEvent | None:
        """Build an ended event's record and run the processors on it.

        Returns:
            The record, or None when it was dropped (counted, with the reason).
        """
        from honeyhive_trace._events import build_record

        try:
            record: ModelEvent | None = build_record(handle, self.config)
        except Exception as exc:
            self.count("dropped_build_error")
            self.internal_error("could not build an event record", exc, raise_in_strict=False)
            return None
        for processor in self.config.processors:
            try:
                result = processor(record)
                if result is not None and not isinstance(result, ModelEvent):
                    raise TypeError(f"returned {type(result).__name__}, not a ModelEvent")
            except Exception as exc:
                self.count("processor_errors")
                if getattr(processor, "fail_closed", False) is True:
                    # A privacy processor (redact, hide_*) that failed must not
                    # let the event out as it was: drop it.
                    self.count("dropped_processor_error")
                    logger.error(
                        "honeyhive_trace: processor %r failed; event dropped (fail_closed)",
                        getattr(processor, "__name__", processor),
                        exc_info=exc,
                    )
                    return None
                # Documented rule: a failing processor is skipped; the event
                # goes on as the previous processor left it.
                logger.error(
                    "honeyhive_trace: processor %r failed; event kept as it was",
                    getattr(processor, "__name__", processor),
                    exc_info=exc,
                )
                continue
            record = result
            if record is None:
                self.count("dropped_by_processor")
                return None
        handle.record = record
        return record

    def prepare(self, handles: list[EventHandle]) -> list[Prepared]:
        """Build, process and serialise ended events. Failures are counted drops."""
        from honeyhive_trace._transport import Prepared

        events: list[Prepared] = []
        for handle in handles:
            record = self.process(handle)
            if record is None:
                continue
            try:
                events.append(Prepared(record.event_id, encode_event(record)))
            except Exception as exc:
                self.count("dropped_serialization_error")
                self.internal_error("could not serialise an event", exc, raise_in_strict=False)
        return events

    def settle(self, report: Delivery, reason: str) -> None:
        """Count a delivery report; spool what was not sent, dead-letter refusals."""
        self.count("sent", len(report.acked))
        self.count("retried", report.retries)
        self.count("truncated", report.truncated)
        if report.rejected:
            self.count("rejected", len(report.rejected))
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
            self.count("dropped_spool_error", len(events))
            return
        if spooled:
            logger.warning(
                "honeyhive_trace: %d event(s) spooled to %s (%s)",
                spooled,
                self.spool.directory,
                reason,
            )
        self.count("spooled", spooled)
        self.count("dropped_spool_full", dropped)
        if spooled:
            self.spool_dirty = True

    # -- lifecycle ---------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """See :func:`honeyhive_trace.flush`."""
        if self._dispatcher is None:
            return True
        return bool(self._dispatcher.flush(timeout))

    def shutdown(self, timeout: float | None = None) -> bool:
        """See :func:`honeyhive_trace.shutdown`."""
        self.recording = False
        self.closed = True
        if self._dispatcher is None:
            return True
        return bool(self._dispatcher.shutdown(timeout))

    def after_fork(self) -> None:
        """In a forked child: own connections, fresh counters, locks and threads.

        A lock another thread held at the fork would stay locked forever in the
        child, and pooled sockets must not be shared with the parent.
        """
        from honeyhive_trace._transport import HttpTransport

        self._count_lock = threading.Lock()
        self._counts = Counter()
        if self._dispatcher is None:
            return
        if hasattr(self, "transport"):
            self.transport = HttpTransport(self.config)
            self.spool.after_fork()
        after_fork = getattr(self._dispatcher, "after_fork", None)
        if after_fork is not None:
            after_fork()


class _State:
    """The process-wide client and the settings it was built from."""

    __slots__ = ("client", "settings", "lock")

    def __init__(self) -> None:
        self.client: Client | None = None
        self.settings: dict[str, Any] = {}
        self.lock = threading.RLock()


STATE = _State()


def resolve_client() -> Client:
    """Return the current client, building one from the environment if needed."""
    with STATE.lock:
        if STATE.client is not None:
            return STATE.client
        try:
            config = from_settings({}, os.environ)
        except ConfigurationError as exc:
            logger.error("honeyhive_trace: tracing is off, bad environment setting: %s", exc)
            config = Config(enabled=False)
        if config.enabled and not config.has_destination:
            logger.info(
                "honeyhive_trace: not configured (no HH_API_KEY or HH_API_URL); tracing is off"
            )
        STATE.client = Client(config)
        return STATE.client


def active_client() -> Client | None:
    """The current client if it records, else None."""
    client = STATE.client or resolve_client()
    return client if client.recording else None


def configure(**settings: Any) -> Client:
    """Configure tracing; see :func:`honeyhive_trace.configure` for the settings."""
    with STATE.lock:
        merged = {**STATE.settings, **{k: v for k, v in settings.items() if v is not None}}
        config = from_settings(merged, os.environ)
        old = STATE.client
        if (
            old is not None
            and not old.closed
            and attrs.evolve(old.config, enabled=config.enabled) == config
        ):
            # Only `enabled` changed: flip it in place, keep the worker and queue.
            old.config = config
            old.recording = config.recording and old._dispatcher is not None
            if config.recording and old._dispatcher is None:
                old._start_delivery()
                old.recording = True
            STATE.settings = merged
            return old
        client = Client(config)
        STATE.client = client
        STATE.settings = merged
    if old is not None:
        old.shutdown(timeout=old.config.exit_timeout)
    return client


def swap_client(client: Client | None) -> Client | None:
    """Install *client* as the current one; return the one it replaces (for testing)."""
    with STATE.lock:
        previous, STATE.client = STATE.client, client
    return previous


def flush(timeout: float | None = None) -> bool:
    """See :func:`honeyhive_trace.flush`."""
    client = STATE.client
    return client.flush(timeout) if client is not None else True


def shutdown(timeout: float | None = None) -> bool:
    """See :func:`honeyhive_trace.shutdown`."""
    client = STATE.client
    return client.shutdown(timeout) if client is not None else True


def stats() -> dict[str, int]:
    """See :func:`honeyhive_trace.stats`."""
    client = STATE.client
    if client is None:
        return Client(Config(enabled=False)).stats()
    return client.stats()


def reset() -> None:
    """Shut the current client down and forget all settings (for tests)."""
    with STATE.lock:
        old, STATE.client, STATE.settings = STATE.client, None, {}
    if old is not None:
        old.shutdown(timeout=old.config.exit_timeout)


def _at_exit() -> None:
    client = STATE.client
    if client is None or client._dispatcher is None:
        return
    try:
        client.shutdown(timeout=client.config.exit_timeout)
    except Exception:  # interpreter shutdown: never raise from here
        logger.exception("honeyhive_trace: error while flushing at exit")


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    STATE.lock = threading.RLock()
    client = STATE.client
    if client is not None and not client.closed:
        client.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
