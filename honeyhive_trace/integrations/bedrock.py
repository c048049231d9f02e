"""AWS Bedrock through ``boto3``: the Converse API's responses, streams and arguments.

Covers ``converse`` and ``converse_stream`` of a ``bedrock-runtime`` client,
for every model Bedrock serves (Claude, Llama, Nova, Titan, Mistral, ...).
:func:`wrap_bedrock` traces one client's calls; a traced function that
returns a Converse response dict is recognised with no code from the user.
Nothing here imports ``boto3`` or ``botocore``. boto3 has no asynchronous API,
so neither has this integration.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from time import perf_counter_ns
from typing import Any, TypeVar

from honeyhive_trace.capture import EventHandle
from honeyhive_trace.integrations._access import given
from honeyhive_trace.integrations._bedrock_read import (
    assemble,
    is_converse_response,
    message_fields,
    messages_of,
)
from honeyhive_trace.integrations._calls import end_with_result, patch_call
from honeyhive_trace.integrations._capture import Capture, Request, register_sdk
from honeyhive_trace.integrations._proxy import Proxy

__all__ = ["TracedEventStream", "assemble", "extract", "request_fields", "wrap_bedrock"]

#: ``inferenceConfig`` keys -> ``hyperparameters`` names.
HYPERPARAMETERS: Mapping[str, str] = {
    "maxTokens": "max_tokens",
    "temperature": "temperature",
    "topP": "top_p",
    "stopSequences": "stop",
}
_CALLS = ("converse", "converse_stream")

C = TypeVar("C")


def extract(value: Any) -> dict[str, Any] | None:
    """Return the event fields of a Converse response dict, or None if *value* is not one.

    Args:
        value: what ``client.converse(...)`` returned.

    Returns:
        ``response`` (text, ``tool_calls`` from ``toolUse`` blocks,
        ``thinking`` from reasoning blocks), ``usage``, ``provider`` and
        ``metadata`` (stop reason, request id, latency, cache token counts),
        plus ``error`` when a guardrail or content filter stopped the answer;
        or None.
    """
    if not is_converse_response(value):
        return None
    output = value.get("output") or {}
    fields = message_fields(
        output.get("message"), value.get("stopReason"), value.get("usage"), value.get("metrics")
    )
    request_id = (value.get("ResponseMetadata") or {}).get("RequestId")
    if isinstance(request_id, str) and request_id:
        fields.setdefault("metadata", {})["request_id"] = request_id
    return fields


def request_fields(endpoint: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map the arguments of ``converse``/``converse_stream`` to event fields.

    Args:
        endpoint: unused (the Converse API is the only one).
        body: the call's keyword arguments.

    Returns:
        ``model`` (the ``modelId``), ``provider`` (``bedrock``), ``messages``
        (``system`` first; text-only content as a string), ``hyperparameters``
        (from ``inferenceConfig``), ``tools`` and ``tool_choice`` (from
        ``toolConfig``), and the other arguments as ``inputs``.
    """
    fields: dict[str, Any] = {"provider": "bedrock"}
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for name, value in body.items():
        if not given(value) or name in ("messages", "system"):
            continue
        if name == "modelId":
            fields["model"] = value
        elif name == "inferenceConfig" and isinstance(value, Mapping):
            for key, setting in value.items():
                hyper[HYPERPARAMETERS.get(key, key)] = setting
        elif name == "toolConfig" and isinstance(value, Mapping):
            if value.get("tools") is not None:
                fields["tools"] = value["tools"]
            if value.get("toolChoice") is not None:
                fields["tool_choice"] = _tool_choice(value["toolChoice"])
        else:
            inputs[name] = value
    messages: list[Any] = []
    for block in body.get("system") or ():
        text = block.get("text") if isinstance(block, Mapping) else None
        messages.append({"role": "system", "content": text if text is not None else block})
    messages.extend(messages_of(body.get("messages")))
    fields["messages"] = messages
    if hyper:
        fields["hyperparameters"] = hyper
    if inputs:
        fields["inputs"] = inputs
    return fields


def _tool_choice(choice: Any) -> Any:
    # {"auto": {}} -> "auto", {"any": {}} -> "any"; a forced tool keeps its name, as an object.
    if isinstance(choice, Mapping) and len(choice) == 1:
        ((name, setting),) = choice.items()
        if name in ("auto", "any") and not setting:
            return name
    return choice


class TracedEventStream(Proxy):
    """A botocore ``EventStream`` of Converse events, ending its event with the stream.

    Iterating it yields the stream's events unchanged; the event ends when the
    stream is exhausted, fails (an exception event is raised by botocore and
    recorded), is closed, or is garbage-collected unfinished.
    """

    def __iter__(self) -> Iterator[Any]:
        capture = self._self_capture
        try:
            for event in self.__wrapped__:
                if not capture.first_ns:
                    capture.first_ns = perf_counter_ns()
                if capture.chunks is not None:
                    capture.chunks.append(event)
                yield event
        except GeneratorExit:  # the caller stopped iterating: closed early
            self._self_end(None, True)
            raise
        except BaseException as exc:
            self._self_end(exc, False)
            raise
        self._self_end(None, False)

    def close(self) -> None:
        """Close the stream; an unfinished stream's event ends as closed early."""
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(None, True)


def _stream(handle: EventHandle, request: Request, result: Any) -> Any:
    stream = result.get("stream") if isinstance(result, dict) else None
    if stream is None:
        return end_with_result(handle, request, result)
    capture = Capture("bedrock", request, chunks=[])
    result["stream"] = TracedEventStream(stream, handle, capture)
    request_id = (result.get("ResponseMetadata") or {}).get("RequestId")
    if isinstance(request_id, str):
        capture.chunks.append({"ResponseMetadata": {"RequestId": request_id}})  # type: ignore[union-attr]
    return result


def wrap_bedrock(client: C) -> C:
    """Trace the Converse calls made through one ``bedrock-runtime`` client, and return it.

    ``converse`` and ``converse_stream`` of this client each record a model
    event; a stream's event ends when its ``response["stream"]`` does. Other
    clients and botocore are not touched. Wrapping twice is harmless.
    ``invoke_model`` is not traced (its body is each model's own format).

    Args:
        client: ``boto3.client("bedrock-runtime")``.

    Returns:
        The same client object.

    Raises:
        TypeError: *client* has no ``converse`` method.
    """
    patched = 0
    for method in _CALLS:
        finish = _stream if method == "converse_stream" else end_with_result
        event_name = f"bedrock.{method}"
        patched += patch_call(
            client, method, sdk="bedrock", endpoint=method, event_name=event_name, finish=finish
        )
    if not patched:
        raise TypeError(
            f"wrap_bedrock() needs a boto3 bedrock-runtime client, got {type(client).__name__}"
        )
    return client


register_sdk("bedrock", sys.modules[__name__])
