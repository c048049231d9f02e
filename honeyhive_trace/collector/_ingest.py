"""The ingest endpoints: ``POST /events/model`` and ``POST /events/model/batch``.

:class:`IngestApp` sees only requests that passed the collector's checks (route, Host, auth,
Content-Type, framing): it decodes, validates (400), stores (every event committed before the
answer) and answers with the event ids.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from honeyhive_trace.collector._decode import decode_envelope
from honeyhive_trace.collector._store import EventStore, prepare
from honeyhive_trace.collector._validate import ValidationError, parse_batch, parse_single
from honeyhive_trace.collector._wsgi import (
    SINGLE_PATH,
    error_body,
    one_error,
    read_exactly,
    reject,
    respond,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("honeyhive_trace.collector")


class IngestApp:
    """A WSGI application that validates and stores posted events."""

    def __init__(self, store: EventStore) -> None:
        """Store into ``store``."""
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Validate, store and answer one ingest request (a WSGI application)."""
        raw = read_exactly(environ, int(environ.get("CONTENT_LENGTH") or 0))
        single = environ.get("PATH_INFO") == SINGLE_PATH
        try:
            if single:
                body, texts = decode_envelope(raw, "model_event", many=False)
                ids, rows = prepare([parse_single(body)], texts, "model_event")
            else:
                body, texts = decode_envelope(raw, "model_events", many=True)
                ids, rows = prepare(parse_batch(body), texts, "model_events")
        except ValidationError as exc:
            return respond(start_response, 400, error_body(exc.errors))
        try:
            self.store.insert(rows)
        except sqlite3.Error as exc:
            logger.error("collector could not store %d events: %s", len(rows), exc)
            message = one_error("", f"could not store events: {exc}")
            return reject(environ, start_response, 500, message)
        if single:
            answer = {"event_id": ids[0], "success": True}
        else:
            answer = {"event_ids": ids, "success": True}
        return respond(start_response, 200, json.dumps(answer).encode())
