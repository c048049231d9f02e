"""More of OpenAI's wire format for the fake provider: Responses API, embeddings.

Built from OpenAI's API reference (the ``response`` object, the Responses
streaming events, ``CreateEmbeddingResponse``), for the tests of the whole
OpenAI surface (``tests/test_integrations_openai_surface.py``).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from tests._support.fake_provider import (
    CREATED,
    DynamicReply,
    JSONReply,
    Recorded,
    SSEReply,
)


def response_usage(
    prompt: int, completion: int, *, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    """A Responses API ``usage`` object."""
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def _message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _reasoning(summary: str) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": summary}],
    }


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def response_body(
    text: str,
    *,
    model: str = "o4-mini-2025-04-16",
    reasoning: str | None = None,
    calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    usage: dict[str, Any] | None = None,
    status: str = "completed",
    error: dict[str, Any] | None = None,
    incomplete: str | None = None,
    text_format: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Responses API ``response`` object: reasoning, message, function calls, usage."""
    output: list[dict[str, Any]] = []
    if reasoning is not None:
        output.append(_reasoning(reasoning))
    output.append(_message(text))
    output += [_call(*call) for call in calls]
    return {
        "id": "resp_2",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": text_format or {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "usage": usage if usage is not None else response_usage(50, 30, cached=20, reasoning=18),
        "metadata": {},
    }


def response_reply(text: str, **kwargs: Any) -> JSONReply:
    """A Responses API answer."""
    return JSONReply(response_body(text, **kwargs), headers={"x-request-id": "req_resp_2"})


def response_stream(
    parts: list[str],
    *,
    reasoning: list[str] = (),  # type: ignore[assignment]
    calls: list[tuple[str, str, list[str]]] = (),  # type: ignore[assignment]
    end: str = "completed",
    cut_after: int | None = None,
    **kwargs: Any,
) -> SSEReply:
    """A Responses API event stream with every event type the API sends for these items.

    Reasoning summary parts, then the message's text deltas, then each function
    call's argument deltas; it ends with ``response.<end>`` (``completed``,
    ``incomplete`` or ``failed``), whose ``response`` is the whole response.
    """
    whole = [(call_id, name, "".join(args)) for call_id, name, args in calls]
    status = {"completed": "completed", "incomplete": "incomplete", "failed": "failed"}[end]
    if end == "failed":
        kwargs.setdefault("error", {"code": "server_error", "message": "The model failed."})
    if end == "incomplete":
        kwargs.setdefault("incomplete", "max_output_tokens")
    final = response_body(
        "".join(parts),
        reasoning="".join(reasoning) if reasoning else None,
        calls=whole,
        status=status,
        **kwargs,
    )
    started = {**final, "status": "in_progress", "output": [], "usage": None, "error": None}
    started["incomplete_details"] = None
    seq = iter(range(10_000))

    def event(kind: str, **data: Any) -> tuple[str, Any]:
        return kind, {"type": kind, "sequence_number": next(seq), **data}

    events = [
        event("response.created", response=started),
        event("response.in_progress", response=started),
    ]
    index = 0
    if reasoning:
        item = final["output"][0]
        events.append(
            event("response.output_item.added", output_index=0, item={**item, "summary": []})
        )
        part = {"type": "summary_text", "text": ""}
        ids = {"item_id": "rs_1", "output_index": 0, "summary_index": 0}
        events.append(event("response.reasoning_summary_part.added", **ids, part=part))
        for delta in reasoning:
            events.append(event("response.reasoning_summary_text.delta", **ids, delta=delta))
        summary = "".join(reasoning)
        events.append(event("response.reasoning_summary_text.done", **ids, text=summary))
        done_part = {"type": "summary_text", "text": summary}
        events.append(event("response.reasoning_summary_part.done", **ids, part=done_part))
        events.append(event("response.output_item.done", output_index=0, item=item))
        index = 1
    message = final["output"][index]
    added = {**message, "status": "in_progress", "content": []}
    events.append(event("response.output_item.added", output_index=index, item=added))
    ids = {"item_id": "msg_1", "output_index": index, "content_index": 0}
    empty = {"type": "output_text", "text": "", "annotations": []}
    events.append(event("response.content_part.added", **ids, part=empty))
    for part in parts:
        events.append(event("response.output_text.delta", **ids, delta=part, logprobs=[]))
    text = "".join(parts)
    events.append(event("response.output_text.done", **ids, text=text, logprobs=[]))
    events.append(event("response.content_part.done", **ids, part={**empty, "text": text}))
    events.append(event("response.output_item.done", output_index=index, item=message))
    for offset, (_, name, arg_parts) in enumerate(calls, start=index + 1):
        item = final["output"][offset]
        start = {**item, "arguments": "", "status": "in_progress"}
        events.append(event("response.output_item.added", output_index=offset, item=start))
        call_ids = {"item_id": item["id"], "output_index": offset}
        for delta in arg_parts:
            events.append(event("response.function_call_arguments.delta", **call_ids, delta=delta))
        events.append(
            event(
                "response.function_call_arguments.done",
                **call_ids,
                arguments=item["arguments"],
                name=name,
            )
        )
        events.append(event("response.output_item.done", output_index=offset, item=item))
    events.append(event(f"response.{end}", response=final))
    return SSEReply(events, cut_after=cut_after)


# -- embeddings ----------------------------------------------------------------------------


def _vector(index: int, dimensions: int) -> list[float]:
    return [round((index + 1) * 0.001 * (d + 1), 6) for d in range(dimensions)]


def embeddings(
    dimensions: int = 8, *, model: str = "text-embedding-3-small", tokens_each: int = 4
) -> DynamicReply:
    """A ``CreateEmbeddingResponse`` answering the request it gets, as the API does.

    One embedding per input, as floats or (``encoding_format: "base64"``, what
    the SDK asks for by default) as base64 little-endian float32s.
    """

    def answer(request: Recorded) -> JSONReply:
        body = request.body if isinstance(request.body, dict) else {}
        given = body.get("input")
        if isinstance(given, str) or (
            isinstance(given, list) and given and isinstance(given[0], int)
        ):
            count = 1
        else:
            count = len(given or [])
        size = int(body.get("dimensions") or dimensions)
        data = []
        for index in range(count):
            vector: Any = _vector(index, size)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        usage = {"prompt_tokens": tokens_each * count, "total_tokens": tokens_each * count}
        reply = {"object": "list", "data": data, "model": model, "usage": usage}
        return JSONReply(reply, headers={"x-request-id": "req_emb_1"})

    return DynamicReply(answer)
