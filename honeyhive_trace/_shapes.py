"""Shaping user values into the forms the contract requires, without ever raising.

A traced call can hand the library anything: a numpy array as ``messages``, a
pydantic model as ``response``, a mapping whose ``__iter__`` raises. These
helpers turn such values into the shapes of the wire format (an object, an
array of objects, a string, a finite number) and are shared by the capture
path (``set_usage`` on the caller's thread), the record builder and the
integrations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from honeyhive_trace._wire import note_degraded, to_jsonable
from honeyhive_trace.records import Usage

__all__ = [
    "MERGED",
    "UNSET",
    "apply",
    "array",
    "count",
    "error_text",
    "finite_number",
    "given",
    "merge_into",
    "messages",
    "obj",
    "optional",
    "outputs_from",
    "response_from",
    "response_from_chunks",
    "str_field",
    "usage_from",
]


_NO_USAGE = Usage()

#: Largest count the wire format carries (the collector stores int64).
_INT64_MAX = 2**63 - 1

#: Fields whose mapping values are merged key by key rather than replaced.
MERGED = frozenset(
    {"hyperparameters", "inputs", "metadata", "outputs", "config", "metrics", "feedback"}
    | {"user_properties"}
)

#: The result of a call that ended without one (an exception, a ``with`` block).
UNSET: Any = object()
_UNSET = UNSET


def usage_from(
    usage: Any,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    total_tokens: int | None = None,
) -> Usage:
    """The token counts of *usage* (a mapping or an object) and the explicit counts.

    Never raises: a value that cannot even be looked at (a lazy proxy whose
    ``__class__`` raises) counts as no count, and is counted as degraded.
    """
    nothing = usage is None and prompt_tokens is None and completion_tokens is None
    if nothing and total_tokens is None:  # the common case, without a call
        return _NO_USAGE
    if (
        usage is None
        and total_tokens is None
        and type(prompt_tokens) is int
        and type(completion_tokens) is int
        and 0 <= prompt_tokens <= _INT64_MAX
        and 0 <= completion_tokens <= _INT64_MAX
    ):  # set_usage(prompt_tokens=..., completion_tokens=...): what _usage_from would make
        return Usage(prompt_tokens, completion_tokens, count(prompt_tokens + completion_tokens))
    try:
        return _usage_from(usage, prompt_tokens, completion_tokens, total_tokens)
    except Exception:
        note_degraded()
        explicit = (prompt_tokens, completion_tokens)
        return Usage(*(count(x) if type(x) is int else None for x in explicit))


def _usage_from(
    usage: Any,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    total_tokens: int | None,
) -> Usage:
    if isinstance(usage, Usage):
        return usage
    # `is None`, never `==`: this runs on the caller's thread (set_usage) and a
    # user object's __eq__ may raise.
    if usage is None and prompt_tokens is None and completion_tokens is None:
        if total_tokens is None:
            return _NO_USAGE
    if usage is not None:

        def get(key: str) -> Any:
            try:
                if isinstance(usage, Mapping):
                    return usage.get(key)
                return getattr(usage, key, None)
            except Exception:  # a broken mapping, or a __getattr__ raising
                return None

        prompt_tokens = prompt_tokens if prompt_tokens is not None else get("prompt_tokens")
        completion_tokens = (
            completion_tokens if completion_tokens is not None else get("completion_tokens")
        )
        total_tokens = total_tokens if total_tokens is not None else get("total_tokens")
    counts = [count(x) for x in (prompt_tokens, completion_tokens, total_tokens)]
    if counts[2] is None and counts[0] is not None and counts[1] is not None:
        counts[2] = count(counts[0] + counts[1])
    return Usage(*counts)


def count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        count = int(value)
    except Exception:  # TypeError, ValueError, OverflowError, or a broken __int__
        return None
    return count if 0 <= count <= _INT64_MAX else None


def messages(value: Any, name: str = "") -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:  # a list is neither a str nor a Mapping
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
        if isinstance(value, Mapping):
            value = [value]
    if type(value) is list:
        for message in value:
            if type(message) is not dict:
                break
        else:
            return value  # the common case; made JSON-safe when encoded
    converted = to_jsonable(value)
    if not isinstance(converted, list):
        return [{"role": "user", "content": converted}]
    return [m if isinstance(m, dict) else {"role": "user", "content": m} for m in converted]


def response_from(result: Any) -> dict[str, Any]:
    """Turn what a traced function returned into the ``response`` object."""
    if result is None or result is _UNSET:
        return {}
    if isinstance(result, str):
        return {"role": "assistant", "content": result}
    if isinstance(result, dict):
        return result
    converted = to_jsonable(result)
    if isinstance(converted, dict):
        return converted
    return {"role": "assistant", "content": converted}


def outputs_from(value: Any) -> dict[str, Any] | None:
    """A step's ``outputs``: a mapping as it is, anything else as ``{"result": value}``.

    None (or no result at all) gives None: nothing to send.
    """
    if value is None or value is _UNSET:
        return None
    if isinstance(value, Mapping):
        return obj(value)
    return {"result": value}


def response_from_chunks(chunks: list[Any]) -> dict[str, Any]:
    if all(isinstance(c, str) for c in chunks):
        return {"role": "assistant", "content": "".join(chunks)}
    return {"role": "assistant", "content": to_jsonable(chunks)}


def error_text(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = "<unprintable>"
    return f"{name}: {message}" if message else name


def str_field(value: Any) -> str:
    if isinstance(value, str):
        return value
    converted = to_jsonable(value)
    return converted if isinstance(converted, str) else json.dumps(converted)


def finite_number(value: Any) -> float | None:
    try:
        number = float(value)
    except Exception:  # TypeError, ValueError, OverflowError, or a broken __float__
        return None
    return number if math.isfinite(number) else None


def apply(fields: dict[str, Any], updates: Mapping[str, Any]) -> None:
    """Lay *updates* over *fields*; mapping-valued fields are merged key by key."""
    for name, value in updates.items():
        if name in MERGED and (type(value) is dict or isinstance(value, Mapping)):
            fields[name] = merge_into(fields.get(name), value)
        else:
            fields[name] = value


def obj(value: Any, name: str = "") -> dict[str, Any]:
    """An object-typed field: a mapping is kept; anything else is wrapped."""
    if value is None:
        return {}
    if type(value) is dict:
        return value
    if isinstance(value, Mapping):
        try:
            return dict(value)
        except Exception:  # a mapping that cannot be read
            return {"value": to_jsonable(value)}
    if name == "response_format" and isinstance(value, str):
        return {"type": value}  # e.g. "json_object"
    converted = to_jsonable(value)  # e.g. a pydantic model becomes its fields
    return converted if isinstance(converted, dict) else {"value": converted}


def array(value: Any, name: str = "") -> list[Any]:
    """An array of objects (``tools``): a list or tuple is kept, anything else wrapped.

    Items that are not objects become one: their JSON form, or ``{"value": ...}``.
    """
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    return [item if isinstance(item, dict) else obj(item) for item in items]


def merge_into(target: Any, values: Any) -> dict[str, Any]:
    """Merge mapping *values* into *target* (kept if a dict, else a new dict); never raises.

    A mapping that cannot be read, or a value that is not one, is kept whole
    under ``"value"``.
    """
    merged: dict[str, Any] = target if type(target) is dict else {}
    if values is None:
        return merged
    try:
        if type(values) is dict or isinstance(values, Mapping):
            merged.update(values)
            return merged
    except Exception:  # a mapping that cannot be read, or a proxy that cannot be checked
        pass
    merged["value"] = values
    return merged


def given(value: Any) -> bool:
    """Whether a field was given: not None, nor an empty string or container.

    Never calls the value's own ``__bool__``/``__len__`` (a numpy array's raises).
    """
    if value is None:
        return False
    if type(value) in (str, list, tuple, dict):
        return len(value) > 0
    return True


def optional(fields: dict[str, Any], name: str, shape: Any) -> Any:
    value = fields.get(name)
    if value is None:
        return None
    return shape(value, name) if shape is not str_field else shape(value)
