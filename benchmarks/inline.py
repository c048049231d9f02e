"""Inline mode: a traced call against a raw ``requests.Session.post`` of the same body.

Run: ``python benchmarks/inline.py``. Both post one event at a time to the same
collector process; the raw side posts bodies encoded beforehand (each with a
fresh id, so the server does the same work), so its figure is HTTP and the
server alone.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, collector_process, print_table

import honeyhive_trace as hh
from honeyhive_trace import _client

N = 2000
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@hh.trace_model(model="gpt-4o", provider="openai")
def answer(messages: list[Any], temperature: float = 0.2) -> str:
    return "Paris"


def measure() -> list[Row]:
    with collector_process() as url:
        _client.reset()  # start from defaults, whatever ran before
        hh.configure(server_url=url, mode="inline", spool_dir=tempfile.mkdtemp())
        for _ in range(200):
            answer(MESSAGES)  # warm up
        best_ours = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(N):
                answer(MESSAGES)
            best_ours = min(best_ours, (time.perf_counter() - start) / N)
        with requests.get(f"{url}/events", params={"limit": 1}, timeout=10) as reply:
            sample = reply.json()["events"][0]
        hh.shutdown(10)
        session = requests.Session()
        best_raw = float("inf")
        for _ in range(3):
            bodies = [
                json.dumps({"model_event": {**sample, "event_id": str(uuid.uuid4())}}).encode()
                for _ in range(N)
            ]
            start = time.perf_counter()
            for body in bodies:
                session.post(
                    f"{url}/events/model",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=10,
                ).raise_for_status()
            best_raw = min(best_raw, (time.perf_counter() - start) / N)
    ratio = best_ours / best_raw
    return [
        Row(
            "inline traced call vs raw post",
            best_ours * 1e6,
            best_raw * 1e6,
            "us",
            ratio,
            "<= 1.2 x raw post",
            ratio <= 1.2,
        )
    ]


def main() -> int:
    rows = measure()
    print_table(f"Inline mode (best of 3 x {N:,} calls)", rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
