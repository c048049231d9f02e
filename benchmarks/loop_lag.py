"""How late an asyncio event loop wakes while tracing runs, against the same loop untraced.

Run: ``python benchmarks/loop_lag.py [--seconds S] [--rate R]``.

A worker thread that holds the GIL for a long stretch stalls the event loop of
an asyncio server. This runs an application loop that ticks every 1 ms and
records how late each tick wakes, while a producer task makes ``--rate``
traced calls a second (a realistic model event each) for ``--seconds``,
delivered to ``honeyhive-trace serve`` in a child process. The same loop runs
once without tracing (the producer calls the bare function), once with
tracing, and once with tracing while the server is down (events go to the
spool). Each run is a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, collector_process, free_port, print_table, run_fresh

P99_TARGET_MS = 2.0
MAX_TARGET_MS = 10.0
TICK = 0.001

MESSAGES = [
    {"role": "system", "content": "You are a support assistant. " * 6},
    {"role": "user", "content": "My upload fails at 99% with a timeout."},
    {"role": "assistant", "content": "Which client are you using?"},
]
RESPONSE = "Check the proxy timeout and the multipart chunk size. " * 30


def reply(messages: list[Any], temperature: float = 0.2) -> dict[str, Any]:
    return {"role": "assistant", "content": RESPONSE}


async def application(seconds: float, rate: int, call: Any) -> list[float]:
    """Tick every TICK s, producing *rate* calls/s; return each tick's lateness (ms)."""
    lags: list[float] = []
    stop = time.perf_counter() + seconds

    async def ticker() -> None:
        while time.perf_counter() < stop:
            asked = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append((time.perf_counter() - asked - TICK) * 1e3)

    async def producer() -> None:
        interval = 1 / rate * 10  # ten calls per wake-up
        while time.perf_counter() < stop:
            for _ in range(10):
                call(MESSAGES)
            await asyncio.sleep(interval)

    await asyncio.gather(ticker(), producer())
    return lags


def side(mode: str, seconds: float, rate: int, url: str) -> dict[str, Any]:
    import honeyhive_trace as hh

    call: Any = reply
    if mode != "bare":
        hh.configure(server_url=url, spool_dir=tempfile.mkdtemp(), retry_budget=1.0)
        call = hh.trace_model(model="gpt-4o", provider="openai")(reply)
    lags = asyncio.run(application(seconds, rate, call))
    if mode != "bare":
        hh.flush(60)
    lags.sort()
    return {
        "p50": statistics.median(lags),
        "p99": lags[int(len(lags) * 0.99)],
        "max": lags[-1],
        "ticks": len(lags),
    }


def run_side(mode: str, seconds: float, rate: int, url: str) -> dict[str, Any]:
    args = ["--side", mode, "--seconds", str(seconds), "--rate", str(rate), "--url", url]
    return run_fresh(__file__, args, timeout=600)


def rows_for(label: str, traced: dict[str, Any], bare: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"loop lag p50 ({label})",
            traced["p50"],
            bare["p50"],
            "ms",
            traced["p50"] / max(bare["p50"], 1e-6),
            "report only",
            True,
        ),
        Row(
            f"loop lag p99 ({label})",
            traced["p99"],
            bare["p99"],
            "ms",
            traced["p99"] / max(bare["p99"], 1e-6),
            f"<= {P99_TARGET_MS} ms",
            traced["p99"] <= P99_TARGET_MS,
        ),
        Row(
            f"loop lag max ({label})",
            traced["max"],
            bare["max"],
            "ms",
            traced["max"] / max(bare["max"], 1e-6),
            f"<= {MAX_TARGET_MS} ms",
            traced["max"] <= MAX_TARGET_MS,
        ),
    ]


def measure(seconds: float = 10.0, rate: int = 2_000) -> list[Row]:
    with collector_process() as url:
        bare = run_side("bare", seconds, rate, url)
        traced = run_side("traced", seconds, rate, url)
    down = run_side("traced", seconds, rate, f"http://127.0.0.1:{free_port()}")
    return rows_for("server up", traced, bare) + rows_for("server down", down, bare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--side", choices=("bare", "traced"))
    parser.add_argument("--url")
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(side(args.side, args.seconds, args.rate, args.url)))
        return 0
    rows = measure(args.seconds, args.rate)
    title = f"Event-loop lag, {args.rate:,} traced calls/s for {args.seconds:g} s"
    print_table(title, rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
