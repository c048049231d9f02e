"""Shared helpers for the benchmark scripts: a collector subprocess and a result table."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs


@attrs.define
class Row:
    """One measured figure next to its baseline from the same run."""

    name: str
    ours: float
    baseline: float
    unit: str
    ratio: float
    target: str
    ok: bool


def print_table(title: str, rows: Sequence[Row]) -> None:
    """Print *rows* as an aligned table."""
    print(f"\n{title}")
    header = ("measure", "ours", "baseline", "ratio", "target", "result")
    lines = [header] + [
        (
            r.name,
            f"{r.ours:,.2f} {r.unit}",
            f"{r.baseline:,.2f} {r.unit}",
            f"{r.ratio:.3f}",
            r.target,
            "PASS" if r.ok else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def thread_cpu(prefix: str) -> dict[str, float] | None:
    """CPU seconds each live thread whose name starts with *prefix* has used.

    None where a thread's CPU clock cannot be read (``time.pthread_getcpuclockid``
    is missing on macOS and Windows).
    """
    try:
        return {
            t.name: time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            for t in threading.enumerate()
            if t.name.startswith(prefix) and t.ident is not None
        }
    except (AttributeError, OSError):
        return None


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def collector_process() -> Iterator[str]:
    """Run `honeyhive-trace serve` (in-memory db) in a subprocess; yield its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "honeyhive_trace",
            "serve",
            *("--port", str(port)),
            "--db",
            ":memory:",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/events?limit=1", proc, "collector")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_until_up(url: str, proc: subprocess.Popen[Any], what: str) -> None:
    """Wait until *url* answers (at most 20 s, and only while *proc* runs)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


def run_fresh(script: str, args: Sequence[str], timeout: float = 900) -> dict[str, Any]:
    """Run *script* with *args* in a fresh interpreter; return the JSON of its last line."""
    out = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


#: A server that acknowledges events as HoneyHive's API does, and only counts them:
#: each body is decoded, each event needs an ``event_id``, and the answer carries
#: the ids. Throughput is then the client's, not a store's.
SINK = """
import gzip, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = wire = 0
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes
    def log_message(self, *args): pass
    def do_POST(self):
        global count, wire
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        wire += len(raw)
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        events = body.get("model_events") or body.get("events")
        if events is None:
            events = [body.get("model_event") or body.get("event") or body]
        ids = [event["event_id"] for event in events]
        count += len(ids)
        self._send(json.dumps({"event_ids": ids, "success": True}).encode())
    def do_GET(self):
        self._send(json.dumps({"total": count, "bytes": wire}).encode())
    def _send(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@contextmanager
def counting_sink() -> Iterator[str]:
    """Run :data:`SINK` in a subprocess; yield its URL.

    ``GET /`` answers ``{"total": events, "bytes": request body bytes as sent}``.
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, "sink")
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


def sink_count(url: str) -> int:
    """How many events the sink at *url* acknowledged."""
    return sink_totals(url)[0]


def sink_totals(url: str) -> tuple[int, int]:
    """(events acknowledged, body bytes received as sent) by the sink at *url*."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        totals = json.load(answer)
    return int(totals["total"]), int(totals["bytes"])


def stored_count(url: str) -> int:
    """How many events the collector at *url* holds."""
    with urllib.request.urlopen(f"{url}/events?limit=1", timeout=10) as answer:
        return int(json.load(answer)["total"])


def rss_mb() -> float:
    """Resident set size of this process, in MB (Linux)."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
