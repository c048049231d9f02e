"""Building the frozen record of an ended model event (on the worker in background mode).

:func:`build_model` takes an :class:`~honeyhive_trace.capture.EndedCall` (the
immutable snapshot the caller's thread handed over), the configuration and
the client's provider registry, and returns a :class:`~honeyhive_trace.records.ModelEvent`.
It never reads a live handle.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace._builders._args import bound_arguments, route, routed
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.capture import EndedCall
from honeyhive_trace.integrations import complete_fields
from honeyhive_trace.integrations._capture import Capture
from honeyhive_trace.integrations._enrich import infer_provider
from honeyhive_trace.records import ModelEvent

__all__ = ["build_model", "event_metadata", "identity", "recorded_by_child"]

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


def build_model(
    ended: EndedCall, config: Config, providers: Registry, guard: ErrorGuard
) -> ModelEvent:
    """Build the frozen record of an ended model event.

    Precedence, lowest first: decorator defaults, the call's arguments (or the
    ``model_event`` keywords), what the traced code returned, then what user code
    set on the handle.

    Args:
        ended: the snapshot the event's handle handed over when it ended.
        config: the client's configuration (project, source, prices).
        providers: the client's integrations (extractors, assemblers).
        guard: where a failing extractor is reported.

    Returns:
        The record.
    """
    fields: dict[str, Any] = {}
    spec = ended.spec
    if spec is not None:
        # Nested dicts are copied: they are merged into per event.
        fields = {k: (dict(v) if type(v) is dict else v) for k, v in routed(spec).items()}
        route(bound_arguments(spec, ended.args, ended.kwargs), fields, explicit=False)
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
    complete_fields(fields, config.prices)

    metadata = event_metadata(ended, fields)

    error = fields.get("error")
    if error is None and ended.error is not None:
        error = ended.error

    duration_ms = (ended.end_ns - ended.start_ns) / 1e6
    start_ms = ended.wall_ns // 1_000_000
    event_id = ended.event_id
    model = shapes.str_field(fields["model"]) if shapes.given(fields.get("model")) else "unknown"
    provider = fields.get("provider")
    if not shapes.given(provider):
        provider = infer_provider(model) or "unknown"
    hyperparameters = shapes.obj(fields.get("hyperparameters"), "hyperparameters")
    if isinstance(hyperparameters.get("stop"), str):
        hyperparameters["stop"] = [hyperparameters["stop"]]
    source = fields.get("source") if shapes.given(fields.get("source")) else config.source
    project = fields.get("project") if shapes.given(fields.get("project")) else config.project
    cost = fields.get("cost")
    event_name = fields.get("event_name")
    response = fields.get("response")

    return ModelEvent(
        project=shapes.str_field(project),
        model=model,
        provider=shapes.str_field(provider),
        messages=shapes.messages(fields.get("messages")),
        response=response if type(response) is dict else shapes.response_from(response),
        usage=shapes.usage_from(fields.get("usage")),
        # The fields of identity(), written out: on this, the hottest builder,
        # unpacking its dict costs about 1 us an event (benchmarks/throughput.py).
        duration=round(duration_ms, 3),
        event_id=event_id,
        session_id=ended.session.session_id if ended.session is not None else None,
        parent_id=ended.parent_id,
        children_ids=ended.children_ids,
        start_time=start_ms,
        end_time=start_ms + round(duration_ms),
        trace_id=ended.root_id or event_id,
        cost=shapes.finite_number(cost) if cost is not None else None,
        error=shapes.error_text(error) if error is not None else None,
        source=shapes.str_field(source) if shapes.given(source) else None,
        event_name=shapes.str_field(event_name) if shapes.given(event_name) else None,
        hyperparameters=hyperparameters or None,
        template=shapes.optional(fields, "template", shapes.messages),
        template_inputs=shapes.optional(fields, "template_inputs", shapes.obj),
        tools=shapes.optional(fields, "tools", shapes.array),
        tool_choice=shapes.optional(fields, "tool_choice", shapes.str_field),
        response_format=shapes.optional(fields, "response_format", shapes.obj),
        inputs=shapes.obj(fields.get("inputs"), "inputs") or None,
        metadata=metadata or None,
        outputs=shapes.outputs_from(fields.get("outputs")),
        config=shapes.optional(fields, "config", shapes.obj),
        metrics=shapes.optional(fields, "metrics", shapes.obj),
        feedback=shapes.optional(fields, "feedback", shapes.obj),
        user_properties=shapes.optional(fields, "user_properties", shapes.obj),
    )
