"""When and how long to wait before sending again.

Full jitter over an exponential ceiling (AWS architecture blog), and the
server's ``Retry-After`` (delay seconds or an HTTP date) when it gives one.
"""

from __future__ import annotations

import email.utils
import math
import time

from honeyhive_trace.capture import RNG

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RETRY_AFTER_CAP",
    "RETRY_STATUSES",
    "backoff",
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
