"""End-to-end delivery rate to a loopback server, and the caller's cost per event.

Run: ``python benchmarks/throughput.py [--events N]``.

The server runs in its own process. Two servers, each with its baseline from
the same run:

* a sink that acknowledges as HoneyHive's API does and only counts (it decodes
  every body and answers every event's id): the target is set on this one, as
  it measures the client, not a store;
* ``honeyhive-trace serve`` (in-memory SQLite), whose own ceiling is lower
  (it validates and stores every event): report only.

The baseline is a bare ``requests.Session`` posting the same events, already
encoded, in batches of the same size (the default ``batch_size``) to the same
server: the ceiling set by the server and HTTP with no tracing work at all. A
bare call is the baseline of the caller-side cost per event.

"Delivered" means acknowledged and counted by the server, so "zero lost" is
part of the result, not an assumption.

The worker and sender threads share the GIL with the caller: the rate is one
second over the CPU all three spend per event, so 50,000 events/s means at most
20 us of CPU per event in all. A report-only row splits it by thread (on Linux),
against the CPU the bare ``requests.Session`` spends per event.
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

from _common import (
    Row,
    collector_process,
    counting_sink,
    print_table,
    sink_count,
    stored_count,
    thread_cpu,
)

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace._config import Config
from honeyhive_trace._wire import encode_event
from honeyhive_trace.testing import capture_events

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. " * 4},
    {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."},
]
REPLY = "A prince avenges his father's murder; nearly everyone dies. " * 3


def bare(messages: list[Any], temperature: float = 0.2, user: str = "u-1") -> str:
    return REPLY


answer = hh.trace_model(model="gpt-4o", provider="openai")(bare)


TARGET = 50_000


def raw_bodies(count: int, size: int) -> list[bytes]:
    """*count* batch bodies of *size* events as the library encodes them, each with fresh ids."""
    with capture_events(strict=False) as captured:
        answer(MESSAGES)
    sample = json.loads(encode_event(captured[0]))
    bodies = []
    for _ in range(count):
        events = [{**sample, "event_id": str(uuid.uuid4())} for _ in range(size)]
        bodies.append(json.dumps({"model_events": events}).encode())
    return bodies


def deliver(url: str, events: int) -> tuple[float, float, dict[str, int], dict[str, float] | None]:
    """Trace *events* calls delivered to *url*.

    Returns (events/s, caller us/event, stats, CPU us/event by thread or None).
    """
    _client.reset()  # start from defaults, whatever ran before
    hh.configure(server_url=url, spool_dir=tempfile.mkdtemp(), max_queue_size=events)
    start = time.perf_counter()
    caller_cpu = time.thread_time()
    for _ in range(events):
        answer(MESSAGES)
    produced = time.perf_counter()
    assert hh.flush(300), "flush timed out"
    done = time.perf_counter()
    caller_cpu = time.thread_time() - caller_cpu
    # The worker and sender threads started with this configure(): all their CPU is this run's.
    ours = thread_cpu("honeyhive-trace-")
    stats = hh.stats()
    hh.shutdown(10)
    by_thread = None
    if ours is not None:
        by_thread = {
            name.removeprefix("honeyhive-trace-"): cpu / events * 1e6 for name, cpu in ours.items()
        }
        by_thread["caller"] = caller_cpu / events * 1e6
    return events / (done - start), (produced - start) / events * 1e6, stats, by_thread


def raw_rate(url: str, bodies: list[bytes], size: int) -> tuple[float, float]:
    """Post *bodies* with a bare ``requests.Session``: (events/s, CPU us/event)."""
    session = requests.Session()
    session.headers["Content-Type"] = "application/json"
    t0 = time.perf_counter()
    cpu = time.thread_time()
    for body in bodies:
        session.post(f"{url}/events/model/batch", data=body, timeout=30).raise_for_status()
    cpu = time.thread_time() - cpu
    events = len(bodies) * size
    return events / (time.perf_counter() - t0), cpu / events * 1e6


def measure(events: int) -> list[Row]:
    size = Config().batch_size
    bodies = raw_bodies(max(1, events // size), size)
    with counting_sink() as url:
        rate, caller_us, stats, by_thread = deliver(url, events)
        lost = events - sink_count(url)
        raw, raw_cpu = raw_rate(url, bodies, size)
    with collector_process() as url:
        stored_rate, _, stored_stats, _ = deliver(url, events)
        stored_lost = events - stored_count(url)
        stored_raw, _ = raw_rate(url, bodies, size)

    t0 = time.perf_counter()
    for _ in range(events):
        bare(MESSAGES)
    bare_us = (time.perf_counter() - t0) / events * 1e6
    caller_us -= bare_us

    def lost_note(n: int) -> str:
        return "zero lost" if n == 0 else f"{n} LOST"

    split = []
    if by_thread is not None:
        total = sum(by_thread.values())
        parts = " + ".join(
            f"{name} {by_thread.get(name, 0.0):.1f}" for name in ("caller", "worker", "sender")
        )
        split.append(
            Row(
                f"CPU us/event to the sink: {parts}",
                total,
                raw_cpu,
                "us",
                total / raw_cpu,
                f"report only ({TARGET:,} ev/s: <= {1e6 / TARGET:g} us)",
                True,
            )
        )
    return [
        Row(
            f"delivered ev/s to a sink, {lost_note(lost)}",
            rate,
            raw,
            "ev/s",
            rate / raw,
            f">= {TARGET:,} ev/s, 0 lost",
            rate >= TARGET and lost == 0 and stats["dropped"] == 0,
        ),
        Row(
            f"delivered ev/s to serve (SQLite), {lost_note(stored_lost)}",
            stored_rate,
            stored_raw,
            "ev/s",
            stored_rate / stored_raw,
            "report only, 0 lost",
            stored_lost == 0 and stored_stats["dropped"] == 0,
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
        *split,
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
