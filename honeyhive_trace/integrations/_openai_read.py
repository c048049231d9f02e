"""OpenAI: recognising values, and reading whole responses into event fields.

Chat Completions (``ChatCompletion``), Responses (``Response``) and legacy
Completions, as ``openai`` SDK objects or the dicts OpenAI-compatible servers
return. Nothing here imports the ``openai`` package: objects are recognised by
the fields their class declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honeyhive_trace.integrations._access import (
    declares,
    discriminator,
    field,
    module_root,
    plain,
    token_count,
    tool_call,
)

__all__ = [
    "CHAT_COMPLETION",
    "CHAT_COMPLETION_CHUNK",
    "RESPONSE",
    "TEXT_COMPLETION",
    "chat_fields",
    "completion_fields",
    "is_response_event",
    "kind",
    "message_of",
    "response_fields",
    "sdk_hint",
]

CHAT_COMPLETION = "chat.completion"
CHAT_COMPLETION_CHUNK = "chat.completion.chunk"
RESPONSE = "response"
TEXT_COMPLETION = "text_completion"
_KINDS = frozenset({CHAT_COMPLETION, CHAT_COMPLETION_CHUNK, RESPONSE, TEXT_COMPLETION})

# -- recognising ---------------------------------------------------------------------


def kind(value: Any) -> str | None:
    """Return which OpenAI object *value* is (``"chat.completion"``, ...), or None.

    Dicts without an ``object`` key (some OpenAI-compatible servers omit it)
    are recognised by the shape of their first choice.
    """
    obj = discriminator(value, "object")
    if obj in _KINDS:
        return str(obj)
    if obj is None and isinstance(value, Mapping):
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            first = choices[0]
            if "message" in first:
                return CHAT_COMPLETION
            if "delta" in first:
                return CHAT_COMPLETION_CHUNK
            if "text" in first:
                return TEXT_COMPLETION
    return None


def is_response_event(value: Any) -> bool:
    event_type = discriminator(value, "type")
    return isinstance(event_type, str) and event_type.startswith("response.")


def sdk_hint(value: Any) -> str | None:
    return "openai" if module_root(value) == "openai" else None


# -- whole responses -------------------------------------------------------------------


def message_of(message: Any) -> dict[str, Any]:
    """One assistant message of a chat completion, JSON-ready.

    The structured output of ``chat.completions.parse`` is kept as ``parsed``
    (a dict); the SDK's ``parsed_arguments`` of tool calls are dropped (they
    repeat ``arguments``).
    """
    data = _message_data(message)
    if not isinstance(data, dict):
        return {"role": "assistant", "content": data}
    out: dict[str, Any] = {"role": data.get("role") or "assistant", "content": data.get("content")}
    for key, item in data.items():
        if key in out or item is None or item in ([], {}):
            continue
        out[key] = item
    return out


def _message_data(message: Any) -> Any:
    if isinstance(message, Mapping) or not declares(type(message), "parsed"):
        return plain(message)
    # A ParsedChatCompletionMessage: its class declares `parsed` as None-typed
    # generics, so dumping it whole makes pydantic warn; read field by field.
    fields = getattr(type(message), "model_fields", None) or ()
    data = {name: plain(getattr(message, name, None)) for name in fields if name != "tool_calls"}
    calls = getattr(message, "tool_calls", None)
    if calls:
        data["tool_calls"] = [_tool_call_of(call) for call in calls]
    return data


def _tool_call_of(call: Any) -> dict[str, Any]:
    function = field(call, "function")
    return {
        "id": field(call, "id"),
        "type": field(call, "type") or "function",
        "function": {"name": field(function, "name"), "arguments": field(function, "arguments")},
    }


def _chat_usage(usage: Any, metadata: dict[str, Any]) -> dict[str, Any] | None:
    if usage is None:
        return None
    _token_details(usage, "prompt_tokens_details", "completion_tokens_details", metadata)
    return {
        "prompt_tokens": token_count(field(usage, "prompt_tokens")),
        "completion_tokens": token_count(field(usage, "completion_tokens")),
        "total_tokens": token_count(field(usage, "total_tokens")),
    }


def _common(value: Any, fields: dict[str, Any], metadata: dict[str, Any]) -> None:
    model = field(value, "model")
    if isinstance(model, str) and model:
        fields["model"] = model
    for source, target in (
        ("id", "response_id"),
        ("system_fingerprint", "system_fingerprint"),
        ("service_tier", "service_tier"),
    ):
        item = field(value, source)
        if isinstance(item, str) and item:
            metadata[target] = item
    if metadata:
        fields["metadata"] = metadata


def _choices_fields(value: Any, message_of: Any) -> dict[str, Any]:
    """Fields of a response with ``choices`` (chat or legacy completion).

    *message_of* turns one choice into an assistant message; with several
    choices, all of them go to ``response.choices``.
    """
    messages: list[dict[str, Any]] = []
    reasons: list[Any] = []
    for choice in field(value, "choices") or ():
        messages.append(message_of(choice))
        reasons.append(field(choice, "finish_reason"))
    response: dict[str, Any] = dict(messages[0]) if messages else {}
    if len(messages) > 1:
        response["choices"] = messages
    fields: dict[str, Any] = {"response": response}
    metadata: dict[str, Any] = {}
    if reasons and reasons[0] is not None:
        metadata["finish_reason"] = reasons[0]
    if len(reasons) > 1:
        metadata["finish_reasons"] = reasons
    usage = _chat_usage(field(value, "usage"), metadata)
    if usage is not None:
        fields["usage"] = usage
    _common(value, fields, metadata)
    return fields


def chat_fields(value: Any) -> dict[str, Any]:
    return _choices_fields(value, lambda choice: message_of(field(choice, "message")))


def completion_fields(value: Any) -> dict[str, Any]:
    return _choices_fields(
        value, lambda choice: {"role": "assistant", "content": field(choice, "text")}
    )


def response_fields(value: Any) -> dict[str, Any]:
    """Event fields of a Responses API ``Response`` (or ``ParsedResponse``).

    The output text is ``response.content``; function and custom tool calls are
    ``response.tool_calls``; reasoning summaries are ``response.reasoning``;
    the structured output of ``responses.parse`` is ``response.parsed``.
    """
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    parsed: list[Any] = []
    calls: list[dict[str, Any]] = []
    for item in field(value, "output") or ():
        item_type = field(item, "type")
        if item_type == "message":
            for part in field(item, "content") or ():
                part_type = field(part, "type")
                if part_type == "output_text":
                    texts.append(field(part, "text") or "")
                    if field(part, "parsed") is not None:
                        parsed.append(plain(field(part, "parsed")))
                elif part_type == "refusal":
                    refusals.append(field(part, "refusal") or "")
        elif item_type == "reasoning":
            for part in field(item, "summary") or ():
                text = field(part, "text")
                if isinstance(text, str) and text:
                    reasoning.append(text)
        elif item_type == "function_call":
            calls.append(
                tool_call(
                    field(item, "call_id"), field(item, "name"), field(item, "arguments") or ""
                )
            )
        elif item_type == "custom_tool_call":
            calls.append(
                {
                    "id": field(item, "call_id"),
                    "type": "custom",
                    "custom": {"name": field(item, "name"), "input": field(item, "input")},
                }
            )
    response: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        response["tool_calls"] = calls
    if refusals:
        response["refusal"] = "".join(refusals)
    if reasoning:
        response["reasoning"] = "\n\n".join(reasoning)
    if parsed:
        response["parsed"] = parsed[0] if len(parsed) == 1 else parsed
    fields: dict[str, Any] = {"response": response}

    metadata: dict[str, Any] = {}
    status = field(value, "status")
    if isinstance(status, str):
        metadata["status"] = status
    reason = field(field(value, "incomplete_details"), "reason")
    if reason is not None:
        metadata["incomplete_reason"] = reason
    error = field(value, "error")
    if error is not None:
        fields["error"] = f"{field(error, 'code')}: {field(error, 'message')}"

    usage = field(value, "usage")
    if usage is not None:
        _token_details(usage, "input_tokens_details", "output_tokens_details", metadata)
        fields["usage"] = {
            "prompt_tokens": token_count(field(usage, "input_tokens")),
            "completion_tokens": token_count(field(usage, "output_tokens")),
            "total_tokens": token_count(field(usage, "total_tokens")),
        }

    # The Responses API echoes the settings it ran with.
    hyper = {
        name: field(value, name)
        for name in ("temperature", "top_p", "max_output_tokens")
        if field(value, name) is not None
    }
    if hyper:
        fields["hyperparameters"] = hyper
    tools = field(value, "tools")
    if tools:
        fields["tools"] = [wire(tool) for tool in tools]
        choice = field(value, "tool_choice")
        if choice is not None:
            fields["tool_choice"] = wire(choice)
    text_format = field(field(value, "text"), "format")
    if text_format is not None and field(text_format, "type") not in (None, "text"):
        fields["response_format"] = wire(text_format)
    _common(value, fields, metadata)
    return fields


def wire(value: Any) -> Any:
    """*value* as the API sent it: an SDK model's own ``to_dict()`` (field aliases
    such as ``schema``, unset fields left out), else a JSON-ready copy."""
    to_dict = getattr(type(value), "to_dict", None)
    if callable(to_dict) and module_root(value) == "openai":
        try:
            return plain(to_dict(value))
        except Exception:  # another SDK version's signature: the plain copy will do
            pass
    return plain(value)


def _token_details(usage: Any, inputs: str, outputs: str, metadata: dict[str, Any]) -> None:
    """Put cached input and reasoning output token counts (when not zero) in *metadata*."""
    cached = token_count(field(field(usage, inputs), "cached_tokens"))
    if cached:
        metadata["cached_tokens"] = cached
    reasoning = token_count(field(field(usage, outputs), "reasoning_tokens"))
    if reasoning:
        metadata["reasoning_tokens"] = reasoning
