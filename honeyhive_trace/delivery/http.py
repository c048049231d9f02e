"""How events are sent: one ``requests.Session``, timeouts, retries, splitting.

:meth:`HttpTransport.deliver` takes serialised events and a deadline and
reports, per event, whether the server acknowledged it, rejected it (a 4xx
that retrying cannot fix), or could not be reached before the deadline (the
dispatcher then spools it). It never raises for a server's answer or a network
failure.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from honeyhive_trace._config import Config
from honeyhive_trace._errors import alert
from honeyhive_trace._version import __version__
from honeyhive_trace._wire import encode
from honeyhive_trace.delivery import protocol
from honeyhive_trace.delivery.protocol import Delivery, Prepared
from honeyhive_trace.delivery.retry import (
    RETRY_STATUSES,
    backoff,
    retry_after_seconds,
    retry_delay,
)
from honeyhive_trace.locations import is_loopback

__all__ = ["HttpTransport"]

logger = logging.getLogger("honeyhive_trace")


class _Reply:
    __slots__ = ("status", "body", "retry_after", "text")

    def __init__(self, status: int, body: Any, retry_after: float | None, text: str) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.text = text


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
        # Loopback never goes through a proxy: HTTP_PROXY would otherwise get
        # the key and the prompts meant for a local collector, in plain text.
        if not is_loopback(urlsplit(self._base).hostname or ""):
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
        self._secret_forms: tuple[str, ...] = ()
        if config.api_key is not None:
            escaped = json.dumps(config.api_key)[1:-1]
            ascii_escaped = json.dumps(config.api_key, ensure_ascii=True)[1:-1]
            slashed = escaped.replace("/", "\\/")  # JSON may escape "/" too
            self._secret_forms = tuple(
                dict.fromkeys(f for f in (config.api_key, escaped, ascii_escaped, slashed) if f)
            )
        self._max_batch_bytes = config.max_batch_bytes
        #: Kinds whose batch route the server turned out not to have.
        self._no_batch: set[str] = set()
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

    def resume(self) -> None:
        """Deliver again after :meth:`abort` (the dispatcher goes on running)."""
        self._abort.clear()

    def _send(self, method: str, path: str, data: bytes) -> _Reply:
        # Never follow a redirect: a 301/302/303 would turn the POST into a
        # GET, a 307 would re-post the prompts to wherever it points.
        response = self._session.request(
            method, self._base + path, data=data, timeout=self._timeout, allow_redirects=False
        )
        text = response.text
        if self._secret is not None:
            # A server or proxy echoing the key must not get it into logs or dead
            # letters, as it is or JSON-escaped (a key with a \ or a ").
            for form in self._secret_forms:
                text = text.replace(form, "[REDACTED]")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if 300 <= response.status_code < 400:
            where = response.headers.get("Location", "nowhere")
            text = f"redirect to {where[:200]} not followed; check server_url"
            parsed = None
        return _Reply(response.status_code, parsed, retry_after, text[:2000])

    def deliver(self, events: list[Prepared], deadline: float) -> Delivery:
        """Send *events*, retrying what is safe to retry, until *deadline*.

        Args:
            events: prepared events (id and JSON).
            deadline: a :func:`time.monotonic` time after which nothing is retried.

        Items go in :func:`~.protocol.by_phase` order, and once one cannot be
        sent before the deadline, none after it is sent either: what is left
        keeps its order for the spool, so a session's start still comes before
        its events, and an event before its updates.

        Returns:
            The :class:`Delivery` report; every event appears in exactly one of
            ``acked``, ``rejected`` or ``unsent``.
        """
        with self._lock:  # one delivery at a time keeps ordering and the batch flags sane
            report = Delivery()
            # Chunks are popped from the end: reversed, they go out in order.
            work = protocol.by_size(protocol.by_phase(events), self._max_batch_bytes)[::-1]
            attempt = 0
            limits: dict[str, tuple[Prepared, int]] = {}
            stopped = False
            while work:
                chunk = work.pop()
                if stopped or self._abort.is_set() or time.monotonic() >= deadline:
                    report.unsent.extend(chunk)
                    stopped = True
                    continue
                outcome = self._send_chunk(chunk, report, work, limits)
                if outcome is None:
                    attempt = 0
                    continue
                # retryable: `outcome` is the server's Retry-After, or -1 for none
                report.retries += 1
                delay = retry_delay(outcome, attempt) if outcome >= 0 else backoff(attempt)
                attempt += 1
                if time.monotonic() + delay >= deadline or self._wait(delay):
                    report.unsent.extend(chunk)
                    stopped = True
                    continue
                work.append(chunk)
            return report

    def _send_chunk(
        self,
        chunk: list[Prepared],
        report: Delivery,
        work: list[list[Prepared]],
        limits: dict[str, tuple[Prepared, int]],
    ) -> float | None:
        """Post one chunk. Returns None when settled, else a retry delay (-1: backoff)."""
        kind = chunk[0].kind
        route = protocol.ROUTES[kind]
        if len(chunk) > 1 and kind in self._no_batch:
            work.extend([e] for e in reversed(chunk))  # one request per event
            return None
        batch = len(chunk) > 1 and route.batch is not None
        if batch:
            path, data = route.batch or route.single, protocol.batch_body(chunk)
        else:
            path, data = route.single, protocol.single_body(chunk[0])
        try:
            reply = self._send(route.method, path, data)
        except requests.RequestException as exc:
            logger.warning(
                "honeyhive_trace: could not reach %s (%s); will retry",
                self._base,
                type(exc).__name__,
            )
            return -1.0

        status = reply.status
        if 200 <= status < 300:
            report.acked.update(protocol.parse_ack(chunk, reply.body, batch))
            return None
        if batch and status in (404, 405):
            logger.info("honeyhive_trace: server has no %s; sending one by one", path)
            self._no_batch.add(kind)
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
            acked = protocol.parse_partial(chunk, reply.body)
            report.acked.update((event_id, event_id) for event_id in acked)
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
            "honeyhive_trace: server rejected %d item(s) sent to %s %s, not retrying: %s",
            len(chunk),
            route.method,
            path,
            reason,
        )
        alert(f"rejected_{status}", _rejection(status, self._base, reason))
        report.rejected.extend((e, reason) for e in chunk)
        return None

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
        original, previous = limits.get(event_id, (chunk[0], protocol.TRUNCATE_START * 2))
        limit = previous // 2
        if limit < protocol.TRUNCATE_FLOOR:
            reason = "HTTP 413: event too large even with every string truncated"
            logger.error("honeyhive_trace: %s (event %s)", reason, event_id)
            report.rejected.append((original, reason))
            return
        limits[event_id] = (original, limit)
        shortened, cut = protocol.truncate_event(json.loads(original.data), limit)
        if cut == 0 and limit < protocol.TRUNCATE_START:
            reason = "HTTP 413: event too large and has no long strings to truncate"
            logger.error("honeyhive_trace: %s (event %s)", reason, event_id)
            report.rejected.append((original, reason))
            return
        if previous == protocol.TRUNCATE_START * 2:  # count events, not attempts
            report.truncated += 1
        logger.warning(
            "honeyhive_trace: event %s too large for the server; strings cut to %d chars",
            event_id,
            limit,
        )
        work.append([original._replace(data=encode(shortened))])


def _rejection(status: int, base: str, reason: str) -> str:
    if status in (401, 403):
        return (
            f"the server at {base} refused the API key ({reason}); events are not "
            "delivered: check HH_API_KEY (or configure(api_key=...)) and server_url"
        )
    return f"the server at {base} rejected events ({reason}); they are not delivered"


def _server_message(reply: _Reply) -> str:
    if isinstance(reply.body, dict):
        for key in ("message", "error", "errors", "detail"):
            if key in reply.body:
                return str(reply.body[key])[:500]
    return reply.text[:500] or "no message"
