"""Google Gemini through ``google-genai``: responses, streams and request arguments.

Covers ``client.models.generate_content`` and ``generate_content_stream``
and their ``client.aio.models`` twins, on the Gemini API and on Vertex AI.
A traced function that returns a ``GenerateContentResponse`` (or yields its
stream chunks) is recognised with no code from the user; :func:`wrap_gemini`
traces one client's calls. Nothing here imports the ``google-genai`` package.

A blocked prompt (``prompt_feedback.block_reason``) or an answer withheld for
safety (finish reason ``SAFETY``, ``RECITATION``, ...) is recorded as the
event's error; the SDK itself raises nothing for them, and neither does this.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._access import given
from honeyhive_trace.integrations._astreams import TracedAsyncStream
from honeyhive_trace.integrations._calls import end_with_result, patch_call
from honeyhive_trace.integrations._capture import Capture, Request, register_sdk
from honeyhive_trace.integrations._gemini_read import (
    compact,
    get,
    given_items,
    is_response,
    messages_of,
    response_fields,
    text_of,
)
from honeyhive_trace.integrations._streams import TracedStream
from honeyhive_trace.integrations._wrap import resource

__all__ = ["assemble", "extract", "request_fields", "wrap_gemini"]

#: ``GenerateContentConfig`` fields recorded as ``hyperparameters``
#: (``stop_sequences`` as ``stop``).
HYPERPARAMETERS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "candidate_count",
        "max_output_tokens",
        "stop_sequences",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_logprobs",
        "logprobs",
        "thinking_config",
    }
)
_RESPONSE_FORMAT = ("response_mime_type", "response_schema", "response_json_schema")
#: Config fields that configure the HTTP call, not the model: never recorded.
_TRANSPORT = frozenset({"http_options", "should_return_http_response"})

C = TypeVar("C")


def extract(value: Any) -> dict[str, Any] | None:
    """Return the event fields of a ``GenerateContentResponse``, or None if *value* is not one.

    Args:
        value: a ``google.genai.types.GenerateContentResponse`` or its dict
            form (REST camelCase or the SDK's snake_case).

    Returns:
        ``response``, ``usage``, ``model``, ``metadata`` and, for a blocked
        prompt or withheld answer, ``error``; or None.
    """
    return response_fields(value) if is_response(value) else None


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Build the event fields of a streamed answer from its ``GenerateContentResponse`` chunks.

    Texts and function calls are joined in order; the finish reason, usage
    (the last chunk carries the whole call's) and model are the last seen.

    Returns:
        The fields :func:`extract` gives for the whole answer, or None if the
        chunks are not Gemini's.
    """
    first = next((c for c in chunks if c is not None), None)
    if first is None or not is_response(first):
        return None
    parts: list[Any] = []
    merged: dict[str, Any] = {}
    finish = None
    for chunk in chunks:
        for candidate in (get(chunk, "candidates") or [])[:1]:
            parts.extend(get(get(candidate, "content"), "parts") or ())
            if get(candidate, "finish_reason") is not None:
                finish = get(candidate, "finish_reason")
                merged["safety_ratings"] = get(candidate, "safety_ratings")
        for key in ("usage_metadata", "model_version", "response_id", "prompt_feedback"):
            if get(chunk, key) is not None:
                merged[key] = get(chunk, key)
    candidate = {
        "content": {"role": "model", "parts": _joined(parts)},
        "finish_reason": finish,
        "safety_ratings": merged.pop("safety_ratings", None),
    }
    return response_fields({**merged, "candidates": [candidate]})


def _joined(parts: list[Any]) -> list[Any]:
    # Adjacent text parts (and adjacent thought parts) become one.
    joined: list[Any] = []
    for part in parts:
        text = get(part, "text")
        thought = bool(get(part, "thought"))
        last = joined[-1] if joined else None
        if (
            isinstance(text, str)
            and isinstance(last, dict)
            and "text" in last
            and last["thought"] == thought
        ):
            last["text"] += text
        elif isinstance(text, str):
            joined.append({"text": text, "thought": thought})
        else:
            joined.append(part)
    return joined


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of ``generate_content``/``generate_content_stream`` to event fields.

    Args:
        endpoint: ``"vertex_ai"`` for a Vertex AI client, else the Gemini API.
        body: the call's keyword arguments (``model``, ``contents``, ``config``).

    Returns:
        ``model`` (without ``models/``), ``provider``, ``messages`` (the
        config's ``system_instruction`` first), ``hyperparameters``,
        ``tools``, ``tool_choice`` (``tool_config``), ``response_format`` and
        the other config fields as ``inputs``. ``http_options`` is left out.
    """
    fields: dict[str, Any] = {"provider": "vertex_ai" if endpoint == "vertex_ai" else "google"}
    model = body.get("model")
    if isinstance(model, str) and model:
        fields["model"] = model.removeprefix("models/")
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    response_format: dict[str, Any] = {}
    messages: list[Any] = []
    for name, value in given_items(body.get("config")).items():
        if name in _TRANSPORT:
            continue
        if name == "system_instruction":
            messages.append({"role": "system", "content": text_of(value)})
        elif name in HYPERPARAMETERS:
            hyper["stop" if name == "stop_sequences" else name] = value
        elif name == "tools":
            fields["tools"] = value
        elif name == "tool_config":
            fields["tool_choice"] = value
        elif name in _RESPONSE_FORMAT:
            response_format[name.removeprefix("response_")] = value
        else:
            inputs[name] = value
    if given(body.get("contents")):
        messages.extend(messages_of(body["contents"]))
    fields["messages"] = messages
    for name, value in body.items():
        if name not in ("model", "contents", "config") and given(value):
            inputs[name] = compact(value)
    if hyper:
        fields["hyperparameters"] = hyper
    if response_format:
        fields["response_format"] = response_format
    if inputs:
        fields["inputs"] = inputs
    return fields


class TracedAsyncGenerator(TracedAsyncStream):
    """An async generator of chunks (what ``aio.models.generate_content_stream`` gives)."""

    async def aclose(self) -> None:
        """Close the generator; an unfinished stream's event ends as closed early."""
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_end(None, True)

    async def close(self) -> None:
        """The same as :meth:`aclose` (an async generator has no ``close``)."""
        await self.aclose()


def _stream(handle: EventHandle, request: Request, result: Any) -> Any:
    if not hasattr(result, "__next__"):
        return end_with_result(handle, request, result)
    return TracedStream(result, handle, Capture("gemini", request, chunks=[]))


def _async_stream(handle: EventHandle, request: Request, result: Any) -> Any:
    if not hasattr(result, "__anext__"):
        return end_with_result(handle, request, result)
    return TracedAsyncGenerator(result, handle, Capture("gemini", request, chunks=[]))


def wrap_gemini(client: C) -> C:
    """Trace the content calls made through one ``google-genai`` client, and return it.

    ``models.generate_content`` and ``models.generate_content_stream`` of this
    client, and their ``aio.models`` (async) twins, each record a model event;
    a stream's event ends when the stream does. Other clients and the
    package are not touched. Wrapping twice is harmless.

    Args:
        client: a ``google.genai.Client`` (Gemini API or Vertex AI).

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has no ``models`` resource.
    """
    endpoint = "vertex_ai" if getattr(client, "vertexai", False) is True else "gemini_api"
    patched = 0
    for path, stream in (("models", None), ("aio.models", "async")):
        target = resource(client, path)
        if target is None:
            continue
        for method, finish in (
            ("generate_content", end_with_result),
            ("generate_content_stream", _async_stream if stream else _stream),
        ):
            options = {"sdk": "gemini", "endpoint": endpoint, "finish": finish}
            event_name = f"gemini.{path}.{method}"
            patched += patch_call(target, method, event_name=event_name, **options)
    if not patched:
        raise TypeError(f"wrap_gemini() needs a google.genai Client, got {type(client).__name__}")
    return client


register_sdk("gemini", sys.modules[__name__])
