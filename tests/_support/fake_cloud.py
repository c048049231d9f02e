"""Gemini and Bedrock replies for the fake provider, in the services' real wire formats.

Gemini (``generativelanguage.googleapis.com``) answers ``:generateContent``
with a JSON ``GenerateContentResponse`` and ``:streamGenerateContent?alt=sse``
with server-sent events, one response chunk per ``data:`` line and no end
marker; its errors are ``{"error": {"code", "message", "status"}}``.

Bedrock Runtime answers ``/model/{id}/converse`` with JSON and
``/model/{id}/converse-stream`` with ``application/vnd.amazon.eventstream``:
binary frames (a prelude of total and header lengths and its CRC32, typed
headers, a JSON payload, the frame's CRC32), one per stream event; its errors
carry their type in the ``x-amzn-ErrorType`` header.

    with FakeCloud() as cloud:
        cloud.queue(gemini_response("Paris."))
"""

from __future__ import annotations

import binascii
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from tests._support.fake_provider import FakeProvider, JSONReply, Recorded, SSEReply, _Handler


@dataclass
class BinaryReply:
    """Raw bytes with a content type, sent with a Content-Length."""

    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class _CloudHandler(_Handler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        reply: Any = self.owner._take(
            Recorded("POST", self.path, dict(self.headers.items()), body)
        )
        if isinstance(reply, BinaryReply):
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        elif isinstance(reply, JSONReply):
            self._json(reply)
        else:
            self._sse(reply)


class FakeCloud(FakeProvider):
    """The fake provider, also able to send binary (event stream) replies."""

    def __init__(self) -> None:
        super().__init__()
        self._server.RequestHandlerClass = type("Handler", (_CloudHandler,), {"owner": self})


# -- Gemini --------------------------------------------------------------------------------


def gemini_usage(prompt: int, candidates: int, *, thoughts: int = 0, cached: int = 0) -> Any:
    """A ``usageMetadata`` object."""
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
    return usage


def gemini_body(
    text: str | None = "Hello!",
    *,
    model: str = "gemini-2.5-flash",
    calls: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    finish: str | None = "STOP",
    usage: Any = None,
) -> dict[str, Any]:
    """A ``GenerateContentResponse``: one candidate with a text part and function calls."""
    parts: list[dict[str, Any]] = [{"text": text}] if text is not None else []
    parts += [{"functionCall": {"name": name, "args": args}} for name, args in calls]
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage if usage is not None else gemini_usage(8, 3),
        "modelVersion": model,
        "responseId": "gem-resp-1",
    }


def gemini_response(text: str | None = "Hello!", **kwargs: Any) -> JSONReply:
    """A ``:generateContent`` answer."""
    return JSONReply(gemini_body(text, **kwargs))


def gemini_blocked(reason: str = "SAFETY") -> JSONReply:
    """A prompt the service refused: no candidates, ``promptFeedback.blockReason``."""
    return JSONReply(
        {
            "promptFeedback": {
                "blockReason": reason,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "gem-blocked-1",
        }
    )


def gemini_stream(
    parts: list[str],
    *,
    model: str = "gemini-2.5-flash",
    usage: Any = None,
    finish: str = "STOP",
    cut_after: int | None = None,
) -> SSEReply:
    """A ``:streamGenerateContent?alt=sse`` answer: one chunk per text part, the
    last with the finish reason and the whole call's usage."""
    events: list[tuple[str | None, Any]] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        body = gemini_body(
            part,
            model=model,
            finish=finish if last else None,
            usage=(usage or gemini_usage(8, 3)) if last else {"promptTokenCount": 8},
        )
        events.append((None, body))
    return SSEReply(events, cut_after=cut_after)


def gemini_error(status: int, message: str, state: str) -> JSONReply:
    """A Google API error answer."""
    return JSONReply({"error": {"code": status, "message": message, "status": state}}, status)


# -- Bedrock -------------------------------------------------------------------------------

EVENT_STREAM = "application/vnd.amazon.eventstream"


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # name length (1 byte), name, value type 7 (string), value length (2 bytes), value
    return (
        bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One ``application/vnd.amazon.eventstream`` message."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + raw_headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def stream_event(event_type: str, body: Any) -> bytes:
    """A ``ConverseStream`` event frame."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return event_frame(headers, json.dumps(body).encode())


def stream_exception(exception_type: str, message: str) -> bytes:
    """An exception frame, as the service sends when a stream fails midway."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return event_frame(headers, json.dumps({"message": message}).encode())


def bedrock_usage(prompt: int, completion: int, *, cache_read: int = 0) -> dict[str, Any]:
    """A ``TokenUsage`` object."""
    usage = {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}
    if cache_read:
        usage["cacheReadInputTokens"] = cache_read
    return usage


def bedrock_body(
    text: str | None = "Hello!",
    *,
    tool_uses: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    stop: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Converse`` response body."""
    content: list[dict[str, Any]] = [{"text": text}] if text is not None else []
    for tool_id, name, tool_input in tool_uses:
        content.append({"toolUse": {"toolUseId": tool_id, "name": name, "input": tool_input}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop or ("tool_use" if tool_uses else "end_turn"),
        "usage": usage if usage is not None else bedrock_usage(21, 4),
        "metrics": {"latencyMs": 312},
    }


def bedrock_response(text: str | None = "Hello!", **kwargs: Any) -> JSONReply:
    """A ``Converse`` answer, with the request id header the service sends."""
    return JSONReply(bedrock_body(text, **kwargs), headers={"x-amzn-RequestId": "req-bedrock-1"})


def bedrock_stream(
    parts: list[str],
    *,
    tool_uses: list[tuple[str, str, list[str]]] = (),  # type: ignore[assignment]
    usage: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
) -> BinaryReply:
    """A ``ConverseStream`` answer: ``messageStart``, text and tool-use blocks with
    their deltas, ``messageStop``, then ``metadata`` with the usage.

    With *error* = (exception type, message), an exception frame follows the text.
    """
    frames = [stream_event("messageStart", {"role": "assistant"})]
    for part in parts:
        frames.append(
            stream_event("contentBlockDelta", {"delta": {"text": part}, "contentBlockIndex": 0})
        )
    if error is not None:
        frames.append(stream_exception(*error))
    if parts:
        frames.append(stream_event("contentBlockStop", {"contentBlockIndex": 0}))
    for offset, (tool_id, name, json_parts) in enumerate(tool_uses):
        index = offset + (1 if parts else 0)
        start = {"toolUse": {"toolUseId": tool_id, "name": name}}
        frames.append(
            stream_event("contentBlockStart", {"start": start, "contentBlockIndex": index})
        )
        for partial in json_parts:
            delta = {"toolUse": {"input": partial}}
            frames.append(
                stream_event("contentBlockDelta", {"delta": delta, "contentBlockIndex": index})
            )
        frames.append(stream_event("contentBlockStop", {"contentBlockIndex": index}))
    stop = "tool_use" if tool_uses else "end_turn"
    frames.append(stream_event("messageStop", {"stopReason": stop}))
    metadata = {"usage": usage or bedrock_usage(21, 4), "metrics": {"latencyMs": 280}}
    frames.append(stream_event("metadata", metadata))
    return BinaryReply(
        b"".join(frames), EVENT_STREAM, headers={"x-amzn-RequestId": "req-bedrock-2"}
    )


def bedrock_error(status: int, error_type: str, message: str) -> JSONReply:
    """A Bedrock error answer: its type in ``x-amzn-ErrorType``, as the service sends it."""
    return JSONReply(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/"},
    )
