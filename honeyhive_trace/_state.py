"""The one resettable global: the current recorder, and how to get one.

Capture code asks :data:`STATE` for the current recorder on every traced call.
The recorder is built by the runtime (:mod:`honeyhive_trace._client`), which
installs itself as :attr:`_State.resolve` when imported, so this module needs
nothing above it. Tests swap the recorder with :func:`swap`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry

__all__ = ["STATE", "Recorder", "recorder", "report_failure", "swap"]


class Recorder(Protocol):
    """What the capture path needs of a client."""

    #: Read on every traced call: whether events are recorded at all.
    recording: bool
    config: Config
    guard: ErrorGuard
    providers: Registry
    #: Reads the active OpenTelemetry span as ``(trace_id, span_id)``; None unless
    #: an OTLP exporter is configured (read when each event ends).
    otel_context: Callable[[], tuple[int, int] | None] | None

    def submit(self, ended: Any) -> None:
        """Take an ended call, or a session start or update (``capture``'s types).

        Must not block, raise or do I/O in background mode.
        """

    def start_session(self, session: Any) -> bool:
        """Start *session* (a ``capture.Session``) unless this client already did.

        Returns:
            Whether this call queued the start.
        """


def _unresolved() -> Recorder:
    raise RuntimeError("honeyhive_trace._client was not imported")


class _State:
    """The process-wide recorder and the ``configure()`` settings it came from."""

    __slots__ = ("client", "lock", "resolve", "settings")

    def __init__(self) -> None:
        self.client: Any = None
        self.settings: dict[str, Any] = {}
        self.lock = threading.RLock()
        #: Builds a recorder from the environment on first use (set by the runtime).
        self.resolve: Callable[[], Recorder] = _unresolved


STATE = _State()


def recorder() -> Recorder:
    """The current recorder, resolved from the environment on first use."""
    client = STATE.client
    if client is None:
        client = STATE.resolve()
    return client  # type: ignore[no-any-return]


def report_failure(site: str, exc: BaseException | None = None) -> None:
    """Log and count a tracing failure where nothing may raise (a request, a hook).

    Goes to the current recorder's guard, never raising even in strict mode; if
    the guard itself fails, a debug line is all that is left.
    """
    try:
        recorder().guard.report(site, exc, raise_in_strict=False)
    except Exception:
        logging.getLogger("honeyhive_trace").debug("honeyhive_trace: %s", site, exc_info=True)


def swap(client: Any) -> Any:
    """Install *client* as the current recorder; return the one it replaces."""
    with STATE.lock:
        previous, STATE.client = STATE.client, client
    return previous
