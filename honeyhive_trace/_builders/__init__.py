"""Building frozen records from what the caller's thread handed over (on the worker).

:func:`build_record` turns an ended call into a :class:`~honeyhive_trace.records.ModelEvent`
or a tool/chain :class:`~honeyhive_trace.records.Event`, a session start into a
:class:`~honeyhive_trace.records.SessionStart` and an update into an
:class:`~honeyhive_trace.records.EventUpdate`. Nothing here reads a live handle.
"""

from __future__ import annotations

from honeyhive_trace._builders._args import CALL_FIELDS, HYPERPARAMETERS
from honeyhive_trace._builders._model import build_model
from honeyhive_trace._builders._session import build_session, build_update
from honeyhive_trace._builders._step import DEFAULT_SOURCE, build_step
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.capture import EndedCall, SessionCall, UpdateCall
from honeyhive_trace.records import Record

__all__ = [
    "CALL_FIELDS",
    "DEFAULT_SOURCE",
    "HYPERPARAMETERS",
    "build_model",
    "build_record",
    "build_session",
    "build_step",
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
    if type(item) is SessionCall:
        return build_session(item, config)
    if type(item) is UpdateCall:
        return build_update(item)
    assert type(item) is EndedCall
    spec = item.spec
    if spec is None or spec.event_type == "model":
        return build_model(item, config, providers, guard)
    return build_step(item, config, providers, guard)
