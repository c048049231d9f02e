"""The runtime: one configuration's client, and configure/flush/shutdown/stats.

``configure()`` builds a :class:`Client` (the composition root: counters, the
error guard, the provider registry, the pipeline and a dispatcher) and installs
it in :data:`~honeyhive_trace._state.STATE`. Until then the first traced call
resolves one from the environment; with nowhere to send events, that client
does not record and every traced call is a plain call.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from time import time_ns
from typing import TYPE_CHECKING, Any, cast

import attrs

from honeyhive_trace._config import ENV_VARS, Config, from_settings
from honeyhive_trace._errors import Counters, ErrorGuard, alert, forget_alerts, logger
from honeyhive_trace._providers import Registry
from honeyhive_trace._state import STATE, swap
from honeyhive_trace.capture import (
    Session,
    SessionCall,
    Submitted,
    otel_context,
    propagate_threads,
)
from honeyhive_trace.delivery.dispatcher import Dispatcher
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.integrations import DEFAULT

if TYPE_CHECKING:
    from honeyhive_trace.delivery.http import HttpTransport
    from honeyhive_trace.delivery.pipeline import Pipeline
    from honeyhive_trace.delivery.sender import Sender

__all__ = [
    "STATE",
    "Client",
    "Dispatcher",
    "active_client",
    "configure",
    "flush",
    "reset",
    "resolve_client",
    "shutdown",
    "stats",
    "swap_client",
]

#: Session ids a client remembers having started; beyond it the oldest is
#: forgotten (and started again if it comes back: the server keeps one session).
STARTED_SESSIONS_KEPT = 100_000


class Client:
    """One configuration's counters, guard, providers, pipeline and dispatcher."""

    #: Reads the active OpenTelemetry span when events end; set only when an
    #: OTLP exporter is configured (see ``capture.otel_context``).
    otel_context: Callable[[], tuple[int, int] | None] | None = None

    def __init__(
        self, config: Config, dispatcher: Any = None, providers: Registry = DEFAULT
    ) -> None:
        """Create a client; *dispatcher* replaces HTTP delivery (used by testing)."""
        self.config = config
        #: Read on every traced call: a plain attribute, not a property.
        self.recording = config.recording
        self.counters = Counters()
        self.guard = ErrorGuard(config.strict, self.counters)
        self.providers = providers
        self.pipeline: Pipeline | None = None
        self.sender: Sender | None = None
        self.dispatcher: Dispatcher | None = None
        #: Set by shutdown(); a closed client is never reused by configure().
        self.closed = False
        self._started: OrderedDict[str, None] = OrderedDict()
        #: The exporters after the first: (name, counters, dispatcher, sender).
        self._others: list[tuple[str, Counters, Any, Any]] = []
        self._started_lock = threading.Lock()
        if dispatcher is not None:
            self.recording = config.enabled
            self._install(dispatcher)
        elif self.recording:
            self._start_delivery()

    def __repr__(self) -> str:
        return (
            f"<Client recording={self.recording} mode={self.config.mode} "
            f"server_url={self.config.server_url!r}>"
        )

    def _install(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        # The traced call's hot path calls this directly: one bound method.
        self.submit = dispatcher.submit  # type: ignore[method-assign]

    def _start_delivery(self) -> None:
        # Imported here, not at the top: requests and the HTTP stack load only
        # once a client has somewhere to send events (`import honeyhive_trace`
        # stays cheap). Not a cycle: delivery.start imports nothing above it.
        from honeyhive_trace.delivery.fanout import FanOut
        from honeyhive_trace.delivery.start import start_http_delivery

        exporters = start_http_delivery(self.config, self.providers, self.guard, self.counters)
        self.pipeline, self.sender = exporters[0].pipeline, exporters[0].sender
        self._others = [(e.name, e.counters, e.dispatcher, e.sender) for e in exporters[1:]]
        if "otlp" in self.config.active_exporters:
            self.otel_context = otel_context
        self._install(
            exporters[0].dispatcher
            if len(exporters) == 1
            else FanOut([e.dispatcher for e in exporters])
        )
        if _in_multiprocessing_child():  # spawned: no fork hook ran for this client
            _flush_when_the_child_exits()

    def submit(self, ended: Submitted) -> None:
        """Accept an ended event (replaced by the dispatcher's when recording)."""

    def start_session(self, session: Session) -> bool:
        """Queue *session*'s start, unless this client started that session id already.

        Queued on the caller's thread, before any event of the session can
        end, so the worker sends the start first.

        Returns:
            Whether the start was queued now.
        """
        with self._started_lock:
            started = self._started
            if session.session_id in started:
                started.move_to_end(session.session_id)
                return False
            started[session.session_id] = None
            if len(started) > STARTED_SESSIONS_KEPT:
                started.popitem(last=False)
        otel = self.otel_context
        self.submit(
            SessionCall(session, time_ns(), session._fields, otel() if otel is not None else None)
        )
        return True

    def spools(self) -> list[tuple[str, Any, Counters]]:
        """(exporter, spool, counters) of every exporter that delivers over HTTP."""
        if self.sender is None:
            return []
        name = self.config.active_exporters[0] if self.config.active_exporters else "honeyhive"
        found = [(name, self.sender.ledger.spool, self.counters)]
        found += [(n, s.ledger.spool, c) for n, c, _, s in self._others]
        return found

    @property
    def transport(self) -> HttpTransport | None:
        """The HTTP transport, when delivering over HTTP."""
        return self.sender.transport if self.sender is not None else None

    def stats(self) -> dict[str, int]:
        """Counters since this client started, including ``dropped_<reason>`` ones.

        ``enqueued`` is every item (event, session start, update) handed over
        for delivery; once flushed it equals sent + spooled + rejected + all drops.
        """
        pending = self.dispatcher.pending() if self.dispatcher is not None else 0
        counts = self.counters.totals(pending)
        for name, counters, dispatcher, _ in self._others:
            mine = counters.totals(dispatcher.pending())
            counts.update((f"{name}_{key}", value) for key, value in mine.items())
        return counts

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        """See :func:`honeyhive_trace.flush`."""
        if self.dispatcher is None:
            return True
        return bool(self.dispatcher.flush(timeout, include_spool))

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        """Flush within *timeout*, then spool what is left (see ``flush_after``)."""
        if self.dispatcher is None:
            return True
        return bool(self.dispatcher.flush_or_spool(timeout))

    def shutdown(self, timeout: float | None = None) -> bool:
        """See :func:`honeyhive_trace.shutdown`."""
        self.recording = False
        self.closed = True
        if self.dispatcher is None:
            return True
        return bool(self.dispatcher.shutdown(timeout))

    def after_fork(self) -> None:
        """In a forked child: own connections, fresh counters, locks and threads.

        A lock another thread held at the fork would stay locked forever in the
        child, and pooled sockets must not be shared with the parent.
        """
        self.counters.after_fork()
        for _, counters, _, _ in self._others:  # every exporter's own counters too
            counters.after_fork()
        self._started_lock = threading.Lock()
        after_fork = getattr(self.dispatcher, "after_fork", None)
        if after_fork is not None:
            after_fork()


def resolve_client() -> Client:
    """Return the current client, building one from the environment if needed."""
    with STATE.lock:
        if STATE.client is not None:
            return cast(Client, STATE.client)
        try:
            config = from_settings({}, os.environ)
        except ConfigurationError as exc:
            logger.error("honeyhive_trace: tracing is off, bad environment setting: %s", exc)
            alert("config", _environment_problem(exc))
            config = Config(enabled=False)
        if config.enabled and not config.has_destination:
            logger.info(
                "honeyhive_trace: not configured (no HH_API_KEY or HH_API_URL); tracing is off"
            )
        propagate_threads(config.propagate_threads)
        client = STATE.client = Client(config)
        return client


def _environment_problem(exc: ConfigurationError) -> str:
    names = [var for var, setting in ENV_VARS.items() if setting == exc.setting]
    where = names[0] if names else exc.setting
    detail = str(exc).removeprefix(f"{exc.setting}: ")
    return f"tracing is off: bad environment variable {where}: {detail}"


def active_client() -> Client | None:
    """The current client if it records, else None."""
    client = STATE.client or resolve_client()
    return client if client.recording else None


def configure(**settings: Any) -> Client:
    """Configure tracing; see :func:`honeyhive_trace.configure` for the settings."""
    with STATE.lock:
        merged = {**STATE.settings, **{k: v for k, v in settings.items() if v is not None}}
        config = from_settings(merged, os.environ)
        old: Client | None = STATE.client
        propagate_threads(config.propagate_threads)
        if (
            old is not None
            and not old.closed
            and attrs.evolve(
                old.config, enabled=config.enabled, propagate_threads=config.propagate_threads
            )
            == config
        ):
            # Only `enabled` changed: flip it in place, keep the worker and queue.
            old.config = config
            old.recording = config.recording and old.dispatcher is not None
            if config.recording and old.dispatcher is None:
                old._start_delivery()
                old.recording = True
            STATE.settings = merged
            return old
        client = Client(config)
        STATE.client = client
        STATE.settings = merged
        forget_alerts()  # health() speaks of this configuration from now on
    if old is not None:
        old.shutdown(timeout=old.config.exit_timeout)
    return client


def swap_client(client: Client | None) -> Client | None:
    """Install *client* as the current one; return the one it replaces (for testing)."""
    return swap(client)  # type: ignore[no-any-return]


def flush(timeout: float | None = None, include_spool: bool = False) -> bool:
    """See :func:`honeyhive_trace.flush`."""
    client = STATE.client
    return client.flush(timeout, include_spool) if client is not None else True


def shutdown(timeout: float | None = None) -> bool:
    """See :func:`honeyhive_trace.shutdown`."""
    client = STATE.client
    return client.shutdown(timeout) if client is not None else True


def stats() -> dict[str, int]:
    """See :func:`honeyhive_trace.stats`."""
    client = STATE.client
    if client is None:
        return Client(Config(enabled=False)).stats()
    return cast(dict[str, int], client.stats())


def reset() -> None:
    """Shut the current client down and forget all settings (for tests)."""
    propagate_threads(False)
    forget_alerts(shown_too=True)
    with STATE.lock:
        old, STATE.client, STATE.settings = STATE.client, None, {}
    if old is not None:
        old.shutdown(timeout=old.config.exit_timeout)


def _at_exit() -> None:
    client = STATE.client
    if client is None or client.dispatcher is None or client.closed:
        return
    try:
        client.shutdown(timeout=client.config.exit_timeout)
        _left_in_spool(client)
    except Exception:  # interpreter shutdown: never raise from here
        logger.exception("honeyhive_trace: error while flushing at exit")


def _left_in_spool(client: Client) -> None:
    for name, spool, counters in client.spools():
        if not spool.holds_events():
            continue
        counts = counters.snapshot()
        left = counts.get("spooled", 0) - counts.get("replayed", 0)
        what = f"{left} events" if left > 0 else "events"
        where = "the same server" if name == "honeyhive" else "the same OTLP endpoint"
        message = (
            f"{what} not delivered before exit are kept in the spool ({spool.directory}); "
            f"the next process that traces to {where} sends them"
        )
        logger.warning("honeyhive_trace: %s", message)
        alert(f"spool {name}", message)


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    STATE.lock = threading.RLock()
    client = STATE.client
    if client is not None and not client.closed:
        client.after_fork()


# A multiprocessing child (a Process, a pool's worker; fork, spawn or forkserver)
# ends with os._exit, which skips atexit; it runs multiprocessing's finalizers
# first. A forked child clears the finalizers it inherits, then runs its "after
# fork" hooks: the finalizer is registered from one of those, for a client the
# parent had. A child that builds its client itself registers it then
# (Client._start_delivery). Only where multiprocessing is in use.


class _ForkHook:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


_FORK_HOOK = _ForkHook()
_hooked: list[bool] = []


def _before_fork() -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _hooked:
        util.register_after_fork(_FORK_HOOK, _flush_when_the_child_exits)
        _hooked.append(True)


def _flush_when_the_child_exits(_: object = None) -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.Finalize(None, _at_exit, exitpriority=100)


def _in_multiprocessing_child() -> bool:
    process = sys.modules.get("multiprocessing.process")
    return process is not None and process.parent_process() is not None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


STATE.resolve = resolve_client
