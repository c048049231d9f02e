"""Building the frozen record of an ended event (on the worker in background mode).

:func:`build_record` takes an :class:`~honeyhive_trace.capture.EndedCall` (the
immutable snapshot the caller's thread handed over), the configuration and
the client's provider registry, and returns a :class:`~honeyhive_trace.records.ModelEvent`.
It never reads a live handle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.capture import SETTABLE_FIELDS, CallSpec, EndedCall
from honeyhive_trace.integrations import complete_fields
from honeyhive_trace.integrations._enrich import infer_provider
from honeyhive_trace.records import ModelEvent, fields_with

__all__ = ["build_record"]

#: Call arguments that become ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {"temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "stop", "n"}
)
#: Call arguments that fill a contract field of the same name.
CALL_FIELDS = frozenset(fields_with(ModelEvent, argument=True))

_UNSET = shapes.UNSET


def _bound_arguments(
    spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Map a call's arguments to parameter names; ``**kwargs`` are flattened."""
    names = spec.positional
    out: dict[str, Any] = dict(zip(names, args, strict=False))
    if len(args) > len(names):
        out[spec.var_positional or "args"] = list(args[len(names) :])
    out.update(kwargs)
    for name, default in spec.param_defaults:
        if name not in out:
            out[name] = default
    if spec.skip is not None:
        out.pop(spec.skip, None)
    return out


def _routed(spec: CallSpec) -> dict[str, Any]:
    """The decorator's defaults sorted into event fields, once per decorated function."""
    if not spec.routed and spec.defaults:
        routed: dict[str, Any] = {}
        _route(spec.defaults, routed, explicit=True)
        spec.routed.update(routed)
    return spec.routed


def _route(values: Mapping[str, Any], fields: dict[str, Any], explicit: bool) -> None:
    """Sort call arguments (or ``model_event`` keywords) into event fields."""
    hyper: dict[str, Any] = fields.setdefault("hyperparameters", {})
    inputs: dict[str, Any] = fields.setdefault("inputs", {})
    for name, value in values.items():
        if name in HYPERPARAMETERS:
            if value is not None:
                hyper[name] = value
        elif name in CALL_FIELDS or (explicit and name in SETTABLE_FIELDS):
            if value is None:
                continue
            if name in shapes.MERGED and isinstance(value, Mapping):
                fields[name] = shapes.merge_into(fields.get(name), value)
            else:
                fields[name] = value
        else:
            inputs[name] = value


def build_record(
    ended: EndedCall, config: Config, providers: Registry, guard: ErrorGuard
) -> ModelEvent:
    """Build the frozen record of an ended event.

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
        fields = {k: (dict(v) if type(v) is dict else v) for k, v in _routed(spec).items()}
        _route(_bound_arguments(spec, ended.args, ended.kwargs), fields, explicit=False)
    else:
        _route(ended.kwargs, fields, explicit=True)

    extracted: dict[str, Any] | None = None
    if ended.chunks:
        extracted = providers.assemble(ended.chunks, guard)
        if extracted is None:
            fields["response"] = shapes.response_from_chunks(ended.chunks)
    elif ended.result is not _UNSET and "response" not in (ended.updates or {}):
        extracted = providers.extract(ended.result, guard)
        if extracted is None:
            fields["response"] = shapes.response_from(ended.result)
    if extracted is not None:
        shapes.apply(fields, extracted)
    if ended.updates:
        shapes.apply(fields, ended.updates)
    complete_fields(fields, config.prices)

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

    error = fields.get("error")
    if error is None and ended.error is not None:
        error = ended.error

    duration_ms = (ended.end_ns - ended.start_ns) / 1e6
    start_ms = ended.wall_ns // 1_000_000
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
        duration=round(duration_ms, 3),
        usage=shapes.usage_from(fields.get("usage")),
        event_id=ended.event_id,
        session_id=ended.session.session_id if ended.session is not None else None,
        parent_id=ended.parent_id,
        start_time=start_ms,
        end_time=start_ms + round(duration_ms),
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
    )
