"""Import time of honeyhive_trace against importing its dependencies.

Run: ``python benchmarks/import_time.py``. Each import runs in a fresh
interpreter; the figure is the best of several runs of the import statement
alone (interpreter start-up excluded).
"""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, print_table

RUNS = 15


def best_ms(statement: str) -> float:
    code = (
        "import time; t = time.perf_counter(); "
        f"{statement}; print((time.perf_counter() - t) * 1000)"
    )
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        times.append(float(out))
    return min(times)


def measure() -> list[Row]:
    ours = best_ms("import honeyhive_trace")
    deps = best_ms("import requests, attrs, cattrs")
    ratio = ours / deps
    return [
        Row(
            "import honeyhive_trace",
            ours,
            deps,
            "ms",
            ratio,
            "<= 1.1 x requests+attrs+cattrs",
            ratio <= 1.1,
        )
    ]


def main() -> int:
    rows = measure()
    print_table(f"Import time (best of {RUNS} fresh interpreters)", rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
