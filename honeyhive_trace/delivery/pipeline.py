"""Ended call -> frozen record -> processors -> encoded bytes, once per item.

With no processor, and a codec that writes JSON, an ended event's record is
not made: its keywords (an :class:`~honeyhive_trace._unstructure.Unbuilt`) are
written as the record would be, byte for byte, and the record is made only if
``ev.record`` asks for it.

Runs on the worker thread in background mode (on the ending thread in inline
mode and under :func:`honeyhive_trace.testing.capture_events`). Every failure
here is counted as a drop with its reason; none reaches the caller. Session
starts and updates take the same path as events, processors included, so a
privacy processor sees feedback and session inputs too.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from honeyhive_trace._builders import build_record, build_unmade
from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard, logger
from honeyhive_trace._providers import Registry
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace._wire import take_degraded
from honeyhive_trace.capture import (
    Call,
    EndedCall,
    SessionCall,
    UpdateCall,
    random_bits,
    uuid4_text,
)
from honeyhive_trace.delivery.codec import Codec, codec_for
from honeyhive_trace.delivery.protocol import Prepared, kind_of
from honeyhive_trace.exceptions import TracingError
from honeyhive_trace.records import EventUpdate, Record

__all__ = ["Pipeline"]

#: Ids of dropped events remembered, so that their updates are dropped too.
DROPPED_IDS_KEPT = 10_000


class Pipeline:
    """Turns ended calls into records and encoded events for one client."""

    def __init__(
        self,
        config: Config,
        guard: ErrorGuard,
        counters: Counters,
        providers: Registry,
        codec: Codec | None = None,
        *,
        primary: bool = True,
    ) -> None:
        self._config = config
        self._codec = codec or codec_for(config.api_version)
        #: Whether this pipeline leaves the record for the handle (``ev.record``):
        #: with several exporters, only the first one's does.
        self._primary = primary
        #: Whether prepare() leaves events' records unmade (nothing would read them:
        #: no processor, and a JSON codec, which writes them from their keywords).
        self._unmade = not config.processors and not self._codec.binary
        self._guard = guard
        self._counters = counters
        self._providers = providers
        self._dropped: OrderedDict[str, None] = OrderedDict()

    def _forget(self, call: Call) -> None:
        # A dropped event's (or session's) id: an update of it would only be refused.
        if type(call) is EndedCall:
            key = call.event_id
        elif type(call) is SessionCall:
            key = call.session.session_id
        else:
            return
        dropped = self._dropped
        dropped[key] = None
        if len(dropped) > DROPPED_IDS_KEPT:
            dropped.popitem(last=False)

    def process(self, ended: Call) -> Record | None:
        """Build an item's record and run the processors on it.

        Returns:
            The record (also left in an ended call's ``outcome`` for ``ev.record``),
            or None when it was dropped (counted, with the reason).
        """
        made = self._process(ended, unmade=False)
        assert not isinstance(made, Unbuilt)
        return made

    def _process(self, ended: Call, unmade: bool) -> Record | Unbuilt | None:
        if type(ended) is UpdateCall and ended.event_id in self._dropped:
            self._counters.add("dropped_update_of_dropped_event")
            self._guard.report(
                "an update of an event that was dropped (by a processor, or as unbuildable)"
                " is dropped too",
                counter=None,
                raise_in_strict=False,
                level=logging.WARNING,
            )
            return None
        build = build_unmade if unmade else build_record
        try:
            record: Record | Unbuilt | None = build(
                ended, self._config, self._providers, self._guard
            )
        except TracingError:  # strict mode: a failing extractor, raised on purpose
            self._counters.add("dropped_build_error")
            raise
        except KeyboardInterrupt:  # Ctrl-C still stops the program
            raise
        except BaseException as exc:  # a user's object may raise anything here
            self._drop("build_error", "could not build an event record", exc)
            self._forget(ended)
            return None
        for processor in self._config.processors:
            if record is None:
                break
            assert not isinstance(record, Unbuilt)  # never left unmade with processors
            record = self._run(processor, record)
        if self._primary and type(ended) is EndedCall:
            ended.outcome[0] = record
        if record is None:
            self._forget(ended)
        return record

    def encode(
        self,
        record: Record | Unbuilt,
        kind: str | None = None,
        context: tuple[int, int] | None = None,
    ) -> bytes:
        """The bytes of *record* in this pipeline's encoding; values that degraded on
        the way are counted.

        Counted here, once per item, also what degraded while its record was
        built (on this thread: the count is per thread). *context* is the
        OpenTelemetry span active when the event ended (for the OTLP codec).
        """
        data = self._codec.encode(record, kind or kind_of(record), context)
        self._count_degraded()
        return data

    def _count_degraded(self) -> None:
        degraded = take_degraded()
        if degraded:
            self._counters.add("degraded_fields", degraded)
            self._guard.report(
                "a value could not be read and was sent as its repr (stats: degraded_fields)",
                counter=None,
                raise_in_strict=False,
                level=logging.WARNING,
            )

    def _drop(self, reason: str, site: str, exc: BaseException) -> None:
        self._counters.add(f"dropped_{reason}")
        self._guard.report(site, exc, raise_in_strict=False)

    def _run(self, processor: Callable[[Record], Record | None], record: Record) -> Record | None:
        name = getattr(processor, "__name__", processor)
        try:
            result = processor(record)
            if result is not None and not isinstance(result, type(record)):
                raise TypeError(
                    f"returned {type(result).__name__}, not a {type(record).__name__} record"
                )
        except Exception as exc:
            self._counters.add("processor_errors")
            if getattr(processor, "fail_closed", False) is True:
                # A privacy processor (redact, hide_*) that failed must not
                # let the event out as it was: drop it.
                self._counters.add("dropped_processor_error")
                logger.error(
                    "honeyhive_trace: processor %r failed; event dropped (fail_closed)",
                    name,
                    exc_info=exc,
                )
                return None
            # Documented rule: a failing processor is skipped; the event goes
            # on as the previous processor left it.
            logger.error(
                "honeyhive_trace: processor %r failed; event kept as it was", name, exc_info=exc
            )
            return record
        if result is None:
            self._counters.add("dropped_by_processor")
        return result

    def prepare(self, calls: list[Call]) -> list[Prepared]:
        """Build, process and encode items. Failures are counted drops."""
        events: list[Prepared] = []
        for ended in calls:
            record = self._process(ended, self._unmade)
            if record is None:
                continue
            try:
                kind = kind_of(record)
                data = self.encode(record, kind, getattr(ended, "otel", None))
                if not data:  # an update, for an exporter that cannot update (OTLP)
                    self._counters.add("dropped_update_not_exported")
                    continue
                events.append(_prepared(record, kind, data, self._codec.name))
            except KeyboardInterrupt:  # Ctrl-C still stops the program
                raise
            except BaseException as exc:
                self._drop("serialization_error", "could not serialise an event", exc)
                self._forget(ended)
        return events


def _prepared(record: Record | Unbuilt, kind: str, data: bytes, encoding: str) -> Prepared:
    if isinstance(record, EventUpdate):
        # An update has no id of its own on the wire; it needs its event first.
        return Prepared(uuid4_text(random_bits(128)), data, kind, record.event_id, encoding)
    after = record.session_id if kind != "session" else None
    return Prepared(record.event_id, data, kind, after, encoding)
