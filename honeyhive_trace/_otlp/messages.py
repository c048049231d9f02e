"""Chat messages between HoneyHive's shape (OpenAI-style) and the GenAI conventions' parts.

The conventions (semconv 1.41.0, ``gen_ai.input.messages`` /
``gen_ai.output.messages``) record a message as ``{"role": ..., "parts": [...]}``
with parts ``{"type": "text", "content": ...}``, ``{"type": "tool_call", "id",
"name", "arguments"}`` and ``{"type": "tool_call_response", "id", "response"}``.
HoneyHive records OpenAI-style messages: ``{"role", "content", "tool_calls",
"tool_call_id"}``. Both directions are here, and neither ever raises on odd input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["from_parts", "to_parts"]


def _arguments(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, list):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, Mapping):
            parts.append({"type": "text", "content": block})
        elif block.get("type") == "text":
            parts.append({"type": "text", "content": block.get("text")})
        elif block.get("type") == "tool_use":  # Anthropic
            parts.append(
                {
                    "type": "tool_call",
                    "id": block.get("id"),
                    "name": block.get("name"),
                    "arguments": block.get("input"),
                }
            )
        elif block.get("type") == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": block.get("tool_use_id"),
                    "response": block.get("content"),
                }
            )
        else:
            parts.append(dict(block))
    return parts


def to_parts(message: Any, finish_reason: str | None = None) -> dict[str, Any]:
    """One OpenAI-style (or Anthropic-style) message as a GenAI-conventions message."""
    if not isinstance(message, Mapping):
        return {"role": "user", "parts": [{"type": "text", "content": message}]}
    role = message.get("role") or "user"
    if role == "tool":
        parts = [
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": message.get("content"),
            }
        ]
    else:
        parts = _content_parts(message.get("content"))
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            function = call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": _arguments(function.get("arguments")),
                }
            )
    converted: dict[str, Any] = {"role": role, "parts": parts}
    if message.get("name") is not None:
        converted["name"] = message.get("name")
    if finish_reason is not None:
        converted["finish_reason"] = finish_reason
    return converted


def from_parts(message: Any) -> dict[str, Any]:
    """One GenAI-conventions message (``role`` + ``parts``) as an OpenAI-style message."""
    if not isinstance(message, Mapping):
        return {"role": "user", "content": message}
    if "parts" not in message:  # already OpenAI-style
        return dict(message)
    role = message.get("role") or "user"
    texts: list[str] = []
    other: list[Any] = []
    calls: list[dict[str, Any]] = []
    out: dict[str, Any] = {"role": role}
    for part in message.get("parts") or ():
        if not isinstance(part, Mapping):
            other.append(part)
            continue
        kind = part.get("type")
        if kind == "text":
            content = part.get("content")
            texts.append(content if isinstance(content, str) else json.dumps(content))
        elif kind == "tool_call":
            arguments = part.get("arguments")
            calls.append(
                {
                    "id": part.get("id"),
                    "type": "function",
                    "function": {
                        "name": part.get("name"),
                        "arguments": arguments
                        if isinstance(arguments, str)
                        else json.dumps(arguments),
                    },
                }
            )
        elif kind == "tool_call_response":
            out["role"] = "tool"
            out["tool_call_id"] = part.get("id")
            texts.append(
                part["response"]
                if isinstance(part.get("response"), str)
                else json.dumps(part.get("response"))
            )
        else:
            other.append(dict(part))
    if other:
        out["content"] = [{"type": "text", "text": t} for t in texts] + other
    else:
        out["content"] = "".join(texts) if texts else None
    if calls:
        out["tool_calls"] = calls
    if message.get("name") is not None:
        out["name"] = message.get("name")
    return out
