"""The test API key, and readers of what the library posted to a collector."""

from __future__ import annotations

import json
from typing import Any

from honeyhive_trace.collector import Collector

__all__ = ["API_KEY", "DYNAMIC", "sent_bodies", "stable"]

API_KEY = "hh-test-key-3f1c9a7e5d"


def sent_bodies(collector: Collector) -> list[dict[str, Any]]:
    """Every model_event the library posted to *collector*, in order, from raw requests."""
    events: list[dict[str, Any]] = []
    for request in collector.requests:
        if request.method != "POST" or not request.path.startswith("/events/model"):
            continue
        body = json.loads(request.body)
        if "model_events" in body:
            events.extend(body["model_events"])
        else:
            events.append(body["model_event"])
    return events


#: Keys whose values differ on every run; tests check them separately.
DYNAMIC = ("event_id", "start_time", "end_time", "duration", "session_id", "parent_id")


def stable(event: dict[str, Any]) -> dict[str, Any]:
    """*event* without its run-dependent keys."""
    return {k: v for k, v in event.items() if k not in DYNAMIC}
