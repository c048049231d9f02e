"""honeyhive_trace: fast, lossless tracing of LLM applications for HoneyHive.

Decorate a function that calls a model with :func:`trace_model` (or wrap a
block in :func:`model_event`), a tool with :func:`trace_tool`, a step that
runs others with :func:`trace_chain`, and a whole run with :func:`session`:
each call becomes one event of the session's tree, posted to HoneyHive
(``POST /events/model``, ``POST /events``, ``POST /session/start``). Feedback
comes later with :func:`log_feedback`. Unconfigured, the library does nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from honeyhive_trace import _client
from honeyhive_trace._health import health
from honeyhive_trace._serverless import flush_after
from honeyhive_trace._version import __version__
from honeyhive_trace.capture import (
    EventHandle,
    Session,
    Thread,
    ThreadPoolExecutor,
    continue_trace,
    copy_context_to,
    current_event,
    current_session,
    enrich_session,
    event,
    log_feedback,
    model_event,
    propagation_headers,
    session,
    trace,
    trace_chain,
    trace_model,
    trace_tool,
    update_event,
)
from honeyhive_trace.exceptions import (
    ConfigurationError,
    HoneyHiveTraceError,
    TracingError,
    TracingWarning,
)
from honeyhive_trace.http_clients import instrument_http, uninstrument_http
from honeyhive_trace.records import ModelEvent, Record, Usage

__all__ = [
    "ConfigurationError",
    "EventHandle",
    "HoneyHiveTraceError",
    "ModelEvent",
    "Session",
    "Thread",
    "ThreadPoolExecutor",
    "TracingError",
    "TracingWarning",
    "Usage",
    "__version__",
    "configure",
    "continue_trace",
    "copy_context_to",
    "current_event",
    "current_session",
    "enrich_session",
    "event",
    "flush",
    "flush_after",
    "health",
    "instrument_http",
    "log_feedback",
    "model_event",
    "propagation_headers",
    "session",
    "shutdown",
    "stats",
    "trace",
    "trace_chain",
    "trace_model",
    "trace_tool",
    "uninstrument_http",
    "update_event",
]

logging.getLogger("honeyhive_trace").addHandler(logging.NullHandler())


def configure(
    *,
    api_key: str | None = None,
    project: str | None = None,
    server_url: str | None = None,
    source: str | None = None,
    enabled: bool | None = None,
    mode: Literal["background", "inline"] | None = None,
    api_version: Literal["legacy", "v1"] | None = None,
    processors: Sequence[Callable[[Record], Record | None]] | None = None,
    strict: bool | None = None,
    allow_insecure_http: bool | None = None,
    verify: bool | str | os.PathLike[str] | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    batch_size: int | None = None,
    max_batch_bytes: int | None = None,
    compression: Literal["none", "gzip"] | None = None,
    flush_interval: float | None = None,
    max_queue_size: int | None = None,
    max_queue_bytes: int | None = None,
    retry_budget: float | None = None,
    inline_retry_budget: float | None = None,
    exit_timeout: float | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    prices: Mapping[str, tuple[float, float]] | None = None,
    propagate_threads: bool | None = None,
    exporters: Sequence[Literal["honeyhive", "otlp"]] | None = None,
    otlp_endpoint: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_capture_content: bool | None = None,
) -> None:
    """Configure tracing. Every argument is optional and falls back to the environment.

    Settings given in earlier calls are kept unless given again, so
    ``configure(enabled=False)`` only turns tracing off.

    Args:
        api_key: HoneyHive API key (``HH_API_KEY``), sent as a Bearer token.
        project: project name (``HH_PROJECT``); ``"default"`` when unset.
        server_url: base URL (``HH_API_URL``), default ``https://api.honeyhive.ai``.
        source: where the code runs, e.g. ``production`` (``HH_SOURCE``).
        enabled: False turns every traced call into a plain call
            (``HH_TRACING_ENABLED=false``); checked on every call.
        mode: ``"background"`` (default; a worker thread sends batches) or
            ``"inline"`` (sent when each event ends) (``HH_TRACE_MODE``); on AWS
            Lambda the default is ``"inline"``, so that nothing is only in memory
            when the process is frozen.
        api_version: the HoneyHive API events are sent in (``HH_API_VERSION``):
            ``"legacy"`` (default; ``POST /events/model``, ``/events``,
            ``/session/start``, ``PUT /events``) or ``"v1"`` (``POST
            /v1/events``, ``/v1/events/batch``, ``/v1/sessions``, ``PUT
            /v1/events/{event_id}``). See :doc:`/howto/api-versions`.
        processors: functions run on each finished record (events of every
            type, session starts, updates), in order, on the worker; each
            returns the record (possibly changed) or None to drop it.
        strict: raise internal tracing errors instead of logging them (for tests).
        allow_insecure_http: allow sending the key over plain ``http://`` to a
            host that is not this machine.
        verify: TLS verification: True (the default), False (not
            recommended), or the path of a CA bundle.
        connect_timeout: seconds to wait for a connection (default 3).
        read_timeout: seconds to wait for an answer (default 10).
        batch_size: events per batch request in background mode (default 200).
        max_batch_bytes: largest batch request body; a batch over it is sent
            in several requests (default 1 MiB).
        compression: ``"gzip"`` sends request bodies gzip-compressed
            (``Content-Encoding: gzip``; ``HH_COMPRESSION``), for servers that
            accept it (the local collector and OTLP/HTTP receivers do); the
            default ``"none"`` sends them as they are. Batch sizes still count
            uncompressed bytes.
        flush_interval: seconds an event may wait for its batch (default 1).
        max_queue_size: events held in memory before spilling to the spool (10,000).
        max_queue_bytes: estimated bytes the waiting events may hold in memory
            (``HH_MAX_QUEUE_BYTES``; 64 MiB); beyond it events are dropped,
            counted as ``dropped_queue_full`` and logged.
        retry_budget: seconds a batch may be retried before it is spooled (30).
        inline_retry_budget: the same for inline mode (2).
        exit_timeout: seconds the exit hook waits for delivery before spooling (2).
        spool_dir: where undelivered events are kept (``HH_SPOOL_DIR``; default
            the user's cache directory, ``/tmp/honeyhive-trace/spool`` on AWS
            Lambda).
        spool_max_bytes: size cap of the spool (256 MiB); beyond it events are
            dropped, counted and logged. Other processes' files in the same
            spool count too, within a second of their writes.
        prices: USD per million (input, output) tokens by model, added to and
            overriding the shipped price table.
        propagate_threads: make every ``ThreadPoolExecutor.submit`` and
            ``threading.Thread.start`` of the process carry the caller's trace
            context into the thread (``HH_PROPAGATE_THREADS``; off by default:
            it patches those two methods; False restores them).
        exporters: where events go (``HH_EXPORTERS``, comma-separated):
            ``("honeyhive",)`` (the default), ``("honeyhive", "otlp")`` (the
            default once ``otlp_endpoint`` is set) or ``("otlp",)``. Each
            exporter has its own batching, retries and spool; see
            :doc:`/howto/otel`.
        otlp_endpoint: the OTLP/HTTP traces URL every event is exported to as
            a span (``HH_OTLP_ENDPOINT``), e.g.
            ``http://collector:4318/v1/traces``. Needs the ``[otel]`` extra.
        otlp_headers: headers of every OTLP request (``HH_OTLP_HEADERS``,
            ``key=value,key2=value2``); treated as secrets.
        otlp_capture_content: False leaves messages, responses, inputs and
            outputs out of exported spans (``HH_OTLP_CAPTURE_CONTENT``; on by
            default). Processors run before export either way.

    Raises:
        ConfigurationError: a setting has a bad value; the message names it.
    """
    settings = {k: v for k, v in locals().items() if v is not None}
    _client.configure(**settings)


def flush(timeout: float | None = None, *, include_spool: bool = False) -> bool:
    """Wait until every event ended before this call is delivered or spooled.

    Args:
        timeout: seconds to wait at most; ``None`` waits as long as it takes.
        include_spool: also wait until events kept in the spool (while the
            server did not answer) have been replayed; then True means
            nothing is left in the spool either.

    Returns:
        True when everything was settled in time.
    """
    return _client.flush(timeout, include_spool)


def shutdown(timeout: float | None = None) -> bool:
    """Flush, spool whatever is still pending after *timeout*, and stop tracing.

    Called automatically at interpreter exit with the ``exit_timeout`` deadline
    (2 s by default).

    Args:
        timeout: seconds to wait for delivery at most; ``None`` waits as long
            as it takes.

    Returns:
        True when everything was delivered before the deadline.
    """
    return _client.shutdown(timeout)


def stats() -> dict[str, int]:
    """Return delivery counters of the current configuration.

    Always present: ``enqueued``, ``sent``, ``retried``, ``spooled``,
    ``replayed``, ``rejected``, ``truncated`` and ``dropped`` (the sum of one
    ``dropped_<reason>`` per reason seen). Once flushed, ``enqueued`` equals
    ``sent + spooled + rejected + dropped``. When not zero: ``replay_rejected``
    and ``replay_unreadable`` (spooled events refused or unreadable on replay),
    ``processor_errors``, ``internal_errors`` and ``degraded_fields`` (values
    that raised when read and were sent as their ``repr`` instead, the event
    itself kept; an object-typed field such as ``response`` or a ``tools``
    item becomes ``{"value": "<repr>"}``).

    Returns:
        A new dict of counter name to count.
    """
    return _client.stats()
