"""The ``partial`` fault: a batch stored in part, answered 500 "partly created".

It applies to every batch route, legacy and v1 (``/v1/events/batch``,
``/v1/sessions/{session_id}/events/batch``); the answer is the same for all:
``{"event_ids": [stored ids], "errors": [...], "success": true}``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from honeyhive_trace.collector._decode import decode_envelope
from honeyhive_trace.collector._validate import ValidationError, parse_batch
from honeyhive_trace.collector._validate_v0 import parse_event_batch
from honeyhive_trace.collector._validate_v1 import parse_event_batch as parse_v1_batch
from honeyhive_trace.collector._validate_v1 import parse_session_batch
from honeyhive_trace.collector._wsgi import (
    BATCH_PATH,
    EVENT_BATCH_PATH,
    V1_EVENT_BATCH_PATH,
    V1_SESSION_BATCH_PATH,
    read_exactly,
    respond,
    v1_route,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["BATCHES", "Captured", "answer_partly"]

#: Batch route -> the key of its events and the parser of (body, path parameter).
BATCHES: dict[str, tuple[str, Callable[[Any, str], list[dict[str, Any]]]]] = {
    BATCH_PATH: ("model_events", lambda body, _: parse_batch(body)),
    EVENT_BATCH_PATH: ("events", lambda body, _: parse_event_batch(body)[0]),
    V1_EVENT_BATCH_PATH: ("events", lambda body, _: parse_v1_batch(body)[0]),
    V1_SESSION_BATCH_PATH: ("events", parse_session_batch),
}


def route_of(path: str) -> str:
    """The route a request path belongs to: itself, or a v1 route with a ``{...}`` part."""
    found = v1_route(path)
    return found[0] if found is not None else path


class Captured:
    """A ``start_response`` that keeps the answer's status and headers for a layer."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
        /,
    ) -> Callable[[bytes], object]:
        self.status, self.headers = status, list(headers)
        return self._write

    def _write(self, data: bytes) -> None:
        raise RuntimeError("the ingest endpoint does not use write()")


def answer_partly(
    app: WSGIApplication, environ: WSGIEnvironment, start_response: StartResponse, reject: int
) -> Iterable[bytes]:
    """Pass the batch on to *app* without its last *reject* events; answer 500 "partly created"."""
    raw = read_exactly(environ, int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(raw)
    path = environ.get("PATH_INFO", BATCH_PATH)
    key, parse = BATCHES[route_of(path)]
    param = (v1_route(path) or ("", ""))[1]
    try:
        body, texts = decode_envelope(raw, key, many=True)
        events = parse(body, param)
    except ValidationError:
        return app(environ, start_response)  # the endpoint explains the 400
    keep = max(0, len(events) - reject)
    rejected = [
        f"event {ev.get('event_id') or f'#{i}'}: rejected by injected fault"
        for i, ev in enumerate(events[keep:], start=keep)
    ]
    stored: list[str] = []
    if keep:
        kept = (
            texts[:keep]
            if texts is not None
            else [json.dumps(e, separators=(",", ":")) for e in events[:keep]]
        )
        parts = [
            f"{json.dumps(name)}:{json.dumps(value)}"
            for name, value in body.items()
            if name != key
        ]
        parts.append(f'"{key}":[' + ",".join(kept) + "]")
        shorter = ("{" + ",".join(parts) + "}").encode()
        environ["wsgi.input"] = io.BytesIO(shorter)
        environ["CONTENT_LENGTH"] = str(len(shorter))
        captured = Captured()
        answer = b"".join(app(environ, captured))
        if not captured.status.startswith("200"):
            start_response(captured.status, captured.headers)
            return [answer]
        # A session's batch is answered without ids (SessionTracesResponse): those it
        # stored are the ids its kept events name.
        named = [ev["event_id"] for ev in events[:keep] if "event_id" in ev]
        stored = json.loads(answer).get("event_ids", named)
    payload = {"event_ids": stored, "errors": rejected, "success": True}
    return respond(start_response, 500, json.dumps(payload).encode())
