"""Memory under a burst: RSS growth while 1,000,000 events are produced at full speed.

Run: ``python benchmarks/memory.py [--events N]``.

The burst is far faster than any server can take, so the bounded queue fills
and the overflow goes to the disk spool, 1,000 events per fsync. The baseline
is the process's RSS just before the burst, in the same run. After the burst,
every event must be accounted for: acknowledged, spooled, or counted as dropped.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, collector_process, print_table, rss_mb

import honeyhive_trace as hh
from honeyhive_trace import _client


@hh.trace_model(model="gpt-4o", provider="openai")
def answer(messages: list[Any], temperature: float = 0.2) -> str:
    return "Paris is the capital of France."


def reset_peak_rss() -> bool:
    """Reset the kernel's record of this process's peak RSS (Linux 4.0+); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident set size since the last reset, in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(events: int) -> list[Row]:
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    spool = tempfile.mkdtemp()
    with collector_process() as url:
        # The spool cap is raised so that the burst is not cut by it: this
        # measures memory, and every event should still be accounted for.
        _client.reset()  # start from defaults, whatever ran before
        hh.configure(server_url=url, spool_dir=spool, spool_max_bytes=2 * 1024**3)
        for _ in range(1000):  # warm up allocators and the connection
            answer(messages)
        hh.flush(30)
        gc.collect()
        before = rss_mb()
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The peak is the process's, and earlier benchmarks of run.py may have
        # set it: reset it, so that what is read afterwards is this burst's.
        reset = reset_peak_rss()
        start = time.perf_counter()
        for _ in range(events):
            answer(messages)
        elapsed = time.perf_counter() - start
        peak = (
            peak_rss_mb() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        hh.shutdown(30)
        stats = hh.stats()
    shutil.rmtree(spool, ignore_errors=True)
    growth = max(peak, rss_mb()) - before
    accounted = stats["sent"] + stats["spooled"] + stats["rejected"] + stats["dropped"] - 1000
    print(
        f"  burst of {events:,} in {elapsed:.1f} s; sent {stats['sent'] - 1000:,}, "
        f"spooled {stats['spooled']:,}, dropped {stats['dropped']:,} "
        f"(peak RSS before the burst {peak_before:.0f} MB)"
    )
    return [
        Row(
            f"RSS growth over a {events:,}-event burst",
            growth,
            before,
            "MB",
            growth / before,
            "<= 100 MB",
            growth <= 100,
        ),
        Row(
            "events accounted for (sent+spooled+dropped)",
            accounted,
            events,
            "ev",
            accounted / events,
            "= produced",
            accounted == events,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    rows = measure(args.events)
    print_table("Memory under a burst (background mode, default queue of 10,000)", rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
