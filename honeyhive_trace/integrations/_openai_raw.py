"""OpenAI: the raw responses of ``with_raw_response`` and ``with_streaming_response``.

A wrapped client's ``client.chat.completions.with_raw_response.create(...)``
returns a ``LegacyAPIResponse`` whose body is already read (unless streamed):
its JSON is decoded on the worker and read as the parsed object would be. A
streamed raw response is handed back behind a proxy (see
:class:`~honeyhive_trace.integrations._streams.TracedRawResponse`) whose
``parse()`` returns the traced stream. ``with_streaming_response`` reads the
body only when the caller does, so its response is not recorded.
"""

from __future__ import annotations

import json
from typing import Any

from honeyhive_trace.integrations._access import module_root

__all__ = ["RAW_RESPONSES", "is_raw_response", "raw_body", "raw_request_id"]

#: The SDK classes of raw HTTP responses.
RAW_RESPONSES = frozenset({"LegacyAPIResponse", "APIResponse", "AsyncAPIResponse"})


def is_raw_response(value: Any) -> bool:
    """Whether *value* is one of the ``openai`` SDK's raw response objects."""
    if module_root(value) != "openai":
        return False
    return any(klass.__name__ in RAW_RESPONSES for klass in type(value).__mro__)


def raw_body(value: Any) -> Any:
    """The decoded JSON body of a raw response whose body was read, else None.

    Never reads from the network: an unread body (a stream, or
    ``with_streaming_response``) gives None.
    """
    if getattr(value, "_stream", False):
        return None
    try:
        content = value.http_response.content  # raises if the body was not read
        return json.loads(content)
    except Exception:
        return None


def raw_request_id(value: Any) -> str | None:
    """The ``x-request-id`` header of a raw response, if any."""
    try:
        found = value.http_response.headers.get("x-request-id")
    except Exception:
        return None
    return found if isinstance(found, str) else None
