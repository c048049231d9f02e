"""What a wrapped call or a traced stream captured, and how it becomes event fields.

A :class:`Capture` holds the request (its arguments, or the HTTP request to
read them from), the chunks or the plain result, and the time to the first
chunk. It is what ends the event of a wrapped client call or of a stream
proxy; :func:`extract_capture` turns it into event fields on the worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from honeyhive_trace import _shapes
from honeyhive_trace._wire import to_jsonable
from honeyhive_trace.capture import EventHandle
from honeyhive_trace.capture import end as end_event

__all__ = [
    "SDKS",
    "Capture",
    "carries_content",
    "Request",
    "client_provider",
    "collected",
    "end",
    "extract_capture",
    "merge_fields",
    "register_sdk",
    "request_of",
]

logger = logging.getLogger("honeyhive_trace")

#: SDK name -> the integration module that reads its requests and responses
#: (``request_fields``, ``extract``, ``assemble``, and for OpenAI ``endpoint_of``).
SDKS: dict[str, Any] = {}


def carries_content(item: Any) -> bool:
    """Whether a stream's *item* carries output (time to first token is measured to it).

    Anthropic's ``message_start``, ``content_block_start`` and ``ping``, the
    Responses API's ``response.created``, and a Chat Completions chunk with
    only a role do not; a content delta does. An item of unknown shape does.
    Never raises.
    """
    try:
        kind = getattr(item, "type", None)
        if type(kind) is str:  # Anthropic and Responses API events
            return kind == "content_block_delta" or kind.endswith(".delta")
        choices = getattr(item, "choices", None)  # Chat Completions (and Completions) chunks
        if type(choices) is list:
            for choice in choices:
                delta = getattr(choice, "delta", None)
                if delta is None:
                    if getattr(choice, "text", None):
                        return True
                elif any(getattr(delta, k, None) for k in ("content", "tool_calls", "refusal")):
                    return True
            return False
    except Exception:  # a proxy whose attributes raise: count it as output
        return True
    return True


def register_sdk(name: str, module: Any) -> None:
    """Make *module* the reader of the requests and responses of SDK *name*."""
    SDKS[name] = module


class Request:
    """What a model call sent: its arguments, or the HTTP request that carried them.

    Only references are taken on the caller's thread; :meth:`resolve` reads the
    body on the worker.
    """

    __slots__ = ("sdk", "endpoint", "body", "http_request", "base_url", "provider")

    def __init__(
        self,
        sdk: str,
        endpoint: str | None = None,
        body: Mapping[str, Any] | None = None,
        http_request: Any = None,
        base_url: Any = None,
        *,
        provider: str | None = None,
    ) -> None:
        self.sdk = sdk
        self.endpoint = endpoint
        self.body = body
        self.http_request = http_request
        self.base_url = base_url
        #: The provider the client's class names (``"azure"`` for ``AzureOpenAI``).
        self.provider = provider

    def resolve(self) -> tuple[str | None, Mapping[str, Any] | None, str | None]:
        """Return (endpoint, arguments, base URL), reading the HTTP body if needed."""
        endpoint, body = self.endpoint, self.body
        if body is None and self.http_request is not None:
            try:
                decoded = json.loads(self.http_request.content)
            except Exception:  # not read, not JSON: the request fields stay unknown
                decoded = None
            body = decoded if isinstance(decoded, dict) else None
            reader: Any = SDKS.get(self.sdk)
            if endpoint is None and body is not None and hasattr(reader, "endpoint_of"):
                try:
                    path = str(self.http_request.url.path)
                except Exception:
                    path = ""
                endpoint = reader.endpoint_of(path, body)
        base_url = str(self.base_url) if self.base_url is not None else None
        return endpoint, body, base_url


#: SDK client classes (by name, any base of the client's class) that name their provider.
_CLIENT_PROVIDERS = {"AzureOpenAI": "azure", "AsyncAzureOpenAI": "azure"}


def client_provider(client: Any) -> str | None:
    """The provider an SDK client's class names (``AzureOpenAI`` -> ``"azure"``), else None."""
    for klass in type(client).__mro__:
        found = _CLIENT_PROVIDERS.get(klass.__name__)
        if found is not None:
            return found
    return None


def request_of(stream: Any, sdk: str) -> Request:
    """Take what is known of the request behind an SDK *stream* (references only)."""
    raw = getattr(stream, "_raw_stream", None) or stream  # the helpers wrap a raw stream
    http_request = None
    try:
        http_request = raw.response.request
    except Exception:  # a stand-in response without its request
        try:
            http_request = raw.http_response.request  # a raw response (with_raw_response)
        except Exception:
            pass
    client = getattr(raw, "_client", None)
    return Request(
        sdk,
        http_request=http_request,
        base_url=getattr(client, "base_url", None),
        provider=client_provider(client),
    )


class Capture:
    """Everything the worker needs to build a streamed (or wrapped) call's fields."""

    __slots__ = ("sdk", "request", "result", "chunks", "first_ns", "ttft_ms", "done")

    def __init__(
        self,
        sdk: str,
        request: Request | None,
        result: Any = None,
        chunks: list[Any] | None = None,
    ) -> None:
        self.sdk = sdk
        self.request = request
        self.result = result
        self.chunks = chunks
        self.first_ns = 0
        self.ttft_ms: float | None = None
        self.done = False


#: Lay updates over fields; mapping-valued fields merge key by key.
merge_fields = _shapes.apply


def extract_capture(capture: Capture) -> dict[str, Any]:
    """Return the event fields of a captured call: request, response and timing.

    Args:
        capture: what a stream proxy or a wrapped client method recorded.

    Returns:
        The request's fields with the response's laid over them (the model the
        server reports wins), ``metadata.time_to_first_token_ms`` for streams,
        and the ``_sdk``/``_base_url`` hints.
    """
    module = SDKS[capture.sdk]
    fields: dict[str, Any] = {}
    base_url = None
    if capture.request is not None:
        endpoint, body, base_url = capture.request.resolve()
        if body is not None:
            sent = module.request_fields(endpoint, body)
            if capture.request.body is None:
                # Read back from the HTTP request of a traced function's stream:
                # the other arguments are the SDK call's, not the function's inputs.
                sent.pop("inputs", None)
            merge_fields(fields, sent)
    found: dict[str, Any] | None = None
    if capture.chunks is not None:
        if capture.chunks:
            found = module.assemble(capture.chunks)
            if found is None:  # not chunks we know: keep them, as the core does
                found = {"response": {"role": "assistant", "content": to_jsonable(capture.chunks)}}
    elif capture.result is not None:
        found = module.extract(capture.result)
        if found is None:
            found = {"response": _shapes.response_from(capture.result)}
    if found:
        merge_fields(fields, found)
    if capture.ttft_ms is not None:
        fields.setdefault("metadata", {})["time_to_first_token_ms"] = capture.ttft_ms
    fields.setdefault("_sdk", capture.sdk)
    if base_url:
        fields["_base_url"] = base_url
    if capture.request is not None and capture.request.provider:
        fields["_provider"] = capture.request.provider
    return fields


def end(
    handle: EventHandle, capture: Capture, error: BaseException | None, closed_early: bool
) -> None:
    """End *handle*'s event with *capture*, once; later calls do nothing."""
    if capture.done:
        return
    capture.done = True
    if capture.first_ns:
        capture.ttft_ms = round((capture.first_ns - handle._start_ns) / 1e6, 3)
    end_event(handle, capture, error, closed_early)


def collected(handle: EventHandle, capture: Capture) -> None:
    # Runs from the garbage collector: never let an exception escape, strict or not.
    try:
        end(handle, capture, None, True)
    except Exception as exc:
        try:
            handle._client.guard.report(
                "could not end the event of a discarded stream", exc, raise_in_strict=False
            )
        except Exception:
            logger.exception("honeyhive_trace: could not end the event of a discarded stream")
