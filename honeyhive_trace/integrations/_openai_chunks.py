"""OpenAI: assembling streamed chunks (and Responses stream events) into event fields."""

from __future__ import annotations

from typing import Any

from honeyhive_trace.integrations._access import discriminator, field
from honeyhive_trace.integrations._openai_read import (
    CHAT_COMPLETION,
    CHAT_COMPLETION_CHUNK,
    RESPONSE,
    TEXT_COMPLETION,
    chat_fields,
    completion_fields,
    is_response_event,
    kind,
    response_fields,
    sdk_hint,
)

__all__ = ["USAGE_UNKNOWN", "assemble", "merge_chat_chunks"]

#: The ``metadata`` key set (to True) on a streamed call whose stream carried no
#: token counts: its ``usage`` is empty because it is unknown, not zero.
USAGE_UNKNOWN = "usage_unknown"

# -- streamed chunks -----------------------------------------------------------------------


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Build the event fields of a streamed OpenAI response from its chunks.

    Args:
        chunks: what the stream yielded, in order: ``ChatCompletionChunk``
            objects or dicts, legacy ``Completion`` chunks, Responses API
            stream events, or the events of the SDK's ``.stream()`` helpers.

    Returns:
        The same fields :func:`extract` gives for the whole response (partial
        when the stream stopped early), or None if the chunks are not OpenAI's.
    """
    items = [_unwrap_helper_event(c) for c in chunks]
    first = next((c for c in items if c is not None), None)
    if first is None:
        return None
    found = kind(first)
    if found == CHAT_COMPLETION_CHUNK:
        fields = chat_fields(merge_chat_chunks(items))
    elif found == TEXT_COMPLETION:
        fields = completion_fields(_merge_text_chunks(items))
    elif is_response_event(first):
        fields = response_fields(_merge_response_events(items))
    else:
        return None
    if "usage" not in fields:
        # Chat streams carry usage only with stream_options={"include_usage": True}.
        fields.setdefault("metadata", {})[USAGE_UNKNOWN] = True
    hint = sdk_hint(first)
    if hint is not None:
        fields["_sdk"] = hint
    return fields


def _unwrap_helper_event(item: Any) -> Any:
    # `chat.completions.stream()` yields derived events; "chunk" ones carry the raw chunk.
    if discriminator(item, "type") == "chunk":
        return field(item, "chunk")
    return item


def _merge_header(merged: dict[str, Any], chunk: Any, keys: tuple[str, ...]) -> None:
    """Take each of *keys* from the first chunk that has it; usage from the last that does."""
    for key in keys:
        if merged.get(key) is None:
            merged[key] = field(chunk, key)
    usage = field(chunk, "usage")
    if usage is not None:
        merged["usage"] = usage


def merge_chat_chunks(chunks: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"object": CHAT_COMPLETION}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if kind(chunk) != CHAT_COMPLETION_CHUNK:
            continue
        _merge_header(merged, chunk, ("id", "model", "system_fingerprint", "service_tier"))
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            acc = choices.get(index)
            if acc is None:
                acc = choices[index] = {"role": None, "content": [], "refusal": [], "tools": {}}
                acc["reasoning"] = []
                acc["finish_reason"] = None
            delta = field(choice, "delta")
            if delta is not None:
                _add_delta(acc, delta)
            reason = field(choice, "finish_reason")
            if reason is not None:
                acc["finish_reason"] = reason
    merged["choices"] = [
        {"index": index, "message": _chat_message(acc), "finish_reason": acc["finish_reason"]}
        for index, acc in sorted(choices.items())
    ]
    return merged


def _add_delta(acc: dict[str, Any], delta: Any) -> None:
    role = field(delta, "role")
    if role:
        acc["role"] = role
    for key in ("content", "refusal"):
        text = field(delta, key)
        if text:
            acc[key].append(text)
    reasoning = field(delta, "reasoning_content")  # vLLM, DeepSeek and others
    if isinstance(reasoning, str) and reasoning:
        acc["reasoning"].append(reasoning)
    calls = field(delta, "tool_calls") or ()
    legacy = field(delta, "function_call")
    if legacy is not None:
        calls = [{"index": -1, "type": "function_call", "function": legacy}]
    tools: dict[int, dict[str, Any]] = acc["tools"]
    for call in calls:
        index = field(call, "index")
        if index is None:
            index = len(tools)
        slot = tools.get(index)
        if slot is None:
            slot = tools[index] = {"id": None, "type": None, "name": "", "arguments": []}
        for key in ("id", "type"):
            item = field(call, key)
            if item:
                slot[key] = item
        function = field(call, "function")
        name = field(function, "name")
        # OpenAI sends the name once; some compatible servers repeat it in every delta.
        if name and name != slot["name"]:
            slot["name"] += name
        arguments = field(function, "arguments")
        if arguments:
            slot["arguments"].append(arguments)


def _chat_message(acc: dict[str, Any]) -> dict[str, Any]:
    tools: dict[int, dict[str, Any]] = acc["tools"]
    message: dict[str, Any] = {
        "role": acc["role"] or "assistant",
        "content": "".join(acc["content"]) if acc["content"] or not tools else None,
    }
    calls = []
    for index, slot in sorted(tools.items()):
        function = {"name": slot["name"], "arguments": "".join(slot["arguments"])}
        if index == -1:
            message["function_call"] = function
        else:
            call_type = slot["type"] or "function"
            calls.append({"id": slot["id"], "type": call_type, "function": function})
    if calls:
        message["tool_calls"] = calls
    if acc["refusal"]:
        message["refusal"] = "".join(acc["refusal"])
    if acc["reasoning"]:
        message["reasoning_content"] = "".join(acc["reasoning"])
    return message


def _merge_text_chunks(chunks: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"object": TEXT_COMPLETION}
    texts: dict[int, list[str]] = {}
    reasons: dict[int, Any] = {}
    for chunk in chunks:
        if kind(chunk) != TEXT_COMPLETION:
            continue
        _merge_header(merged, chunk, ("id", "model", "system_fingerprint"))
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            texts.setdefault(index, []).append(field(choice, "text") or "")
            if field(choice, "finish_reason") is not None:
                reasons[index] = field(choice, "finish_reason")
    merged["choices"] = [
        {"index": i, "text": "".join(parts), "finish_reason": reasons.get(i)}
        for i, parts in sorted(texts.items())
    ]
    return merged


def _merge_response_events(events: list[Any]) -> Any:
    started: Any = None
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    calls: dict[Any, dict[str, Any]] = {}
    for event in events:
        event_type = discriminator(event, "type")
        if event_type in ("response.completed", "response.incomplete", "response.failed"):
            return field(event, "response")  # the whole response: nothing to assemble
        if event_type in ("response.created", "response.in_progress", "response.queued"):
            started = field(event, "response")
        elif event_type == "response.output_text.delta":
            texts.append(field(event, "delta") or "")
        elif event_type == "response.refusal.delta":
            refusals.append(field(event, "delta") or "")
        elif event_type == "response.reasoning_summary_text.delta":
            reasoning.append(field(event, "delta") or "")
        elif event_type == "response.output_item.added":
            item = field(event, "item")
            if field(item, "type") == "function_call":
                calls[field(event, "output_index")] = {
                    "type": "function_call",
                    "call_id": field(item, "call_id"),
                    "name": field(item, "name"),
                    "arguments": [],
                }
        elif event_type == "response.function_call_arguments.delta":
            slot = calls.setdefault(
                field(event, "output_index"),
                {"type": "function_call", "call_id": None, "name": None, "arguments": []},
            )
            slot["arguments"].append(field(event, "delta") or "")
    # Cut off before the final event: rebuild what arrived.
    content: list[dict[str, Any]] = [{"type": "output_text", "text": "".join(texts)}]
    if refusals:
        content.append({"type": "refusal", "refusal": "".join(refusals)})
    output: list[dict[str, Any]] = [{"type": "message", "role": "assistant", "content": content}]
    if reasoning:
        summary = [{"type": "summary_text", "text": "".join(reasoning)}]
        output.append({"type": "reasoning", "summary": summary})
    for slot in calls.values():
        output.append({**slot, "arguments": "".join(slot["arguments"])})
    return {
        "object": RESPONSE,
        "id": field(started, "id"),
        "model": field(started, "model"),
        "output": output,
    }
