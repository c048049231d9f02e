"""``compression="gzip"`` against none: bytes on the wire and whole CPU per event, one run.

Run: ``python benchmarks/compression.py [--events N]``.

Realistic model events (``whole_cost.py``'s shape), each with its own text
(sentences drawn from a vocabulary, seeded), so that gzip does not profit
from identical events. Each side runs in a fresh interpreter and is
delivered to the counting sink of ``_common.py`` in a child process, which
counts the request body bytes as they arrived. Report only: gzip spends CPU
to save bandwidth, which pays on a real network, not on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, counting_sink, print_table, run_fresh, sink_totals

#: Each event's sentences are drawn from these words, so no two events are alike.
_VOCABULARY = (
    "upload timeout proxy chunk size retry network client server region bucket object "
    "policy limit request header token latency error storage cache check the a of to "
    "and for with your is be this that on at"
)
WORDS = tuple(_VOCABULARY.split())


def texts(seed: int, count: int, words: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(count)]


def side(events: int, url: str, compression: str) -> dict[str, Any]:
    import honeyhive_trace as hh

    questions = texts(1, events, 20)
    answers = iter(texts(2, events, 300))

    @hh.trace_model(model="gpt-4o", provider="openai")
    def chat(messages: list[Any], temperature: float = 0.2) -> dict[str, Any]:
        usage = {"prompt_tokens": 112, "completion_tokens": 400, "total_tokens": 512}
        return {"role": "assistant", "content": next(answers), "usage": usage}

    hh.configure(
        server_url=url,
        spool_dir=tempfile.mkdtemp(),
        max_queue_size=events,
        compression=compression,
    )
    start = time.process_time()
    for question in questions:
        chat(
            [
                {"role": "system", "content": "You are a support assistant."},
                {"role": "user", "content": question},
            ]
        )
    ok = hh.flush(300)
    cpu = time.process_time() - start
    hh.shutdown(10)
    return {"cpu_us": cpu / events * 1e6, "flushed": ok}


def run_side(events: int, url: str, compression: str) -> dict[str, Any]:
    return run_fresh(__file__, ["--side", compression, "--events", str(events), "--url", url])


def measure(events: int) -> list[Row]:
    figures = {}
    for compression in ("none", "gzip"):
        with counting_sink() as url:
            result = run_side(events, url, compression)
            count, wire = sink_totals(url)
        figures[compression] = (
            result["cpu_us"],
            wire / events,
            count == events and result["flushed"],
        )
    (cpu_none, bytes_none, ok_none), (cpu_gzip, bytes_gzip, ok_gzip) = (
        figures["none"],
        figures["gzip"],
    )
    return [
        Row(
            "bytes on the wire per event, gzip vs none",
            bytes_gzip,
            bytes_none,
            "B",
            bytes_gzip / bytes_none,
            "report only, 0 lost",
            ok_none and ok_gzip,
        ),
        Row(
            "whole CPU us per event, gzip vs none",
            cpu_gzip,
            cpu_none,
            "us",
            cpu_gzip / cpu_none,
            "report only",
            True,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--side", choices=("none", "gzip"))
    parser.add_argument("--url")
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(side(args.events, args.url, args.side)))
        return 0
    rows = measure(args.events)
    print_table(f"Request compression ({args.events:,} varied model events)", rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
