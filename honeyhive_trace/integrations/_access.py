"""Reading provider responses the same way whether they are SDK objects or dicts.

The OpenAI and Anthropic SDKs return pydantic models; OpenAI-compatible servers
called over plain HTTP give the same shapes as dicts. The extractors read both
through :func:`field`, and recognise an object only by what its *class*
declares, so a mock or proxy that answers every attribute is never mistaken
for a response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from honeyhive_trace._wire import to_jsonable

__all__ = [
    "declares",
    "discriminator",
    "dumps",
    "field",
    "given",
    "module_root",
    "plain",
    "token_count",
    "tool_call",
]


def field(obj: Any, name: str) -> Any:
    """Return ``obj[name]`` for a mapping, else ``obj.name``; None when absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def declares(cls: type, name: str) -> bool:
    """Whether pydantic model class *cls* declares a field called *name*."""
    fields = getattr(cls, "model_fields", None)  # pydantic v2
    if not isinstance(fields, Mapping):
        fields = getattr(cls, "__fields__", None)  # pydantic v1
    return isinstance(fields, Mapping) and name in fields


def discriminator(value: Any, name: str) -> Any:
    """Return the field *name* of a dict or of a model whose class declares it."""
    if isinstance(value, Mapping):
        return value.get(name)
    if declares(type(value), name):
        return getattr(value, name, None)
    return None


def module_root(obj: Any) -> str:
    """The top-level package of *obj*'s class, e.g. ``"openai"``."""
    module = getattr(type(obj), "__module__", None) or ""
    return module.partition(".")[0]


def plain(value: Any) -> Any:
    """Return a JSON-ready copy of *value* (SDK objects become dicts)."""
    return to_jsonable(value)


def dumps(value: Any) -> str:
    """Serialise *value* as compact JSON text, the way tool-call arguments are sent."""
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def given(value: Any) -> bool:
    """False for None and for the SDKs' "not given" sentinels (``NOT_GIVEN``, ``omit``)."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


def tool_call(call_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    """One tool call of a response, in the OpenAI Chat Completions shape every provider maps to."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def token_count(value: Any) -> int | None:
    """Return *value* as a token count, or None if it is not a whole number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
