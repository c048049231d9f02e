"""OpenAI: responses, streamed chunks and request arguments as event fields.

Covers the Chat Completions API (``ChatCompletion`` and its chunks), the
Responses API (``Response`` and its stream events) and the legacy Completions
API, as ``openai`` SDK objects or as the dicts that OpenAI-compatible servers
(vLLM, Ollama, LiteLLM, ...) return. Nothing here imports the ``openai``
package: objects are recognised by the fields their class declares.

Every function is pure and runs on the worker side, when the event's record is
built; :func:`wrap_openai` is the one entry point users call.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from honeyhive_trace.integrations._access import (
    discriminator,
    field,
    given,
    module_root,
    plain,
    token_count,
)
from honeyhive_trace.integrations._capture import register_sdk
from honeyhive_trace.integrations._wrap import patch, resource

__all__ = [
    "CHAT_COMPLETION",
    "CHAT_COMPLETION_CHUNK",
    "RESPONSE",
    "TEXT_COMPLETION",
    "assemble",
    "extract",
    "kind",
    "request_fields",
    "wrap_openai",
]

CHAT_COMPLETION = "chat.completion"
CHAT_COMPLETION_CHUNK = "chat.completion.chunk"
RESPONSE = "response"
TEXT_COMPLETION = "text_completion"
_KINDS = frozenset({CHAT_COMPLETION, CHAT_COMPLETION_CHUNK, RESPONSE, TEXT_COMPLETION})

#: Request arguments recorded as ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "n",
        "seed",
        "best_of",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "reasoning_effort",
        "reasoning",
        "verbosity",
        "parallel_tool_calls",
    }
)
#: Request arguments that configure the HTTP call, not the model; never recorded
#: (``extra_headers`` may carry credentials).
_TRANSPORT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
#: The methods :func:`wrap_openai` traces: (resource path, method, endpoint).
_METHODS = (
    ("chat.completions", "create", "chat"),
    ("responses", "create", "responses"),
    ("completions", "create", "completions"),
)

C = TypeVar("C")


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


def _is_response_event(value: Any) -> bool:
    event_type = discriminator(value, "type")
    return isinstance(event_type, str) and event_type.startswith("response.")


def _sdk_hint(value: Any) -> str | None:
    return "openai" if module_root(value) == "openai" else None


# -- whole responses -------------------------------------------------------------------


def extract(value: Any) -> dict[str, Any] | None:
    """Return the event fields of an OpenAI response, or None if *value* is not one.

    Args:
        value: a ``ChatCompletion``, ``Response`` or ``Completion`` (SDK object
            or dict), or a single ``ChatCompletionChunk``.

    Returns:
        ``response``, ``usage``, ``model`` and ``metadata`` (finish reason,
        response id, cached and reasoning token counts, ...), plus private
        hints (``_sdk``) that :func:`~honeyhive_trace.integrations.complete_fields`
        consumes; or None.
    """
    found = kind(value)
    if found == CHAT_COMPLETION:
        fields = _chat_fields(value)
    elif found == RESPONSE:
        fields = _response_fields(value)
    elif found == TEXT_COMPLETION:
        fields = _completion_fields(value)
    elif found == CHAT_COMPLETION_CHUNK:
        fields = _chat_fields(_merge_chat_chunks([value]))
    else:
        return None
    hint = _sdk_hint(value)
    if hint is not None:
        fields["_sdk"] = hint
    request_id = getattr(value, "_request_id", None) if hint else None
    if isinstance(request_id, str):
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


def _message(message: Any) -> dict[str, Any]:
    data = plain(message)
    if not isinstance(data, dict):
        return {"role": "assistant", "content": data}
    out: dict[str, Any] = {"role": data.get("role") or "assistant", "content": data.get("content")}
    for key, item in data.items():
        if key in out or key == "parsed" or item is None or item in ([], {}):
            continue
        out[key] = item
    return out


def _chat_usage(usage: Any, metadata: dict[str, Any]) -> dict[str, Any] | None:
    if usage is None:
        return None
    cached = token_count(field(field(usage, "prompt_tokens_details"), "cached_tokens"))
    if cached:
        metadata["cached_tokens"] = cached
    reasoning = token_count(field(field(usage, "completion_tokens_details"), "reasoning_tokens"))
    if reasoning:
        metadata["reasoning_tokens"] = reasoning
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


def _chat_fields(value: Any) -> dict[str, Any]:
    return _choices_fields(value, lambda choice: _message(field(choice, "message")))


def _completion_fields(value: Any) -> dict[str, Any]:
    return _choices_fields(
        value, lambda choice: {"role": "assistant", "content": field(choice, "text")}
    )


def _response_fields(value: Any) -> dict[str, Any]:
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in field(value, "output") or ():
        item_type = field(item, "type")
        if item_type == "message":
            for part in field(item, "content") or ():
                part_type = field(part, "type")
                if part_type == "output_text":
                    texts.append(field(part, "text") or "")
                elif part_type == "refusal":
                    refusals.append(field(part, "refusal") or "")
        elif item_type == "function_call":
            calls.append(
                {
                    "id": field(item, "call_id"),
                    "type": "function",
                    "function": {
                        "name": field(item, "name"),
                        "arguments": field(item, "arguments") or "",
                    },
                }
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
        cached = token_count(field(field(usage, "input_tokens_details"), "cached_tokens"))
        if cached:
            metadata["cached_tokens"] = cached
        reasoning = token_count(field(field(usage, "output_tokens_details"), "reasoning_tokens"))
        if reasoning:
            metadata["reasoning_tokens"] = reasoning
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
        fields["tools"] = plain(tools)
        choice = field(value, "tool_choice")
        if choice is not None:
            fields["tool_choice"] = plain(choice)
    text_format = field(field(value, "text"), "format")
    if text_format is not None and field(text_format, "type") not in (None, "text"):
        fields["response_format"] = plain(text_format)
    _common(value, fields, metadata)
    return fields


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
        fields = _chat_fields(_merge_chat_chunks(items))
    elif found == TEXT_COMPLETION:
        fields = _completion_fields(_merge_text_chunks(items))
    elif _is_response_event(first):
        fields = _response_fields(_merge_response_events(items))
    else:
        return None
    hint = _sdk_hint(first)
    if hint is not None:
        fields["_sdk"] = hint
    return fields


def _unwrap_helper_event(item: Any) -> Any:
    # `chat.completions.stream()` yields derived events; "chunk" ones carry the raw chunk.
    if discriminator(item, "type") == "chunk":
        return field(item, "chunk")
    return item


def _merge_chat_chunks(chunks: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"object": CHAT_COMPLETION}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if kind(chunk) != CHAT_COMPLETION_CHUNK:
            continue
        for key in ("id", "model", "system_fingerprint", "service_tier"):
            if merged.get(key) is None:
                merged[key] = field(chunk, key)
        usage = field(chunk, "usage")
        if usage is not None:
            merged["usage"] = usage
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
        for key in ("id", "model", "system_fingerprint"):
            if merged.get(key) is None:
                merged[key] = field(chunk, key)
        usage = field(chunk, "usage")
        if usage is not None:
            merged["usage"] = usage
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
    for slot in calls.values():
        output.append({**slot, "arguments": "".join(slot["arguments"])})
    return {
        "object": RESPONSE,
        "id": field(started, "id"),
        "model": field(started, "model"),
        "output": output,
    }


# -- request arguments ------------------------------------------------------------------------


def endpoint_of(path: str, body: Mapping[str, Any]) -> str:
    """Name the API a request went to, from its URL path or else its body."""
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/completions"):
        return "completions"
    if "messages" in body:
        return "chat"
    if "input" in body:
        return "responses"
    return "completions"


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of an OpenAI create call to event fields.

    Args:
        endpoint: ``"chat"``, ``"responses"`` or ``"completions"``; guessed from
            the arguments when None.
        body: the keyword arguments of the call, or the JSON body it sent.

    Returns:
        ``model``, ``messages`` (the Responses API's ``instructions`` and
        ``input`` become messages), ``hyperparameters``, ``tools``,
        ``tool_choice``, ``response_format`` and the other arguments as
        ``inputs``. Transport options (``extra_headers``, ``timeout``, ...) and
        unset arguments are left out.
    """
    if endpoint is None:
        endpoint = endpoint_of("", body)
    fields: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for name, value in body.items():
        if not given(value) or name in _TRANSPORT:
            continue
        if name in ("model", "messages", "tools", "tool_choice", "response_format"):
            fields[name] = value
        elif name in HYPERPARAMETERS:
            hyper[name] = value
        elif name == "prompt" and endpoint == "completions":
            prompts = [value] if isinstance(value, str) else value
            fields["messages"] = [{"role": "user", "content": p} for p in prompts]
        elif name in ("input", "instructions") and endpoint == "responses":
            continue
        elif name == "text" and endpoint == "responses":
            text_format = field(value, "format")
            if text_format is not None and field(text_format, "type") not in (None, "text"):
                fields["response_format"] = text_format
            if field(value, "verbosity") is not None:
                hyper["verbosity"] = field(value, "verbosity")
        else:
            inputs[name] = value
    if endpoint == "responses":
        messages: list[Any] = []
        instructions = body.get("instructions")
        if given(instructions):
            messages.append({"role": "system", "content": instructions})
        given_input = body.get("input")
        if isinstance(given_input, str):
            messages.append({"role": "user", "content": given_input})
        elif isinstance(given_input, (list, tuple)):
            messages.extend(given_input)
        if messages:
            fields["messages"] = messages
    if hyper:
        fields["hyperparameters"] = hyper
    if inputs:
        fields["inputs"] = inputs
    return fields


# -- wrapping a client ----------------------------------------------------------------------------


def wrap_openai(client: C) -> C:
    """Trace the create calls made through one OpenAI client, and return it.

    ``chat.completions.create``, ``responses.create`` and ``completions.create``
    of this client instance each record a model event, streaming included
    (the ``chat.completions.stream()`` and ``responses.stream()`` helpers call
    ``create`` and are recorded through it);
    other clients and the ``openai`` package are not touched. Wrapping twice
    is harmless. A copy made with ``client.with_options(...)`` is a new client
    and is not traced unless wrapped too.

    Args:
        client: an ``openai.OpenAI``, ``openai.AsyncOpenAI`` or ``AzureOpenAI``
            client (or any client with the same resources).

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has none of the resources above.
    """
    patched = 0
    for path, method, endpoint in _METHODS:
        target = resource(client, path)
        if target is not None and patch(
            target,
            method,
            sdk="openai",
            endpoint=endpoint,
            event_name=f"openai.{path}.{method}",
            client=client,
        ):
            patched += 1
    if not patched:
        raise TypeError(f"wrap_openai() needs an OpenAI client, got {type(client).__name__}")
    return client


register_sdk("openai", sys.modules[__name__])
