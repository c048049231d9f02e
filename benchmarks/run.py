"""Run every benchmark and print one table with pass/fail against the targets.

Run: ``python benchmarks/run.py [--quick]`` (needs the ``bench`` extra).
``--quick`` shrinks the event counts for a smoke run; the targets are for the
full run.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compression
import import_time
import inline
import loop_lag
import memory
import overhead
import spool_write
import throughput
import whole_cost
from _common import Row, print_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, smoke run")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    rows += overhead.measure()
    rows += throughput.measure(20_000 if args.quick else 100_000)
    rows += whole_cost.measure(5_000 if args.quick else 20_000, 1 if args.quick else 3)
    rows += loop_lag.measure(seconds=3 if args.quick else 10)
    rows += compression.measure(2_000 if args.quick else 10_000)
    rows += inline.measure()
    rows += spool_write.measure(200 if args.quick else spool_write.FILES)
    rows += memory.measure(50_000 if args.quick else 1_000_000)
    rows += import_time.measure()
    print_table("honeyhive-trace benchmarks (ours vs baseline measured in the same run)", rows)
    failed = [r.name for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
