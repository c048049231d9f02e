"""When and how long to wait before sending again, and what a failed try leaves behind.

Full jitter over an exponential ceiling (AWS architecture blog), and the
server's ``Retry-After`` (delay seconds or an HTTP date) when it gives one.
"""

from __future__ import annotations

import email.utils
import math
import time
import traceback

from honeyhive_trace.capture import RNG

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RETRY_AFTER_CAP",
    "RETRY_STATUSES",
    "backoff",
    "let_go",
    "retry_after_seconds",
    "retry_delay",
]

#: Answers worth retrying: the request may succeed later unchanged.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Backoff: full jitter over an exponential ceiling (AWS architecture blog).
BACKOFF_BASE = 0.1
BACKOFF_CAP = 8.0


#: Longest wait a server's Retry-After may ask for (the retry budget bounds it too).
RETRY_AFTER_CAP = 60.0


def retry_delay(retry_after: float, attempt: int) -> float:
    """The wait before retry *attempt* when the server said ``Retry-After: retry_after``.

    Floored at the exponential ceiling of :func:`backoff` (so ``0``, a past date
    or a negative value cannot make a retry storm) and capped at
    :data:`RETRY_AFTER_CAP`.
    """
    floor: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt)
    return min(RETRY_AFTER_CAP, max(retry_after, floor))


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number *attempt* (0-based): full jitter."""
    return RNG.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt)))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def let_go(exc: BaseException) -> None:
    """Clear the frames of *exc* and the exceptions chained to it.

    A failed request leaves a chain of exceptions whose tracebacks hold frames
    that hold the exceptions again: a thousand objects in reference cycles,
    which only the garbage collector frees, and a full collection walks every
    object of the process while the application waits (``benchmarks/loop_lag.py``,
    server down). Cleared, they are freed at once.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
            current.__traceback__ = None
        current = current.__cause__ or current.__context__
