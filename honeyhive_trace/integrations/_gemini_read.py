"""Google Gemini: reading ``GenerateContentResponse`` values and request arguments.

Objects of ``google-genai`` are read by their snake_case attributes, dicts in
either the SDK's snake_case or the REST API's camelCase. Nothing here imports
the SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from honeyhive_trace.integrations._access import dumps, given, plain, token_count, tool_call

__all__ = [
    "BLOCKING_FINISH_REASONS",
    "compact",
    "get",
    "is_response",
    "messages_of",
    "response_fields",
    "text_of",
]

#: Finish reasons meaning the service withheld (part of) the answer: recorded as errors.
BLOCKING_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    }
)
_CAMEL = re.compile(r"_([a-z])")


def get(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``, trying the camelCase key of a dict too."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        found = obj.get(name)
        if found is None and "_" in name:
            found = obj.get(_CAMEL.sub(lambda m: m.group(1).upper(), name))
        return found
    return getattr(obj, name, None)


def compact(value: Any) -> Any:
    """A JSON-ready copy of *value* without the None fields the SDK's models carry."""
    data = plain(value)
    return _drop_none(data)


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_none(v) for v in data]
    return data


def _enum_text(value: Any) -> Any:
    # FinishReason.STOP -> "STOP"; a plain string stays as it is.
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, (str, int)) else str(inner)


def is_response(value: Any) -> bool:
    """Whether *value* is a ``GenerateContentResponse`` (SDK object or dict)."""
    if isinstance(value, Mapping):
        if "candidates" not in value and "promptFeedback" not in value:
            return "prompt_feedback" in value and "usage_metadata" in value
        return any(
            key in value
            for key in ("usageMetadata", "modelVersion", "usage_metadata", "model_version")
        )
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    return cls.__name__ == "GenerateContentResponse" and module.startswith("google.genai")


def text_of(content: Any) -> Any:
    """The text of a ``Content``, a ``Part`` list, or a string; else its JSON form."""
    if isinstance(content, str):
        return content
    parts = get(content, "parts") if not isinstance(content, (list, tuple)) else content
    if isinstance(parts, (list, tuple)):
        texts = [get(p, "text") if not isinstance(p, str) else p for p in parts]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)
    if get(content, "text") is not None:
        return get(content, "text")
    return compact(content)


def _role(role: Any) -> str:
    return "assistant" if role == "model" else str(role or "user")


def messages_of(contents: Any) -> list[dict[str, Any]]:
    """``contents`` of a request as chat messages (the ``model`` role is ``assistant``)."""
    if contents is None:
        return []
    items = contents if isinstance(contents, (list, tuple)) else [contents]
    messages: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            messages.append({"role": "user", "content": item})
        elif get(item, "parts") is not None:
            messages.append({"role": _role(get(item, "role")), "content": text_of(item)})
        else:  # a bare part: the SDK sends it as the user's
            messages.append({"role": "user", "content": text_of([item])})
    return messages


def _candidate_fields(candidate: Any) -> tuple[dict[str, Any], Any]:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in get(get(candidate, "content"), "parts") or ():
        call = get(part, "function_call")
        text = get(part, "text")
        if call is not None:
            arguments = dumps(get(call, "args") or {})
            calls.append(tool_call(get(call, "id"), get(call, "name"), arguments))
        elif isinstance(text, str):
            (thoughts if get(part, "thought") else texts).append(text)
    response: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        response["tool_calls"] = calls
    if thoughts:
        response["thinking"] = "".join(thoughts)
    return response, get(candidate, "finish_reason")


def _usage(usage: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    prompt = token_count(get(usage, "prompt_token_count"))
    candidates = token_count(get(usage, "candidates_token_count"))
    thoughts = token_count(get(usage, "thoughts_token_count"))
    # Thinking tokens are billed as output: they count as completion tokens.
    completion = (
        None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    )
    total = token_count(get(usage, "total_token_count"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    if thoughts:
        metadata["reasoning_tokens"] = thoughts
    cached = token_count(get(usage, "cached_content_token_count"))
    if cached:
        metadata["cached_tokens"] = cached  # part of the prompt tokens, as OpenAI counts them
    tool_prompt = token_count(get(usage, "tool_use_prompt_token_count"))
    if tool_prompt:
        metadata["tool_use_prompt_tokens"] = tool_prompt
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def response_fields(value: Any) -> dict[str, Any]:
    """Event fields of a ``GenerateContentResponse``.

    Returns:
        ``response`` (text, ``tool_calls`` from function calls, ``thinking``),
        ``usage``, ``model`` (the model version that answered), ``metadata``
        (finish reason, response id, reasoning and cached token counts), and
        ``error`` when the prompt was blocked or the answer withheld.
    """
    metadata: dict[str, Any] = {}
    fields: dict[str, Any] = {"_sdk": "gemini"}
    candidates = get(value, "candidates") or []
    if candidates:
        response, finish = _candidate_fields(candidates[0])
        fields["response"] = response
        if finish is not None:
            finish = _enum_text(finish)
            metadata["finish_reason"] = finish
            if finish in BLOCKING_FINISH_REASONS:
                fields["error"] = f"Gemini withheld the response (finish reason {finish})"
                ratings = get(candidates[0], "safety_ratings")
                if ratings:
                    metadata["safety_ratings"] = compact(ratings)
    feedback = get(value, "prompt_feedback")
    blocked = get(feedback, "block_reason")
    if blocked is not None:
        blocked = _enum_text(blocked)
        metadata["block_reason"] = blocked
        fields["error"] = f"Gemini blocked the prompt (block reason {blocked})"
        message = get(feedback, "block_reason_message")
        if message:
            metadata["block_reason_message"] = message
        ratings = get(feedback, "safety_ratings")
        if ratings:
            metadata["safety_ratings"] = compact(ratings)
    usage = get(value, "usage_metadata")
    if usage is not None:
        fields["usage"] = _usage(usage, metadata)
    model = get(value, "model_version")
    if isinstance(model, str) and model:
        fields["model"] = model
    response_id = get(value, "response_id")
    if isinstance(response_id, str) and response_id:
        metadata["response_id"] = response_id
    if metadata:
        fields["metadata"] = metadata
    return fields


def given_items(config: Any) -> dict[str, Any]:
    """The arguments set in a ``GenerateContentConfig`` (object or dict), in snake_case."""
    if config is None or not given(config):
        return {}
    data = compact(config)
    if not isinstance(data, dict):
        return {}
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in data.items()}
