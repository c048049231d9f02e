"""One trace across services: the current ids out as HTTP headers, and back in.

:func:`propagation_headers` writes the current session and event ids as a W3C
``traceparent`` (so proxies and OpenTelemetry-instrumented services pass it
on) and, exactly, as ``baggage`` entries ``honeyhive.session_id`` and
``honeyhive.event_id``. :func:`continue_trace` reads them back in another
process: events inside become children of the remote event, in its session.

Incoming values are never trusted beyond the id format: only canonical UUIDs
are taken; anything else (malformed, oversized, hostile) is ignored with one
log line, and nothing raises.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TypeAlias

from honeyhive_trace._state import recorder
from honeyhive_trace.capture._handle import CURRENT_EVENT, EventHandle
from honeyhive_trace.capture._sessions import CURRENT_SESSION, Session
from honeyhive_trace.capture._wrappers import AsyncWith

__all__ = [
    "BAGGAGE_EVENT",
    "BAGGAGE_SESSION",
    "RemoteParent",
    "TraceScope",
    "continue_trace",
    "parse_headers",
    "propagation_headers",
]

#: The baggage keys that carry the HoneyHive ids.
BAGGAGE_SESSION = "honeyhive.session_id"
BAGGAGE_EVENT = "honeyhive.event_id"
#: Longest header value read (W3C baggage recommends at most 8,192 bytes).
MAX_HEADER = 8192

Headers: TypeAlias = Mapping[str, Any] | Iterable[tuple[Any, Any]]


def _hex(text: str) -> str:
    return uuid.UUID(text).hex


def propagation_headers() -> dict[str, str]:
    """HTTP headers that carry the current trace to another service.

    ``traceparent`` (W3C Trace Context: the session id as the trace id, the
    event's last 64 bits as the span id) and ``baggage`` with the exact
    ``honeyhive.session_id`` and ``honeyhive.event_id``. Add them to an
    outgoing request; the receiving service calls :func:`continue_trace`.

    Returns:
        The headers, or an empty dict outside any event and session.
    """
    handle = CURRENT_EVENT.get()
    current = CURRENT_SESSION.get()
    if handle is None and current is None:
        return {}
    event_id = handle.event_id if handle is not None else None
    session_id = current.session_id if current is not None else None
    baggage = []
    if session_id is not None:
        baggage.append(f"{BAGGAGE_SESSION}={session_id}")
    if event_id is not None:
        baggage.append(f"{BAGGAGE_EVENT}={event_id}")
    trace = _hex(session_id or event_id or "")
    span = _hex(event_id or session_id or "")[16:]
    return {"traceparent": f"00-{trace}-{span}-01", "baggage": ",".join(baggage)}


def _lower(headers: Headers) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for key, value in items:
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        name = name.lower()
        if name in ("baggage", "traceparent"):
            found[name] = f"{found[name]},{text}" if name in found else text
    return found


def _canonical(text: str) -> str | None:
    """The id as a canonical UUID string, or None if it is not exactly one."""
    text = text.strip()
    if len(text) != 36:
        return None
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    canonical = str(parsed)
    return canonical if canonical == text.lower() else None


def parse_headers(headers: Headers) -> tuple[str | None, str | None, list[str]]:
    """Read the HoneyHive ids from *headers*.

    Returns:
        (session id, event id, problems): ids that are not canonical UUIDs
        are left out and named in *problems*.
    """
    problems: list[str] = []
    try:
        baggage = _lower(headers).get("baggage", "")
    except Exception as exc:  # a mapping that cannot be read
        return None, None, [f"unreadable headers ({type(exc).__name__})"]
    if len(baggage) > MAX_HEADER:
        return None, None, [f"baggage header over {MAX_HEADER} characters"]
    ids: dict[str, str | None] = {BAGGAGE_SESSION: None, BAGGAGE_EVENT: None}
    for entry in baggage.split(","):
        key, _, value = entry.partition("=")
        key = key.strip()
        if key not in ids:
            continue
        value = value.split(";", 1)[0]  # baggage properties are ignored
        canonical = _canonical(value)
        if canonical is None:
            problems.append(f"{key} is not a UUID")
        else:
            ids[key] = canonical
    return ids[BAGGAGE_SESSION], ids[BAGGAGE_EVENT], problems


class RemoteParent(EventHandle):
    """The remote event a continued trace hangs under: an id, never a live event here.

    Children record its id as their ``parent_id``; it is not sent, collects
    nothing and is not returned by :func:`~honeyhive_trace.current_event`.
    """

    __slots__ = ()
    _remote = True

    def __init__(self, event_id: str, session: Session | None) -> None:  # no clocks, no client
        self._bits = event_id  # type: ignore[assignment]  # children take the id as it is
        self._id = event_id
        self._done = True
        self._updates = None
        self._parent = None
        self._children = None
        self._session = session
        self._spec = None
        self._root = None  # the remote event stands for the trace's root here

    def _set(self, name: str, value: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<RemoteParent {self._id}>"


class TraceScope(AsyncWith[None]):
    """``with``/``async with`` block that continues a trace begun in another process."""

    __slots__ = ("_headers", "_tokens")

    def __init__(self, headers: Headers) -> None:
        self._headers = headers
        self._tokens: list[tuple[Any, Any]] = []

    def __enter__(self) -> None:
        session_id, event_id, problems = parse_headers(self._headers)
        if problems:
            recorder().guard.report(
                "continue_trace(): ignored incoming trace headers: " + "; ".join(problems),
                counter=None,
                raise_in_strict=False,
                level=logging.WARNING,
            )
        remote: Session | None = None
        if session_id is not None:
            remote = Session(None, session_id)
            client = recorder()
            if client.recording:
                # Started by the remote process: what this one adds to it is
                # sent at once, as updates.
                remote._client = client
                remote._ended = True
        session_token = CURRENT_SESSION.set(remote) if remote is not None else None
        parent = RemoteParent(event_id, remote) if event_id is not None else None
        event_token = CURRENT_EVENT.set(parent) if parent is not None else None
        self._tokens.append((session_token, event_token))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session_token, event_token = self._tokens.pop()
        try:
            if event_token is not None:
                CURRENT_EVENT.reset(event_token)
            if session_token is not None:
                CURRENT_SESSION.reset(session_token)
        except ValueError:  # exited in another context than entered
            pass


def continue_trace(headers: Headers) -> TraceScope:
    """Continue, inside a block, the trace whose headers came with a request.

    ``with hh.continue_trace(request.headers):`` (or ``async with``): events
    inside become children of the remote event and belong to its session, as
    if the call had not crossed a process. Reads what
    :func:`propagation_headers` wrote (``baggage``: ``honeyhive.session_id``,
    ``honeyhive.event_id``). Headers without them change nothing; malformed or
    hostile values are ignored with one log line. Never raises.

    Args:
        headers: the request's headers: any mapping (case is ignored), or
            ``(name, value)`` pairs, as str or bytes (an ASGI scope's).

    Returns:
        A context manager.
    """
    return TraceScope(headers)
