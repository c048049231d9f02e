"""The demo's fake LLM: deterministic, offline, a little slow so durations look real."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def fake_reply(messages: Sequence[dict[str, Any]]) -> tuple[str, int, int]:
    """A deterministic, offline stand-in for an LLM.

    Args:
        messages: Chat messages (``role``, ``content``).

    Returns:
        The reply, its prompt token count and its completion token count.
    """
    question = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    time.sleep(0.02)  # a little latency, so durations in the viewer look like calls
    reply = f"(fake model) You asked {len(question.split())} words; the answer is 42."
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return reply, prompt_tokens, len(reply.split())
