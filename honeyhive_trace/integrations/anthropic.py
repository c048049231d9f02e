"""Anthropic: messages, streamed events and request arguments as event fields.

Covers the Messages API's ``Message`` (also as a dict, as Bedrock and Vertex
return it), its raw stream events and the events of the SDK's
``messages.stream()`` helper. Nothing here imports the ``anthropic`` package:
objects are recognised by the fields their class declares.

Every function is pure and runs on the worker side, when the event's record is
built; :func:`wrap_anthropic` is the one entry point users call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from honeyhive_trace.integrations._access import (
    discriminator,
    dumps,
    field,
    given,
    module_root,
    plain,
    token_count,
    tool_call,
)
from honeyhive_trace.integrations._capture import register_sdk
from honeyhive_trace.integrations._wrap import wrap_client

__all__ = ["assemble", "extract", "is_message", "request_fields", "wrap_anthropic"]

#: Request arguments recorded as ``hyperparameters`` (``stop_sequences`` as ``stop``).
HYPERPARAMETERS = frozenset(
    {"temperature", "top_p", "top_k", "max_tokens", "stop_sequences", "thinking"}
)
_TRANSPORT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
#: The raw events of a Messages stream; the helper's derived events are ignored.
_STREAM_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
#: Content delta type -> the field holding its text.
_DELTA_PARTS: dict[Any, str] = {
    "text_delta": "text",
    "input_json_delta": "partial_json",
    "thinking_delta": "thinking",
}
#: Usage counts kept in ``metadata`` (prompt caching); they are not in ``input_tokens``.
CACHE_COUNTS = ("cache_creation_input_tokens", "cache_read_input_tokens")
#: The methods :func:`wrap_anthropic` traces: (resource path, method, endpoint).
_METHODS = (
    ("messages", "create", "messages"),
    ("messages", "stream", "messages"),
    ("beta.messages", "create", "messages"),
    ("beta.messages", "stream", "messages"),
)

C = TypeVar("C")


def is_message(value: Any) -> bool:
    """Whether *value* is an Anthropic ``Message`` (SDK object or dict)."""
    return (
        discriminator(value, "type") == "message"
        and isinstance(field(value, "content"), (list, tuple))
        and field(value, "role") in (None, "assistant")
    )


def extract(value: Any) -> dict[str, Any] | None:
    """Return the event fields of an Anthropic ``Message``, or None if *value* is not one.

    Args:
        value: a ``Message`` (SDK object, including the stream helper's
            ``ParsedMessage``) or its dict form.

    Returns:
        ``response`` (text content, ``tool_calls`` in the OpenAI shape that
        HoneyHive displays, ``thinking``), ``usage`` (input/output tokens as
        prompt/completion), ``model`` and ``metadata`` (stop reason, cache
        token counts, message id), plus the ``_sdk`` hint; or None.
    """
    if not is_message(value):
        return None
    fields = _message_fields(value)
    request_id = getattr(value, "_request_id", None) if module_root(value) == "anthropic" else None
    if isinstance(request_id, str):
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


def _arguments(tool_input: Any) -> str:
    # A stream cut off inside a tool call leaves unparseable JSON text: keep it as is.
    return tool_input if isinstance(tool_input, str) else dumps(tool_input)


def _message_fields(message: Any) -> dict[str, Any]:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in field(message, "content") or ():
        block_type = field(block, "type")
        if block_type == "text":
            texts.append(field(block, "text") or "")
        elif block_type == "tool_use":
            calls.append(
                tool_call(
                    field(block, "id"), field(block, "name"), _arguments(field(block, "input"))
                )
            )
        elif block_type == "thinking":
            thinking.append(field(block, "thinking") or "")
    response: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        response["tool_calls"] = calls
    if thinking:
        response["thinking"] = "".join(thinking)
    fields: dict[str, Any] = {"response": response, "_sdk": "anthropic"}

    metadata: dict[str, Any] = {}
    for key in ("stop_reason", "stop_sequence"):
        if field(message, key) is not None:
            metadata[key] = field(message, key)
    message_id = field(message, "id")
    if isinstance(message_id, str) and message_id:
        metadata["response_id"] = message_id
    usage = field(message, "usage")
    if usage is not None:
        prompt = token_count(field(usage, "input_tokens"))
        completion = token_count(field(usage, "output_tokens"))
        total = prompt + completion if prompt is not None and completion is not None else None
        fields["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
        }
        for key in CACHE_COUNTS:
            count = token_count(field(usage, key))
            if count:
                metadata[key] = count
    model = field(message, "model")
    if isinstance(model, str) and model:
        fields["model"] = model
    if metadata:
        fields["metadata"] = metadata
    return fields


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Build the event fields of a streamed Anthropic message from its events.

    Args:
        chunks: what the stream yielded, in order: raw stream events
            (``message_start``, ``content_block_delta``, ...), SDK objects or
            dicts, possibly mixed with the ``messages.stream()`` helper's
            derived events, which are ignored.

    Returns:
        The fields :func:`extract` gives for the whole message (partial when
        the stream stopped early), or None if the chunks are not Anthropic's.
    """
    first = next((c for c in chunks if c is not None), None)
    if first is None or discriminator(first, "type") not in _STREAM_EVENTS:
        return None
    message: dict[str, Any] = {"type": "message", "role": "assistant", "usage": {}}
    blocks: dict[int, dict[str, Any]] = {}
    parts: dict[int, list[str]] = {}
    for event in chunks:
        event_type = discriminator(event, "type")
        if event_type == "message_start":
            started = field(event, "message")
            for key in ("id", "model", "stop_reason", "stop_sequence"):
                message[key] = field(started, key)
            usage = plain(field(started, "usage"))
            message["usage"] = usage if isinstance(usage, dict) else {}
        elif event_type == "content_block_start":
            index = field(event, "index") or 0
            block = plain(field(event, "content_block"))
            blocks[index] = block if isinstance(block, dict) else {"type": "text", "text": ""}
            parts[index] = []
        elif event_type == "content_block_delta":
            index = field(event, "index") or 0
            delta = field(event, "delta")
            delta_type = field(delta, "type")
            part = _DELTA_PARTS.get(delta_type)
            if part is None:  # signatures, citations: not part of the response text
                continue
            if index not in blocks:
                blocks[index] = {"type": "tool_use" if part == "partial_json" else part}
                parts[index] = []
            parts[index].append(field(delta, part) or "")
        elif event_type == "message_delta":
            delta = field(event, "delta")
            for key in ("stop_reason", "stop_sequence"):
                if field(delta, key) is not None:
                    message[key] = field(delta, key)
            usage = field(event, "usage")
            for key in ("input_tokens", "output_tokens", *CACHE_COUNTS):
                count = token_count(field(usage, key))
                if count is not None:
                    message["usage"][key] = count
    message["content"] = [_finish_block(blocks[i], parts[i]) for i in sorted(blocks)]
    return _message_fields(message)


def _finish_block(block: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    text = "".join(parts)
    block_type = block.get("type")
    if block_type == "tool_use":
        if parts:
            try:
                block["input"] = json.loads(text)
            except ValueError:
                block["input"] = text
    elif block_type in ("text", "thinking"):
        block[block_type] = (block.get(block_type) or "") + text
    return block


def _tool_choice(value: Any) -> Any:
    # {"type": "auto"} -> "auto"; a forced tool keeps its name, as an object.
    data = plain(value)
    simple = ("auto", "any", "none")
    if isinstance(data, dict) and "name" not in data and data.get("type") in simple:
        return data["type"]
    return data


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of ``messages.create``/``messages.stream`` to event fields.

    Args:
        endpoint: unused (the Messages API is the only one); kept so both
            providers' mappers share one signature.
        body: the keyword arguments of the call, or the JSON body it sent.

    Returns:
        ``model``, ``messages`` (``system`` becomes the first message),
        ``hyperparameters``, ``tools``, ``tool_choice``, ``response_format``
        (from ``output_config.format``) and the other arguments as ``inputs``.
    """
    fields: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for name, value in body.items():
        if not given(value) or name in _TRANSPORT or name in ("messages", "system"):
            continue
        if name in ("model", "tools"):
            fields[name] = value
        elif name == "tool_choice":
            fields[name] = _tool_choice(value)
        elif name in HYPERPARAMETERS:
            hyper["stop" if name == "stop_sequences" else name] = value
        elif name == "output_config" and isinstance(value, Mapping):
            if value.get("format") is not None:
                fields["response_format"] = value["format"]
            if value.get("effort") is not None:
                hyper["effort"] = value["effort"]
        else:
            inputs[name] = value
    messages: list[Any] = []
    system = body.get("system")
    if given(system):
        messages.append({"role": "system", "content": system})
    if given(body.get("messages")):
        messages.extend(body["messages"])
    fields["messages"] = messages
    if hyper:
        fields["hyperparameters"] = hyper
    if inputs:
        fields["inputs"] = inputs
    return fields


def wrap_anthropic(client: C) -> C:
    """Trace the message calls made through one Anthropic client, and return it.

    ``messages.create`` (streaming or not) and ``messages.stream`` of this
    client instance, and their ``beta.messages`` twins, each record a model
    event; other clients and the ``anthropic`` package are not touched.
    Wrapping twice is harmless. A copy made with ``client.with_options(...)``
    is a new client and is not traced unless wrapped too.

    Args:
        client: an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic``
            client (Bedrock and Vertex clients too).

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has no ``messages`` resource.
    """
    return wrap_client(client, "anthropic", _METHODS, "an Anthropic client")


register_sdk("anthropic", sys.modules[__name__])
