"""How events are sent: one ``requests.Session``, timeouts, retries, splitting.

:meth:`HttpTransport.deliver` takes serialised events and a deadline and
reports, per event, whether the server acknowledged it, rejected it (a 4xx
that retrying cannot fix), or could not be reached before the deadline (the
dispatcher then spools it). It never raises for a server's answer or a network
failure.
"""

from __future__ import annotations

import gzip
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
from honeyhive_trace._json import encode
from honeyhive_trace._version import __version__
from honeyhive_trace.delivery import protocol
from honeyhive_trace.delivery.codec import CODECS, can_batch
from honeyhive_trace.delivery.deadline import Watchdog, watched_session
from honeyhive_trace.delivery.protocol import Delivery, Prepared, by_phase, by_size
from honeyhive_trace.delivery.requester import Requester
from honeyhive_trace.delivery.retry import (
    RETRY_STATUSES,
    backoff,
    let_go,
    retry_after_seconds,
    retry_delay,
)
from honeyhive_trace.delivery.target import Target, rejection
from honeyhive_trace.locations import is_loopback

__all__ = ["HttpTransport", "Target"]

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

    def __init__(
        self,
        config: Config,
        wait: Callable[[float], bool] | None = None,
        target: Target | None = None,
    ) -> None:
        if target is None:
            target = Target(config.server_url, config.api_key)
        self._base = target.url
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._session = watched_session()
        self._watchdog = Watchdog()
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
                "Content-Type": target.content_type,
                "User-Agent": f"honeyhive-trace/{__version__}",
            }
        )
        #: Whether this transport speaks to HoneyHive's API (else to an OTLP endpoint).
        self._keyed = target.exporter == "honeyhive"
        if target.api_key is not None:
            self._session.headers["Authorization"] = f"Bearer {target.api_key}"
        self._session.headers.update(target.headers)
        # Every value that may be a credential: the key, and the extra headers'.
        secrets = [target.api_key or "", *target.headers.values()]
        forms: list[str] = []
        for secret in secrets:
            if len(secret) < 4:  # too short to redact without garbling every message
                continue
            escaped = json.dumps(secret)[1:-1]
            ascii_escaped = json.dumps(secret, ensure_ascii=True)[1:-1]
            slashed = escaped.replace("/", "\\/")  # JSON may escape "/" too
            forms += (secret, escaped, ascii_escaped, slashed)
        self._secret_forms: tuple[str, ...] = tuple(dict.fromkeys(forms))
        self._max_batch_bytes = config.max_batch_bytes
        self._gzip = config.compression == "gzip"
        if self._gzip:
            self._session.headers["Content-Encoding"] = "gzip"
        #: Sends through the session's adapter, each route's request prepared once.
        self._requester = Requester(self._session)
        #: Batch routes the server turned out not to have.
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

    def abandon_in_child(self) -> None:
        """In a forked child: let go of the parent's pools without waiting on their locks.

        Another thread of the parent (the sender, inside ``pool.get``) may have
        held a pool's queue lock at the fork; in the child it would never be
        released, and urllib3's exit finalizer would wait on it for ever. The
        locks are made anew, then the child's copies of the pooled sockets are
        closed (closing a copy leaves the parent's connection alone).
        """
        for adapter in self._session.adapters.values():
            managers = [getattr(adapter, "poolmanager", None)]
            managers += list(getattr(adapter, "proxy_manager", {}).values())
            for manager in managers:
                if manager is not None:
                    _abandon_pools(manager)

    def abort(self) -> None:
        """Stop waiting between retries; pending deliveries give up at once."""
        self._abort.set()

    def resume(self) -> None:
        """Deliver again after :meth:`abort` (the dispatcher goes on running)."""
        self._abort.clear()

    def request_deadline(self, deadline: float, patient: bool = False) -> float:
        """When a request begun now must end, for a delivery that ends at *deadline*.

        At the delivery's deadline, or ``connect_timeout`` from now if that is
        later (one honest try near the end), and never later than
        ``connect_timeout + read_timeout`` from now. A *patient* delivery (a
        replay of the spool, whose short budget limits its retries, not how
        long the server may take to answer) gives every request the full
        ``connect_timeout + read_timeout``: cut sooner, a slow server would
        store each replayed batch and never be heard to.
        """
        connect, read = self._timeout
        now = time.monotonic()
        if patient:
            return now + connect + read
        return min(now + connect + read, max(deadline, now + connect))

    def _send(
        self, method: str, path: str, data: bytes, deadline: float, patient: bool = False
    ) -> _Reply:
        # Never follow a redirect: a 301/302/303 would turn the POST into a
        # GET, a 307 would re-post the prompts to wherever it points.
        if self._gzip:
            # Level 1: most of the size for a fraction of the time (zlib lets go of the GIL).
            data = gzip.compress(data, compresslevel=1, mtime=0)
        self._watchdog.arm(self.request_deadline(deadline, patient))
        try:
            response = self._requester.request(method, self._base + path, data, self._timeout)
        finally:
            self._watchdog.disarm()
        if self._watchdog.fired:  # whatever was read before the cut is not an answer
            raise requests.ConnectionError("the request outlived its deadline")
        # Decoded here, not with response.text: its charset detection can import
        # codec modules on the sender thread (a fork then may inherit the import lock).
        text = response.content.decode("utf-8", "replace")
        if self._secret_forms:
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

    def deliver(
        self, events: list[Prepared], deadline: float, *, patient: bool = False, once: bool = False
    ) -> Delivery:
        """Send *events*, retrying what is safe to retry, until *deadline*.

        Args:
            events: prepared events (id and JSON).
            deadline: a :func:`time.monotonic` time after which nothing is retried.
            patient: let each request take ``connect_timeout + read_timeout``
                even past *deadline* (see :meth:`request_deadline`).
            once: try each request once, without retrying (the server did not
                answer a moment ago).

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
            work = by_size(by_phase(events), self._max_batch_bytes, can_batch)[::-1]
            attempt = 0
            limits: dict[str, tuple[Prepared, int]] = {}
            stopped = False
            while work:
                chunk = work.pop()
                if stopped or self._abort.is_set() or time.monotonic() >= deadline:
                    report.unsent.extend(chunk)
                    stopped = True
                    continue
                outcome = self._send_chunk(chunk, report, work, limits, deadline, patient=patient)
                if outcome is None:
                    attempt = 0
                    continue
                # retryable: `outcome` is the server's Retry-After, or -1 for none
                report.retries += 1
                delay = retry_delay(outcome, attempt) if outcome >= 0 else backoff(attempt)
                attempt += 1
                if once or time.monotonic() + delay >= deadline or self._wait(delay):
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
        deadline: float,
        *,
        patient: bool = False,
    ) -> float | None:
        """Post one chunk. Returns None when settled, else a retry delay (-1: backoff)."""
        codec = CODECS[chunk[0].encoding]
        method, path, data, batch = codec.request(chunk)
        if batch and path in self._no_batch:
            work.extend([e] for e in reversed(chunk))  # one request per event
            return None
        try:
            reply = self._send(method, path, data, deadline, patient)
        except requests.RequestException as exc:
            cut = self._watchdog.fired
            logger.info(  # routine: retried, and spooled if it lasts
                "honeyhive_trace: could not reach %s (%s); will retry",
                self._base,
                "the request outlived its deadline" if cut else type(exc).__name__,
            )
            let_go(exc)
            return -1.0

        status = reply.status
        if 200 <= status < 300:
            report.acked.update(protocol.parse_ack(chunk, reply.body, batch))
            return None
        if batch and status in (404, 405):
            logger.info("honeyhive_trace: server has no %s; sending one by one", path)
            self._no_batch.add(path)
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
            logger.info(  # routine: retried, and spooled if it lasts
                "honeyhive_trace: server stored %d of %d events (%s); retrying the rest",
                len(chunk) - len(rest),
                len(chunk),
                _server_message(reply),
            )
            if rest:
                work.append(rest)
            return None
        if status in RETRY_STATUSES:
            logger.info(  # routine: retried, and spooled if it lasts
                "honeyhive_trace: server answered %d (%s); will retry",
                status,
                _server_message(reply),
            )
            return reply.retry_after if reply.retry_after is not None else -1.0
        reason = f"HTTP {status}: {_server_message(reply)}"
        logger.error(
            "honeyhive_trace: server rejected %d item(s) sent to %s %s, not retrying: %s",
            len(chunk),
            method,
            path,
            reason,
        )
        message = rejection(status, self._base, reason, self._keyed)
        alert(f"rejected_{status} {self._base}", message)
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
        if CODECS[chunk[0].encoding].binary:  # an OTLP span: no JSON strings to cut
            reason = "HTTP 413: span too large for the endpoint"
            logger.error("honeyhive_trace: %s (event %s)", reason, event_id)
            report.rejected.append((chunk[0], reason))
            return
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


def _abandon_pools(manager: Any) -> None:
    pools = manager.pools
    pools.lock = threading.RLock()
    for key in list(pools.keys()):
        queue = getattr(pools.get(key), "pool", None)
        if queue is not None:
            queue.mutex = threading.Lock()
            queue.not_empty = threading.Condition(queue.mutex)
            queue.not_full = threading.Condition(queue.mutex)
            queue.all_tasks_done = threading.Condition(queue.mutex)
    manager.clear()


def _server_message(reply: _Reply) -> str:
    if isinstance(reply.body, dict):
        for key in ("message", "error", "errors", "detail"):
            if key in reply.body:
                return str(reply.body[key])[:500]
    return reply.text[:500] or "no message"
