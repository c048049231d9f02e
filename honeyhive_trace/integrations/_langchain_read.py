"""LangChain's run data as event fields: messages, model names, results, usage.

Pure functions over what LangChain hands its callbacks (``serialized`` dicts,
invocation parameters, messages, ``LLMResult``, documents). Objects are read by
attribute, so nothing here imports ``langchain_core``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from honeyhive_trace.integrations._access import dumps, field, token_count, tool_call

__all__ = [
    "HYPERPARAMETERS",
    "documents",
    "is_control_flow",
    "message_dict",
    "model_start_fields",
    "plain_value",
    "result_fields",
    "run_metadata",
    "run_name",
    "step_inputs",
    "step_outputs",
]

#: LangChain message types -> the chat role HoneyHive displays.
_ROLES = {
    "human": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "function",
}
#: Invocation parameters recorded as ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "max_tokens_to_sample",
        "stop",
        "stop_sequences",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "n",
        "reasoning_effort",
    }
)
#: Run metadata that LangChain adds for its own bookkeeping (not the user's).
_BOOKKEEPING = frozenset(
    {
        "lc_versions",
        "checkpoint_ns",
        "langgraph_checkpoint_ns",
        "langgraph_path",
        "langgraph_triggers",
        "ls_integration",
    }
)
#: The position tags LangChain gives the steps of a sequence or graph.
_STEP_TAG = re.compile(r"^(seq|graph):step:\d+$")
#: LangGraph's exceptions that steer the graph (an interrupt, a command to a
#: parent graph) and are not failures of the run.
_CONTROL_FLOW = frozenset({"GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "ParentCommand"})


def run_name(serialized: Any, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name: its ``run_name``, else the serialized class name, else *default*."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, Mapping):
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return default


def run_metadata(metadata: Any, tags: Any) -> dict[str, Any]:
    """The user's run metadata (LangChain's bookkeeping left out) and tags."""
    out: dict[str, Any] = {}
    if isinstance(metadata, Mapping):
        for key, value in metadata.items():
            if isinstance(key, str) and (key in _BOOKKEEPING or key.startswith("ls_")):
                continue
            out[str(key)] = value
    kept = [t for t in tags or () if not (isinstance(t, str) and _STEP_TAG.match(t))]
    if kept:
        out["tags"] = kept
    return out


def plain_value(value: Any) -> Any:
    """A chain's input or output, with LangChain messages as chat message dicts.

    A message, a list of messages or a prompt value (``ChatPromptValue``)
    becomes what HoneyHive displays as a conversation; anything else is kept.
    """
    if _is_message(value):
        return message_dict(value)
    if isinstance(value, list) and value and all(_is_message(v) for v in value):
        return [message_dict(v) for v in value]
    to_messages = getattr(type(value), "to_messages", None)
    if callable(to_messages) and type(value).__name__.endswith("PromptValue"):
        return {"messages": [message_dict(m) for m in to_messages(value)]}
    return value


def step_inputs(value: Any) -> dict[str, Any]:
    """A chain's or tool's inputs as a dict of plain values (see :func:`plain_value`)."""
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    return {"input": plain_value(value)}


def step_outputs(value: Any) -> Any:
    """A chain's or tool's outputs, with messages as chat message dicts."""
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    return plain_value(value)


def _is_message(value: Any) -> bool:
    return any(klass.__name__ == "BaseMessage" for klass in type(value).__mro__)


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls or ():
        out.append(tool_call(field(call, "id"), field(call, "name"), dumps(field(call, "args"))))
    return out


def message_dict(message: Any) -> dict[str, Any]:
    """A LangChain message (or a dict, or a string) as a chat message dict."""
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if isinstance(message, Mapping):
        return dict(message)
    kind = field(message, "type")
    role = _ROLES.get(kind) if isinstance(kind, str) else None
    if role is None:
        role = field(message, "role") or kind or "user"  # ChatMessage carries its role
    out: dict[str, Any] = {"role": role, "content": field(message, "content")}
    calls = _tool_calls(field(message, "tool_calls"))
    if calls:
        out["tool_calls"] = calls
    for name in ("tool_call_id", "name"):
        value = field(message, name)
        if isinstance(value, str) and value:
            out[name] = value
    return out


def _first(*values: Any) -> Any:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def model_start_fields(
    serialized: Any, messages: list[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields of a chat model or LLM run known when it starts.

    Args:
        serialized: the model's serialized form (may be None).
        messages: the run's messages (or prompts), already as dicts.
        kwargs: the callback's keyword arguments (``invocation_params``,
            ``metadata``, ``tags``, ``name``).

    Returns:
        ``event_name``, ``model``, ``provider``, ``messages``,
        ``hyperparameters``, ``tools``, ``tool_choice`` and ``metadata``, where known.
    """
    params = kwargs.get("invocation_params")
    params = params if isinstance(params, Mapping) else {}
    metadata = kwargs.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    constructor = field(serialized, "kwargs") if isinstance(serialized, Mapping) else None
    fields: dict[str, Any] = {
        "event_name": run_name(serialized, kwargs, "llm"),
        "messages": messages,
    }
    model = _first(
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        params.get("model_id"),
        field(constructor, "model"),
        field(constructor, "model_name"),
    )
    if model is not None:
        fields["model"] = model
    provider = _first(metadata.get("ls_provider"))
    if provider is not None:
        fields["provider"] = provider
    hyper = {k: v for k, v in params.items() if k in HYPERPARAMETERS and v is not None}
    for key, name in (("ls_temperature", "temperature"), ("ls_max_tokens", "max_tokens")):
        if metadata.get(key) is not None:
            hyper.setdefault(name, metadata[key])
    if hyper:
        fields["hyperparameters"] = hyper
    for name in ("tools", "tool_choice"):
        if params.get(name):
            fields[name] = params[name]
    extra = run_metadata(metadata, kwargs.get("tags"))
    if extra:
        fields["metadata"] = extra
    return fields


def _usage(message: Any, llm_output: Any, metadata: dict[str, Any]) -> dict[str, Any] | None:
    usage = field(message, "usage_metadata")
    if usage is not None:
        cached = token_count(field(field(usage, "input_token_details"), "cache_read"))
        if cached:
            metadata["cached_tokens"] = cached
        reasoning = token_count(field(field(usage, "output_token_details"), "reasoning"))
        if reasoning:
            metadata["reasoning_tokens"] = reasoning
        return {
            "prompt_tokens": token_count(field(usage, "input_tokens")),
            "completion_tokens": token_count(field(usage, "output_tokens")),
            "total_tokens": token_count(field(usage, "total_tokens")),
        }
    counts = field(llm_output, "token_usage") or field(llm_output, "usage")
    if counts is None:
        return None
    prompt = token_count(field(counts, "prompt_tokens"))
    if prompt is None:
        prompt = token_count(field(counts, "input_tokens"))
    completion = token_count(field(counts, "completion_tokens"))
    if completion is None:
        completion = token_count(field(counts, "output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": token_count(field(counts, "total_tokens")),
    }


def result_fields(result: Any) -> dict[str, Any]:
    """The fields of an ``LLMResult``: response, usage, model and finish reason.

    Args:
        result: what ``on_llm_end`` received.

    Returns:
        ``response`` (the first generation, as an assistant message with its
        tool calls), ``usage`` (from the message's ``usage_metadata`` or the
        ``llm_output``'s ``token_usage``), ``model`` when the provider said
        which one answered, and ``metadata`` (finish reason, cached and
        reasoning token counts, how many generations there were).
    """
    generations = field(result, "generations") or []
    first_list = generations[0] if generations else []
    first = first_list[0] if first_list else None
    message = field(first, "message")
    metadata: dict[str, Any] = {}
    if message is not None:
        response = message_dict(message)
        response["role"] = "assistant"
    else:
        response = {"role": "assistant", "content": field(first, "text")}
    fields: dict[str, Any] = {"response": response}
    llm_output = field(result, "llm_output")
    usage = _usage(message, llm_output, metadata)
    if usage is not None:
        fields["usage"] = usage
    response_metadata = field(message, "response_metadata")
    info = field(first, "generation_info")
    model = _first(
        field(llm_output, "model_name"),
        field(llm_output, "model"),
        field(response_metadata, "model_name"),
        field(response_metadata, "model"),
    )
    if model is not None:
        fields["model"] = model
    reason = _first(
        field(response_metadata, "finish_reason"),
        field(response_metadata, "stop_reason"),
        field(info, "finish_reason"),
    )
    if reason is not None:
        metadata["finish_reason"] = reason
    count = sum(len(g) for g in generations if isinstance(g, list))
    if count > 1:
        metadata["generations"] = count
    if metadata:
        fields["metadata"] = metadata
    return fields


def documents(found: Any) -> list[dict[str, Any]]:
    """Retrieved documents as ``{"page_content", "metadata"}`` dicts (ids when set)."""
    out = []
    for doc in found or ():
        item: dict[str, Any] = {
            "page_content": field(doc, "page_content"),
            "metadata": field(doc, "metadata") or {},
        }
        doc_id = field(doc, "id")
        if doc_id:
            item["id"] = doc_id
        out.append(item)
    return out


def is_control_flow(error: BaseException) -> bool:
    """Whether *error* is one of LangGraph's interrupts rather than a failure."""
    return any(klass.__name__ in _CONTROL_FLOW for klass in type(error).__mro__)
