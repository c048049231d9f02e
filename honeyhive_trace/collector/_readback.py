"""v1 events and sessions read back into the shapes the legacy routes store.

The v1 routes take one generic event shape; the model fields live in ``config``,
``inputs``, ``outputs`` and ``metadata``. The collector keeps every event in one table, so
it reads a v1 event the way HoneyHive's server reads it and stores what the legacy routes
would have stored for the same event. The viewer, ``honeyhive-trace events`` and ``demo``
then show both alike. A model event's fields come back from where v1 puts them:
``config.model``, ``config.provider``, ``config.template``, ``config.tools``,
``config.tool_choice`` and ``config.response_format`` become the fields of those names (of
the right type only); the other ``config`` keys become ``hyperparameters`` (our client puts
them there, and a model event's own ``config`` joins them in v1); ``inputs.chat_history``
becomes ``messages`` and ``inputs.template_inputs`` ``template_inputs`` (other inputs stay);
``outputs`` becomes ``response``; ``metadata.prompt_tokens``, ``completion_tokens`` and
``total_tokens`` become ``usage`` and ``metadata.cost`` ``cost`` (other metadata stays); the
``event_type`` is left out, as the legacy model-event routes take none.

Tool and chain events are stored as they came. v1 has no ``project`` (HoneyHive takes it
from the API key): every v1 event and session is stored under the collector's
``default_project``. Where a field is missing, the server's defaults fill it:
``event_name`` and ``source`` ``"unknown"``, a ``duration`` from ``end_time - start_time``
(else 0), and a session's name from its ``event_name``.
"""

from __future__ import annotations

import uuid
from typing import Any

#: Config keys that are model fields, with the type each must have to be read as one.
_MODEL_FIELDS: tuple[tuple[str, type], ...] = (
    ("model", str),
    ("provider", str),
    ("template", list),
    ("tools", list),
    ("tool_choice", str),
    ("response_format", dict),
)
_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")
#: Fields moved by the model-event mapping; the others are copied.
_MOVED = frozenset({"config", "inputs", "outputs", "metadata", "event_type"})
#: What a v1 session start answers beside the session: the tenant it was stored for.
ORG_ID = "local"
WORKSPACE_ID = "local"


def _duration(item: dict[str, Any]) -> float:
    start, end = item.get("start_time"), item.get("end_time")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return float(max(0, end - start))
    return 0.0


def _defaults(item: dict[str, Any]) -> None:
    item.setdefault("event_name", "unknown")
    item.setdefault("source", "unknown")
    if "duration" not in item:
        item["duration"] = _duration(item)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _model(event: dict[str, Any], project: str) -> dict[str, Any]:
    stored: dict[str, Any] = {"project": project}
    stored.update((k, v) for k, v in event.items() if k not in _MOVED)
    config = dict(event.get("config") or {})
    for name, kind in _MODEL_FIELDS:
        if type(config.get(name)) is kind:
            stored[name] = config.pop(name)
    stored.setdefault("model", "")
    stored.setdefault("provider", "")
    if config:
        stored["hyperparameters"] = config
    inputs = dict(event["inputs"])
    history = inputs.get("chat_history")
    stored["messages"] = []
    if type(history) is list and all(type(m) is dict for m in history):
        stored["messages"] = inputs.pop("chat_history")
    if type(inputs.get("template_inputs")) is dict:
        stored["template_inputs"] = inputs.pop("template_inputs")
    if inputs:
        stored["inputs"] = inputs
    stored["response"] = dict(event.get("outputs") or {})
    metadata = dict(event.get("metadata") or {})
    stored["usage"] = {n: metadata.pop(n) for n in _USAGE if _count(metadata.get(n))}
    cost = metadata.get("cost")
    if type(cost) in (int, float):
        stored["cost"] = metadata.pop("cost")
    if metadata or event.get("metadata") == {}:
        stored["metadata"] = metadata
    _defaults(stored)
    return stored


def stored_event(event: dict[str, Any], project: str) -> dict[str, Any]:
    """Return what the legacy routes would store for a validated v1 tool, chain or model
    event (a new dict).

    Args:
        event: A validated ``PostEventRequest`` whose ``event_type`` is not ``session``.
        project: The project to store it under.
    """
    if event["event_type"] == "model":
        return _model(event, project)
    stored = {"project": project, **event}
    _defaults(stored)
    return stored


def stored_session(session: dict[str, Any], project: str) -> dict[str, Any]:
    """Return what ``POST /session/start`` would store for a validated v1 session (a new
    dict, with its ``session_id``: the posted one or a new UUID).

    Args:
        session: A validated ``StartSessionRequest``, or a ``PostEventRequest`` of
            ``event_type`` ``session`` (its ``event_id`` is the session's id).
        project: The project to store it under.
    """
    stored = {"project": project, **session}
    stored.pop("parent_id", None)
    session_id = stored.get("session_id") or stored.get("event_id") or str(uuid.uuid4())
    stored["session_id"] = stored["event_id"] = session_id
    stored["event_type"] = "session"
    stored.setdefault("session_name", stored.get("event_name"))
    stored.setdefault("source", "unknown")
    return stored


def session_answer(stored: dict[str, Any]) -> dict[str, Any]:
    """Return the answer to ``POST /v1/sessions`` (``PostSessionStartResponse``): the
    session event as stored, with the tenant's ids.

    Args:
        stored: The session as :func:`stored_session` made it.
    """
    answer: dict[str, Any] = {
        "event_id": stored["session_id"],
        "session_id": stored["session_id"],
        "parent_id": None,
        "children_ids": stored.get("children_ids", []),
        "event_type": "session",
        "event_name": stored.get("event_name") or stored.get("session_name") or "unknown",
        "source": stored.get("source"),
        "error": stored.get("error"),
        "duration": stored.get("duration"),
        "start_time": stored.get("start_time"),
        "end_time": stored.get("end_time"),
        "org_id": ORG_ID,
        "workspace_id": WORKSPACE_ID,
        "project_id": stored["project"],
    }
    for name in ("config", "inputs", "outputs", "metadata", "user_properties", "metrics"):
        answer[name] = stored.get(name, {})
    answer["feedback"] = stored.get("feedback", {})
    return answer
