"""Where a transport posts, and what a refusal there means to the user."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["Target", "rejection"]


@attrs.frozen
class Target:
    """Where a transport posts: a base URL, its credentials and extra headers."""

    url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    content_type: str = "application/json"
    #: The exporter it serves, for its messages: ``"honeyhive"`` or ``"otlp"``.
    exporter: str = "honeyhive"


def rejection(status: int, base: str, reason: str, keyed: bool = True) -> str:
    """The words for the user when *base* refused events for good with *status*.

    *keyed* is False for an OTLP endpoint, whose credentials are its headers.
    """
    if status in (401, 403) and not keyed:  # the OTLP exporter: its credentials are headers
        return (
            f"the OTLP endpoint {base} refused the request ({reason}); spans are not "
            "delivered: check otlp_headers (HH_OTLP_HEADERS) and otlp_endpoint"
        )
    if status in (401, 403):
        return (
            f"the server at {base} refused the API key ({reason}); events are not "
            "delivered: check HH_API_KEY (or configure(api_key=...)) and server_url"
        )
    return f"the server at {base} rejected events ({reason}); they are not delivered"
