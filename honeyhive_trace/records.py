"""Immutable records of finished events.

A :class:`ModelEvent` is built once, when an event has ended, and never mutated
afterwards; processors that want to change one return a new record made with
:func:`attrs.evolve`. These classes do no I/O and know nothing of JSON: the wire
format lives in :mod:`honeyhive_trace._serialization`.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ModelEvent", "Usage", "REQUIRED_FIELDS", "OPTIONAL_FIELDS"]

#: Fields of ``model_event`` that HoneyHive requires; always present on the wire.
REQUIRED_FIELDS = (
    "project",
    "model",
    "provider",
    "messages",
    "response",
    "duration",
    "usage",
)

#: Optional fields of the contract; omitted from the wire when never set.
OPTIONAL_FIELDS = (
    "cost",
    "error",
    "source",
    "event_name",
    "hyperparameters",
    "template",
    "template_inputs",
    "tools",
    "tool_choice",
    "response_format",
)


@attrs.define(frozen=True, slots=True)
class Usage:
    """Token counts of one model call.

    Counts that are not known stay ``None`` and are left out of the JSON body.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@attrs.define(frozen=True, slots=True, kw_only=True)
class ModelEvent:
    """One finished model call, as sent to ``POST /events/model``.

    Free-form fields (``messages``, ``response``, ``inputs``, ...) hold plain
    Python values; they are made JSON-safe when the record is serialised, so a
    record can hold anything the user's code produced without raising.
    """

    # The seven fields the contract requires.
    project: str
    model: str
    provider: str
    messages: list[Any] = attrs.field(factory=list)
    response: dict[str, Any] = attrs.field(factory=dict)
    duration: float = 0.0
    usage: Usage = attrs.field(factory=Usage)

    # Identity, nesting and timing.
    event_id: str
    session_id: str | None = None
    parent_id: str | None = None
    start_time: int = 0
    end_time: int = 0

    # Optional contract fields: ``None`` means "never set" and is omitted.
    cost: float | None = None
    error: str | None = None
    source: str | None = None
    event_name: str | None = None
    hyperparameters: dict[str, Any] | None = None
    template: list[Any] | None = None
    template_inputs: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None

    # Everything else the call carried.
    inputs: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
