"""A thread-safe script of failures for the collector to inject, and the layer applying it.

Faults are a constructor option of :class:`~honeyhive_trace.collector.Collector` and are never
reachable over HTTP. They apply to every write endpoint (``POST /events/model``, ``POST
/events/model/batch``, ``POST /events``, ``POST /events/batch``, ``POST /session/start`` and
``PUT /events``, and the v1 routes ``POST /v1/events``, ``/v1/events/batch``,
``/v1/sessions``, ``/v1/sessions/{session_id}/events/batch`` and ``PUT
/v1/events/{event_id}``) and never to reads, so a test can always read state back through
``GET /events`` or ``GET /sessions``.

:class:`FaultLayer` is WSGI middleware around the write endpoints, so faults come after the
collector's checks (a fault never hides a 401, 413 or 415) and after the body was read (a
recorded request shows it). ``respond``, ``delay`` and ``partial`` are plain WSGI. ``drop`` and
``hang`` need the raw socket: the layer raises :class:`ConnectionAbortedError` and the
collector's server (``_server.py``) closes the connection without an answer.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from honeyhive_trace.collector._partial import BATCHES, Captured, answer_partly, route_of
from honeyhive_trace.collector._wsgi import BATCH_PATH, respond

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FaultKind = Literal["respond", "delay", "drop", "hang", "partial"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault the server applies to one request.

    Attributes:
        kind: What to do: ``respond``, ``delay``, ``drop``, ``hang`` or ``partial``.
        status: HTTP status to answer with (``respond``).
        body: Response body (``respond``).
        headers: Extra response headers (``respond``).
        seconds: How long to wait before normal handling (``delay``).
        reject: How many events at the end of the batch not to store (``partial``).
        after_store: For ``drop``: store the events first, then drop the answer.
    """

    kind: FaultKind
    status: int = 0
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    reject: int = 0
    after_store: bool = False


@dataclass(slots=True)
class _Rule:
    fault: Fault
    remaining: int | None
    path: str | None


def _check_times(times: int | None) -> None:
    if times is not None and (isinstance(times, bool) or times < 1):
        raise ValueError(f"times must be a positive integer or None (forever), got {times!r}")


def _default_body(status: int) -> dict[str, object]:
    if status < 400:
        return {"success": True}
    return {
        "success": False,
        "errors": [{"field": "", "message": f"injected fault: HTTP {status}"}],
    }


class Faults:
    """A script of fault rules that a collector consumes, in order, before normal handling.

    Each rule fires for the first ``times`` matching requests (``times=None``: forever), then
    is removed. A request takes the first rule whose ``path`` matches (``None`` matches every
    write endpoint; ``"/events"`` matches both ``POST`` and ``PUT``; a v1 route with its
    ``{...}`` part, e.g. ``"/v1/events/{event_id}"``, matches it with any id). When no rule
    matches, the random :meth:`fail_rate` applies, if set.

    Example:
        >>> faults = Faults()
        >>> faults.respond(503, headers={"Retry-After": "0"}, times=2)
        >>> faults.pending()
        1
    """

    def __init__(self) -> None:
        """Create an empty script: every request is handled normally."""
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._fired: list[tuple[str, str]] = []
        self._rate = 0.0
        self._rate_status = 503
        self._rng = random.Random(0)

    def _add(self, fault: Fault, times: int | None, path: str | None) -> None:
        _check_times(times)
        if path is not None and not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        with self._lock:
            self._rules.append(_Rule(fault, times, path))

    def respond(
        self,
        status: int,
        *,
        body: Mapping[str, object] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        path: str | None = None,
    ) -> None:
        """Answer matching requests with ``status`` without storing anything.

        Args:
            status: The HTTP status, 200-599.
            body: A JSON object, raw bytes, or None for a small JSON error (or success) body.
            headers: Extra headers, e.g. ``{"Retry-After": "2"}``.
            times: How many requests this rule answers; None for all of them.
            path: Only requests to this path; None for every write endpoint.

        Raises:
            ValueError: If an argument is out of range.
        """
        if isinstance(status, bool) or not 200 <= status <= 599:
            raise ValueError(f"status must be between 200 and 599, got {status!r}")
        hdrs = dict(headers or {})
        if isinstance(body, bytes):
            raw = body
            hdrs.setdefault("Content-Type", "application/octet-stream")
        else:
            payload = dict(body) if body is not None else _default_body(status)
            raw = json.dumps(payload).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if status in (204, 304):
            raw = b""
        fault = Fault("respond", status=status, body=raw, headers=tuple(hdrs.items()))
        self._add(fault, times, path)

    def delay(self, seconds: float, *, times: int | None = 1, path: str | None = None) -> None:
        """Wait ``seconds`` (cut short by ``Collector.stop()``), then handle normally.

        Args:
            seconds: How long to wait, >= 0.
            times: How many requests to delay; None for all of them.
            path: Only requests to this path; None for every write endpoint.

        Raises:
            ValueError: If an argument is out of range.
        """
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._add(Fault("delay", seconds=float(seconds)), times, path)

    def drop(
        self,
        *,
        times: int | None = 1,
        path: str | None = None,
        after_store: bool = False,
    ) -> None:
        """Read the request, then close the connection without any answer.

        Args:
            times: How many requests to drop; None for all of them.
            path: Only requests to this path; None for every write endpoint.
            after_store: Store the events first, so only the answer is lost (a client that
                retries must then rely on ``event_id`` de-duplication).

        Raises:
            ValueError: If an argument is out of range.
        """
        self._add(Fault("drop", after_store=after_store), times, path)

    def hang(self, *, times: int | None = 1, path: str | None = None) -> None:
        """Read the request and never answer; the connection closes at ``Collector.stop()``.

        Args:
            times: How many requests to hang; None for all of them.
            path: Only requests to this path; None for every write endpoint.

        Raises:
            ValueError: If an argument is out of range.
        """
        self._add(Fault("hang"), times, path)

    def partial(self, *, reject: int = 1, times: int | None = 1, path: str = BATCH_PATH) -> None:
        """Store all but the last ``reject`` events of a batch and answer 500 "partly created".

        The answer is ``{"event_ids": [stored ids], "errors": [...], "success": true}``, as
        the API documents.

        Args:
            reject: How many events at the end of each batch not to store, >= 1.
            times: How many batches to treat this way; None for all of them.
            path: The batch endpoint: ``/events/model/batch``, ``/events/batch``,
                ``/v1/events/batch`` or ``/v1/sessions/{session_id}/events/batch``.

        Raises:
            ValueError: If an argument is out of range.
        """
        if isinstance(reject, bool) or reject < 1:
            raise ValueError(f"reject must be a positive integer, got {reject!r}")
        if route_of(path) not in BATCHES:
            raise ValueError(f"path must be one of {sorted(BATCHES)}, got {path!r}")
        self._add(Fault("partial", status=500, reject=reject), times, path)

    def fail_rate(self, rate: float, *, status: int = 503, seed: int = 0) -> None:
        """Fail a random share of the requests that no scripted rule matched.

        Args:
            rate: The share to fail, 0 to 1; ``fail_rate(0)`` turns it off.
            status: The HTTP status of the failures.
            seed: Seed of the random generator, so a soak test is repeatable.

        Raises:
            ValueError: If an argument is out of range.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate!r}")
        if isinstance(status, bool) or not 200 <= status <= 599:
            raise ValueError(f"status must be between 200 and 599, got {status!r}")
        with self._lock:
            self._rate = float(rate)
            self._rate_status = status
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Remove every scripted rule and turn the fail rate off."""
        with self._lock:
            self._rules.clear()
            self._rate = 0.0

    def pending(self) -> int:
        """Return how many scripted rules have not been used up yet.

        Returns:
            The number of rules still in the script (a ``times=None`` rule always counts).
        """
        with self._lock:
            return len(self._rules)

    def fired(self) -> list[tuple[str, str]]:
        """Return the faults applied so far, oldest first.

        Returns:
            ``(kind, path)`` pairs; random failures have kind ``fail_rate``.
        """
        with self._lock:
            return list(self._fired)

    def take(self, path: str) -> Fault | None:
        """Consume and return the fault for one ingest request, if any.

        Args:
            path: The request path, without the query string.

        Returns:
            The fault to apply, or None to handle the request normally.
        """
        route = route_of(path)
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.path is not None and rule.path not in (path, route):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[index]
                self._fired.append((rule.fault.kind, path))
                return rule.fault
            if self._rate > 0 and self._rng.random() < self._rate:
                self._fired.append(("fail_rate", path))
                body = json.dumps(_default_body(self._rate_status)).encode()
                headers = (("Content-Type", "application/json"),)
                return Fault("respond", status=self._rate_status, body=body, headers=headers)
        return None


class FaultLayer:
    """WSGI middleware that applies a :class:`Faults` script to the ingest requests it sees.

    Args:
        app: The ingest endpoint.
        faults: The script.
        stopping: Set when the collector stops; it cuts ``delay`` and ``hang`` short.
    """

    def __init__(self, app: WSGIApplication, faults: Faults, stopping: threading.Event) -> None:
        """Wrap ``app``."""
        self.app = app
        self.faults = faults
        self.stopping = stopping

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Apply the next fault, if any, to one ingest request (a WSGI application).

        Raises:
            ConnectionAbortedError: To close the connection without an answer (``drop``,
                ``hang``, or a ``delay`` cut short by the collector stopping).
        """
        fault = self.faults.take(environ.get("PATH_INFO", ""))
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "respond":
            return respond(
                start_response, fault.status, fault.body, fault.headers, content_type=None
            )
        if fault.kind == "delay":
            if self.stopping.wait(fault.seconds):
                raise ConnectionAbortedError("collector stopping")
            return self.app(environ, start_response)
        if fault.kind == "hang":
            self.stopping.wait()
            raise ConnectionAbortedError("hung request released by stop()")
        if fault.kind == "drop":
            if not fault.after_store:
                raise ConnectionAbortedError("dropped by injected fault")
            captured = Captured()
            body = b"".join(self.app(environ, captured))
            if captured.status.startswith("200"):
                raise ConnectionAbortedError("answer dropped by injected fault")
            start_response(captured.status, captured.headers)
            return [body]
        return answer_partly(self.app, environ, start_response, fault.reject)
