"""Helpers the delivery tests share: producing events, reading the spool, free ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import honeyhive_trace as hh

__all__ = ["free_port", "produce", "run_script", "settled", "spooled_ids"]


def produce(n: int, prefix: str = "e", size: int = 0) -> list[str]:
    """End *n* model events; return their ids."""
    ids = []
    for i in range(n):
        with hh.model_event(model="m", event_name=f"{prefix}{i}") as ev:
            if size:
                ev.set_response("x" * size)
        ids.append(ev.event_id)
    return ids


def settled(stats: dict[str, int]) -> int:
    """Events accounted for: acknowledged + spooled + rejected + counted drops."""
    return stats["sent"] + stats["spooled"] + stats["rejected"] + stats["dropped"]


def spooled_ids(spool_dir: Path) -> list[str]:
    """The ids of the items waiting in the spool's pending files, oldest first."""
    ids = []
    for path in sorted(spool_dir.glob("*/pending-*.jsonl")):
        ids += [json.loads(line)["id"] for line in path.read_text().splitlines()]
    return ids


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    """Poll *condition* until true or *timeout*; returns the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def run_script(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``python -c`` *code* (dedented) with *env* added to this environment."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
