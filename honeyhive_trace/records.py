"""Immutable records of finished events: the schema, declared once.

A record is built once, when an event has ended, and never mutated afterwards;
processors that want to change one return a new record made with
:func:`attrs.evolve`. These classes do no I/O and know nothing of JSON.

Each field says its role on the wire in its attrs metadata (see :func:`role`):
``required`` fields are always sent, ``optional`` ones are left out while
``None``, and ``free-form`` ones hold whatever the user's code produced (made
JSON-safe when encoded). The one cattrs converter (in ``_wire``), the
processors and the capture path all read these roles instead of keeping lists
of their own.

The family: :class:`Event` holds what every HoneyHive event has (ids, times,
inputs, outputs, config, metadata, metrics, feedback, user properties, error)
and is itself the record of a ``tool`` or ``chain`` step (``POST /events``);
:class:`ModelEvent` adds the model fields of ``POST /events/model``;
:class:`SessionStart` is the root of a session (``POST /session/start``).
:class:`EventUpdate` is not an event but what ``PUT /events`` changes of one
after the fact (feedback, metrics, outputs, ...). :data:`Record` is any of them:
what processors receive.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

__all__ = [
    "EVENT_TYPES",
    "REQUIRED_FIELDS",
    "OPTIONAL_FIELDS",
    "Event",
    "EventUpdate",
    "ModelEvent",
    "Record",
    "Role",
    "SessionStart",
    "Usage",
    "fields_with",
    "role",
]

#: The types of event a step can have (a session is the root, not a step).
EVENT_TYPES = ("model", "tool", "chain")

#: Each field's place on the wire. ``required`` by the contract (always sent),
#: ``identity`` (ids and times, sent unless ``None``) or ``optional`` (sent unless ``None``).
Role = Literal["required", "identity", "optional"]

#: Metadata keys of a field's role (read by the converter in ``_wire``).
ROLE_KEY = _ROLE = "honeyhive_trace.role"
FREE_FORM_KEY = _FREE = "honeyhive_trace.free_form"
_SETTABLE = "honeyhive_trace.settable"
_ARGUMENT = "honeyhive_trace.argument"
IMPLIED_KEY = "honeyhive_trace.implied"


def role(
    kind: Role,
    *,
    free_form: bool = False,
    settable: bool = True,
    argument: bool = False,
) -> dict[str, Any]:
    """The attrs metadata that declares a field's place in the schema.

    Args:
        kind: ``required`` (always on the wire), ``identity`` (ids and times,
            set by the library; left out while ``None``) or ``optional`` (left
            out while ``None``).
        free_form: the field holds user data of any shape (messages, inputs,
            metadata, ...), passed to the JSON encoder as it is and looked into
            by privacy processors.
        settable: user code may set it by name (``model_event(**fields)``,
            ``ev.update(...)``).
        argument: a traced function's argument of this name fills the field
            (``messages``, ``model``, ``tools``, ...) instead of ``inputs``.

    Returns:
        The metadata mapping for :func:`attrs.field`.
    """
    return {_ROLE: kind, _FREE: free_form, _SETTABLE: settable, _ARGUMENT: argument}


def fields_with(
    cls: type,
    *,
    kind: Role | None = None,
    free_form: bool | None = None,
    settable: bool | None = None,
    argument: bool | None = None,
) -> tuple[str, ...]:
    """Names of *cls*'s fields whose declared role matches every given criterion."""
    wanted = {_ROLE: kind, _FREE: free_form, _SETTABLE: settable, _ARGUMENT: argument}
    return tuple(
        a.name
        for a in attrs.fields(cls)
        if all(v is None or a.metadata.get(k) == v for k, v in wanted.items())
    )


def _required(
    *, free_form: bool = False, argument: bool = False, settable: bool = True, **kwargs: Any
) -> Any:
    return attrs.field(
        metadata=role("required", free_form=free_form, settable=settable, argument=argument),
        **kwargs,
    )


def _optional(*, free_form: bool = False, argument: bool = False, settable: bool = True) -> Any:
    return attrs.field(
        default=None,
        metadata=role("optional", free_form=free_form, settable=settable, argument=argument),
    )


def _identity(**kwargs: Any) -> Any:
    kwargs.setdefault("default", None)
    return attrs.field(metadata=role("identity", settable=False), **kwargs)


@attrs.define(frozen=True, slots=True)
class Usage:
    """Token counts of one model call.

    Counts that are not known stay ``None`` and are left out of the JSON body.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@attrs.define(frozen=True, slots=True, kw_only=True)
class Event:
    """What every HoneyHive event carries: identity, nesting, timing and free-form data.

    The record of a ``tool`` or ``chain`` step as sent to ``POST /events``, and
    the base of :class:`ModelEvent` and :class:`SessionStart`. Optional fields
    left ``None`` are not sent.
    """

    #: ``"tool"`` or ``"chain"`` here; ``"model"`` and ``"session"`` in the subclasses.
    event_type: str = attrs.field(default="chain", metadata=role("identity", settable=False))
    project: str = _required()
    duration: float = attrs.field(default=0.0, metadata=role("required", settable=False))

    # Identity, nesting and timing.
    event_id: str = attrs.field(metadata=role("identity", settable=False))
    session_id: str | None = _identity()
    parent_id: str | None = _identity()
    children_ids: list[str] | None = _identity()
    start_time: int = _identity(default=0)
    end_time: int | None = _identity(default=0)
    #: The id of the trace's root event (the outermost event this one ran
    #: inside; its own id at the root): what :func:`~honeyhive_trace.processors.sample`
    #: decides by outside a session. On the record only, never sent.
    trace_id: str | None = attrs.field(
        default=None, metadata={**role("identity", settable=False), IMPLIED_KEY: True}
    )

    error: str | None = _optional()
    # ``POST /events`` requires a source and a name; the record builder sets both.
    source: str | None = _required(default=None)
    event_name: str | None = _required(default=None)

    # Free-form data of any event. ``POST /events`` requires inputs and config
    # (sent as {} when None); a model event leaves them out while unset.
    inputs: dict[str, Any] | None = _required(factory=dict, free_form=True)
    outputs: dict[str, Any] | None = _optional(free_form=True)
    config: dict[str, Any] | None = _required(factory=dict, free_form=True)
    metadata: dict[str, Any] | None = _optional(free_form=True)
    metrics: dict[str, Any] | None = _optional(free_form=True)
    feedback: dict[str, Any] | None = _optional(free_form=True)
    user_properties: dict[str, Any] | None = _optional(free_form=True)


@attrs.define(frozen=True, slots=True, kw_only=True)
class ModelEvent(Event):
    """One finished model call, as sent to ``POST /events/model``.

    Free-form fields (``messages``, ``response``, ``inputs``, ...) hold plain
    Python values; they are made JSON-safe when the record is serialised, so a
    record can hold anything the user's code produced without raising.
    """

    # Implied by the route (``/events/model``): on the record, not in the body.
    event_type: str = attrs.field(
        default="model", metadata={**role("identity", settable=False), IMPLIED_KEY: True}
    )

    # The model fields the contract requires.
    model: str = _required(argument=True)
    provider: str = _required()
    messages: list[Any] = _required(factory=list, free_form=True, argument=True)
    response: dict[str, Any] = _required(factory=dict, free_form=True)
    usage: Usage = _required(factory=Usage)

    # Optional contract fields: ``None`` means "never set" and is omitted.
    source: str | None = _optional()
    event_name: str | None = _optional()
    inputs: dict[str, Any] | None = _optional(free_form=True)
    config: dict[str, Any] | None = _optional(free_form=True)
    cost: float | None = _optional()
    hyperparameters: dict[str, Any] | None = _optional(free_form=True)
    template: list[Any] | None = _optional(free_form=True, argument=True)
    template_inputs: dict[str, Any] | None = _optional(free_form=True, argument=True)
    tools: list[Any] | None = _optional(free_form=True, argument=True)
    tool_choice: str | None = _optional(argument=True)
    response_format: dict[str, Any] | None = _optional(free_form=True, argument=True)


@attrs.define(frozen=True, slots=True, kw_only=True)
class SessionStart(Event):
    """The root event of a session, as sent once to ``POST /session/start``.

    Its ``event_id`` is the ``session_id``. What is known only when the session
    ends (its duration, outputs, metrics, feedback) follows as an
    :class:`EventUpdate` on the session's id.
    """

    event_type: str = attrs.field(default="session", metadata=role("identity", settable=False))
    session_name: str = _required()
    event_name: str | None = _optional()
    #: Unknown when the session starts (its duration follows in an update).
    end_time: int | None = _identity()


@attrs.define(frozen=True, slots=True, kw_only=True)
class EventUpdate:
    """Fields added to an event after its creation, as sent to ``PUT /events``.

    Object fields are merged into the event's by the server; ``duration``
    replaces it. Fields left ``None`` are not sent.
    """

    event_id: str = _required()
    outputs: dict[str, Any] | None = _optional(free_form=True)
    metadata: dict[str, Any] | None = _optional(free_form=True)
    metrics: dict[str, Any] | None = _optional(free_form=True)
    feedback: dict[str, Any] | None = _optional(free_form=True)
    config: dict[str, Any] | None = _optional(free_form=True)
    user_properties: dict[str, Any] | None = _optional(free_form=True)
    duration: float | None = _optional(settable=False)


#: Any record the library sends, which is what processors receive and return.
Record: TypeAlias = Event | EventUpdate

#: Fields of ``model_event`` that HoneyHive requires; always present on the wire.
REQUIRED_FIELDS = fields_with(ModelEvent, kind="required")

#: Optional contract fields of ``model_event``; omitted from the wire when never set.
OPTIONAL_FIELDS = tuple(
    name
    for name in fields_with(ModelEvent, kind="optional")
    if name not in fields_with(Event, free_form=True)
)
