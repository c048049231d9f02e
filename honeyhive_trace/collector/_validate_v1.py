"""Strict validation of HoneyHive's v1 data-plane routes, by hand (no jsonschema at run time).

The request schemas of ``tests/specs/v1-dataplane-openapi.yaml``:

* ``POST /v1/events``: a bare ``PostEventRequest``;
* ``POST /v1/events/batch``: ``PostEventBatchRequest`` (``events``, ``single_session``,
  ``session_properties``);
* ``POST /v1/sessions``: a bare ``StartSessionRequest``;
* ``POST /v1/sessions/{session_id}/events/batch``: ``SessionEventBatchRequest``;
* ``PUT /v1/events/{event_id}``: ``UpdateEventRequest``.

As the schema says, ``event_type`` and ``inputs`` are required of every event, and a field
the schema does not list is refused (``additionalProperties: false``) with 400 naming it.
Every offending field is named, nothing is changed, and a bad batch is rejected whole.

Where our rules are stricter than the schema, the difference is deliberate (the collector is
a test double that should catch what the real server would silently lose or replace):

* ``event_id``, ``session_id`` and ``parent_id`` (body or path) must be UUIDs; HoneyHive's
  server replaces a ``session_id`` that is not one with a new id, which would cut the link;
* ``duration``, ``start_time`` and ``end_time`` must not be negative, and ``end_time`` must
  not precede ``start_time``;
* a batch needs at least one event;
* an update may carry only the fields ``UpdateEventRequest`` lists: the server accepts others
  but ignores them, so a client sending one would lose it.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace.collector._validate import (
    Checker,
    FieldError,
    ValidationError,
    _array,
    _cap,
    _check_items,
    _non_negative,
    _object,
    _string,
    _string_or_null,
    _type_name,
    _uuid,
)

EVENT_TYPES = ("model", "tool", "chain", "session")

Fields = dict[str, Checker]


def _event_type(value: Any) -> str | None:
    problem = _string(value)
    if problem is None and value not in EVENT_TYPES:
        return "must be one of " + ", ".join(EVENT_TYPES)
    return problem


def _boolean(value: Any) -> str | None:
    return None if type(value) is bool else f"must be a boolean, got {_type_name(value)}"


def _object_or_null(value: Any) -> str | None:
    return None if value is None else _object(value)


def _events_below(value: Any) -> str | None:
    return None  # a batch's ``events`` are checked one by one, by ``_events``


_FREE_OBJECTS = ("config", "inputs", "outputs", "metadata", "user_properties")

#: ``PostEventRequest``.
EVENT_FIELDS: Fields = {
    "project_id": _string,
    "source": _string,
    "event_name": _string,
    "event_type": _event_type,
    "event_id": _uuid,
    "session_id": _uuid,
    "parent_id": _uuid,
    "children_ids": _array,
    **dict.fromkeys((*_FREE_OBJECTS, "feedback", "metrics"), _object),
    "error": _string_or_null,
    "start_time": _non_negative,
    "end_time": _non_negative,
    "duration": _non_negative,
}
_EVENT_REQUIRED = ("event_type", "inputs")
#: ``StartSessionRequest``.
SESSION_FIELDS: Fields = {
    "session_id": _uuid,
    "session_name": _string,
    "event_name": _string,
    "source": _string,
    "start_time": _non_negative,
    "end_time": _non_negative,
    "duration": _non_negative,
    **dict.fromkeys(_FREE_OBJECTS, _object),
    "children_ids": _array,
}
#: ``SessionProperties`` (it allows other fields).
_PROPERTIES: Fields = {
    "session_name": _string,
    "start_time": _non_negative,
    "user_properties": _object,
    "metadata": _object,
    "session_id": _uuid,
}
#: ``UpdateEventRequest``.
UPDATE_FIELDS: Fields = {
    **dict.fromkeys(("metadata", "feedback", "metrics", "config"), _object),
    "user_properties": _object,
    "outputs": _object_or_null,
    "duration": _non_negative,
    "end_time": _non_negative,
    "children_ids": _array,
}


def check_object(
    value: Any,
    where: str,
    schema: str,
    fields: Fields,
    errors: list[FieldError],
    *,
    required: tuple[str, ...] = (),
    closed: bool = True,
) -> bool:
    """Check one object against ``fields``; return whether it was an object at all.

    Args:
        value: The parsed value.
        where: Its location in the request (``""`` for the body, ``events[2]``, ...).
        schema: The schema's name, for the message about an unknown field.
        fields: Field name -> checker.
        errors: The list to append ``{"field", "message"}`` entries to.
        required: Fields that must be present.
        closed: Refuse fields not in ``fields`` (``additionalProperties: false``).
    """
    if type(value) is not dict:
        message = f"must be an object, got {_type_name(value)}"
        if not where:
            message = f"request body must be a JSON object, got {_type_name(value)}"
        errors.append({"field": where, "message": message})
        return False
    prefix = f"{where}." if where else ""
    for name in required:
        if name not in value:
            errors.append({"field": prefix + name, "message": "is required"})
    for name, field in value.items():
        check = fields.get(name)
        if check is None:
            if closed:
                message = f"is not a field of {schema} (it allows no other fields)"
                errors.append({"field": prefix + name, "message": message})
            continue
        problem = check(field)
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


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationError(_cap(errors))


def _path_id(value: str, name: str, errors: list[FieldError]) -> None:
    problem = _uuid(value)
    if problem is not None:
        errors.append({"field": name, "message": f"(in the path) {problem}"})


def parse_event(body: Any) -> dict[str, Any]:
    """Validate a ``POST /v1/events`` body (a bare ``PostEventRequest``).

    Raises:
        ValidationError: Naming every offending or unknown field.
    """
    errors: list[FieldError] = []
    check_object(body, "", "PostEventRequest", EVENT_FIELDS, errors, required=_EVENT_REQUIRED)
    _raise(errors)
    return body  # type: ignore[no-any-return]


def _events(body: dict[str, Any], errors: list[FieldError]) -> list[Any]:
    if "events" not in body:
        errors.append({"field": "events", "message": "is required"})
        return []
    events = body["events"]
    if type(events) is not list:
        errors.append(
            {"field": "events", "message": f"must be an array, got {_type_name(events)}"}
        )
        return []
    if not events:
        errors.append({"field": "events", "message": "must contain at least one event"})
    for i, event in enumerate(events):
        check_object(
            event,
            f"events[{i}]",
            "PostEventRequest",
            EVENT_FIELDS,
            errors,
            required=_EVENT_REQUIRED,
        )
    return events


def parse_event_batch(body: Any) -> tuple[list[dict[str, Any]], bool, dict[str, Any]]:
    """Validate a ``POST /v1/events/batch`` body (``PostEventBatchRequest``).

    Returns:
        The events in request order, ``single_session`` and ``session_properties``.

    Raises:
        ValidationError: Naming every offending or unknown field of every event.
    """
    errors: list[FieldError] = []
    fields: Fields = {
        "events": _events_below,
        "single_session": _boolean,
        "session_properties": _object,
    }
    events: list[Any] = []
    if check_object(body, "", "PostEventBatchRequest", fields, errors):
        events = _events(body, errors)
        properties = body.get("session_properties")
        if type(properties) is dict:
            check_object(
                properties, "session_properties", "SessionProperties", _PROPERTIES, errors,
                closed=False,
            )  # fmt: skip
    _raise(errors)
    return events, body.get("single_session", False), body.get("session_properties", {})


def parse_session(body: Any) -> dict[str, Any]:
    """Validate a ``POST /v1/sessions`` body (a bare ``StartSessionRequest``).

    Raises:
        ValidationError: Naming every offending or unknown field.
    """
    errors: list[FieldError] = []
    check_object(body, "", "StartSessionRequest", SESSION_FIELDS, errors)
    _raise(errors)
    return body  # type: ignore[no-any-return]


def parse_session_batch(body: Any, session_id: str) -> list[dict[str, Any]]:
    """Validate a ``POST /v1/sessions/{session_id}/events/batch`` body and its path.

    Returns:
        The events in request order.

    Raises:
        ValidationError: Naming every offending or unknown field.
    """
    errors: list[FieldError] = []
    _path_id(session_id, "session_id", errors)
    events: list[Any] = []
    if check_object(body, "", "SessionEventBatchRequest", {"events": _events_below}, errors):
        events = _events(body, errors)
    _raise(errors)
    return events


def parse_update(body: Any, event_id: str) -> dict[str, Any]:
    """Validate a ``PUT /v1/events/{event_id}`` body and its path.

    Returns:
        The update as ``PUT /events`` takes it: ``event_id`` and the fields to apply. An
        ``outputs`` of null and an empty ``children_ids`` are left out: the server ignores
        them.

    Raises:
        ValidationError: Naming every offending or unknown field.
    """
    errors: list[FieldError] = []
    _path_id(event_id, "event_id", errors)
    check_object(body, "", "UpdateEventRequest", UPDATE_FIELDS, errors)
    _raise(errors)
    update = {"event_id": event_id}
    for name, value in body.items():
        if not (value is None and name == "outputs") and value != []:
            update[name] = value
    return update
