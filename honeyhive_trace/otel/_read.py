"""Reading a finished span's attributes as HoneyHive event fields (pure, no SDK).

Three attribute vocabularies are understood, newest first:

* the OpenTelemetry GenAI conventions (``gen_ai.operation.name``,
  ``gen_ai.input.messages``, ``gen_ai.usage.input_tokens``, ...; also their
  deprecated names ``gen_ai.system``, ``gen_ai.usage.prompt_tokens``);
* OpenInference (``openinference.span.kind``, ``llm.model_name``,
  ``llm.input_messages.N.message.*``, ``llm.token_count.*``, ``input.value``);
* OpenLLMetry / Traceloop (``gen_ai.prompt.N.*``, ``gen_ai.completion.N.*``,
  ``traceloop.span.kind``, ``traceloop.entity.*``, ``llm.request.type``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from honeyhive_trace._otlp.attributes import HYPERPARAMETER_ATTRIBUTES, PROVIDER_NAMES
from honeyhive_trace._otlp.messages import from_parts

__all__ = ["SESSION_KEYS", "event_type_of", "read_fields", "session_key"]

_MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
_TOOL_OPERATIONS = frozenset({"execute_tool", "retrieval"})
_CHAIN_OPERATIONS = frozenset({"invoke_agent", "create_agent", "invoke_workflow", "plan"})
_OPENINFERENCE_KINDS = {
    "LLM": "model",
    "EMBEDDING": "model",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "RERANKER": "tool",
    "GUARDRAIL": "tool",
    "EVALUATOR": "tool",
    "CHAIN": "chain",
    "AGENT": "chain",
}
_TRACELOOP_KINDS = {"workflow": "chain", "agent": "chain", "task": "chain", "tool": "tool"}

#: Attributes that name the session (conversation) a span belongs to, by precedence.
SESSION_KEYS = (
    "honeyhive.session_id",
    "honeyhive_session_id",
    "traceloop.association.properties.session_id",
    "gen_ai.conversation.id",
    "session.id",
)
_PROVIDERS = {value: key for key, value in reversed(PROVIDER_NAMES.items())}
_HYPERPARAMETERS = {value: key for key, value in HYPERPARAMETER_ATTRIBUTES.items()}


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _unflatten(flat: Mapping[str, Any]) -> Any:
    """``{"0.message.role": "user"}`` → ``[{"message": {"role": "user"}}]``."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        node = root
        *path, last = key.split(".")
        for segment in path:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {}
            node = child
        node[last] = _plain(value)

    def listify(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        converted = {k: listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted

    return listify(root)


def _prefixed(attributes: Mapping[str, Any], prefix: str) -> Any:
    flat = {k[len(prefix) :]: v for k, v in attributes.items() if k.startswith(prefix)}
    return _unflatten(flat) if flat else None


def event_type_of(attributes: Mapping[str, Any]) -> str | None:
    """``"model"``, ``"tool"`` or ``"chain"`` for a GenAI span; None for any other span."""
    explicit = attributes.get("honeyhive_event_type")
    if explicit in ("model", "tool", "chain"):
        return str(explicit)
    operation = attributes.get("gen_ai.operation.name")
    if operation in _MODEL_OPERATIONS:
        return "model"
    if operation in _TOOL_OPERATIONS:
        return "tool"
    if operation in _CHAIN_OPERATIONS:
        return "chain"
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind.upper()]
    kind = attributes.get("traceloop.span.kind")
    if kind in _TRACELOOP_KINDS:
        return _TRACELOOP_KINDS[str(kind)]
    if attributes.get("llm.request.type") is not None:
        return "model"
    if any(k in attributes for k in ("gen_ai.system", "gen_ai.request.model", "llm.model_name")):
        return "model"
    return None


def session_key(attributes: Mapping[str, Any]) -> str | None:
    """The session (conversation) id a span carries, if any."""
    for key in SESSION_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _openinference_message(item: Any) -> dict[str, Any]:
    message = item.get("message", item) if isinstance(item, Mapping) else {"content": item}
    out: dict[str, Any] = {"role": message.get("role") or "user"}
    content = message.get("content")
    if content is None and isinstance(message.get("contents"), list):
        content = [c.get("message_content", c) for c in message["contents"]]
    out["content"] = content
    calls = []
    for entry in message.get("tool_calls") or ():
        call = entry.get("tool_call", entry) if isinstance(entry, Mapping) else {}
        function = call.get("function") or {}
        calls.append(
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": function.get("arguments")},
            }
        )
    if calls:
        out["tool_calls"] = calls
    if message.get("tool_call_id") is not None:
        out["tool_call_id"] = message["tool_call_id"]
    return out


def _traceloop_message(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        return {"role": "user", "content": item}
    out: dict[str, Any] = {"role": item.get("role") or "user", "content": item.get("content")}
    calls = [
        {
            "id": c.get("id"),
            "type": "function",
            "function": {"name": c.get("name"), "arguments": c.get("arguments")},
        }
        for c in item.get("tool_calls") or ()
        if isinstance(c, Mapping)
    ]
    if calls:
        out["tool_calls"] = calls
    return out


def _messages(attributes: Mapping[str, Any]) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """(chat history, response) in HoneyHive's OpenAI-style shape."""
    history: list[Any] | None = None
    response: dict[str, Any] | None = None
    inputs = _loads(attributes.get("gen_ai.input.messages"))
    if isinstance(inputs, list):
        history = [from_parts(m) for m in inputs]
        system = _loads(attributes.get("gen_ai.system_instructions"))
        if isinstance(system, list):
            text = "".join(str(p.get("content", "")) for p in system if isinstance(p, Mapping))
            history.insert(0, {"role": "system", "content": text})
    outputs = _loads(attributes.get("gen_ai.output.messages"))
    if isinstance(outputs, list) and outputs:
        response = from_parts({k: v for k, v in outputs[0].items() if k != "finish_reason"})
    for prefix, convert in (
        ("llm.input_messages.", _openinference_message),
        ("gen_ai.prompt.", _traceloop_message),
    ):
        found = _prefixed(attributes, prefix)
        if history is None and isinstance(found, list):
            history = [convert(m) for m in found]
    for prefix, convert in (
        ("llm.output_messages.", _openinference_message),
        ("gen_ai.completion.", _traceloop_message),
    ):
        found = _prefixed(attributes, prefix)
        if response is None and isinstance(found, list) and found:
            response = convert(found[0])
    if history is None:
        given = _loads(attributes.get("input.value"))
        if isinstance(given, Mapping) and isinstance(given.get("messages"), list):
            history = list(given["messages"])
    return history, response


def _first(attributes: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


def _model_fields(attributes: Mapping[str, Any], fields: dict[str, Any]) -> None:
    model = _first(attributes, "gen_ai.response.model", "llm.model_name", "gen_ai.request.model")
    if model is not None:
        fields["model"] = str(model)
    provider = _first(
        attributes, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"
    )
    if isinstance(provider, str):
        fields["provider"] = _PROVIDERS.get(provider, provider)
    history, response = _messages(attributes)
    if history is not None:
        fields["messages"] = history
    if response is not None:
        fields["response"] = response
    prompt = _first(
        attributes,
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    )
    completion = _first(
        attributes,
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    )
    total = _first(attributes, "llm.token_count.total", "llm.usage.total_tokens")
    if prompt is not None or completion is not None or total is not None:
        if total is None and prompt is not None and completion is not None:
            total = prompt + completion
        fields["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
        }
    hyperparameters: dict[str, Any] = {}
    invocation = _loads(attributes.get("llm.invocation_parameters"))
    if isinstance(invocation, Mapping):
        hyperparameters.update(
            (k, v) for k, v in invocation.items() if k not in ("model", "messages", "tools")
        )
    for key, name in _HYPERPARAMETERS.items():
        if attributes.get(key) is not None:
            hyperparameters[name] = _plain(attributes[key])
    if hyperparameters:
        fields["hyperparameters"] = hyperparameters
    tools = _loads(attributes.get("gen_ai.tool.definitions"))
    if not isinstance(tools, list):
        found = _prefixed(attributes, "llm.tools.")
        if isinstance(found, list):
            tools = [_loads((t.get("tool") or {}).get("json_schema")) for t in found]
    if isinstance(tools, list):
        fields["tools"] = tools
    finish = _first(attributes, "gen_ai.response.finish_reasons", "llm.finish_reason")
    if finish is None:
        completions = _prefixed(attributes, "gen_ai.completion.")
        if isinstance(completions, list) and completions and isinstance(completions[0], Mapping):
            finish = completions[0].get("finish_reason")
    if isinstance(finish, list | tuple):
        finish = finish[0] if finish else None
    metadata = fields.setdefault("metadata", {})
    if finish is not None:
        metadata["finish_reason"] = finish
    if attributes.get("gen_ai.response.id") is not None:
        metadata["response_id"] = attributes["gen_ai.response.id"]


def _io(value: Any) -> dict[str, Any] | None:
    value = _loads(value)
    if value is None:
        return None
    return dict(value) if isinstance(value, Mapping) else {"value": value}


def read_fields(name: str, event_type: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The event fields a span's attributes give (``model``, ``messages``, ``inputs``, ...)."""
    fields: dict[str, Any] = {"event_name": name}
    if event_type == "model":
        _model_fields(attributes, fields)
        return fields
    if event_type == "tool":
        named = _first(attributes, "gen_ai.tool.name", "tool.name", "traceloop.entity.name")
        inputs = _io(_first(attributes, "gen_ai.tool.call.arguments", "input.value"))
        outputs = _io(_first(attributes, "gen_ai.tool.call.result", "output.value"))
        if attributes.get("gen_ai.tool.call.id") is not None:
            fields["metadata"] = {"tool_call_id": attributes["gen_ai.tool.call.id"]}
    else:
        named = _first(attributes, "gen_ai.agent.name", "gen_ai.workflow.name")
        inputs = _io(attributes.get("input.value"))
        outputs = _io(attributes.get("output.value"))
    if named is None:
        named = attributes.get("traceloop.entity.name")
    inputs = inputs or _io(attributes.get("traceloop.entity.input"))
    outputs = outputs or _io(attributes.get("traceloop.entity.output"))
    if isinstance(named, str) and named:
        fields["event_name"] = named
    if inputs is not None:
        fields["inputs"] = inputs
    if outputs is not None:
        fields["outputs"] = outputs
    return fields
