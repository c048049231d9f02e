"""Codecs: which HoneyHive API version an item is written for, and how it is sent.

A :class:`Codec` is chosen by the ``api_version`` setting. It encodes a record
once (on the worker) into the bytes of its version, and turns a run of items of
one kind into a request: method, path and body. Everything else of delivery
(batching, retries, the 413 split, partial failures, the spool, dead letters)
is the same for every version; the transport asks the codec of each item.

- ``legacy`` (the default): the API page this project was built from
  (:data:`~.protocol.ROUTES`), bytes exactly as before.
- ``v1``: HoneyHive's current data plane (:mod:`.v1`).
- ``otlp``: OTLP/HTTP spans, for the OTLP exporter (:mod:`.otlp`, registered
  here when that exporter starts).

An item keeps the version it was encoded for, in the spool too. A legacy item
replayed while ``v1`` is configured is turned into v1 first
(:meth:`Codec.adopt`); a v1 item is always sent to the v1 routes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import attrs

from honeyhive_trace._json import encode
from honeyhive_trace._unstructure import Unbuilt
from honeyhive_trace._wire import encode_event
from honeyhive_trace.delivery.protocol import ROUTES, Prepared, Route
from honeyhive_trace.delivery.v1 import V1_SHAPES
from honeyhive_trace.records import Record

__all__ = ["CODECS", "LEGACY", "V1", "Codec", "can_batch", "codec_for"]

#: Placeholder of a route's path filled with the id of the item's target.
TARGET = "{event_id}"

V1_ROUTES = {
    "model": Route("POST", "/v1/events", "/v1/events/batch", None, "events"),
    "event": Route("POST", "/v1/events", "/v1/events/batch", None, "events"),
    "session": Route("POST", "/v1/sessions", None, None, None),
    "update": Route("PUT", "/v1/events/" + TARGET, None, None, None),
}


@attrs.frozen
class Codec:
    """One API version: its routes, and how a legacy object becomes its body."""

    name: str
    routes: Mapping[str, Route]
    #: kind -> legacy JSON object -> this version's; empty for legacy itself.
    shapes: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = attrs.field(factory=dict)
    #: Whether items are bytes that are not JSON (the spool keeps them as base64).
    #: A JSON codec writes an event from its record's keywords as well as from
    #: the record, so the worker need not make the record.
    binary: bool = False

    def encode(
        self, record: Record | Unbuilt, kind: str, context: tuple[int, int] | None = None
    ) -> bytes:
        """The JSON of *record* (an item of *kind*) in this version, as UTF-8 bytes.

        *context* (the OpenTelemetry span active when the event ended) is used
        only by the OTLP codec.
        """
        return encode_event(record, self.shapes.get(kind))

    def adopt(self, item: Prepared) -> Prepared:
        """*item* written for this version: legacy items are re-shaped, others kept."""
        if item.encoding == self.name or item.encoding != LEGACY.name:
            return item
        shape = self.shapes.get(item.kind)
        if shape is None:
            return item._replace(encoding=self.name)
        return item._replace(data=encode(shape(json.loads(item.data))), encoding=self.name)

    def batches(self, kind: str) -> bool:
        """Whether items of *kind* can share one request."""
        return self.routes[kind].batch is not None

    def request(self, chunk: list[Prepared]) -> tuple[str, str, bytes, bool]:
        """Method, path and body of the request for *chunk* (one kind), and whether
        it is a batch request."""
        route = self.routes[chunk[0].kind]
        if len(chunk) > 1 and route.batch is not None:
            parts = [e.data for e in chunk]
            # One allocation of the body's size: with `+`, each step copies the
            # whole body again, and the allocator then gives those pages back to
            # the kernel and faults them in anew on the next batch.
            parts[0] = b'{"' + (route.batch_key or "events").encode() + b'":[' + parts[0]
            parts[-1] += b"]}"
            return route.method, route.batch, b",".join(parts), True
        item = chunk[0]
        path = route.single
        if TARGET in path:
            path = path.replace(TARGET, quote(item.after or "", safe=""))
        if route.single_key is None:
            return route.method, path, item.data, False
        body = b'{"' + route.single_key.encode() + b'":' + item.data + b"}"
        return route.method, path, body, False

    def dead_letter_key(self, kind: str) -> str:
        """The key an item of *kind* is written under in the dead-letter file."""
        return self.routes[kind].single_key or kind


LEGACY = Codec("legacy", ROUTES)
V1 = Codec("v1", V1_ROUTES, V1_SHAPES)
#: api_version -> codec.
CODECS = {codec.name: codec for codec in (LEGACY, V1)}


def can_batch(item: Prepared) -> bool:
    """Whether *item* may share a request with others of its kind and version."""
    return CODECS[item.encoding].batches(item.kind)


def codec_for(api_version: str) -> Codec:
    """The codec of *api_version* (``"legacy"`` or ``"v1"``)."""
    return CODECS[api_version]
