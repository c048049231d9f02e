"""How events are sent: one ``requests.Session``, timeouts, retries, splitting.

:meth:`HttpTransport.deliver` takes serialised events and a deadline and
reports, per event, whether the server acknowledged it, rejected it (a 4xx
that retrying cannot fix), or could not be reached before the deadline (the
dispatcher then spools it). It never raises for a server's answer or a network
failure.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import attrs
import requests

from honeyhive_trace._config import Config
from honeyhive_trace._serialization import encode, record_truncation, truncate_strings
from honeyhive_trace._version import __version__

__all__ = ["HttpTransport", "Delivery", "Prepared", "RETRY_STATUSES", "retry_after_seconds"]

logger = logging.getLogger("honeyhive_trace")

SINGLE_PATH = "/events/model"
BATCH_PATH = "/events/model/batch"

#: Answers worth retrying: the request may succeed later unchanged.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Backoff: full jitter over an exponential ceiling (AWS architecture blog).
BACKOFF_BASE = 0.1
BACKOFF_CAP = 8.0

#: Longest string kept when an event alone is too large for the server; each
#: further 413 halves it, down to TRUNCATE_FLOOR.
TRUNCATE_START = 64 * 1024
TRUNCATE_FLOOR = 256
TRUNCATION_MARKER = MARKER = "...[truncated]"


class Prepared(NamedTuple):
    """One event ready to send: its id and its ``model_event`` JSON (UTF-8).

    Encoded once on the worker; the same bytes go into batch bodies, the spool
    and the dead-letter file.
    """

    event_id: str
    data: bytes


@attrs.define
class Delivery:
    """What became of the events given to :meth:`HttpTransport.deliver`."""

    #: event_id -> id the server answered with.
    acked: dict[str, str] = attrs.field(factory=dict)
    #: (event, reason) for events the server refused for good.
    rejected: list[tuple[Prepared, str]] = attrs.field(factory=list)
    #: events not delivered before the deadline; the caller spools them.
    unsent: list[Prepared] = attrs.field(factory=list)
    retries: int = 0
    truncated: int = 0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class _Reply:
    __slots__ = ("status", "body", "retry_after", "text")

    def __init__(self, status: int, body: Any, retry_after: float | None, text: str) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.text = text


def _by_size(events: list[Prepared], limit: int) -> list[list[Prepared]]:
    """Cut *events* into runs whose JSON takes at most *limit* bytes (at least one each)."""
    chunks: list[list[Prepared]] = []
    current: list[Prepared] = []
    size = 0
    for event in events:
        length = len(event.data) + 1  # and its comma
        if current and size + length > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(event)
        size += length
    if current:
        chunks.append(current)
    return chunks


def truncate_event(event: dict[str, Any], limit: int) -> tuple[dict[str, Any], int]:
    """Shorten every string longer than *limit* characters in *event*.

    The original lengths go to ``metadata.original_lengths`` by path, as the
    ``truncate`` processor records them.

    Returns:
        The shortened event and how many strings were cut.
    """
    cut: dict[str, int] = {}
    shortened = {
        key: value if key == "event_id" else truncate_strings(value, limit, MARKER, key, cut)
        for key, value in event.items()
    }
    if cut:
        shortened["metadata"] = record_truncation(shortened.get("metadata"), cut, limit)
    return shortened, len(cut)


class HttpTransport:
    """Posts events to HoneyHive (or a compatible server) over one session."""

    def __init__(self, config: Config, wait: Callable[[float], bool] | None = None) -> None:
        self._base = config.server_url
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._session = requests.Session()
        # Resolve proxies and CA bundle from the environment once, here, rather
        # than on every request (requests re-reads os.environ per request when
        # trust_env is on, which costs more than encoding a batch).
        settings = self._session.merge_environment_settings(
            self._base, {}, None, config.verify, None
        )
        self._session.proxies.update(settings["proxies"])
        # A CA bundle path makes requests stat() it on every request; over
        # plain http there is no certificate to verify, so don't pay for it.
        plain_http = self._base.startswith("http://")
        self._session.verify = True if plain_http else settings["verify"]
        self._session.trust_env = False
        self._session.headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": f"honeyhive-trace/{__version__}",
            }
        )
        if config.api_key is not None:
            self._session.headers["Authorization"] = f"Bearer {config.api_key}"
        self._secret = config.api_key
        self._max_batch_bytes = config.max_batch_bytes
        self._batch_supported = True
        self._lock = threading.Lock()
        self._abort = threading.Event()
        # How to wait between retries; returns True to stop waiting early.
        self._wait = wait or self._abort.wait

    def __repr__(self) -> str:  # the session's headers hold the key: never show them
        return f"<HttpTransport {self._base}>"

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def abort(self) -> None:
        """Stop waiting between retries; pending deliveries give up at once."""
        self._abort.set()

    def _post(self, path: str, data: bytes) -> _Reply:
        response = self._session.post(self._base + path, data=data, timeout=self._timeout)
        text = response.text
        if self._secret is not None and self._secret in text:
            # A server or proxy echoing the key must not get it into logs or dead letters.
            text = text.replace(self._secret, "[REDACTED]")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return _Reply(response.status_code, parsed, retry_after, text[:2000])

    def deliver(self, events: list[Prepared], deadline: float) -> Delivery:
        """Send *events*, retrying what is safe to retry, until *deadline*.

        Args:
            events: prepared events (id and JSON).
            deadline: a :func:`time.monotonic` time after which nothing is retried.

        Returns:
            The :class:`Delivery` report; every event appears in exactly one of
            ``acked``, ``rejected`` or ``unsent``.
        """
        with self._lock:  # one delivery at a time keeps ordering and the batch flag sane
            report = Delivery()
            # Chunks are popped from the end: reversed, they go out in order.
            work = _by_size(events, self._max_batch_bytes)[::-1]
            attempt = 0
            limits: dict[str, tuple[Prepared, int]] = {}
            while work:
                chunk = work.pop()
                if self._abort.is_set() or time.monotonic() >= deadline:
                    report.unsent.extend(chunk)
                    continue
                outcome = self._send_chunk(chunk, report, work, limits)
                if outcome is None:
                    attempt = 0
                    continue
                # retryable: `outcome` is the server's Retry-After, or -1 for none
                report.retries += 1
                delay = outcome if outcome >= 0 else self._backoff(attempt)
                attempt += 1
                if time.monotonic() + delay >= deadline:
                    report.unsent.extend(chunk)
                    continue
                if self._wait(delay):
                    report.unsent.extend(chunk)
                    continue
                work.append(chunk)
            return report

    @staticmethod
    def _backoff(attempt: int) -> float:
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt)))

    def _send_chunk(
        self,
        chunk: list[Prepared],
        report: Delivery,
        work: list[list[Prepared]],
        limits: dict[str, tuple[Prepared, int]],
    ) -> float | None:
        """Post one chunk. Returns None when settled, else a retry delay (-1: backoff)."""
        if len(chunk) > 1 and not self._batch_supported:
            work.extend([e] for e in reversed(chunk))  # one request per event
            return None
        batch = len(chunk) > 1
        if batch:
            path = BATCH_PATH
            data = b'{"model_events":[' + b",".join(e.data for e in chunk) + b"]}"
        else:
            path = SINGLE_PATH
            data = b'{"model_event":' + chunk[0].data + b"}"
        try:
            reply = self._post(path, data)
        except requests.RequestException as exc:
            logger.warning(
                "honeyhive_trace: could not reach %s (%s); will retry",
                self._base,
                type(exc).__name__,
            )
            return -1.0

        status = reply.status
        if 200 <= status < 300:
            self._ack(chunk, reply.body, report, batch)
            return None
        if batch and status in (404, 405):
            logger.info("honeyhive_trace: server has no batch endpoint; sending one by one")
            self._batch_supported = False
            work.extend([e] for e in reversed(chunk))
            return None
        if status == 413:
            self._split_or_truncate(chunk, report, work, limits)
            return None
        if (
            status == 500
            and batch
            and isinstance(reply.body, dict)
            and reply.body.get("event_ids")
        ):
            acked = self._ack_partial(chunk, reply.body, report)
            rest = [e for e in chunk if e.event_id not in acked]
            logger.warning(
                "honeyhive_trace: server stored %d of %d events (%s); retrying the rest",
                len(chunk) - len(rest),
                len(chunk),
                _server_message(reply),
            )
            if rest:
                work.append(rest)
            return None
        if status in RETRY_STATUSES:
            logger.warning(
                "honeyhive_trace: server answered %d (%s); will retry",
                status,
                _server_message(reply),
            )
            return reply.retry_after if reply.retry_after is not None else -1.0
        reason = f"HTTP {status}: {_server_message(reply)}"
        logger.error(
            "honeyhive_trace: server rejected %d event(s), not retrying: %s", len(chunk), reason
        )
        report.rejected.extend((e, reason) for e in chunk)
        return None

    @staticmethod
    def _ack(chunk: list[Prepared], body: Any, report: Delivery, batch: bool) -> None:
        ids: list[Any] = []
        if isinstance(body, dict):
            ids = body.get("event_ids") or [] if batch else [body.get("event_id")]
        for index, event in enumerate(chunk):
            server_id = ids[index] if index < len(ids) and isinstance(ids[index], str) else None
            report.acked[event.event_id] = server_id or event.event_id

    @staticmethod
    def _ack_partial(chunk: list[Prepared], body: dict[str, Any], report: Delivery) -> set[str]:
        sent = {e.event_id for e in chunk}
        acked = {i for i in body.get("event_ids", []) if isinstance(i, str) and i in sent}
        for event_id in acked:
            report.acked[event_id] = event_id
        return acked

    def _split_or_truncate(
        self,
        chunk: list[Prepared],
        report: Delivery,
        work: list[list[Prepared]],
        limits: dict[str, tuple[Prepared, int]],
    ) -> None:
        if len(chunk) > 1:
            half = len(chunk) // 2
            work.append(chunk[half:])
            work.append(chunk[:half])
            return
        event_id = chunk[0].event_id
        # Each further 413 halves the limit, always cutting the original event.
        original, previous = limits.get(event_id, (chunk[0], TRUNCATE_START * 2))
        limit = previous // 2
        if limit < TRUNCATE_FLOOR:
            reason = "HTTP 413: event too large even with every string truncated"
            logger.error("honeyhive_trace: %s (event %s)", reason, event_id)
            report.rejected.append((original, reason))
            return
        limits[event_id] = (original, limit)
        shortened, cut = truncate_event(json.loads(original.data), limit)
        if cut == 0 and limit < TRUNCATE_START:
            reason = "HTTP 413: event too large and has no long strings to truncate"
            logger.error("honeyhive_trace: %s (event %s)", reason, event_id)
            report.rejected.append((original, reason))
            return
        if previous == TRUNCATE_START * 2:  # count events, not attempts
            report.truncated += 1
        logger.warning(
            "honeyhive_trace: event %s too large for the server; strings cut to %d chars",
            event_id,
            limit,
        )
        work.append([Prepared(event_id, encode(shortened))])


def _server_message(reply: _Reply) -> str:
    if isinstance(reply.body, dict):
        for key in ("message", "error", "errors", "detail"):
            if key in reply.body:
                return str(reply.body[key])[:500]
    return reply.text[:500] or "no message"
