"""A checker for ``model_event`` bodies against the contract in ``shared/API.md``.

Independent of the library's own code (and of the collector's validator), so a
test can use it as an oracle: ``assert [] == check_model_event(body)``.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["check_model_event", "check_wire_body"]

_INT64_MAX = 2**63 - 1

Check = Callable[[Any], "str | None"]


def _kind(value: Any) -> str:
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
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _string(value: Any) -> str | None:
    return None if type(value) is str else f"must be a string, got {_kind(value)}"


def _string_or_null(value: Any) -> str | None:
    return None if value is None else _string(value)


def _number(value: Any) -> str | None:
    if type(value) is int:
        return None
    if type(value) is float:
        return None if math.isfinite(value) else "must be a finite number"
    return f"must be a number, got {_kind(value)}"


def _non_negative(value: Any) -> str | None:
    problem = _number(value)
    if problem is None and value < 0:
        return "must not be negative"
    return problem


def _object(value: Any) -> str | None:
    return None if type(value) is dict else f"must be an object, got {_kind(value)}"


def _array(value: Any) -> str | None:
    return None if type(value) is list else f"must be an array, got {_kind(value)}"


def _array_of_objects(value: Any) -> str | None:
    problem = _array(value)
    if problem is not None:
        return problem
    for index, item in enumerate(value):
        if type(item) is not dict:
            return f"item {index} must be an object, got {_kind(item)}"
    return None


def _uuid(value: Any) -> str | None:
    problem = _string(value)
    if problem is not None:
        return problem
    try:
        uuid.UUID(value)
    except ValueError:
        return f"must be a UUID string, got {value!r}"
    return None


def _usage(value: Any) -> str | None:
    problem = _object(value)
    if problem is not None:
        return problem
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if key in value:
            count = value[key]
            if type(count) is not int or not 0 <= count <= _INT64_MAX:
                return f"{key} must be a non-negative integer, got {count!r}"
    return None


#: The seven required fields and their checks.
REQUIRED: dict[str, Check] = {
    "project": _string,
    "model": _string,
    "provider": _string,
    "messages": _array_of_objects,
    "response": _object,
    "duration": _non_negative,
    "usage": _usage,
}

#: Optional fields (contract fields and the full event object's fields) and their checks.
OPTIONAL: dict[str, Check] = {
    "cost": _number,
    "error": _string_or_null,
    "source": _string,
    "event_name": _string,
    "hyperparameters": _object,
    "template": _array_of_objects,
    "template_inputs": _object,
    "tools": _array_of_objects,
    "tool_choice": _string,
    "response_format": _object,
    "event_id": _uuid,
    "session_id": _uuid,
    "parent_id": _uuid,
    "children_ids": _array,
    "start_time": _non_negative,
    "end_time": _non_negative,
    "metadata": _object,
    "config": _object,
    "inputs": _object,
    "outputs": _object,
    "metrics": _object,
    "feedback": _object,
    "user_properties": _object,
}


def _json_problem(body: Any) -> str | None:
    try:
        text = json.dumps(body, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return f"body is not JSON-encodable: {type(exc).__name__}: {exc}"[:500]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "body holds a lone surrogate: it cannot be sent as UTF-8"
    return None


def check_model_event(body: dict[str, Any]) -> list[str]:
    """Return every way *body* breaks the ``model_event`` contract.

    Checks that the body is a JSON object that encodes with ``allow_nan=False``
    and as strict UTF-8, that the seven required fields are present with their
    types, that optional fields present have theirs (``null`` is accepted only
    for ``error``), that ``usage`` counts are non-negative integers, that
    ``messages``/``template``/``tools`` hold objects, that ids are UUIDs and
    that ``end_time >= start_time``.

    Args:
        body: the ``model_event`` object (not the request envelope).

    Returns:
        A list of human-readable problems; empty when the body is valid.
    """
    if type(body) is not dict:
        return [f"model_event must be an object, got {_kind(body)}"]
    problems: list[str] = []
    json_problem = _json_problem(body)
    if json_problem is not None:
        problems.append(json_problem)
    for name, check in REQUIRED.items():
        if name not in body:
            problems.append(f"{name}: is required")
            continue
        problem = check(body[name])
        if problem is not None:
            problems.append(f"{name}: {problem}")
    for name, check in OPTIONAL.items():
        if name in body:
            problem = check(body[name])
            if problem is not None:
                problems.append(f"{name}: {problem}")
    start, end = body.get("start_time"), body.get("end_time")
    if type(start) in (int, float) and type(end) in (int, float) and end < start:
        problems.append(f"end_time {end!r} is before start_time {start!r}")
    return problems


def check_wire_body(wire: bytes) -> list[str]:
    """Check an encoded ``{"model_event": ...}`` request body as the server reads it.

    Args:
        wire: the bytes a client would post to ``/events/model``.

    Returns:
        The problems :func:`check_model_event` finds in the decoded event, or
        a decoding problem.
    """
    try:
        parsed = json.loads(wire.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"request body is not UTF-8 JSON: {exc}"[:500]]
    if type(parsed) is not dict or "model_event" not in parsed:
        return ["request body must be an object with a model_event"]
    return check_model_event(parsed["model_event"])
