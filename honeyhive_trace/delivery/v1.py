"""HoneyHive's v1 data plane: our records in the generic v1 event shape.

The v1 routes (``POST /v1/events``, ``/v1/events/batch``, ``/v1/sessions``,
``PUT /v1/events/{event_id}``) take one shape for every event type, and refuse
fields they do not know (``additionalProperties: false``). Each function here
takes the legacy JSON object of one item (what :func:`~honeyhive_trace._wire.encode_event`
writes for ``/events/model``, ``/events``, ``/session/start`` and
``PUT /events``) and returns its v1 body. The functions are shallow: they move
top-level keys and never walk the user's values, so the same bytes come out
whether an item is encoded for v1 at once or first spooled in the legacy shape
and turned into v1 on replay.

The table of every field is in ``docs/howto/api-versions.rst``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["EVENT_KEYS", "SESSION_KEYS", "UPDATE_KEYS", "V1_SHAPES"]

#: The fields of a v1 event (``PostEventRequest``); any other key is refused.
EVENT_KEYS = frozenset(
    {
        "project_id",
        "source",
        "event_name",
        "event_type",
        "event_id",
        "session_id",
        "parent_id",
        "children_ids",
        "config",
        "inputs",
        "outputs",
        "error",
        "start_time",
        "end_time",
        "duration",
        "metadata",
        "feedback",
        "metrics",
        "user_properties",
    }
)
#: The fields of a v1 session start (``StartSessionRequest``).
SESSION_KEYS = frozenset(
    {
        "session_id",
        "session_name",
        "event_name",
        "source",
        "start_time",
        "end_time",
        "duration",
        "config",
        "inputs",
        "outputs",
        "metadata",
        "user_properties",
        "children_ids",
    }
)
#: The fields a v1 update (``UpdateEventRequest``) changes.
UPDATE_KEYS = frozenset(
    {
        "metadata",
        "feedback",
        "metrics",
        "outputs",
        "config",
        "user_properties",
        "duration",
        "end_time",
        "children_ids",
    }
)

#: Model fields that describe the request: they go into ``config`` under their names.
_CONFIG_FIELDS = ("model", "provider", "template", "tools", "tool_choice", "response_format")
#: Token counts: into ``metadata``, as HoneyHive's SDK and the spec's example put them.
_USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def model_event(body: dict[str, Any]) -> dict[str, Any]:
    """The v1 body of a legacy ``model_event`` object.

    ``config`` gains the hyperparameters (``config.temperature``, ...), then
    ``model``, ``provider``, ``template``, ``tools``, ``tool_choice`` and
    ``response_format``; ``inputs`` gains the messages as ``chat_history`` and
    the ``template_inputs``; ``outputs`` is the response (over any outputs set
    on the event); ``metadata`` gains the token counts and ``cost``.
    ``project`` is left out: v1 takes it from the key. These are the places
    HoneyHive's ingest fills from the OpenTelemetry GenAI attributes (its
    semantic-conventions registry), which the v1 schema leaves free.
    """
    config = _object(body.get("config"))
    config.update(_object(body.get("hyperparameters")))
    for name in _CONFIG_FIELDS:
        if body.get(name) is not None:
            config[name] = body[name]
    inputs = _object(body.get("inputs"))
    inputs["chat_history"] = body.get("messages") or []
    if body.get("template_inputs") is not None:
        inputs["template_inputs"] = body["template_inputs"]
    outputs = _object(body.get("outputs"))
    outputs.update(_object(body.get("response")))
    metadata = _object(body.get("metadata"))
    usage = _object(body.get("usage"))
    for name in _USAGE_FIELDS:
        if usage.get(name) is not None:
            metadata[name] = usage[name]
    if body.get("cost") is not None:
        metadata["cost"] = body["cost"]
    shaped = {k: v for k, v in body.items() if k in EVENT_KEYS}
    shaped["event_type"] = "model"
    shaped["config"] = config
    shaped["inputs"] = inputs
    shaped["outputs"] = outputs
    if metadata:
        shaped["metadata"] = metadata
    return shaped


def step_event(body: dict[str, Any]) -> dict[str, Any]:
    """The v1 body of a legacy tool or chain ``event`` object: the same fields
    less ``project``."""
    shaped = {k: v for k, v in body.items() if k in EVENT_KEYS}
    shaped.setdefault("inputs", {})
    return shaped


def session_start(body: dict[str, Any]) -> dict[str, Any]:
    """The v1 body of a legacy ``session`` object.

    v1 sessions have no ``metrics``, ``feedback`` or ``error`` at the start;
    when a processor set them, they are kept under those names in ``metadata``.
    """
    shaped = {k: v for k, v in body.items() if k in SESSION_KEYS}
    folded = {k: body[k] for k in ("metrics", "feedback", "error") if body.get(k) is not None}
    if folded:
        shaped["metadata"] = {**_object(body.get("metadata")), **folded}
    return shaped


def update(body: dict[str, Any]) -> dict[str, Any]:
    """The v1 body of a legacy update: the same fields less ``event_id``, which
    moves into the path (``PUT /v1/events/{event_id}``)."""
    return {k: v for k, v in body.items() if k in UPDATE_KEYS}


#: Item kind -> the function that shapes its legacy object for v1.
V1_SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "model": model_event,
    "event": step_event,
    "session": session_start,
    "update": update,
}
