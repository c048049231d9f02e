"""Sorting a call's arguments and a decorator's defaults into event fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace.capture import SETTABLE_FIELDS, CallSpec
from honeyhive_trace.records import ModelEvent, fields_with

__all__ = ["CALL_FIELDS", "HYPERPARAMETERS", "bound_arguments", "copied", "route", "routed"]

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
