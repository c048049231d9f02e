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
    field,
    given,
)
from honeyhive_trace.integrations._capture import register_sdk
from honeyhive_trace.integrations._openai_chunks import assemble, merge_chat_chunks
from honeyhive_trace.integrations._openai_embeddings import (
    embedding_fields,
    embedding_request_fields,
    is_embedding_response,
)
from honeyhive_trace.integrations._openai_raw import is_raw_response, raw_body, raw_request_id
from honeyhive_trace.integrations._openai_read import (
    CHAT_COMPLETION,
    CHAT_COMPLETION_CHUNK,
    RESPONSE,
    TEXT_COMPLETION,
    chat_fields,
    completion_fields,
    kind,
    response_fields,
    sdk_hint,
)
from honeyhive_trace.integrations._wrap import wrap_client

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
#: (``extra_headers`` may carry credentials). ``stream`` and ``stream_options``
#: say how the answer travels: a streamed call is known by its
#: ``metadata.time_to_first_token_ms``.
_TRANSPORT = frozenset(
    {"extra_headers", "extra_query", "extra_body", "timeout", "stream", "stream_options"}
)
#: The methods :func:`wrap_openai` traces: (resource path, method, endpoint).
#: The ``stream()`` helpers call ``create`` and are recorded through it.
_METHODS = (
    ("chat.completions", "create", "chat"),
    ("chat.completions", "parse", "chat"),
    ("responses", "create", "responses"),
    ("responses", "parse", "responses"),
    ("completions", "create", "completions"),
    ("embeddings", "create", "embeddings"),
)

C = TypeVar("C")


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
    if is_raw_response(value):
        return _raw_fields(value)
    found = kind(value)
    if found is None and is_embedding_response(value):
        fields = embedding_fields(value)
    elif found == CHAT_COMPLETION:
        fields = chat_fields(value)
    elif found == RESPONSE:
        fields = response_fields(value)
    elif found == TEXT_COMPLETION:
        fields = completion_fields(value)
    elif found == CHAT_COMPLETION_CHUNK:
        fields = chat_fields(merge_chat_chunks([value]))
    else:
        return None
    hint = sdk_hint(value)
    if hint is not None:
        fields["_sdk"] = hint
    request_id = getattr(value, "_request_id", None) if hint else None
    if isinstance(request_id, str):
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


def _raw_fields(value: Any) -> dict[str, Any]:
    # `with_raw_response`: the body the SDK read, decoded as the parsed object would be.
    body = raw_body(value)
    fields = extract(body) if isinstance(body, dict) else None
    if fields is None:
        return {}  # unread (with_streaming_response) or not a response we know
    fields["_sdk"] = "openai"
    request_id = raw_request_id(value)
    if request_id is not None:
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


# -- request arguments ------------------------------------------------------------------------


def endpoint_of(path: str, body: Mapping[str, Any]) -> str:
    """Name the API a request went to, from its URL path or else its body."""
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/completions"):
        return "completions"
    if path.endswith("/embeddings"):
        return "embeddings"
    if "messages" in body:
        return "chat"
    if "input" in body:
        return "responses"
    return "completions"


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of an OpenAI create call to event fields.

    Args:
        endpoint: ``"chat"``, ``"responses"``, ``"completions"`` or
            ``"embeddings"``; guessed from the arguments when None.
        body: the keyword arguments of the call, or the JSON body it sent.

    Returns:
        ``model``, ``messages`` (the Responses API's ``instructions`` and
        ``input`` become messages), ``hyperparameters``, ``tools``,
        ``tool_choice``, ``response_format`` and the other arguments as
        ``inputs``. Transport options (``extra_headers``, ``timeout``,
        ``stream``, ``stream_options``, ...) and unset arguments are left out.
        Embeddings: see ``_openai_embeddings.embedding_request_fields``.
    """
    if endpoint is None:
        endpoint = endpoint_of("", body)
    if endpoint == "embeddings":
        return embedding_request_fields(body)
    fields: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for name, value in body.items():
        if not given(value) or name in _TRANSPORT:
            continue
        if name == "response_format" or (name == "text_format" and endpoint == "responses"):
            fields["response_format"] = _format_of(value)
        elif name in ("model", "messages", "tools", "tool_choice"):
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


def _format_of(value: Any) -> Any:
    """A ``response_format`` as JSON: ``parse()`` takes a pydantic class, sent as its schema."""
    if isinstance(value, type):
        schema = getattr(value, "model_json_schema", None)
        if callable(schema):
            try:
                return {
                    "type": "json_schema",
                    "json_schema": {"name": value.__name__, "schema": schema()},
                }
            except Exception:  # a model pydantic cannot describe: name it only
                pass
        return {"type": "json_schema", "json_schema": {"name": value.__name__}}
    return value


# -- wrapping a client ----------------------------------------------------------------------------


def wrap_openai(client: C, *, provider: str | None = None) -> C:
    """Trace the model calls made through one OpenAI client, and return it.

    ``chat.completions.create`` and ``.parse``, ``responses.create`` and
    ``.parse``, ``completions.create`` and ``embeddings.create`` of this client
    instance each record a model event, streaming included (the
    ``chat.completions.stream()`` and ``responses.stream()`` helpers call
    ``create`` and are recorded through it). Clients made from it with
    ``with_options()`` / ``copy()`` are traced too, and so are calls through
    ``with_raw_response``. Other clients and the ``openai`` package are not
    touched. Wrapping twice is harmless.

    Args:
        client: an ``openai.OpenAI``, ``openai.AsyncOpenAI``, ``AzureOpenAI`` or
            ``AsyncAzureOpenAI`` client (or any client with the same resources).
        provider: the ``provider`` of its events (``"vllm"``), for a server
            its base URL does not name; by default it is named from the
            client's class and base URL (see the docs' provider table).

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has none of the resources above.
    """
    return wrap_client(client, "openai", _METHODS, "an OpenAI client", provider=provider)


register_sdk("openai", sys.modules[__name__])
