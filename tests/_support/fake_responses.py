"""OpenAI Responses API replies for the fake provider, tool-call round trips included.

Built from the documented wire format of ``POST /v1/responses``: a ``response``
object whose ``output`` holds ``message`` and ``function_call`` items, and,
for ``stream=True``, the server-sent events that announce each item, stream
its text or arguments, and end with ``response.completed``. Served by
:class:`tests._support.fake_provider.FakeProvider`::

    with ResponsesProvider() as provider:
        provider.queue(responses_reply(function_call("call_1", "get_weather", '{"city": "P"}')))
        provider.queue(responses_reply(message("It is sunny.")))

:class:`ResponsesProvider` echoes the request's settings (``instructions``,
``tools``, ``temperature``, ...) in the response, as the real API does.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests._support.fake_provider import (
    CREATED,
    FakeProvider,
    JSONReply,
    Recorded,
    Reply,
    SSEReply,
)

MODEL = "gpt-4.1-mini-2025-04-14"
#: Request fields the Responses API echoes in its ``response`` object.
ECHOED = (
    "instructions",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_output_tokens",
    "parallel_tool_calls",
    "previous_response_id",
)
_IDS = itertools.count(1)


def message(text: str) -> dict[str, Any]:
    """An assistant ``message`` output item."""
    return {
        "type": "message",
        "id": f"msg_{next(_IDS)}",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """A ``function_call`` output item: the model asks for a tool."""
    return {
        "type": "function_call",
        "id": f"fc_{next(_IDS)}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def usage(prompt: int, completion: int, *, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    """A Responses API ``usage`` object."""
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def response_body(
    *items: dict[str, Any],
    model: str = MODEL,
    tokens: dict[str, Any] | None = None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """A completed ``response`` object with *items* as its output."""
    return {
        "id": response_id or f"resp_{next(_IDS)}",
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": list(items),
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "usage": tokens if tokens is not None else usage(20, 6),
        "metadata": {},
    }


def responses_reply(*items: dict[str, Any], **kwargs: Any) -> JSONReply:
    """A JSON answer of ``POST /v1/responses``."""
    return JSONReply(response_body(*items, **kwargs))


def responses_stream(*items: dict[str, Any], **kwargs: Any) -> SSEReply:
    """The event stream of ``POST /v1/responses`` with ``stream=True``.

    Each item is announced (``response.output_item.added``), its text or
    arguments are sent in two deltas, and it is closed; the stream ends with
    ``response.completed`` carrying the whole response.
    """
    final = response_body(*items, **kwargs)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    seq = itertools.count()

    def event(name: str, **data: Any) -> tuple[str, Any]:
        return name, {"type": name, "sequence_number": next(seq), **data}

    events = [
        event("response.created", response=started),
        event("response.in_progress", response=started),
    ]
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            opened = {**item, "status": "in_progress", "content": []}
            events.append(event("response.output_item.added", output_index=index, item=opened))
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": []}
            events.append(event("response.content_part.added", **where, part=empty))
            half = len(text) // 2
            for delta in (text[:half], text[half:]):
                events.append(
                    event("response.output_text.delta", **where, delta=delta, logprobs=[])
                )
            events.append(event("response.output_text.done", **where, text=text, logprobs=[]))
            events.append(event("response.content_part.done", **where, part=item["content"][0]))
        else:
            opened = {**item, "status": "in_progress", "arguments": ""}
            events.append(event("response.output_item.added", output_index=index, item=opened))
            arguments = item["arguments"]
            half = len(arguments) // 2
            for delta in (arguments[:half], arguments[half:]):
                events.append(
                    event(
                        "response.function_call_arguments.delta",
                        item_id=item["id"],
                        output_index=index,
                        delta=delta,
                    )
                )
            events.append(
                event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=arguments,
                )
            )
        events.append(event("response.output_item.done", output_index=index, item=item))
    events.append(event("response.completed", response=final))
    return SSEReply(events)


def _echo(response: dict[str, Any], request: Any) -> dict[str, Any]:
    if not isinstance(request, dict):
        return response
    echoed = dict(response)
    for name in ECHOED:
        if request.get(name) is not None:
            echoed[name] = request[name]
    return echoed


class ResponsesProvider(FakeProvider):
    """The fake provider, echoing each request's settings in its queued response."""

    def _take(self, recorded: Recorded) -> Reply:
        reply = super()._take(recorded)
        if not recorded.path.endswith("/responses"):
            return reply
        if isinstance(reply, JSONReply):
            if reply.status == 200 and isinstance(reply.body, dict):
                return JSONReply(_echo(reply.body, recorded.body), reply.status, reply.headers)
            return reply
        events = []
        for name, data in reply.events:
            sent = data
            if isinstance(data, dict) and isinstance(data.get("response"), dict):
                sent = {**data, "response": _echo(data["response"], recorded.body)}
            events.append((name, sent))
        return SSEReply(events, reply.cut_after, reply.headers)
