"""The record of an ended model event, as its keywords (on the worker in background mode).

:func:`model_fields` takes an :class:`~honeyhive_trace.capture.EndedCall` (the
immutable snapshot the caller's thread handed over), the configuration and
the client's provider registry, and returns the keywords of its
:class:`~honeyhive_trace.records.ModelEvent`. It never reads a live handle.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace._builders._args import call_fields, route
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.capture import EndedCall
from honeyhive_trace.integrations._capture import Capture
from honeyhive_trace.integrations._enrich import complete_fields, infer_provider

__all__ = ["event_metadata", "identity", "model_fields", "recorded_by_child"]

_UNSET = shapes.UNSET


def recorded_by_child(result: Any, child_results: list[Any] | None) -> bool:
    """Whether *result* is what one of the event's children returned (and recorded)."""
    if not child_results or result is _UNSET or result is None:
        return False
    # A raw response the parent returned is captured too: compare what it holds.
    inner = result.result if type(result) is Capture and result.result is not None else result
    for child in child_results:
        if child is result or child is inner:
            return True
        if type(child) is Capture and (child.result is result or child.result is inner):
            return True
    return False


def identity(ended: EndedCall) -> dict[str, Any]:
    """The ids, nesting and times of an ended event, as record fields."""
    duration_ms = (ended.end_ns - ended.start_ns) / 1e6
    start_ms = ended.wall_ns // 1_000_000
    event_id = ended.event_id
    return {
        "duration": round(duration_ms, 3),
        "event_id": event_id,
        "session_id": ended.session.session_id if ended.session is not None else None,
        "parent_id": ended.parent_id,
        "children_ids": ended.children_ids,
        "start_time": start_ms,
        "end_time": start_ms + round(duration_ms),
        "trace_id": ended.root_id or event_id,
    }


def event_metadata(ended: EndedCall, fields: dict[str, Any]) -> dict[str, Any]:
    """The event's ``metadata``: what was set, plus what the library knows of the call."""
    metadata = shapes.obj(fields.get("metadata"), "metadata")
    if ended.closed_early:
        metadata["closed_early"] = True
    if ended.chunks:
        first = ended.first_chunk_ns - ended.start_ns
        metadata.setdefault("time_to_first_token_ms", round(first / 1e6, 3))
    session = ended.session
    if session is not None:
        if session.name is not None:
            metadata.setdefault("session_name", session.name)
        if session.key is not None:
            metadata.setdefault("session_key", session.key)
    return metadata


def model_fields(
    ended: EndedCall, config: Config, providers: Registry, guard: ErrorGuard
) -> dict[str, Any]:
    """The keywords of an ended model event's record: ``ModelEvent(**fields)`` makes it.

    Precedence, lowest first: decorator defaults, the call's arguments (or the
    ``model_event`` keywords), what the traced code returned, then what user code
    set on the handle.

    Args:
        ended: the snapshot the event's handle handed over when it ended.
        config: the client's configuration (project, source, prices).
        providers: the client's integrations (extractors, assemblers).
        guard: where a failing extractor is reported.

    Returns:
        The keywords, each shaped as the record's field (only those set).
    """
    fields: dict[str, Any] = {}
    spec = ended.spec
    if spec is not None:
        fields = call_fields(spec, ended.args, ended.kwargs)
    else:
        route(ended.kwargs, fields, explicit=True)

    extracted: dict[str, Any] | None = None
    if ended.chunks:
        extracted = providers.assemble(ended.chunks, guard)
        if extracted is None:
            fields["response"] = shapes.response_from_chunks(ended.chunks)
    elif ended.result is not _UNSET and "response" not in (ended.updates or {}):
        extracted = providers.extract(ended.result, guard)
        if extracted is None:
            fields["response"] = shapes.response_from(ended.result)
        elif recorded_by_child(ended.result, ended.child_results):
            # A child (a wrapped client's call) recorded this response and its
            # usage already: counting them here too would double the totals.
            extracted.pop("usage", None)
            extracted.pop("cost", None)
    if extracted is not None:
        shapes.apply(fields, extracted)
    if ended.updates:
        shapes.apply(fields, ended.updates)
    complete_fields(fields, config.prices)  # _enrich's: imported here anyway, no lazy wrapper

    return _keywords(ended, fields, config)


#: The optional fields of a model event that are seldom set, each with its
#: shape; sent only when set. One check tells when none is (the common case).
_SELDOM: dict[str, Any] = {
    "cost": shapes.finite_number,
    "tool_choice": shapes.str_field,
    "outputs": shapes.outputs_from,
    "template": shapes.messages,
    "template_inputs": shapes.obj,
    "tools": shapes.array,
    "response_format": lambda value: shapes.obj(value, "response_format"),
    "config": shapes.obj,
    "metrics": shapes.obj,
    "feedback": shapes.obj,
    "user_properties": shapes.obj,
}
_SELDOM_NAMES = frozenset(_SELDOM)


def _keywords(ended: EndedCall, fields: dict[str, Any], config: Config) -> dict[str, Any]:
    # The hottest builder: only the fields that are set are passed (the others
    # keep their None default; each keyword passed costs), plain str values
    # skip their shaping calls, and one check skips the seldom set fields.
    get = fields.get
    metadata = event_metadata(ended, fields)

    model = get("model")
    if type(model) is not str or not model:
        model = shapes.str_field(model) if shapes.given(model) else "unknown"
    provider = get("provider")
    if type(provider) is not str or not provider:
        if not shapes.given(provider):
            provider = infer_provider(model) or "unknown"
        provider = shapes.str_field(provider)
    response = get("response")
    duration_ms = (ended.end_ns - ended.start_ns) / 1e6
    start_ms = ended.wall_ns // 1_000_000
    event_id = ended.event_id
    source = get("source")
    if not shapes.given(source):
        source = config.source
    project = get("project")
    if not shapes.given(project):
        project = config.project
    kw: dict[str, Any] = {
        "project": project if type(project) is str else shapes.str_field(project),
        "model": model,
        "provider": provider,
        "messages": shapes.messages(get("messages")),
        "response": response if type(response) is dict else shapes.response_from(response),
        "usage": shapes.usage_from(get("usage")),
        # The fields of identity(), written out: unpacking its dict costs about 1 us.
        "duration": round(duration_ms, 3),
        "event_id": event_id,
        "start_time": start_ms,
        "end_time": start_ms + round(duration_ms),
        # The id properties format bits: not read when there are none.
        "trace_id": event_id if ended.root_bits is None else ended.root_id or event_id,
    }
    session = ended.session
    if session is not None and session.session_id is not None:
        kw["session_id"] = session.session_id
    if ended.parent_bits is not None or session is not None:
        parent_id = ended.parent_id
        if parent_id is not None:
            kw["parent_id"] = parent_id
    if ended.children:
        kw["children_ids"] = ended.children_ids
    error = get("error")
    if error is None:
        error = ended.error
    if error is not None:
        kw["error"] = shapes.error_text(error)
    if shapes.given(source):
        kw["source"] = source if type(source) is str else shapes.str_field(source)
    event_name = get("event_name")
    if shapes.given(event_name):
        kw["event_name"] = event_name if type(event_name) is str else shapes.str_field(event_name)
    hyperparameters = shapes.obj(get("hyperparameters"), "hyperparameters")
    if hyperparameters:
        if isinstance(hyperparameters.get("stop"), str):
            hyperparameters["stop"] = [hyperparameters["stop"]]
        kw["hyperparameters"] = hyperparameters
    inputs = shapes.obj(get("inputs"), "inputs")
    if inputs:
        kw["inputs"] = inputs
    if metadata:
        kw["metadata"] = metadata
    if not fields.keys().isdisjoint(_SELDOM_NAMES):
        for name, shape in _SELDOM.items():
            value = get(name)
            if value is not None:
                kw[name] = shape(value)
    return kw
