"""LiteLLM: ``completion`` and ``acompletion``, streams included, recorded in the caller's trace.

Call :func:`completion` / :func:`acompletion` from here exactly as you would
``litellm.completion`` / ``litellm.acompletion``: each call records one model
event and returns LiteLLM's own result (a stream comes back behind a
transparent proxy that ends the event when the stream ends).

The event starts and ends on the caller's thread, in the caller's context, so
a call made inside a traced function is that function's child. LiteLLM's own
callbacks (``success_callback``, ``CustomLogger``) run later on a thread of
LiteLLM's, where the caller's context is gone: that is why events recorded
from them lose their parent (litellm #8423, #11742; langfuse #9764), and why
this integration wraps the call instead. Nothing here imports ``litellm``
until a call is made.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations import openai
from honeyhive_trace.integrations._astreams import TracedAsyncStream
from honeyhive_trace.integrations._calls import end_with_result, run, run_async
from honeyhive_trace.integrations._capture import Capture, Request, register_sdk
from honeyhive_trace.integrations._streams import TracedStream

__all__ = ["acompletion", "assemble", "completion", "extract", "request_fields"]

#: Arguments that carry credentials or say where to send the call: never recorded.
SECRET_ARGUMENTS = frozenset(
    {
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "headers",
        "extra_headers",
        "timeout",
        "azure_ad_token",
        "azure_ad_token_provider",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_bearer_token",
        "vertex_credentials",
        "client",
    }
)
_SECRET_SUFFIXES = ("_key", "_secret", "_token", "_credentials", "_password")
_KEPT = frozenset({"max_tokens", "max_completion_tokens"})
#: LiteLLM's provider names where HoneyHive's differ.
_PROVIDERS: Mapping[str, str] = {"gemini": "google", "vertex_ai_beta": "vertex_ai"}

#: A streamed call's result is LiteLLM's ``CustomStreamWrapper`` (sync and async in one).
_STREAM_CLASS = "CustomStreamWrapper"

extract = openai.extract
assemble = openai.assemble


def _secret(name: str) -> bool:
    return name in SECRET_ARGUMENTS or (name not in _KEPT and name.endswith(_SECRET_SUFFIXES))


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of ``litellm.completion`` to event fields.

    Args:
        endpoint: unused (chat completions are the only calls traced).
        body: the call's keyword arguments.

    Returns:
        What :func:`honeyhive_trace.integrations.openai.request_fields` gives
        for chat (LiteLLM takes OpenAI's arguments), with ``provider`` from
        ``custom_llm_provider`` or the ``provider/`` prefix of the model
        (which ``model`` is recorded without).
        API keys, ``api_base``, headers and every argument named like a
        credential are left out.
    """
    kept = {name: value for name, value in body.items() if not _secret(name)}
    provider = kept.pop("custom_llm_provider", None)
    fields = openai.request_fields("chat", kept)
    model = body.get("model")
    if isinstance(model, str) and "/" in model:
        prefix, _, fields["model"] = model.partition("/")
        if not isinstance(provider, str):
            provider = prefix
    if isinstance(provider, str) and provider:
        fields["provider"] = _PROVIDERS.get(provider, provider)
    return fields


def _is_stream(result: Any) -> bool:
    return any(klass.__name__ == _STREAM_CLASS for klass in type(result).__mro__)


def _finish(handle: EventHandle, request: Request, result: Any) -> Any:
    if _is_stream(result):
        return TracedStream(result, handle, Capture("litellm", request, chunks=[]))
    return end_with_result(handle, request, result)


def _afinish(handle: EventHandle, request: Request, result: Any) -> Any:
    if _is_stream(result):
        return TracedAsyncStream(result, handle, Capture("litellm", request, chunks=[]))
    return end_with_result(handle, request, result)


def _arguments(model: str, messages: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    # As keywords, so that they are recorded; messages only when given (LiteLLM's default).
    given = {"model": model, **kwargs}
    if messages is not None:
        given["messages"] = messages
    return given


def completion(model: str, messages: Any = None, **kwargs: Any) -> Any:
    """``litellm.completion``, recorded as a model event in the caller's trace.

    Args:
        model: LiteLLM's model name, e.g. ``"openai/gpt-4o-mini"``.
        messages: the chat messages.
        **kwargs: every other argument of ``litellm.completion``, passed as given.

    Returns:
        LiteLLM's ``ModelResponse``, or with ``stream=True`` its stream behind
        a proxy that iterates the same chunks.
        Whatever ``litellm.completion`` raises propagates unchanged.
    """
    import litellm  # an optional extra: imported only when used

    kwargs = _arguments(model, messages, kwargs)
    options = {"sdk": "litellm", "endpoint": "chat", "event_name": "litellm.completion"}
    return run(litellm.completion, (), kwargs, finish=_finish, **options)


async def acompletion(model: str, messages: Any = None, **kwargs: Any) -> Any:
    """``litellm.acompletion``, recorded as a model event in the caller's trace.

    Args:
        model: LiteLLM's model name, e.g. ``"openai/gpt-4o-mini"``.
        messages: the chat messages.
        **kwargs: every other argument of ``litellm.acompletion``, passed as given.

    Returns:
        LiteLLM's ``ModelResponse``, or with ``stream=True`` its async stream
        behind a proxy that yields the same chunks.
        Whatever ``litellm.acompletion`` raises propagates unchanged.
    """
    import litellm  # an optional extra: imported only when used

    kwargs = _arguments(model, messages, kwargs)
    options = {"sdk": "litellm", "endpoint": "chat", "event_name": "litellm.acompletion"}
    return await run_async(litellm.acompletion, (), kwargs, finish=_afinish, **options)


register_sdk("litellm", sys.modules[__name__])
