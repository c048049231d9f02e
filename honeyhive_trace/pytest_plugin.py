"""The pytest plugin of honeyhive_trace: the ``captured_events`` fixture.

Registered through the ``pytest11`` entry point, so it is available in any
project that has honeyhive-trace installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from honeyhive_trace.testing import CapturedEvents, capture_events

__all__ = ["captured_events"]


@pytest.fixture
def captured_events() -> Iterator[CapturedEvents]:
    """Capture the events that end during the test, in memory; nothing is sent."""
    with capture_events() as events:
        yield events
