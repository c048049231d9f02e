"""The ``partial`` fault: a batch stored in part, answered 500 "partly created"."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from honeyhive_trace.collector._decode import decode_envelope
from honeyhive_trace.collector._validate import ValidationError, parse_batch
from honeyhive_trace.collector._validate_v0 import parse_event_batch
from honeyhive_trace.collector._wsgi import BATCH_PATH, EVENT_BATCH_PATH, read_exactly, respond

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["BATCHES", "Captured", "answer_partly"]

#: Batch endpoint -> the key of its events and the parser of its body (for ``partial``).
BATCHES: dict[str, tuple[str, Callable[[Any], list[dict[str, Any]]]]] = {
    BATCH_PATH: ("model_events", parse_batch),
    EVENT_BATCH_PATH: ("events", lambda body: parse_event_batch(body)[0]),
}


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
    key, parse = BATCHES[environ.get("PATH_INFO", BATCH_PATH)]
    try:
        body, texts = decode_envelope(raw, key, many=True)
        events = parse(body)
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
        stored = json.loads(answer)["event_ids"]
    payload = {"event_ids": stored, "errors": rejected, "success": True}
    return respond(start_response, 500, json.dumps(payload).encode())
