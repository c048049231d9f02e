"""Strict validation of ``POST /events/model`` and ``POST /events/model/batch`` bodies.

Validation is pure: it names every offending field and never changes the events. The
collector validates a whole request before it writes anything, so a bad batch is rejected
whole.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from typing import Any

#: Most errors reported for one request; a flood of bad events gets a bounded answer.
MAX_ERRORS = 1000

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
).fullmatch
_EVENT_TYPES = frozenset({"model", "tool", "chain", "session"})
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")

FieldError = dict[str, str]


class ValidationError(Exception):
    """A request body broke the contract; ``errors`` names every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        """Create the error.

        Args:
            errors: ``{"field": ..., "message": ...}`` entries, at least one.
        """
        super().__init__("; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors))
        self.errors = errors


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _text_ok(value: str) -> bool:
    """Return whether ``value`` can be stored as UTF-8 text (JSON allows lone surrogates)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Each checker returns None when the value is fine, else the error message.
Checker = Callable[[Any], str | None]


def _string(value: Any) -> str | None:
    if type(value) is str and value.isascii():
        return None
    if type(value) is not str:
        return f"must be a string, got {_type_name(value)}"
    if not _text_ok(value):
        return "must be valid Unicode text (it contains a lone surrogate)"
    return None


def _string_or_null(value: Any) -> str | None:
    return None if value is None else _string(value)


def _number(value: Any) -> str | None:
    kind = type(value)
    if kind is float:
        # json.loads turns 1e400 into inf; the wire format has no infinities.
        return None if math.isfinite(value) else "is out of range"
    if kind is int:
        return None if _INT64_MIN <= value <= _INT64_MAX else "is out of range"
    return f"must be a number, got {_type_name(value)}"


def _non_negative(value: Any) -> str | None:
    problem = _number(value)
    if problem is None and value < 0:
        return "must not be negative"
    return problem


def _object(value: Any) -> str | None:
    return None if type(value) is dict else f"must be an object, got {_type_name(value)}"


def _array(value: Any) -> str | None:
    return None if type(value) is list else f"must be an array, got {_type_name(value)}"


def _uuid(value: Any) -> str | None:
    if type(value) is str and _CANONICAL_UUID(value) is not None:
        return None
    problem = _string(value)
    if problem is not None:
        return problem
    try:
        uuid.UUID(value)
    except ValueError:
        return "must be a UUID string"
    return None


def _event_type(value: Any) -> str | None:
    problem = _string(value)
    if problem is None and value not in _EVENT_TYPES:
        return "must be one of " + ", ".join(sorted(_EVENT_TYPES))
    return problem


_REQUIRED: tuple[tuple[str, Checker], ...] = (
    ("project", _string),
    ("model", _string),
    ("provider", _string),
    ("messages", _array),
    ("response", _object),
    ("duration", _non_negative),
    ("usage", _object),
)

_OPTIONAL: tuple[tuple[str, Checker], ...] = (
    ("cost", _number),
    ("error", _string_or_null),
    ("source", _string),
    ("event_name", _string),
    ("tool_choice", _string),
    ("event_type", _event_type),
    ("hyperparameters", _object),
    ("template_inputs", _object),
    ("response_format", _object),
    ("metadata", _object),
    ("inputs", _object),
    ("outputs", _object),
    ("config", _object),
    ("metrics", _object),
    ("feedback", _object),
    ("user_properties", _object),
    ("template", _array),
    ("tools", _array),
    ("children_ids", _array),
    ("event_id", _uuid),
    ("session_id", _uuid),
    ("parent_id", _uuid),
    ("start_time", _non_negative),
    ("end_time", _non_negative),
)


_ARRAYS_OF_OBJECTS = ("messages", "template", "tools")
_CHECKS: dict[str, Checker] = dict(_REQUIRED + _OPTIONAL)
_REQUIRED_NAMES = frozenset(name for name, _ in _REQUIRED)


def _check_items(
    items: list[Any], where: str, kind: type, name: str, errors: list[FieldError]
) -> None:
    for i, item in enumerate(items):
        if type(item) is not kind:
            errors.append(
                {
                    "field": f"{where}[{i}]",
                    "message": f"must be {name}, got {_type_name(item)}",
                }
            )


def validate_event(event: Any, where: str, errors: list[FieldError]) -> None:
    """Check one model event against the contract, appending an entry per offending field.

    Args:
        event: The parsed event.
        where: Its location in the request, e.g. ``model_events[3]``.
        errors: The list to append ``{"field", "message"}`` entries to.
    """
    if type(event) is not dict:
        errors.append({"field": where, "message": f"must be an object, got {_type_name(event)}"})
        return
    if not event.keys() >= _REQUIRED_NAMES:
        for name, _ in _REQUIRED:
            if name not in event:
                errors.append({"field": f"{where}.{name}", "message": "is required"})
    checks = _CHECKS
    for name, value in event.items():
        check = checks.get(name)
        if check is not None:
            problem = check(value)
            if problem is not None:
                errors.append({"field": f"{where}.{name}", "message": problem})
    for name in _ARRAYS_OF_OBJECTS:
        items = event.get(name)
        if type(items) is list:
            _check_items(items, f"{where}.{name}", dict, "an object", errors)
    children = event.get("children_ids")
    if type(children) is list:
        _check_items(children, f"{where}.children_ids", str, "a string", errors)
    start: Any = event.get("start_time")
    end: Any = event.get("end_time")
    if type(start) in (int, float) and type(end) in (int, float) and end < start:
        errors.append({"field": f"{where}.end_time", "message": "is before start_time"})
    usage = event.get("usage")
    if type(usage) is dict:
        for key in _USAGE_COUNTS:
            if key in usage:
                count = usage[key]
                if type(count) is not int or not 0 <= count <= _INT64_MAX:
                    errors.append(
                        {
                            "field": f"{where}.usage.{key}",
                            "message": "must be a non-negative integer",
                        }
                    )
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if (
            "total_tokens" not in usage
            and type(prompt) is int
            and type(completion) is int
            and prompt + completion > _INT64_MAX
        ):
            # The store keeps the total, as a 64-bit integer.
            errors.append(
                {
                    "field": f"{where}.usage.total_tokens",
                    "message": "prompt_tokens + completion_tokens is out of range",
                }
            )


def _cap(errors: list[FieldError]) -> list[FieldError]:
    if len(errors) <= MAX_ERRORS:
        return errors
    more = len(errors) - MAX_ERRORS
    return [
        *errors[:MAX_ERRORS],
        {"field": "", "message": f"{more} more errors not shown"},
    ]


def parse_single(body: Any) -> dict[str, Any]:
    """Validate a ``POST /events/model`` body.

    Args:
        body: The parsed JSON body.

    Returns:
        The model event.

    Raises:
        ValidationError: Naming every offending field.
    """
    if type(body) is not dict:
        message = f"request body must be a JSON object, got {_type_name(body)}"
        raise ValidationError([{"field": "", "message": message}])
    if "model_event" not in body:
        raise ValidationError([{"field": "model_event", "message": "is required"}])
    errors: list[FieldError] = []
    event = body["model_event"]
    validate_event(event, "model_event", errors)
    if errors:
        raise ValidationError(_cap(errors))
    return event  # type: ignore[no-any-return]


def parse_batch(body: Any) -> list[dict[str, Any]]:
    """Validate a ``POST /events/model/batch`` body.

    Args:
        body: The parsed JSON body.

    Returns:
        The model events, in request order.

    Raises:
        ValidationError: Naming every offending field of every event.
    """
    if type(body) is not dict:
        message = f"request body must be a JSON object, got {_type_name(body)}"
        raise ValidationError([{"field": "", "message": message}])
    errors: list[FieldError] = []
    if "is_single_session" in body and type(body["is_single_session"]) is not bool:
        kind = _type_name(body["is_single_session"])
        errors.append({"field": "is_single_session", "message": f"must be a boolean, got {kind}"})
    if "session_properties" in body:
        problem = _object(body["session_properties"])
        if problem is not None:
            errors.append({"field": "session_properties", "message": problem})
    if "model_events" not in body:
        errors.append({"field": "model_events", "message": "is required"})
        raise ValidationError(errors)
    events = body["model_events"]
    if type(events) is not list:
        kind = _type_name(events)
        errors.append({"field": "model_events", "message": f"must be an array, got {kind}"})
    elif not events:
        errors.append({"field": "model_events", "message": "must contain at least one event"})
    else:
        for i, event in enumerate(events):
            validate_event(event, f"model_events[{i}]", errors)
    if errors:
        raise ValidationError(_cap(errors))
    return events  # type: ignore[no-any-return]
