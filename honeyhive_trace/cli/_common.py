"""What the commands share: defaults, argument types, error output and stop signals."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8719
API_KEY_ENV = "HH_COLLECTOR_API_KEY"


def positive_int(text: str) -> int:
    """Parse an integer >= 1 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def port(text: str) -> int:
    """Parse a TCP port, 0 to 65535 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def fail(message: str, status: int = 1) -> int:
    """Print an error on stderr and return the exit status."""
    print(f"honeyhive-trace: error: {message}", file=sys.stderr)
    return status


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT to end a foreground collector."""


def install_stop_signals() -> None:
    """Make SIGTERM and SIGINT raise :class:`Stop` once (a second signal is ignored)."""
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:  # a second signal while stopping must not interrupt the cleanup
            fired = True
            raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def clean(text: str, width: int | None = None) -> str:
    """Make event text safe for a terminal: no control characters or escape sequences."""
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if width is not None and len(out) > width:
        out = out[: width - 1] + "…"
    return out


def number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def duration_text(ms: float | None) -> str:
    """A duration in milliseconds for a table cell ("-" when unknown)."""
    if ms is None:
        return "-"
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"
