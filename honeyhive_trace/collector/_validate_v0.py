"""Strict validation of the generic v0 routes: events, event batches, sessions and updates.

``POST /events`` (``CreateEventRequest``), ``POST /events/batch``, ``POST /session/start``
(``SessionStartRequest``) and ``PUT /events``, as HoneyHive's published OpenAPI document
describes them, in the style of the model-event validator: every offending field is named,
nothing is changed, and a bad batch is rejected whole.

Where our rules are stricter than the published schema (which has no formats, ranges or
required envelopes), the difference is deliberate and listed here:

* the envelope member (``event``, ``events``, ``session``) is required;
* ``event_id``, ``session_id`` and ``parent_id`` must be UUIDs (the schema says "string");
* ``duration``, ``start_time`` and ``end_time`` must not be negative, and ``end_time`` must
  not precede ``start_time``;
* a batch needs at least one event;
* a session may carry ``event_type`` only as ``"session"``, ``event_id`` only equal to its
  ``session_id``, and ``parent_id`` only as null;
* an update may carry only the fields the schema lists (an unknown field would be lost).

Integral floats such as ``1714978765301.0`` are integers, as JSON Schema counts them.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace.collector._validate import (
    _INT64_MAX,
    Checker,
    FieldError,
    ValidationError,
    _array,
    _cap,
    _check_items,
    _non_negative,
    _object,
    _string,
    _type_name,
    _uuid,
)

EVENT_TYPES = ("model", "tool", "chain")
#: The fields ``PUT /events`` merges (objects) or replaces (``duration``).
UPDATE_OBJECTS = ("metadata", "feedback", "metrics", "outputs", "config", "user_properties")


def _event_type(value: Any) -> str | None:
    problem = _string(value)
    if problem is None and value not in EVENT_TYPES:
        return "must be one of " + ", ".join(EVENT_TYPES)
    return problem


def _integer_ms(value: Any) -> str | None:
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        return f"must be an integer (unix ms), got {_type_name(value)}"
    if not 0 <= value <= _INT64_MAX:
        return "must be a non-negative integer within range"
    return None


_OBJECT_NAMES = ("config", "inputs", "outputs", "metadata", "feedback", "metrics")
_OBJECTS: tuple[tuple[str, Checker], ...] = tuple(
    (name, _object) for name in (*_OBJECT_NAMES, "user_properties")
)

_EVENT_REQUIRED: tuple[tuple[str, Checker], ...] = (
    ("project", _string),
    ("event_type", _event_type),
    ("event_name", _string),
    ("source", _string),
    ("config", _object),
    ("inputs", _object),
    ("duration", _non_negative),
)
_EVENT_OPTIONAL: tuple[tuple[str, Checker], ...] = (
    *_OBJECTS,
    ("event_id", _uuid),
    ("session_id", _uuid),
    ("parent_id", _uuid),
    ("children_ids", _array),
    ("error", _string),
    ("start_time", _non_negative),
    ("end_time", _integer_ms),
)
_SESSION_REQUIRED: tuple[tuple[str, Checker], ...] = (
    ("project", _string),
    ("session_name", _string),
    ("source", _string),
)
_SESSION_OPTIONAL: tuple[tuple[str, Checker], ...] = (
    *_OBJECTS,
    ("session_id", _uuid),
    ("event_id", _uuid),
    ("children_ids", _array),
    ("error", _string),
    ("duration", _non_negative),
    ("start_time", _non_negative),
    ("end_time", _integer_ms),
)
_PROPERTIES: tuple[tuple[str, Checker], ...] = (
    *_OBJECTS,
    ("session_name", _string),
    ("source", _string),
    ("session_id", _uuid),
    ("error", _string),
)
_UPDATE: tuple[tuple[str, Checker], ...] = (
    ("event_id", _uuid),
    *((name, _object) for name in UPDATE_OBJECTS),
    ("duration", _non_negative),
)


def _check(
    value: Any,
    where: str,
    required: tuple[tuple[str, Checker], ...],
    optional: tuple[tuple[str, Checker], ...],
    errors: list[FieldError],
) -> bool:
    """Check an object's fields; return whether it was an object at all."""
    if type(value) is not dict:
        errors.append({"field": where, "message": f"must be an object, got {_type_name(value)}"})
        return False
    prefix = f"{where}." if where else ""
    for name, _ in required:
        if name not in value:
            errors.append({"field": prefix + name, "message": "is required"})
    for name, check in (*required, *optional):
        if name in value:
            problem = check(value[name])
            if problem is not None:
                errors.append({"field": prefix + name, "message": problem})
    children = value.get("children_ids")
    if type(children) is list:
        _check_items(children, f"{prefix}children_ids", str, "a string", errors)
    start: Any = value.get("start_time")
    end: Any = value.get("end_time")
    if type(start) in (int, float) and type(end) in (int, float) and end < start:
        errors.append({"field": f"{prefix}end_time", "message": "is before start_time"})
    return True


def validate_event(event: Any, where: str, errors: list[FieldError]) -> None:
    """Check one ``CreateEventRequest``, appending an entry per offending field.

    Args:
        event: The parsed event.
        where: Its location in the request, e.g. ``events[3]``.
        errors: The list to append ``{"field", "message"}`` entries to.
    """
    _check(event, where, _EVENT_REQUIRED, _EVENT_OPTIONAL, errors)


def _envelope(body: Any, key: str, errors: list[FieldError]) -> Any:
    if type(body) is not dict:
        message = f"request body must be a JSON object, got {_type_name(body)}"
        raise ValidationError([{"field": "", "message": message}])
    if key not in body:
        errors.append({"field": key, "message": "is required"})
        raise ValidationError(errors)
    return body[key]


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationError(_cap(errors))


def parse_event(body: Any) -> dict[str, Any]:
    """Validate a ``POST /events`` body (``{"event": CreateEventRequest}``).

    Args:
        body: The parsed JSON body.

    Returns:
        The event.

    Raises:
        ValidationError: Naming every offending field.
    """
    errors: list[FieldError] = []
    event = _envelope(body, "event", errors)
    validate_event(event, "event", errors)
    _raise(errors)
    return event  # type: ignore[no-any-return]


def parse_event_batch(body: Any) -> tuple[list[dict[str, Any]], bool, dict[str, Any]]:
    """Validate a ``POST /events/batch`` body.

    Args:
        body: The parsed JSON body.

    Returns:
        The events in request order, ``is_single_session`` and ``session_properties``.

    Raises:
        ValidationError: Naming every offending field of every event.
    """
    errors: list[FieldError] = []
    if type(body) is dict:
        single = body.get("is_single_session", False)
        if type(single) is not bool:
            message = f"must be a boolean, got {_type_name(single)}"
            errors.append({"field": "is_single_session", "message": message})
        if "session_properties" in body:
            _check(body["session_properties"], "session_properties", (), _PROPERTIES, errors)
    events = _envelope(body, "events", errors)
    if type(events) is not list:
        kind = _type_name(events)
        errors.append({"field": "events", "message": f"must be an array, got {kind}"})
    elif not events:
        errors.append({"field": "events", "message": "must contain at least one event"})
    else:
        for i, event in enumerate(events):
            validate_event(event, f"events[{i}]", errors)
    _raise(errors)
    return events, body.get("is_single_session", False), body.get("session_properties", {})


def parse_session(body: Any) -> dict[str, Any]:
    """Validate a ``POST /session/start`` body (``{"session": SessionStartRequest}``).

    Args:
        body: The parsed JSON body.

    Returns:
        The session.

    Raises:
        ValidationError: Naming every offending field.
    """
    errors: list[FieldError] = []
    session = _envelope(body, "session", errors)
    if _check(session, "session", _SESSION_REQUIRED, _SESSION_OPTIONAL, errors):
        kind = session.get("event_type", "session")
        if kind != "session":
            errors.append({"field": "session.event_type", "message": 'must be "session"'})
        if (
            "session_id" in session
            and session.get("event_id", session["session_id"]) != (session["session_id"])
        ):
            errors.append({"field": "session.event_id", "message": "must equal session_id"})
        if session.get("parent_id") is not None:
            errors.append({"field": "session.parent_id", "message": "must be null"})
    _raise(errors)
    return session  # type: ignore[no-any-return]


def parse_update(body: Any) -> dict[str, Any]:
    """Validate a ``PUT /events`` body.

    Args:
        body: The parsed JSON body.

    Returns:
        The update (``event_id`` and the fields to merge or replace).

    Raises:
        ValidationError: Naming every offending or unknown field.
    """
    errors: list[FieldError] = []
    if type(body) is not dict:
        message = f"request body must be a JSON object, got {_type_name(body)}"
        raise ValidationError([{"field": "", "message": message}])
    _check(body, "", (_UPDATE[0],), _UPDATE[1:], errors)
    known = {name for name, _ in _UPDATE}
    for name in body:
        if name not in known:
            message = "is not an updatable field (use " + ", ".join(sorted(known)) + ")"
            errors.append({"field": name, "message": message})
    _raise(errors)
    return body
