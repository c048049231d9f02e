"""End-to-end delivery rate to a loopback collector, and the caller's cost per event.

Run: ``python benchmarks/throughput.py [--events N]``.

The collector runs in its own process (``honeyhive-trace serve``, in-memory
SQLite), as a real server would. Baselines from the same run:

* a bare ``requests.Session`` posting the same events, already encoded, in
  batches of the same size (the default ``batch_size``) to the same collector:
  the ceiling set by the server and HTTP with no tracing work at all;
* a bare call, for the caller-side cost per event.

"Delivered" means acknowledged by the collector and counted in its store, so
"zero lost" is part of the result, not an assumption.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, collector_process, print_table, stored_count

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace._config import Config

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. " * 4},
    {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."},
]
REPLY = "A prince avenges his father's murder; nearly everyone dies. " * 3


def bare(messages: list[Any], temperature: float = 0.2, user: str = "u-1") -> str:
    return REPLY


answer = hh.trace_model(model="gpt-4o", provider="openai")(bare)


def raw_batches(url: str, count: int, size: int) -> list[bytes]:
    """*count* batch bodies of *size* events like the ones sent, each with fresh ids."""
    with requests.get(f"{url}/events", params={"limit": size}, timeout=10) as answer_:
        sample = answer_.json()["events"]
    bodies = []
    for _ in range(count):
        events = [{**event, "event_id": str(uuid.uuid4())} for event in sample]
        bodies.append(json.dumps({"model_events": events}).encode())
    return bodies


def measure(events: int) -> list[Row]:
    with collector_process() as url:
        _client.reset()  # start from defaults, whatever ran before
        hh.configure(server_url=url, spool_dir=tempfile.mkdtemp(), max_queue_size=events)
        start = time.perf_counter()
        for _ in range(events):
            answer(MESSAGES)
        produced = time.perf_counter()
        assert hh.flush(300), "flush timed out"
        done = time.perf_counter()
        stats = hh.stats()
        lost = events - stored_count(url)
        hh.shutdown(10)

        size = Config().batch_size
        bodies = raw_batches(url, max(1, events // size), size)
        session = requests.Session()
        session.headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        for body in bodies:
            session.post(f"{url}/events/model/batch", data=body, timeout=30).raise_for_status()
        raw_rate = len(bodies) * size / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for _ in range(events):
        bare(MESSAGES)
    bare_us = (time.perf_counter() - t0) / events * 1e6

    rate = events / (done - start)
    caller_us = (produced - start) / events * 1e6 - bare_us
    delivered = "delivered ev/s, zero lost" if lost == 0 else f"delivered ev/s, {lost} LOST"
    return [
        Row(
            delivered,
            rate,
            raw_rate,
            "ev/s",
            rate / raw_rate,
            ">= 20,000 ev/s, 0 lost",
            rate >= 20_000 and lost == 0 and stats["sent"] == events,
        ),
        Row(
            "caller us/event while the worker runs",
            caller_us,
            bare_us,
            "us",
            caller_us / bare_us,
            "report only",
            True,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args(argv)
    rows = measure(args.events)
    print_table(
        f"Delivery to a loopback collector ({args.events:,} events, background mode)", rows
    )
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
