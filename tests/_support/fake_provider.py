"""A fake OpenAI and Anthropic API on 127.0.0.1, for tests that use the real SDKs.

Each test queues the replies it wants, built with the helpers below from the
providers' documented formats: JSON bodies, server-sent event streams (sent
with chunked transfer encoding, as the real APIs do, and cut off midway on
request), and the providers' error bodies. Requests are recorded.

    with FakeProvider() as provider:
        provider.queue(openai_chat("Hello!"))
        client = openai.OpenAI(base_url=provider.openai_url, api_key="k", max_retries=0)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from honeyhive_trace.collector import Collector
from tests._support.contract import check_model_event

CREATED = 1_764_000_000


@dataclass
class JSONReply:
    """A JSON answer."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SSEReply:
    """A server-sent event stream: (event name or None, data) pairs.

    With ``cut_after=n`` the connection is dropped after *n* events, in the
    middle of the chunked body, as when a server or proxy fails mid-stream.
    ``pause_before={i: s}`` waits *s* seconds before sending event *i* (a model
    thinking before its first token).
    """

    events: list[tuple[str | None, Any]]
    cut_after: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    pause_before: dict[int, float] = field(default_factory=dict)


@dataclass
class DynamicReply:
    """An answer built from the request it answers (embeddings echo their inputs)."""

    build: Callable[[Recorded], JSONReply | SSEReply]


Reply = JSONReply | SSEReply | DynamicReply


@dataclass
class Recorded:
    """One request the fake provider received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a kept-alive connection must not hold up stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that drops a stream it did not finish resets the connection


class FakeProvider:
    """A threaded HTTP server that answers with queued replies, in order."""

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        provider = self

        class Handler(_Handler):
            owner = provider

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL (Anthropic's SDK adds ``/v1/...`` itself)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        """The base URL for OpenAI's SDK, which expects the ``/v1`` prefix in it."""
        return f"{self.url}/v1"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with *replies*, in order."""
        with self._lock:
            self._replies.extend(replies)

    def _take(self, recorded: Recorded) -> JSONReply | SSEReply:
        with self._lock:
            self.requests.append(recorded)
            reply = self._replies.popleft() if self._replies else None
        if reply is None:
            return openai_error(500, "fake provider: no reply queued", "server_error")
        return reply.build(recorded) if isinstance(reply, DynamicReply) else reply


class _Handler(BaseHTTPRequestHandler):
    owner: FakeProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        recorded = Recorded("POST", self.path, dict(self.headers.items()), body)
        reply = self.owner._take(recorded)
        if isinstance(reply, JSONReply):
            self._json(reply)
        else:
            self._sse(reply)

    def _json(self, reply: JSONReply) -> None:
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, reply: SSEReply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for index, (event, data) in enumerate(reply.events):
            if index in reply.pause_before:
                time.sleep(reply.pause_before[index])  # the provider is slow on purpose
            if reply.cut_after is not None and index >= reply.cut_after:
                self.wfile.flush()
                self.close_connection = True  # no terminating chunk: the body is incomplete
                return
            text = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
            payload = frame.encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# -- OpenAI -------------------------------------------------------------------------------


def openai_usage(
    prompt: int, completion: int, *, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    """A Chat Completions ``usage`` object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """A Chat Completions tool call."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def openai_chat(
    content: str | None = "Hello!",
    *,
    model: str = "gpt-4o-2024-08-06",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    choices: int = 1,
) -> JSONReply:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": [],
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    body = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_50cad350e4",
        "service_tier": "default",
        "choices": [
            {
                "index": i,
                "message": message if i == 0 else {**message, "content": f"{content} ({i})"},
                "logprobs": None,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
            for i in range(choices)
        ],
        "usage": usage if usage is not None else openai_usage(12, 5),
    }
    return JSONReply(body, headers={"x-request-id": "req_openai_1"})


def _chunk(model: str, choices: list[Any], usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stream1",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_50cad350e4",
        "service_tier": "default",
        "choices": choices,
        "usage": usage,
    }


def openai_chat_stream(
    parts: list[str],
    *,
    model: str = "gpt-4o-2024-08-06",
    tool_calls: list[tuple[str, str, list[str]]] = (),  # type: ignore[assignment]
    usage: dict[str, Any] | None = None,
    cut_after: int | None = None,
    error: str | None = None,
) -> SSEReply:
    """A Chat Completions stream: a role chunk, content and tool-call deltas, the
    finish chunk, a usage chunk when *usage* is given, then ``[DONE]``.

    With *error*, an error object is sent after the content, as the API does
    when generation fails mid-stream.
    """

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[Any]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    events: list[tuple[str | None, Any]] = [
        (None, _chunk(model, choice({"role": "assistant", "content": "", "refusal": None})))
    ]
    events += [(None, _chunk(model, choice({"content": part}))) for part in parts]
    for index, (call_id, name, arg_parts) in enumerate(tool_calls):
        start = {"index": index, "id": call_id, "type": "function"}
        start["function"] = {"name": name, "arguments": ""}
        events.append((None, _chunk(model, choice({"tool_calls": [start]}))))
        for arguments in arg_parts:
            delta = {"index": index, "function": {"arguments": arguments}}
            events.append((None, _chunk(model, choice({"tool_calls": [delta]}))))
    if error is not None:
        events.append((None, {"error": {"message": error, "type": "server_error", "code": None}}))
    events.append((None, _chunk(model, choice({}, "tool_calls" if tool_calls else "stop"))))
    if usage is not None:
        events.append((None, _chunk(model, [], usage)))
    events.append((None, "[DONE]"))
    return SSEReply(events, cut_after=cut_after)


def openai_completion(text: str, *, model: str = "gpt-3.5-turbo-instruct") -> JSONReply:
    """A legacy ``text_completion`` object."""
    return JSONReply(
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7},
        }
    )


def _response_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def openai_response_body(
    text: str,
    *,
    model: str = "gpt-4.1-2025-04-14",
    calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    status: str = "completed",
) -> dict[str, Any]:
    """A Responses API ``response`` object."""
    output: list[dict[str, Any]] = [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    ]
    for call_id, name, arguments in calls:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{call_id}",
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
                "status": "completed",
            }
        )
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "temperature": 0.3,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "usage": _response_usage(20, 6),
        "metadata": {},
    }


def openai_response(text: str, **kwargs: Any) -> JSONReply:
    """A Responses API answer."""
    return JSONReply(openai_response_body(text, **kwargs))


def openai_response_stream(
    parts: list[str], *, model: str = "gpt-4.1-2025-04-14", cut_after: int | None = None
) -> SSEReply:
    """A Responses API event stream, ending with ``response.completed``."""
    final = openai_response_body("".join(parts), model=model)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    item = {**final["output"][0], "status": "in_progress", "content": []}
    seq = iter(range(1000))

    def event(name: str, **data: Any) -> tuple[str, Any]:
        return name, {"type": name, "sequence_number": next(seq), **data}

    events = [
        event("response.created", response=started),
        event("response.in_progress", response=started),
        event("response.output_item.added", output_index=0, item=item),
        event(
            "response.content_part.added",
            item_id="msg_1",
            output_index=0,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        ),
    ]
    for part in parts:
        events.append(
            event(
                "response.output_text.delta",
                item_id="msg_1",
                output_index=0,
                content_index=0,
                delta=part,
                logprobs=[],
            )
        )
    events.append(
        event(
            "response.output_text.done",
            item_id="msg_1",
            output_index=0,
            content_index=0,
            text="".join(parts),
            logprobs=[],
        )
    )
    events.append(event("response.output_item.done", output_index=0, item=final["output"][0]))
    events.append(event("response.completed", response=final))
    return SSEReply(events, cut_after=cut_after)


def openai_error(status: int, message: str, error_type: str, code: str | None = None) -> JSONReply:
    """An OpenAI error answer."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return JSONReply(body, status=status)


# -- Anthropic ---------------------------------------------------------------------------


def anthropic_usage(
    input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_creation: int = 0
) -> dict[str, Any]:
    """A Messages API ``usage`` object."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "service_tier": "standard",
    }


def anthropic_message_body(
    text: str | None = "Hello!",
    *,
    model: str = "claude-sonnet-4-6",
    tool_uses: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Messages API ``message`` object."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for tool_id, name, tool_input in tool_uses:
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if tool_uses else "end_turn",
        "stop_sequence": None,
        "usage": usage if usage is not None else anthropic_usage(25, 9),
    }


def anthropic_message(text: str | None = "Hello!", **kwargs: Any) -> JSONReply:
    """A Messages API answer."""
    return JSONReply(anthropic_message_body(text, **kwargs), headers={"request-id": "req_ant_1"})


def anthropic_stream(
    parts: list[str],
    *,
    model: str = "claude-sonnet-4-6",
    tool_uses: list[tuple[str, str, list[str]]] = (),  # type: ignore[assignment]
    input_tokens: int = 25,
    output_tokens: int = 9,
    cut_after: int | None = None,
    error: tuple[str, str] | None = None,
) -> SSEReply:
    """A Messages API event stream: ``message_start``, content blocks with their
    deltas (and a ``ping``), ``message_delta`` with the final usage, ``message_stop``.

    With *error* = (type, message), an ``error`` event follows the text.
    """
    start = anthropic_message_body(None, model=model, usage=anthropic_usage(input_tokens, 1))
    start["stop_reason"] = None
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    index = 0
    if parts:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.append(("ping", {"type": "ping"}))
        for part in parts:
            delta = {"type": "text_delta", "text": part}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                )
            )
        if error is not None:
            body = {"type": "error", "error": {"type": error[0], "message": error[1]}}
            events.append(("error", body))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    for offset, (tool_id, name, json_parts) in enumerate(tool_uses):
        block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
        i = index + offset
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": block},
            )
        )
        for partial in json_parts:
            delta = {"type": "input_json_delta", "partial_json": partial}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": i, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    stop_reason = "tool_use" if tool_uses else "end_turn"
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return SSEReply(events, cut_after=cut_after)


def anthropic_error(status: int, error_type: str, message: str) -> JSONReply:
    """An Anthropic error answer."""
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_err_1",
    }
    return JSONReply(body, status=status)


# -- shared by the OpenAI and Anthropic integration tests --------------------------


class _NonNegative:
    """Equal to any number >= 0 (for measured times)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (int, float)) and other >= 0

    def __repr__(self) -> str:
        return "<number >= 0>"

    def __hash__(self) -> int:
        return 0


ELAPSED = _NonNegative()


def recorded(collector: Collector) -> list[dict[str, Any]]:
    """The stored events, oldest first, checked against the contract, without
    their ids and clock readings."""
    events = collector.events()[::-1]
    for event in events:
        assert [] == check_model_event(event)
        for key in ("event_id", "start_time", "end_time", "duration"):
            event.pop(key)
    return events
