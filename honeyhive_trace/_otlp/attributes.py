"""The span attributes of one record: GenAI conventions plus HoneyHive's own.

GenAI attributes follow OpenTelemetry semantic conventions **1.41.0** (the last
release that carried the GenAI conventions before they moved to their own
repository). The ``honeyhive*`` attributes are the ones HoneyHive's own SDK
(``honeyhiveai/python-sdk`` at b7568a42, ``tracer/instrumentation/decorators.py``,
``span_utils.py`` and ``tracer/processing/span_processor.py``) sets, so that
HoneyHive's OTLP ingest files the span as the right event, in the right session.
Pure Python: values are str, bool, int, float or lists of one of these.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

from honeyhive_trace._otlp.messages import to_parts
from honeyhive_trace._wire import to_jsonable
from honeyhive_trace.records import Event, ModelEvent, SessionStart

__all__ = ["AttributeValue", "HYPERPARAMETER_ATTRIBUTES", "operation_name", "span_attributes"]

AttributeValue: TypeAlias = str | bool | int | float | list[str] | list[int] | list[float]

#: Hyperparameters and the request attributes they become.
HYPERPARAMETER_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "stop": "gen_ai.request.stop_sequences",
    "seed": "gen_ai.request.seed",
    "n": "gen_ai.request.choice.count",
}

#: Provider names of HoneyHive events and their well-known ``gen_ai.provider.name``.
PROVIDER_NAMES = {
    "bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}

_MAX_FLAT = 256  # honeyhive_* attributes per field, at most (then one JSON string)


def operation_name(record: Event) -> str:
    """The ``gen_ai.operation.name`` of a record."""
    if isinstance(record, ModelEvent):
        model = record.model.lower()
        if "embed" in model:
            return "embeddings"
        if not record.messages and isinstance(record.inputs, Mapping):
            if "prompt" in record.inputs:
                return "text_completion"
        return "chat"
    if record.event_type == "tool":
        return "execute_tool"
    return "invoke_workflow"


def _json(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def _scalar(value: Any) -> AttributeValue:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, float):
        return value
    return _json(value)


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, AttributeValue]]:
    """``honeyhive_inputs.a.0.b = ...``: the flattening of HoneyHive's ``_set_span_attributes``."""
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flat(f"{prefix}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flat(f"{prefix}.{index}", item)
    else:
        yield prefix, _scalar(value)


def _flattened(prefix: str, value: Any) -> dict[str, AttributeValue]:
    flat = dict(_flat(prefix, to_jsonable(value)))
    if len(flat) > _MAX_FLAT:  # a huge document: one JSON string instead
        return {prefix: _json(value)}
    return flat


def _error_type(error: str) -> str:
    name, sep, _ = error.partition(":")
    return name if sep and name.isidentifier() else "_OTHER"


def _model_attributes(record: ModelEvent, out: dict[str, AttributeValue], content: bool) -> None:
    out["gen_ai.provider.name"] = PROVIDER_NAMES.get(record.provider, record.provider)
    out["gen_ai.request.model"] = record.model
    out["gen_ai.response.model"] = record.model
    for name, value in (record.hyperparameters or {}).items():
        key = HYPERPARAMETER_ATTRIBUTES.get(name)
        if key is None or value is None:
            continue
        if name == "stop":
            out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = _scalar(value)  # an int beyond 64 bits becomes its text
    usage = record.usage
    if usage.prompt_tokens is not None:
        out["gen_ai.usage.input_tokens"] = _scalar(usage.prompt_tokens)
    if usage.completion_tokens is not None:
        out["gen_ai.usage.output_tokens"] = _scalar(usage.completion_tokens)
    metadata = record.metadata or {}
    finish = metadata.get("finish_reason")
    if isinstance(finish, str):
        out["gen_ai.response.finish_reasons"] = [finish]
    if isinstance(metadata.get("response_id"), str):
        out["gen_ai.response.id"] = metadata["response_id"]
    if content:
        out["gen_ai.input.messages"] = _json([to_parts(m) for m in record.messages])
        if record.response:
            finish_text = finish if isinstance(finish, str) else None
            out["gen_ai.output.messages"] = _json([to_parts(record.response, finish_text)])
        if record.tools:
            out["gen_ai.tool.definitions"] = _json(record.tools)
    # HoneyHive's shape of a model event: config, chat history, the response.
    config: dict[str, Any] = {"model": record.model, "provider": record.provider}
    if record.hyperparameters:
        config["hyperparameters"] = record.hyperparameters
    out.update(_flattened("honeyhive_config", {**(record.config or {}), **config}))
    usage_metadata = {
        k: v
        for k, v in (
            ("prompt_tokens", usage.prompt_tokens),
            ("completion_tokens", usage.completion_tokens),
            ("total_tokens", usage.total_tokens),
            ("cost", record.cost),
        )
        if v is not None
    }
    out.update(_flattened("honeyhive_metadata", usage_metadata))
    if content:
        out.update(_flattened("honeyhive_inputs.chat_history", record.messages))
        if record.tools:
            out.update(_flattened("honeyhive_inputs.tools", record.tools))
        out.update(_flattened("honeyhive_outputs", record.response))


def span_attributes(record: Event, *, capture_content: bool = True) -> dict[str, AttributeValue]:
    """The attributes of *record*'s span.

    Args:
        record: a model, tool or chain event, or a session start.
        capture_content: include messages, responses, inputs and outputs (the
            rest, ids, models, usage and timings, is always included).

    Returns:
        Attribute names and values, ready for OTLP.
    """
    out: dict[str, AttributeValue] = {}
    session = isinstance(record, SessionStart)
    if not session:
        out["gen_ai.operation.name"] = operation_name(record)
    if record.session_id is not None:
        out["gen_ai.conversation.id"] = record.session_id
    if isinstance(record, ModelEvent):
        _model_attributes(record, out, capture_content)
    elif record.event_type == "tool":
        out["gen_ai.tool.name"] = record.event_name or "tool"
        out["gen_ai.tool.type"] = "function"
        call_id = (record.metadata or {}).get("tool_call_id")
        if isinstance(call_id, str):
            out["gen_ai.tool.call.id"] = call_id
        if capture_content:
            out["gen_ai.tool.call.arguments"] = _json(record.inputs or {})
            if record.outputs is not None:
                out["gen_ai.tool.call.result"] = _json(record.outputs)
    elif not session:
        out["gen_ai.workflow.name"] = record.event_name or record.event_type
    if record.error is not None:
        out["error.type"] = _error_type(record.error)
        out["honeyhive_error"] = record.error

    # HoneyHive's own attributes (python-sdk: decorators.BASIC_ATTRIBUTES,
    # span_processor._get_basic_baggage_attributes).
    out["honeyhive_event_type"] = record.event_type
    out["honeyhive_event_id"] = record.event_id
    if record.event_name is not None:
        out["honeyhive_event_name"] = record.event_name
    out["honeyhive.project"] = out["traceloop.association.properties.project"] = record.project
    if record.source is not None:
        out["honeyhive.source"] = out["traceloop.association.properties.source"] = record.source
    if record.session_id is not None:
        out["honeyhive.session_id"] = record.session_id
        out["traceloop.association.properties.session_id"] = record.session_id
    if record.parent_id is not None:
        out["honeyhive.parent_id"] = record.parent_id
    if session:
        assert isinstance(record, SessionStart)
        out["honeyhive.session_auto_create"] = True
        out["honeyhive.session_name"] = record.session_name
    else:
        out["honeyhive_duration_ms"] = float(record.duration)
    if capture_content and not isinstance(record, ModelEvent):
        if record.inputs:
            out.update(_flattened("honeyhive_inputs", record.inputs))
        if record.outputs:
            out.update(_flattened("honeyhive_outputs", record.outputs))
    if record.config and not isinstance(record, ModelEvent):
        out.update(_flattened("honeyhive_config", record.config))
    for field in ("metadata", "metrics", "feedback"):
        value = getattr(record, field)
        if value:
            out.update(_flattened(f"honeyhive_{field}", value))
    user_properties = record.user_properties or {}
    if user_properties:
        out.update(_flattened("honeyhive_user_properties", user_properties))
        if isinstance(user_properties.get("user_id"), str):
            out["honeyhive_user_id"] = user_properties["user_id"]
    return out
