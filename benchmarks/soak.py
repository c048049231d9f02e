"""Soak: threads and asyncio tasks trace calls against a flaky collector; nothing is lost.

Run: ``python benchmarks/soak.py [--seconds 10] [--threads 4] [--tasks 32] [--fail-rate 0.2]``
or, for memory under a burst, ``python benchmarks/soak.py --burst 1000000``.

A loopback :class:`~honeyhive_trace.collector.Collector` (its database in a
temporary file, so that its store does not count in this process's memory)
answers a share ``--fail-rate`` of ingest requests with 503. Tracing runs in
background mode. Producers use every capture path: sync, async, generator and
async-generator functions, ``with``/``async with model_event``, sessions, and
calls that raise.

At the end, every produced event must be found exactly once as one of:

* acknowledged: stored by the collector (read back from its database);
* spooled: in a spool file, to be replayed by a later run;
* rejected: in the dead-letter file;
* dropped: counted by ``hh.stats()`` with a ``dropped_<reason>`` counter.

The script prints a table and exits 1 when ``produced != acknowledged +
spooled + rejected + dropped`` (events are matched by ``event_id``, so an event
both stored and spooled counts once), or when the library's own counters
disagree with what was produced.

In ``--burst N`` mode, one thread produces N events as fast as it can (far
faster than any server takes them): the queue stays bounded and the overflow
goes to the spool. RSS is printed before, at its peak, and after; the run also
fails when the RSS grew by more than ``--max-growth-mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector, Faults

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
REPLY = "Paris."


class UserError(Exception):
    """Raised by some traced calls, as real model calls sometimes fail."""


# -- what the producers call -------------------------------------------------------------


@hh.trace_model(model="gpt-4o", provider="openai")
def sync_call(messages: list[Any], n: int, temperature: float = 0.2) -> str:
    if n % 17 == 0:
        raise UserError("rate limited by the (pretend) provider")
    return REPLY


@hh.trace_model(model="gpt-4o-mini")
def stream_call(messages: list[Any]) -> Iterator[str]:
    yield "Pa"
    yield "ris."


@hh.trace_model(model="claude-3-5-haiku")
async def async_call(messages: list[Any]) -> dict[str, str]:
    await asyncio.sleep(0)
    return {"role": "assistant", "content": REPLY}


@hh.trace_model(model="claude-3-5-haiku")
async def async_stream_call(messages: list[Any]) -> AsyncIterator[str]:
    yield "Pa"
    await asyncio.sleep(0)
    yield "ris."


def one_sync_event(n: int) -> None:
    """Produce exactly one event on this thread (five ways, in turn)."""
    kind = n % 4
    if kind == 0:
        try:
            sync_call(MESSAGES, n)
        except UserError:
            pass
    elif kind == 1:
        for _ in stream_call(MESSAGES):
            pass
    elif kind == 2:
        with hh.session(name="soak"), hh.model_event(model="gpt-4o", messages=MESSAGES) as ev:
            ev.set_response(REPLY)
            ev.set_usage(prompt_tokens=12, completion_tokens=2)
    else:
        with hh.model_event(model="gpt-4o", messages=MESSAGES) as ev:
            ev.add_metadata(n=n)
            ev.set_response(REPLY)


async def one_async_event(n: int) -> None:
    """Produce exactly one event in this task (three ways, in turn)."""
    kind = n % 3
    if kind == 0:
        await async_call(MESSAGES)
    elif kind == 1:
        async for _ in async_stream_call(MESSAGES):
            pass
    else:
        async with hh.model_event(model="gpt-4o", messages=MESSAGES) as ev:
            await asyncio.sleep(0)
            ev.set_response(REPLY)


# -- measuring ------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident set size of this process now, in MiB (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """Highest resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024**2


class RssSampler:
    """Samples RSS in the background to find the peak within a window."""

    def __init__(self, interval: float = 0.1) -> None:
        self.peak = rss_mb()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


# -- producing -----------------------------------------------------------------------------


def run_threads(count: int, until: float, rate: float) -> int:
    """Run *count* producer threads until the monotonic time *until*; return events made."""
    made = [0] * count

    def produce(index: int) -> None:
        n = 0
        pace = count / rate if rate > 0 else 0.0
        next_at = time.monotonic()
        while time.monotonic() < until:
            one_sync_event(n)
            n += 1
            if pace:
                next_at += pace
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing the load, not waiting for a result
        made[index] = n

    threads = [
        threading.Thread(target=produce, args=(i,), name=f"producer-{i}") for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(made)


def run_tasks(count: int, until: float, rate: float) -> int:
    """Run *count* asyncio tasks in one event loop until *until*; return events made."""

    async def produce() -> int:
        n = 0
        pace = count / rate if rate > 0 else 0.0
        while time.monotonic() < until:
            await one_async_event(n)
            n += 1
            await asyncio.sleep(pace)  # also yields to the other tasks
        return n

    async def main() -> int:
        return sum(await asyncio.gather(*(produce() for _ in range(count))))

    return asyncio.run(main())


# -- accounting ------------------------------------------------------------------------------


def stored_ids(db: Path) -> set[str]:
    """Event ids the collector stored, read from its database file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM events")}


def spool_ids(spool: Path) -> tuple[set[str], set[str], int]:
    """(ids waiting in spool files, ids in dead-letter files, unreadable lines)."""
    waiting: set[str] = set()
    dead: set[str] = set()
    bad = 0
    for path in spool.rglob("*.jsonl"):
        target = dead if path.name.startswith("dead-letter") else waiting
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                event = record.get("model_event", record)
                target.add(event["event_id"])
    return waiting, dead, bad


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    """Print *rows* (label, value) as an aligned two-column table."""
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    print(f"\n{title}")
    print(f"{'measure'.ljust(width)}  {'value'.rjust(value_width)}")
    print(f"{'-' * width}  {'-' * value_width}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value.rjust(value_width)}")


def account(
    produced: int, db: Path, spool: Path, stats: dict[str, int]
) -> tuple[bool, list[tuple[str, str]]]:
    """Match every produced event to one outcome; return (balanced?, table rows)."""
    acked = stored_ids(db)
    waiting, dead, unreadable = spool_ids(spool)
    dropped = stats.get("dropped", 0)
    found = len(acked | waiting | dead) + dropped
    overlap = len(acked & waiting) + len(acked & dead) + len(waiting & dead)
    library = stats["sent"] + stats["spooled"] + stats["rejected"] + dropped
    balanced = produced == found and stats["enqueued"] == produced and unreadable == 0
    rows = [
        ("events produced", f"{produced:,}"),
        ("acknowledged (stored by the collector)", f"{len(acked):,}"),
        ("spooled (waiting in spool files)", f"{len(waiting):,}"),
        ("rejected (dead-letter file)", f"{len(dead):,}"),
        ("dropped (counted)", f"{dropped:,}"),
        ("  of which " + ", ".join(_drops(stats)) if dropped else "  drops by reason", ""),
        ("found in more than one place", f"{overlap:,}"),
        ("acknowledged + spooled + rejected + dropped", f"{found:,}"),
        ("library: sent, replayed, retried", _figures(stats, "sent", "replayed", "retried")),
        ("library: sent + spooled + rejected + dropped", f"{library:,}"),
        ("balanced (produced == found)", "yes" if balanced else "NO"),
    ]
    return balanced, rows


def _figures(stats: dict[str, int], *names: str) -> str:
    return ", ".join(f"{stats[name]:,}" for name in names)


def _drops(stats: dict[str, int]) -> list[str]:
    return [f"{k[8:]} {v:,}" for k, v in sorted(stats.items()) if k.startswith("dropped_") and v]


# -- the two modes ---------------------------------------------------------------------------


def configure(url: str, spool: Path, args: argparse.Namespace) -> None:
    hh.configure(
        api_key="soak-test-key",
        server_url=url,
        project="soak",
        mode="background",
        spool_dir=spool,
        retry_budget=args.retry_budget,
    )


def soak(args: argparse.Namespace, workdir: Path) -> int:
    faults = Faults()
    faults.fail_rate(args.fail_rate, seed=args.seed)
    db = workdir / "events.db"
    spool = workdir / "spool"
    with Collector(db=db, faults=faults) as collector:
        configure(collector.url, spool, args)
        start_rss = rss_mb()
        with RssSampler() as sampler:
            until = time.monotonic() + args.seconds
            started = time.perf_counter()
            results: dict[str, int] = {}
            tasks = threading.Thread(
                target=lambda: results.__setitem__(
                    "tasks", run_tasks(args.tasks, until, args.rate / 2)
                ),
                name="asyncio-producers",
            )
            tasks.start()
            threads = run_threads(args.threads, until, args.rate / 2)
            tasks.join()
            produced_in = time.perf_counter() - started
            produced = threads + results["tasks"]
            settled_at = time.perf_counter()
            flushed = hh.flush(args.settle)
            hh.shutdown(args.settle)
            settle_time = time.perf_counter() - settled_at
        stats = hh.stats()
        fired = len(faults.fired())
    balanced, rows = account(produced, db, spool, stats)
    rows[1:1] = [
        (f"  by {args.threads} threads", f"{threads:,}"),
        (f"  by {args.tasks} asyncio tasks", f"{results['tasks']:,}"),
        ("produced in (s)", f"{produced_in:.1f}"),
        ("events per second", f"{produced / produced_in:,.0f}"),
        ("requests failed on purpose (503)", f"{fired:,}"),
        ("flush + shutdown took (s)", f"{settle_time:.1f}"),
        ("flush settled everything in time", "yes" if flushed else "no (rest spooled)"),
    ]
    rows += [
        ("RSS at start (MiB)", f"{start_rss:.1f}"),
        ("RSS peak during the run (MiB)", f"{sampler.peak:.1f}"),
        ("ru_maxrss of the process (MiB)", f"{peak_rss_mb():.1f}"),
    ]
    print_table(f"soak: {args.seconds:g} s, fail rate {args.fail_rate:.0%}, background mode", rows)
    return 0 if balanced else 1


def burst(args: argparse.Namespace, workdir: Path) -> int:
    faults = Faults()
    faults.fail_rate(args.fail_rate, seed=args.seed)
    db = workdir / "events.db"
    spool = workdir / "spool"
    with Collector(db=db, faults=faults) as collector:
        configure(collector.url, spool, args)
        for n in range(1000):  # warm up allocators, caches and the connection
            one_sync_event(n)
        assert hh.flush(60)
        warm = 1000
        before = rss_mb()
        with RssSampler() as sampler:
            started = time.perf_counter()
            for n in range(args.burst):
                one_sync_event(n)
            produced_in = time.perf_counter() - started
            during = sampler.peak
            hh.flush(args.settle)
            hh.shutdown(args.settle)
        after = rss_mb()
        stats = hh.stats()
    balanced, rows = account(args.burst + warm, db, spool, stats)
    growth = max(during, sampler.peak) - before
    bounded = growth <= args.max_growth_mb
    rows[1:1] = [
        ("  of which warm-up", f"{warm:,}"),
        ("burst produced in (s)", f"{produced_in:.1f}"),
        ("events per second", f"{args.burst / produced_in:,.0f}"),
    ]
    rows += [
        ("RSS before the burst (MiB)", f"{before:.1f}"),
        ("RSS peak during the burst (MiB)", f"{during:.1f}"),
        ("RSS after flush + shutdown (MiB)", f"{after:.1f}"),
        ("growth (MiB)", f"{growth:.1f}"),
        (f"bounded (growth <= {args.max_growth_mb:g} MiB)", "yes" if bounded else "NO"),
    ]
    print_table(f"burst of {args.burst:,} events, fail rate {args.fail_rate:.0%}", rows)
    return 0 if balanced and bounded else 1


def main(argv: list[str] | None = None) -> int:
    """Run the soak (or the burst) and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to produce")
    parser.add_argument("--threads", type=int, default=4, help="producer threads")
    parser.add_argument("--tasks", type=int, default=32, help="producer asyncio tasks")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s in all; 0: no limit")
    parser.add_argument("--fail-rate", type=float, default=0.2, help="share of 503 answers")
    parser.add_argument("--seed", type=int, default=0, help="seed of the failures")
    parser.add_argument("--retry-budget", type=float, default=30.0, help="seconds per batch")
    parser.add_argument("--settle", type=float, default=30.0, help="flush/shutdown timeout")
    parser.add_argument("--burst", type=int, default=0, help="burst mode: events to produce")
    parser.add_argument("--max-growth-mb", type=float, default=200.0, help="burst RSS bound")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="honeyhive-soak-"))
    try:
        status = burst(args, workdir) if args.burst else soak(args, workdir)
    finally:
        if args.keep:
            print(f"\nwork directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\nOK" if status == 0 else "\nFAILED: see the table above")
    return status


if __name__ == "__main__":
    sys.exit(main())
