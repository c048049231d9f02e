"""The spool's line format: one item per line, in the API version it was written for.

``{"kind": ..., "id": ..., "after": ..., "data": {...}}``, with ``"enc": "v1"``
(or ``"otlp"``) when the data is not in the legacy API's shape; a binary
codec's data (OTLP protobuf) is a base64 string. A line that is a bare event
(written by version one) is a legacy model event.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from honeyhive_trace._json import encode
from honeyhive_trace.delivery.codec import CODECS, LEGACY, Codec
from honeyhive_trace.delivery.protocol import Prepared

__all__ = ["data_json", "line_of", "parse_line", "read_items"]


def line_of(event: Prepared) -> bytes:
    """The item's line, newline included.

    Written field by field: a dict with ``"after": null`` in it would take the
    careful, slower way of :func:`~honeyhive_trace._json.encode` for every line.
    """
    after = b"null" if event.after is None else encode(event.after)
    head = b'{"kind":' + encode(event.kind) + b',"id":' + encode(event.event_id)
    head += b',"after":' + after
    if event.encoding != LEGACY.name:
        head += b',"enc":' + encode(event.encoding)
    return head + b',"data":' + data_json(event) + b"}\n"


def data_json(event: Prepared) -> bytes:
    """The item's data as JSON: itself, or a base64 string for a binary codec's."""
    codec = CODECS.get(event.encoding)
    if codec is not None and codec.binary:
        return b'"' + base64.b64encode(event.data) + b'"'
    return event.data


def parse_line(line: bytes) -> Prepared | None:
    item = json.loads(line)
    if not isinstance(item, dict):
        return None
    if "data" in item and "kind" in item:
        kind, key, after = item["kind"], item.get("id"), item.get("after")
        encoding = item.get("enc", LEGACY.name)
        if kind not in LEGACY.routes or encoding not in CODECS or not isinstance(key, str):
            return None
        after = after if isinstance(after, str) else None
        data = item["data"]
        if CODECS[encoding].binary and isinstance(data, str):
            return Prepared(key, base64.b64decode(data, validate=True), kind, after, encoding)
        if isinstance(data, dict):
            return Prepared(key, encode(data), kind, after, encoding)
        return None
    if isinstance(item.get("event_id"), str):  # a version-one line: a bare model event
        return Prepared(item["event_id"], line.rstrip(b"\r\n"))
    return None


def read_items(path: Path, codec: Codec) -> tuple[list[Prepared], int]:
    events: list[Prepared] = []
    bad = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                event = parse_line(line)
            except ValueError:
                event = None
            if event is None:
                bad += 1
            else:
                events.append(codec.adopt(event))
    return events, bad
