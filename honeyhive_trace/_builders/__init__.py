"""Building frozen records from what the caller's thread handed over (on the worker).

:func:`build_record` turns an ended call into a :class:`~honeyhive_trace.records.ModelEvent`
or a tool/chain :class:`~honeyhive_trace.records.Event`, a session start into a
:class:`~honeyhive_trace.records.SessionStart` and an update into an
:class:`~honeyhive_trace.records.EventUpdate`. :func:`build_unmade` stops short of
making an event's record: it gives the record's keywords as an
:class:`~honeyhive_trace._unstructure.Unbuilt`, which the converter writes as the record
(the worker's path when no processor needs the record). Nothing here reads a live
handle.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from honeyhive_trace._builders._args import CALL_FIELDS, HYPERPARAMETERS
from honeyhive_trace._builders._model import model_fields
from honeyhive_trace._builders._session import build_session, build_update
from honeyhive_trace._builders._step import DEFAULT_SOURCE, step_fields
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace._shapes import UNSET, error_text, str_field
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace._wire import note_degraded, take_degraded, to_jsonable
from honeyhive_trace.capture import EndedCall, SessionCall, UpdateCall
from honeyhive_trace.exceptions import TracingError
from honeyhive_trace.records import Event, ModelEvent, Record

__all__ = [
    "CALL_FIELDS",
    "DEFAULT_SOURCE",
    "HYPERPARAMETERS",
    "build_record",
    "build_session",
    "build_unmade",
    "build_update",
]


def build_record(
    item: EndedCall | SessionCall | UpdateCall,
    config: Config,
    providers: Registry,
    guard: ErrorGuard,
) -> Record:
    """Build the record of whatever the caller's thread handed over.

    Args:
        item: an ended event, a session to start or an update.
        config: the client's configuration (project, source, prices).
        providers: the client's integrations (extractors, assemblers).
        guard: where a failing extractor is reported.

    Returns:
        The record.
    """
    made = build_unmade(item, config, providers, guard)
    return made.build() if isinstance(made, Unbuilt) else made


def build_unmade(
    item: EndedCall | SessionCall | UpdateCall,
    config: Config,
    providers: Registry,
    guard: ErrorGuard,
) -> Record | Unbuilt:
    """As :func:`build_record`, but an ended event's record is left unmade.

    Returns:
        An :class:`~honeyhive_trace._unstructure.Unbuilt` for an ended event (its
        record's class and keywords); the record of a session start or an update.
    """
    try:
        return _build(item, config, providers, guard)
    except (TracingError, KeyboardInterrupt):  # strict mode; Ctrl-C
        raise
    except BaseException as exc:  # a user's value may raise anything when looked at
        guard.report(
            "a value could not be read while building an event; the event is sent with "
            "its values as JSON, the unreadable ones as text (stats: degraded_fields)",
            exc,
            counter=None,
            raise_in_strict=False,
            level=logging.WARNING,
        )
        plain = _plain(item)
        note_degraded(max(1, take_degraded()))  # the values that degraded, at least one
        return _build(plain, config, providers, guard)


def _build(
    item: EndedCall | SessionCall | UpdateCall,
    config: Config,
    providers: Registry,
    guard: ErrorGuard,
) -> Record | Unbuilt:
    if type(item) is SessionCall:
        return build_session(item, config)
    if type(item) is UpdateCall:
        return build_update(item)
    assert type(item) is EndedCall
    spec = item.spec
    if spec is None or spec.event_type == "model":
        return Unbuilt(ModelEvent, model_fields(item, config, providers, guard))
    return Unbuilt(Event, step_fields(item, config, providers, guard))


def _fields(fields: Any) -> dict[str, Any]:
    converted = to_jsonable(fields)
    return converted if type(converted) is dict else {}


def _plain(item: EndedCall | SessionCall | UpdateCall) -> EndedCall | SessionCall | UpdateCall:
    """*item* with every value the user gave replaced by its JSON form (never raises)."""
    if type(item) is SessionCall:
        return attrs.evolve(item, fields=_fields(item.fields))
    if type(item) is UpdateCall:
        return attrs.evolve(item, fields=_fields(item.fields), event_id=str_field(item.event_id))
    assert type(item) is EndedCall
    error = item.error
    return item._replace(
        args=tuple(to_jsonable(list(item.args))),
        kwargs=_fields(item.kwargs),
        updates=_fields(item.updates) if item.updates is not None else None,
        result=item.result if item.result is UNSET else to_jsonable(item.result),
        error=None if error is None else _error(error),  # type: ignore[arg-type]
        chunks=to_jsonable(item.chunks) if item.chunks is not None else None,
        child_results=None,
    )


def _error(error: BaseException) -> str:
    try:
        return error_text(error)
    except KeyboardInterrupt:  # Ctrl-C still stops the program
        raise
    except BaseException:  # its __str__ raised something that is not an Exception
        return type(error).__name__
