"""Ended call -> frozen record -> processors -> encoded bytes, once per event.

Runs on the worker thread in background mode (on the ending thread in inline
mode and under :func:`honeyhive_trace.testing.capture_events`). Every failure
here is counted as a drop with its reason; none reaches the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from honeyhive_trace._build import build_record
from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard, logger
from honeyhive_trace._providers import Registry
from honeyhive_trace._wire import encode_event
from honeyhive_trace.capture import EndedCall
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.exceptions import TracingError
from honeyhive_trace.records import Event

__all__ = ["Pipeline"]


class Pipeline:
    """Turns ended calls into records and encoded events for one client."""

    def __init__(
        self, config: Config, guard: ErrorGuard, counters: Counters, providers: Registry
    ) -> None:
        self._config = config
        self._guard = guard
        self._counters = counters
        self._providers = providers

    def process(self, ended: EndedCall) -> Event | None:
        """Build an ended call's record and run the processors on it.

        Returns:
            The record (also left in the call's ``outcome`` for ``ev.record``),
            or None when it was dropped (counted, with the reason).
        """
        try:
            record: Event | None = build_record(ended, self._config, self._providers, self._guard)
        except TracingError:  # strict mode: a failing extractor, raised on purpose
            self._counters.add("dropped_build_error")
            raise
        except Exception as exc:
            self._drop("build_error", "could not build an event record", exc)
            return None
        for processor in self._config.processors:
            if record is None:
                break
            record = self._run(processor, record)
        ended.outcome[0] = record
        return record

    def _drop(self, reason: str, site: str, exc: Exception) -> None:
        self._counters.add(f"dropped_{reason}")
        self._guard.report(site, exc, raise_in_strict=False)

    def _run(self, processor: Callable[[Event], Event | None], record: Event) -> Event | None:
        name = getattr(processor, "__name__", processor)
        try:
            result = processor(record)
            if result is not None and not isinstance(result, Event):
                raise TypeError(f"returned {type(result).__name__}, not an event record")
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

    def prepare(self, calls: list[EndedCall]) -> list[Prepared]:
        """Build, process and encode ended calls. Failures are counted drops."""
        events: list[Prepared] = []
        for ended in calls:
            record = self.process(ended)
            if record is None:
                continue
            try:
                events.append(Prepared(record.event_id, encode_event(record)))
            except Exception as exc:
                self._drop("serialization_error", "could not serialise an event", exc)
        return events
