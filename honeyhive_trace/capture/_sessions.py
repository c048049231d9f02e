"""Sessions: the root of a trace, started once and enriched when it ends.

``with session(...)`` (or ``@session(...)``) opens a :class:`Session`: every
event inside carries its id, and top-level events hang under it. Opening one
asks the recorder to start it (``POST /session/start``, once per session id,
queued before any of its events); what the block adds with ``s.set_outputs``,
``s.add_metrics``, ... or :func:`enrich_session` is sent when it ends, as an
update of the session (``PUT /events`` on its id), together with its duration.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from time import perf_counter_ns, time_ns
from types import TracebackType
from typing import Any, TypeVar, cast

import attrs

from honeyhive_trace import _shapes
from honeyhive_trace._state import Recorder, recorder
from honeyhive_trace.capture._snapshot import UpdateCall
from honeyhive_trace.capture._updatable import UPDATE_FIELDS, Updatable, given_fields
from honeyhive_trace.capture._wrappers import (
    AsyncWith,
    async_generator_wrapper,
    generator_wrapper,
)

__all__ = [
    "CURRENT_SESSION",
    "SESSION_NAMESPACE",
    "Session",
    "SessionCall",
    "SessionScope",
    "current_session",
    "enrich_session",
    "session",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Namespace of the UUIDs made from session ids that are not UUIDs themselves.
SESSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://honeyhive.ai/honeyhive-trace/session")

#: The fields a session block may be given when it starts.
START_FIELDS = ("inputs", "config", "metadata", "user_properties")


class Session(Updatable):
    """One session: the id and name its events share, and what it gains while open.

    Attributes:
        session_id: the UUID string every event of the session carries (also the
            session's own event id).
        name: the readable name, or None.
        key: the id the caller gave when it was not a UUID (e.g. ``"conv-42"``),
            from which ``session_id`` was derived; else None.

    The setters (``set_outputs``, ``add_metrics``, ``add_feedback``,
    ``add_metadata``, ``add_config``, ``add_user_properties``) gather fields
    that are sent as one update when the session's block ends, or at once
    when it has already ended. They never raise. Safe to call from any thread.
    """

    __slots__ = (
        "key",
        "name",
        "session_id",
        "_client",
        "_fields",
        "_updates",
        "_lock",
        "_ended",
        "_started",
        "_wall_ns",
        "_start_ns",
    )

    def __init__(
        self,
        name: str | None,
        session_id: str | None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.key: str | None = None
        self._fields: Mapping[str, Any] = fields or {}
        #: The recorder that started the session, while it records; else None.
        self._client: Recorder | None = None
        self._updates: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._ended = False
        #: Whether opening this session queued its start (the first use of its id).
        self._started = False
        self._wall_ns = time_ns()
        self._start_ns = perf_counter_ns()
        if session_id is None:
            self.session_id = str(uuid.uuid4())
            return
        text = str(session_id)
        try:
            self.session_id = str(uuid.UUID(text))
        except ValueError:
            # HoneyHive's session_id is a UUID: derive a stable one, so the same
            # conversation id maps to the same session in every process.
            self.session_id = str(uuid.uuid5(SESSION_NAMESPACE, text))
            self.key = text

    def __repr__(self) -> str:
        return f"Session(name={self.name!r}, session_id={self.session_id!r})"

    @property
    def event_id(self) -> str:
        """The session's own event id, which is its ``session_id``."""
        return self.session_id

    def update(self, **fields: Any) -> None:
        """Add to any field an update can carry: ``outputs``, ``metrics``, ``feedback``, ...

        Mapping values are merged key by key into what was set before, as the
        server merges an update. An unknown name is reported
        (``internal_errors``), not raised.
        """
        for name, value in fields.items():
            if name not in UPDATE_FIELDS:
                recorder().guard.report(f"session update(): {name!r} cannot be updated")
            else:
                self._merge(name, value, {})

    def _set(self, name: str, value: Any) -> None:
        with self._lock:
            if not self._ended:
                if self._updates is None:
                    self._updates = {}
                self._updates[name] = value
                return
        self._send({name: value}, None)

    def _merge(self, name: str, values: Any, kwargs: dict[str, Any]) -> None:
        added = _shapes.merge_into(None, values)
        added.update(kwargs)
        with self._lock:
            if not self._ended:
                if self._updates is None:
                    self._updates = {}
                previous = self._updates.get(name)
                merged = dict(previous) if type(previous) is dict else {}
                merged.update(added)
                self._updates[name] = merged
                return
        self._send({name: added}, None)

    def _send(self, fields: dict[str, Any], duration_ms: float | None) -> None:
        client = self._client
        if client is None:  # tracing was off when the session opened
            return
        try:
            client.submit(UpdateCall(self.session_id, fields, duration_ms))
        except Exception as exc:
            client.guard.report("could not update a session", exc)

    def _open(self) -> None:
        """Start the session with the current recorder, if it records."""
        client = recorder()
        if not client.recording:
            return
        self._client = client
        try:
            self._started = client.start_session(self)
        except Exception as exc:
            client.guard.report("could not start a session", exc)

    def _end(self, error: BaseException | None) -> None:
        """End the block: send what it gathered (and its duration) as one update.

        The duration is the session's only when this block started it; a later
        turn of a conversation sends only what it added.
        """
        end_ns = perf_counter_ns()
        with self._lock:
            if self._ended:
                return
            self._ended = True
            fields, self._updates = self._updates or {}, None
        if error is not None and not isinstance(error, GeneratorExit):
            metadata = dict(fields.get("metadata") or {})
            metadata.setdefault("error", _shapes.error_text(error))
            fields["metadata"] = metadata
        if self._started:
            self._send(fields, round((end_ns - self._start_ns) / 1e6, 3))
        elif fields:
            self._send(fields, None)


@attrs.frozen
class SessionCall:
    """A session to start with ``POST /session/start`` (sent once per session id)."""

    session: Session
    wall_ns: int
    #: What the session block was given: inputs, config, metadata, user_properties.
    fields: Mapping[str, Any]
    #: The OpenTelemetry span active when the session started, ``(trace_id, span_id)``
    #: (read only when an OTLP exporter is configured).
    otel: tuple[int, int] | None = None


#: The innermost open session of the running thread or task (each inherits its
#: creator's; a new thread starts with none). Reset with the token, in ``finally``.
CURRENT_SESSION: ContextVar[Session | None] = ContextVar(
    "honeyhive_trace.current_session", default=None
)


def _default_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "session"
    return str(name).rsplit("<locals>.", 1)[-1]


class SessionScope(AsyncWith[Session]):
    """A ``with``/``async with`` block or decorator that opens a session.

    Each ``with`` (and each call of a decorated function) opens a new session,
    unless a fixed ``session_id`` was given, which is then reused.
    """

    __slots__ = ("_name", "_session_id", "_fields", "_tokens")

    def __init__(
        self, name: str | None, session_id: str | None, fields: Mapping[str, Any]
    ) -> None:
        self._name = name
        self._session_id = session_id
        self._fields = fields
        self._tokens: list[tuple[Session, Any]] = []

    def _new(self, name: str | None = None) -> Session:
        opened = Session(self._name or name, self._session_id, self._fields)
        opened._open()
        return opened

    def __enter__(self) -> Session:
        opened = self._new()
        self._tokens.append((opened, CURRENT_SESSION.set(opened)))
        return opened

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        opened, token = self._tokens.pop()
        try:
            CURRENT_SESSION.reset(token)
        except ValueError:  # exited in another context than entered
            pass
        opened._end(exc)

    def __call__(self, fn: F) -> F:
        """Decorate *fn* so that each call runs in a new session."""
        name = _default_name(fn)
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):

            def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                opened = self._new(name)

                def on_end(result: Any, error: BaseException | None, closed_early: bool) -> None:
                    opened._end(error)

                return CURRENT_SESSION, opened, None, on_end

            if inspect.isasyncgenfunction(fn):
                return cast(F, async_generator_wrapper(fn, begin))
            return cast(F, generator_wrapper(fn, begin))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                opened = self._new(name)
                token = CURRENT_SESSION.set(opened)
                error: BaseException | None = None
                try:
                    return await fn(*args, **kwargs)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    CURRENT_SESSION.reset(token)
                    opened._end(error)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            opened = self._new(name)
            token = CURRENT_SESSION.set(opened)
            error: BaseException | None = None
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                CURRENT_SESSION.reset(token)
                opened._end(error)

        return cast(F, wrapper)


def session(
    name: str | None = None,
    *,
    session_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
) -> SessionScope:
    """Run a block, or each call of a function, as one session: the root of a trace.

    Usable as ``with session(name=...) as s:``, ``async with session(...)``
    and as the decorator ``@session(name=...)``. Opening it starts the session
    on HoneyHive (``POST /session/start``, once per session id, always before
    any of its events is delivered); every event inside carries its id, and
    top-level events hang under it. What the block adds (``s.set_outputs``,
    ``s.add_metrics``, :func:`enrich_session`, ...) is sent when it ends, with
    its duration, as an update of the session (``PUT /events``).

    Args:
        name: the session's name (``session_name``); also recorded in each
            event's ``metadata.session_name``. The decorated function's name
            for ``@session``, else ``"session"``.
        session_id: a fixed id, so that the turns of one conversation land in
            one session. A UUID is used as it is; any other string (your own
            conversation id) is turned into a stable UUID5 and kept in each
            event's ``metadata.session_key``. A new UUID4 by default.
        inputs: what the session started from (the user's question, ...).
        config: configuration of the run (prompt versions, model names, ...).
        metadata: any other facts about the run.
        user_properties: who the session is for (``{"user_id": "u-1"}``).

    Returns:
        A reusable scope; each entry opens a session.
    """
    fields = given_fields(
        inputs=inputs, config=config, metadata=metadata, user_properties=user_properties
    )
    return SessionScope(name, session_id, fields)


def current_session() -> Session | None:
    """Return the innermost open session, or ``None``."""
    return CURRENT_SESSION.get()


def enrich_session(
    *,
    outputs: Any = None,
    metadata: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    feedback: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    user_properties: Mapping[str, Any] | None = None,
) -> None:
    """Add fields to the current session; they are sent when its block ends.

    Mappings are merged into what the session gathered before; ``outputs``
    replaces. Outside any session this does nothing but log a warning once.
    Never raises.
    """
    current = CURRENT_SESSION.get()
    if current is None:
        recorder().guard.report(
            "enrich_session() called outside any session; ignored",
            counter=None,
            raise_in_strict=False,
            level=logging.WARNING,
        )
        return
    current.update(
        **given_fields(
            outputs=outputs,
            metadata=metadata,
            metrics=metrics,
            feedback=feedback,
            config=config,
            user_properties=user_properties,
        )
    )
