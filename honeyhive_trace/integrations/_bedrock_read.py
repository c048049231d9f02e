"""AWS Bedrock's Converse API: reading messages, responses and stream events.

boto3 gives plain dicts in the API's camelCase shapes; nothing here imports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from honeyhive_trace.integrations._access import dumps, token_count, tool_call

__all__ = [
    "STREAM_EVENTS",
    "WITHHELD",
    "assemble",
    "is_converse_response",
    "message_fields",
    "messages_of",
]

#: The event names of a ConverseStream, each the one key of its event dict.
STREAM_EVENTS = frozenset(
    {
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    }
)
#: Stop reasons meaning a guardrail or content filter withheld the answer: recorded as errors.
WITHHELD = frozenset({"guardrail_intervened", "content_filtered"})
#: Bedrock's cache counts, under the names the cost step reads (Anthropic's).
_CACHE_COUNTS = (
    ("cacheReadInputTokens", "cache_read_input_tokens"),
    ("cacheWriteInputTokens", "cache_creation_input_tokens"),
)


def is_converse_response(value: Any) -> bool:
    """Whether *value* is what ``converse`` returns: a dict with ``output.message``."""
    if not isinstance(value, Mapping):
        return False
    output = value.get("output")
    return (
        isinstance(output, Mapping)
        and isinstance(output.get("message"), Mapping)
        and ("stopReason" in value or "usage" in value)
    )


def _is_stream_event(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in STREAM_EVENTS


def _text_only(content: Any) -> Any:
    if isinstance(content, list) and content:
        texts = [b.get("text") if isinstance(b, Mapping) else None for b in content]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)  # type: ignore[arg-type]
    return content


def messages_of(messages: Any) -> list[Any]:
    """Converse ``messages`` for display: text-only content becomes a string."""
    if not isinstance(messages, (list, tuple)):
        return []
    shown: list[Any] = []
    for message in messages:
        if isinstance(message, Mapping):
            shown.append({**message, "content": _text_only(message.get("content"))})
        else:
            shown.append(message)
    return shown


def message_fields(message: Any, stop_reason: Any, usage: Any, metrics: Any) -> dict[str, Any]:
    """Event fields of one answer: its message, stop reason, usage and metrics."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    content = message.get("content") if isinstance(message, Mapping) else None
    for block in content or ():
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            tool_input = use.get("input")
            arguments = tool_input if isinstance(tool_input, str) else dumps(tool_input)
            calls.append(tool_call(use.get("toolUseId"), use.get("name"), arguments))
        elif isinstance(block.get("reasoningContent"), Mapping):
            reasoning = block["reasoningContent"].get("reasoningText")
            if isinstance(reasoning, Mapping) and isinstance(reasoning.get("text"), str):
                thinking.append(reasoning["text"])
    response: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        response["tool_calls"] = calls
    if thinking:
        response["thinking"] = "".join(thinking)
    fields: dict[str, Any] = {"response": response, "provider": "bedrock", "_sdk": "bedrock"}
    metadata: dict[str, Any] = {}
    if isinstance(stop_reason, str):
        metadata["stop_reason"] = stop_reason
        if stop_reason in WITHHELD:
            fields["error"] = f"Bedrock withheld the response (stop reason {stop_reason})"
    if isinstance(usage, Mapping):
        prompt = token_count(usage.get("inputTokens"))
        completion = token_count(usage.get("outputTokens"))
        total = token_count(usage.get("totalTokens"))
        if total is None and prompt is not None and completion is not None:
            total = prompt + completion
        fields["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
        }
        for key, name in _CACHE_COUNTS:
            count = token_count(usage.get(key))
            if count:
                metadata[name] = count
    if isinstance(metrics, Mapping) and token_count(metrics.get("latencyMs")) is not None:
        metadata["latency_ms"] = metrics["latencyMs"]
    if metadata:
        fields["metadata"] = metadata
    return fields


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Build the event fields of a ConverseStream answer from its events.

    Args:
        chunks: the stream's event dicts in order (``{"contentBlockDelta": {...}}``,
            ...), possibly led by the response's ``ResponseMetadata``.

    Returns:
        The fields a ``converse`` response would give (partial when the
        stream stopped early), or None if the chunks are not Converse events.
    """
    request_id = None
    events = chunks
    if events and isinstance(events[0], Mapping) and set(events[0]) == {"ResponseMetadata"}:
        request_id = (events[0]["ResponseMetadata"] or {}).get("RequestId")
        events = events[1:]
    if not events or not _is_stream_event(events[0]):
        return None if not request_id or events else _empty(request_id)
    blocks: dict[int, dict[str, Any]] = {}
    parts: dict[int, list[str]] = {}
    stop_reason = usage = metrics = None
    for event in events:
        if not _is_stream_event(event):
            continue
        name, body = next(iter(event.items()))
        body = body if isinstance(body, Mapping) else {}
        index = token_count(body.get("contentBlockIndex")) or 0
        if name == "contentBlockStart":
            start = body.get("start") or {}
            use = start.get("toolUse") if isinstance(start, Mapping) else None
            if isinstance(use, Mapping):
                blocks[index] = {
                    "toolUse": {"toolUseId": use.get("toolUseId"), "name": use.get("name")}
                }
                parts[index] = []
        elif name == "contentBlockDelta":
            delta = body.get("delta") or {}
            if index not in blocks:
                blocks[index] = _block_for(delta)
                parts[index] = []
            if isinstance(delta.get("text"), str):
                parts[index].append(delta["text"])
            elif isinstance(delta.get("toolUse"), Mapping):
                parts[index].append(delta["toolUse"].get("input") or "")
            elif isinstance(delta.get("reasoningContent"), Mapping):
                parts[index].append(delta["reasoningContent"].get("text") or "")
        elif name == "messageStop":
            stop_reason = body.get("stopReason")
        elif name == "metadata":
            usage, metrics = body.get("usage"), body.get("metrics")
    content = [_finish_block(blocks[i], parts[i]) for i in sorted(blocks)]
    fields = message_fields({"content": content}, stop_reason, usage, metrics)
    if request_id:
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


def _block_for(delta: Mapping[str, Any]) -> dict[str, Any]:
    # The first delta of a block not announced by contentBlockStart says what it is.
    if "toolUse" in delta:
        return {"toolUse": {}}
    if "reasoningContent" in delta:
        return {"reasoningContent": {"reasoningText": {"text": ""}}}
    return {"text": ""}


def _empty(request_id: str) -> dict[str, Any]:
    return {"_sdk": "bedrock", "provider": "bedrock", "metadata": {"request_id": request_id}}


def _finish_block(block: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    text = "".join(parts)
    if "toolUse" in block:
        try:
            block["toolUse"]["input"] = json.loads(text) if text else {}
        except ValueError:  # cut off inside the tool's input: keep the text
            block["toolUse"]["input"] = text
    elif "reasoningContent" in block:
        block["reasoningContent"]["reasoningText"]["text"] = text
    else:
        block["text"] = text
    return block
