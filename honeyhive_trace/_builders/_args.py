"""Sorting a call's arguments and a decorator's defaults into event fields.

:func:`call_fields` does it for a decorated function's call from a plan made
once per shape of call (how many positional arguments, which keywords): the
decorator's defaults and the defaults of the parameters not given are sorted
once, and each call only puts its arguments in their places.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from honeyhive_trace import _shapes as shapes
from honeyhive_trace.capture import SETTABLE_FIELDS, CallSpec
from honeyhive_trace.records import ModelEvent, fields_with

__all__ = [
    "CALL_FIELDS",
    "HYPERPARAMETERS",
    "PLANS_KEPT",
    "bound_arguments",
    "call_fields",
    "copied",
    "route",
    "routed",
]

#: Call arguments that become ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {"temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "stop", "n"}
)
#: Call arguments that fill a contract field of the same name.
CALL_FIELDS = frozenset(fields_with(ModelEvent, argument=True))
_MERGED = shapes.MERGED

# Where route() sends a name: one dict lookup per argument instead of three set lookups.
_HYPER = "hyperparameters"
_FIELD = "field"
_ARGUMENT_ROUTES = {**dict.fromkeys(CALL_FIELDS, _FIELD), **dict.fromkeys(HYPERPARAMETERS, _HYPER)}
_EXPLICIT_ROUTES = {**dict.fromkeys(SETTABLE_FIELDS, _FIELD), **_ARGUMENT_ROUTES}


def bound_arguments(
    spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Map a call's arguments to parameter names; ``**kwargs`` are flattened."""
    names = spec.positional
    out: dict[str, Any] = dict(zip(names, args, strict=False))
    if len(args) > len(names):
        out[spec.var_positional or "args"] = list(args[len(names) :])
    out.update(kwargs)
    for name, default in spec.param_defaults:
        if name not in out:
            out[name] = default
    if spec.skip is not None:
        out.pop(spec.skip, None)
    return out


def routed(spec: CallSpec) -> dict[str, Any]:
    """The decorator's defaults sorted into event fields, once per decorated function."""
    if not spec.routed and spec.defaults:
        fields: dict[str, Any] = {}
        route(spec.defaults, fields, explicit=True)
        spec.routed.update(fields)
    return spec.routed


def copied(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of *template* (a spec's routed defaults) whose nested dicts are copies too.

    They are merged into per event.
    """
    fields = template.copy()
    for name, value in template.items():
        if type(value) is dict:
            fields[name] = value.copy()
    return fields


def route(values: Mapping[str, Any], fields: dict[str, Any], explicit: bool) -> None:
    """Sort call arguments (or ``model_event``/``event`` keywords) into event fields.

    Args:
        values: argument (or field) names and values.
        fields: the event fields being built, updated in place.
        explicit: *values* name fields (``model_event(metadata=...)``), so every
            settable field name is taken as that field; otherwise only the
            model's call fields (``messages``, ``tools``, ...) are, and the
            other arguments go to ``inputs``.
    """
    hyper: dict[str, Any] = fields.setdefault("hyperparameters", {})
    inputs: dict[str, Any] = fields.setdefault("inputs", {})
    routes = _EXPLICIT_ROUTES if explicit else _ARGUMENT_ROUTES
    for name, value in values.items():
        where = routes.get(name)
        if where is None:
            inputs[name] = value
        elif value is None:
            continue
        elif where is _HYPER:
            hyper[name] = value
        elif name in _MERGED and isinstance(value, Mapping):
            fields[name] = shapes.merge_into(fields.get(name), value)
        else:
            fields[name] = value


#: Shapes of call planned per decorated function; a function called with
#: ever new keywords (``**kwargs``) has its other calls sorted the general way.
PLANS_KEPT = 32

#: (name, route, placed): where an argument goes; *placed* when the plan made
#: its entry in ``hyperparameters`` (removed again when the argument is None).
_Slot = tuple[str, "str | None", bool]


class _Plan(NamedTuple):
    """How a decorated function's calls of one shape are sorted into fields."""

    #: The fields before the arguments: the decorator's defaults, the defaults of
    #: the parameters not given, and an entry for each argument in ``inputs`` (and
    #: ``hyperparameters``) where it goes, so that their order is the arguments'.
    template: dict[str, Any]
    #: Positional arguments left out first (``self``/``cls``).
    skip: int
    positional: tuple[_Slot, ...]
    keywords: tuple[_Slot, ...]


#: No plan for this shape of call: sorted by :func:`route` (e.g. an argument given
#: twice, or ``*args``).
_GENERAL: Any = object()


def call_fields(spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The fields a decorated function's call gives its model event.

    The same as ``route(bound_arguments(spec, args, kwargs), copied(routed(spec)),
    explicit=False)``, with the same order of keys in ``inputs`` and
    ``hyperparameters`` (the record's field order decides the body's), from the
    plan of this shape of call.
    """
    key: Any = len(args) if not kwargs else (len(args), *kwargs)
    plans = spec.plans
    plan = plans.get(key)
    if plan is None:  # a new shape: planned while there is room, else the general way
        if len(plans) < PLANS_KEPT:
            plan = plans[key] = _plan(spec, len(args), tuple(kwargs))
        else:
            plan = _GENERAL
    if plan is _GENERAL:
        fields = copied(routed(spec))
        route(bound_arguments(spec, args, kwargs), fields, explicit=False)
        return fields
    fields = copied(plan.template)
    hyper, inputs = fields["hyperparameters"], fields["inputs"]
    _fill(plan.positional, args[plan.skip :] if plan.skip else args, fields, hyper, inputs)
    if kwargs:
        _fill(plan.keywords, kwargs.values(), fields, hyper, inputs)
    return fields


def _fill(
    slots: tuple[_Slot, ...],
    values: Iterable[Any],
    fields: dict[str, Any],
    hyper: dict[str, Any],
    inputs: dict[str, Any],
) -> None:
    for (name, where, placed), value in zip(slots, values, strict=False):
        if where is None:
            inputs[name] = value
        elif value is None:  # as route(): a None argument sets nothing
            if placed:
                del hyper[name]
        elif where is _HYPER:
            hyper[name] = value
        else:
            fields[name] = value


def _plan(spec: CallSpec, count: int, keywords: tuple[str, ...]) -> Any:
    names = spec.positional
    given = names[:count]
    if count > len(names) or not set(given).isdisjoint(keywords) or spec.skip in keywords:
        return _GENERAL  # *args, an argument given twice (the call raised), self by keyword
    skip = 1 if spec.skip is not None and count else 0
    template = copied(routed(spec))
    hyper: dict[str, Any] = template.setdefault("hyperparameters", {})
    inputs: dict[str, Any] = template.setdefault("inputs", {})

    def slots(arguments: tuple[str, ...]) -> tuple[_Slot, ...]:
        out = []
        for name in arguments:
            where = _ARGUMENT_ROUTES.get(name)
            placed = where is _HYPER and name not in hyper
            if where is None:
                inputs.setdefault(name, None)
            elif placed:
                hyper[name] = None
            out.append((name, where, placed))
        return tuple(out)

    positional, by_keyword = slots(given[skip:]), slots(keywords)
    taken = {*given, *keywords, spec.skip}
    rest = {name: default for name, default in spec.param_defaults if name not in taken}
    route(rest, template, explicit=False)
    return _Plan(template, skip, positional, by_keyword)
