"""Helpers for testing code that uses honeyhive_trace.

:func:`capture_events` collects finished events in memory instead of sending
them, so a test can assert what its code recorded::

    from honeyhive_trace.testing import capture_events

    def test_answer_is_traced():
        with capture_events() as events:
            answer([{"role": "user", "content": "Hi"}])
        event = events.one(event_name="answer")
        assert event.response == {"role": "assistant", "content": "Hello"}

With pytest, the ``captured_events`` fixture (registered by this package's
pytest plugin) does the same for the duration of a test.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from honeyhive_trace import _client
from honeyhive_trace._config import from_settings
from honeyhive_trace._wire import encode_event, take_degraded
from honeyhive_trace.capture import named
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.records import Event, EventUpdate, Record, SessionStart

if TYPE_CHECKING:
    from honeyhive_trace.capture import Submitted

__all__ = ["CapturedEvents", "capture_events"]

_MISSING = object()
E = TypeVar("E", bound=Event)


class CapturedEvents(Sequence[Event]):
    """The events captured so far, in the order they ended.

    A sequence of frozen event records (:class:`~honeyhive_trace.records.ModelEvent`
    and tool/chain :class:`~honeyhive_trace.records.Event`), after processors
    ran, with helpers to find events and to see them as JSON. Session starts
    are in :attr:`sessions`, updates (``log_feedback``, a session's end) in
    :attr:`updates`.
    """

    def __init__(self) -> None:
        self._records: list[Event] = []
        #: The :class:`~honeyhive_trace.records.SessionStart` records, in order.
        self.sessions: list[SessionStart] = []
        #: The :class:`~honeyhive_trace.records.EventUpdate` records, in order.
        self.updates: list[EventUpdate] = []
        self._lock = threading.Lock()

    def _add(self, record: Record) -> None:
        with self._lock:
            if isinstance(record, SessionStart):
                self.sessions.append(record)
            elif isinstance(record, EventUpdate):
                self.updates.append(record)
            else:
                self._records.append(record)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        names = ", ".join(repr(r.event_name) for r in self._records[:10])
        more = ", ..." if len(self._records) > 10 else ""
        return f"<CapturedEvents [{names}{more}]>"

    @overload
    def find(self, /, **fields: Any) -> list[Event]: ...

    @overload
    def find(self, kind: type[E], /, **fields: Any) -> list[E]: ...

    def find(self, kind: type[Event] = Event, /, **fields: Any) -> list[Any]:
        """Events of class *kind* whose fields equal every given value.

        ``find(event_type="tool")``, or ``find(ModelEvent, model="gpt-4o")`` to
        get typed model events.
        """
        return [
            r
            for r in self._records
            if isinstance(r, kind) and all(getattr(r, k, _MISSING) == v for k, v in fields.items())
        ]

    @overload
    def one(self, /, **fields: Any) -> Event: ...

    @overload
    def one(self, kind: type[E], /, **fields: Any) -> E: ...

    def one(self, kind: type[Event] = Event, /, **fields: Any) -> Any:
        """The single event of class *kind* matching *fields* (see :meth:`find`).

        Raises:
            AssertionError: none or more than one event matches.
        """
        found = self.find(kind, **fields)
        if len(found) != 1:
            raise AssertionError(f"expected one event matching {fields}, found {len(found)}")
        return found[0]

    def bodies(self) -> list[dict[str, Any]]:
        """The events as the JSON objects that would be sent (``model_event``, ``event``)."""
        bodies = [json.loads(encode_event(r)) for r in self._records]
        take_degraded()  # counted when the events were built, not again by the next one
        return bodies

    def children(self, parent: Event) -> list[Event]:
        """The events whose parent is *parent* (an event, or a session start)."""
        return [r for r in self._records if r.parent_id == parent.event_id]

    def clear(self) -> None:
        """Forget the events, sessions and updates captured so far."""
        with self._lock:
            self._records.clear()
            self.sessions.clear()
            self.updates.clear()


class _MemoryDispatcher:
    """Builds each ended event's record at once and keeps it; sends nothing."""

    def __init__(self, captured: CapturedEvents, client: Callable[[], _client.Client]) -> None:
        self._captured = captured
        self._client = client
        self._pipeline: Pipeline | None = None

    def submit(self, raw: Submitted) -> None:
        client = self._client()
        if self._pipeline is None:
            self._pipeline = Pipeline(
                client.config, client.guard, client.counters, client.providers
            )
        record = self._pipeline.process(named(raw))
        if record is not None:
            self._pipeline.encode(record)  # surface serialisation problems in the test
            client.counters.add("sent")
            self._captured._add(record)

    def flush(self, timeout: float | None = None, include_spool: bool = False) -> bool:
        return True

    def flush_or_spool(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        return True

    def pending(self) -> int:
        return 0


@contextmanager
def capture_events(
    *,
    project: str = "test",
    processors: Sequence[Callable[[Record], Record | None]] = (),
    strict: bool = True,
    **settings: Any,
) -> Iterator[CapturedEvents]:
    """Capture every event that ends inside the block, in memory.

    Tracing is on inside the block whatever the configuration; the previous
    configuration comes back afterwards. Records are built in the thread that
    ends each event, so they are there as soon as the traced call returns.

    Args:
        project: the project recorded on the events.
        processors: processors to run, as with ``configure(processors=...)``.
        strict: raise internal tracing errors (the default here, so that tests
            see them) instead of logging them.
        **settings: other ``configure()`` settings that shape records (``source``,
            ``prices``).

    Yields:
        The :class:`CapturedEvents`, filled as events end.
    """
    config = from_settings(
        {"project": project, "processors": tuple(processors), "strict": strict, **settings},
        {k: v for k, v in os.environ.items() if not k.startswith("HH_")},
    )
    captured = CapturedEvents()
    holder: list[_client.Client] = []
    client = _client.Client(config, dispatcher=_MemoryDispatcher(captured, lambda: holder[0]))
    holder.append(client)
    previous = _client.swap_client(client)
    try:
        yield captured
    finally:
        _client.swap_client(previous)
