"""The :func:`sample` processor: a share of sessions kept, whole sessions at a time."""

from __future__ import annotations

import hashlib
import math

from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.processors._base import Processor
from honeyhive_trace.records import EventUpdate, Record

__all__ = ["sample"]

# -- sample -------------------------------------------------------------------------------


def _share(key: str) -> float:
    """Map *key* to [0, 1), the same way in every process and on every run."""
    digest = hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Sample:
    """The processor :func:`sample` returns."""

    __name__ = "sample"

    def __init__(self, rate: float) -> None:
        self._rate = rate

    def __repr__(self) -> str:
        return f"sample({self._rate!r})"

    def __call__(self, event: Record) -> Record | None:
        if isinstance(event, EventUpdate):
            # An update says nothing of its event's session: it follows the
            # event (the pipeline drops updates of events it dropped).
            return event
        # The whole session, or outside one the whole trace (decided by its root's
        # id, which each of its events carries): a parent never loses a child.
        key = event.session_id or event.trace_id or event.event_id
        return event if _share(key) < self._rate else None


def sample(rate: float) -> Processor:
    """Make a processor that keeps a share *rate* of events, whole sessions at a time.

    Whether an event is kept depends only on a hash of its ``session_id``
    (outside sessions, of its ``trace_id``: the id of the outermost event it
    ran inside), so a session, or a trace outside sessions, is kept or dropped
    whole, in every process that samples at the same rate; a lower rate keeps a subset
    of what a higher rate keeps. A session's start goes with its events (its
    ``event_id`` is the session id); updates are kept, except those of events
    dropped here. Dropped events are counted as ``dropped_by_processor``.

    Args:
        rate: the share to keep, from 0 (none) to 1 (all).

    Returns:
        The processor.

    Raises:
        ConfigurationError: *rate* is not a number between 0 and 1.
    """
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not math.isfinite(rate)
        or not 0 <= rate <= 1
    ):
        raise ConfigurationError("rate", f"expected a number between 0 and 1, got {rate!r}")
    return _Sample(float(rate))
