"""The wire format: one cattrs converter turns records into JSON-ready dicts.

Records hold whatever the user's code produced. :func:`to_jsonable` turns any
value into something :func:`json.dumps` accepts, faithfully where JSON has a
form for it and as a bounded ``repr`` otherwise. It never raises: tracing must
not break the traced code, even when an object's ``__repr__`` does.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import attrs
import cattrs

from honeyhive_trace._json import dumps as _dumps
from honeyhive_trace._json import fast_dumps
from honeyhive_trace._numbers import may_hold_unsafe_ints, safe_ints
from honeyhive_trace._unstructure import Unbuilt, fields_writer, record_writer
from honeyhive_trace.records import (
    Event,
    EventUpdate,
    Record,
    Usage,
)

__all__ = [
    "converter",
    "to_jsonable",
    "unstructure_event",
    "encode_event",
    "MAX_REPR",
    "note_degraded",
    "take_degraded",
]

#: Longest ``repr`` kept for an object JSON has no form for.
MAX_REPR = 1000
#: Deepest nesting followed; deeper values become a bounded ``repr``.
MAX_DEPTH = 40

_PRIMITIVES = (str, bool, type(None))
#: Python refuses to turn an int of more digits than this into text (CVE-2020-10735).
_MAX_INT_BITS = 14_000


def _int(value: int) -> int | str:
    if value.bit_length() <= _MAX_INT_BITS:
        return value
    return f"<int of {value.bit_length()} bits>"


class _Degraded(threading.local):
    #: Values of this thread that could not be read and were sent as text instead
    #: (see :func:`take_degraded`). A class default: reading it costs no exception.
    count = 0


_degraded = _Degraded()


def note_degraded(n: int = 1) -> None:
    """Count *n* values of this thread that degraded (were sent as their ``repr``)."""
    _degraded.count += n


def take_degraded() -> int:
    """How many values degraded on this thread since the last call (then 0 again)."""
    count = _degraded.count
    if count:
        _degraded.count = 0
    return count


def _bounded_repr(obj: Any, failed: bool = False) -> str:
    if failed:  # reading the value raised: it degrades to its repr, counted once
        note_degraded()
    try:
        text = repr(obj)
    except KeyboardInterrupt:  # Ctrl-C still stops the program
        raise
    except BaseException:  # a user's __repr__ may raise anything, SystemExit included
        if not failed:
            note_degraded()
        try:
            name = type(obj).__name__
        except KeyboardInterrupt:  # Ctrl-C still stops the program
            raise
        except BaseException:
            name = "object"
        return f"<unrepresentable {name}>"
    if not isinstance(text, str):  # a broken __repr__ can return a non-str
        return "<unrepresentable>"
    if len(text) > MAX_REPR:
        return f"{text[:MAX_REPR]}...<{len(text) - MAX_REPR} more chars>"
    return text


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _bytes(value: bytes | bytearray | memoryview) -> str:
    raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    converted = to_jsonable(key, MAX_DEPTH)  # keys are shallow: no recursion
    return converted if isinstance(converted, str) else json.dumps(converted)


def to_jsonable(obj: Any, _depth: int = 0, _path: set[int] | None = None) -> Any:
    """Return a value :func:`json.dumps` accepts, equivalent to *obj*.

    Containers are followed (tuples and sets become lists, mapping keys become
    strings), datetimes become ISO 8601 strings, non-finite floats become the
    strings ``"NaN"``/``"Infinity"``, attrs/dataclass/pydantic instances become
    objects, a cycle becomes ``"<cycle>"``, and anything else becomes its
    ``repr``, cut to :data:`MAX_REPR` characters.

    Args:
        obj: any Python value.

    Returns:
        A JSON-safe value. Never raises.
    """
    cls = type(obj)
    if cls in _PRIMITIVES:
        return obj
    if cls is int:
        return _int(obj)
    if cls is float:
        return _float(obj)
    try:
        return _container(obj, cls, _depth, _path)
    except RecursionError:
        return "<max depth>"
    except KeyboardInterrupt:  # Ctrl-C still stops the program
        raise
    except BaseException:  # a user's object may raise anything, SystemExit included
        return _degrade(obj, cls)


def _degrade(obj: Any, cls: type) -> Any:
    # A value that raised while being read is sent as its repr; a mapping keeps
    # the shape of one ({"value": "<repr>"}), as the contract's objects require.
    text = _bounded_repr(obj, failed=True)
    try:
        is_mapping = issubclass(cls, (Mapping, dict))
    except KeyboardInterrupt:  # Ctrl-C still stops the program
        raise
    except BaseException:  # a metaclass's __subclasscheck__ may raise
        is_mapping = False
    return {"value": text} if is_mapping else text


def _container(obj: Any, cls: type, depth: int, path: set[int] | None) -> Any:
    # Checks go on the class, not the instance, so that objects answering every
    # attribute (mocks, proxies) are not mistaken for pydantic models.
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value, depth + 1, path)
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return _int(int(obj))
    if isinstance(obj, float):
        return _float(float(obj))
    if depth >= MAX_DEPTH:
        return _bounded_repr(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _bytes(obj)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, datetime.timedelta):
        return obj.total_seconds()
    if isinstance(obj, decimal.Decimal):
        return _float(float(obj)) if obj.is_finite() else str(obj)
    if isinstance(obj, (uuid.UUID, PurePath, complex)):
        return str(obj)

    if path is None:
        path = set()
    marker = id(obj)
    if marker in path:
        return "<cycle>"
    path.add(marker)
    try:
        return _compound(obj, cls, depth + 1, path)
    finally:
        path.discard(marker)


def _compound(obj: Any, cls: type, depth: int, path: set[int]) -> Any:
    if isinstance(obj, Mapping):
        return {_key(k): to_jsonable(v, depth, path) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, frozenset, set, deque)):
        items = [to_jsonable(v, depth, path) for v in obj]
        if isinstance(obj, (set, frozenset)):
            try:
                items.sort(key=json.dumps)
            except (TypeError, ValueError):
                pass
        return items
    if attrs.has(cls):
        return {
            a.name: to_jsonable(getattr(obj, a.name, None), depth, path) for a in attrs.fields(cls)
        }
    if dataclasses.is_dataclass(obj):
        return {
            f.name: to_jsonable(getattr(obj, f.name, None), depth, path)
            for f in dataclasses.fields(obj)
        }
    model_dump = getattr(cls, "model_dump", None)  # pydantic v2
    if callable(model_dump):
        return to_jsonable(model_dump(obj), depth, path)
    legacy_dict = getattr(cls, "dict", None)  # pydantic v1
    if callable(legacy_dict) and hasattr(cls, "__fields__"):
        return to_jsonable(legacy_dict(obj), depth, path)
    tolist = getattr(cls, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return to_jsonable(tolist(obj), depth, path)
    return _bounded_repr(obj)


#: Most original lengths one event records when its strings are truncated.
MAX_RECORDED_LENGTHS = 100


def truncate_strings(value: Any, limit: int, marker: str, path: str, cut: dict[str, int]) -> Any:
    """Copy JSON value *value* with every string over *limit* chars cut, plus *marker*.

    The original length of each cut string goes into *cut*, keyed by its path
    (e.g. ``"messages[0].content"``). Used by the ``truncate`` processor and by
    the transport when the server refuses an event as too large, so both record
    the same ``metadata.original_lengths``.
    """
    if isinstance(value, str):
        if len(value) > limit:
            cut[path] = len(value)
            return value[:limit] + marker
        return value
    if isinstance(value, dict):
        return {
            key: truncate_strings(item, limit, marker, f"{path}.{key}", cut)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            truncate_strings(item, limit, marker, f"{path}[{index}]", cut)
            for index, item in enumerate(value)
        ]
    return value


def record_truncation(metadata: Any, cut: dict[str, int], limit: int) -> dict[str, Any]:
    """Return *metadata* (a copy) with *cut* merged into ``original_lengths``."""
    merged = dict(metadata) if isinstance(metadata, dict) else {}
    lengths = merged.get("original_lengths")
    lengths = dict(lengths) if isinstance(lengths, dict) else {}
    for path, length in cut.items():
        if len(lengths) >= MAX_RECORDED_LENGTHS:
            break
        lengths.setdefault(path, length)
    merged["original_lengths"] = lengths
    merged["truncated_to_chars"] = limit
    return merged


converter = cattrs.Converter()
"""The one converter that knows the wire format of every record."""

# Hook factories: each record class's function is generated on its first use
# (on the worker), not at `import honeyhive_trace`.
converter.register_unstructure_hook_factory(
    lambda cls: isinstance(cls, type) and issubclass(cls, (Usage, Event, EventUpdate)),
    lambda cls: record_writer(cls, converter.get_unstructure_hook),
)
#: Record class -> its fields writer (made on first use, on the worker).
_FIELDS_WRITERS: dict[type, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _write_unbuilt(unbuilt: Unbuilt) -> dict[str, Any]:
    # An Unbuilt is written as its record would be, without making the record.
    write = _FIELDS_WRITERS.get(unbuilt.cls)
    if write is None:
        write = _FIELDS_WRITERS[unbuilt.cls] = fields_writer(
            unbuilt.cls, converter.get_unstructure_hook
        )
    return write(unbuilt.fields)


converter.register_unstructure_hook(Unbuilt, _write_unbuilt)


def unstructure_event(event: Record) -> dict[str, Any]:
    """Return the JSON object of *event* (a ``model_event``, ``event``, ...), JSON-safe.

    Prefer :func:`encode_event`, which needs the slow, careful conversion only
    for values the JSON encoder refuses.
    """
    result: dict[str, Any] = to_jsonable(converter.unstructure(event))
    return result


def encode_event(
    event: Record | Unbuilt, shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> bytes:
    """Return the JSON object of *event* (any record, made or not), as UTF-8 bytes.

    *shape*, when given, rearranges the top-level keys of the object first (an
    API version's body, see :mod:`honeyhive_trace.delivery.codec`).

    orjson, when installed, writes plain data (the common case) in one pass
    (:mod:`honeyhive_trace._json`); else the stdlib's C encoder does. Anything
    they refuse (an unknown object, NaN, a cycle, a container changed by another
    thread while being read) makes the whole event go through
    :func:`to_jsonable` instead. Never raises for the event's contents.
    """
    body = converter.unstructure(event)
    if shape is not None:
        try:
            body = shape(body)
        except KeyboardInterrupt:  # Ctrl-C still stops the program
            raise
        except BaseException:  # a user's mapping that cannot be read: its JSON form is
            body = shape(to_jsonable(body))
    fast = fast_dumps(body)
    if fast is not None:
        return fast
    try:
        text = _dumps(body)
    except KeyboardInterrupt:  # Ctrl-C still stops the program
        raise
    except BaseException:  # TypeError, ValueError, RecursionError, a user's __repr__...
        body = to_jsonable(body)
        text = _dumps(body)
    data = text.encode("utf-8", "replace")
    # Integers beyond 2**53 go out as strings: a JavaScript backend would round
    # them. A pass over the bytes in C finds the rare body that may have one.
    if may_hold_unsafe_ints(data, text):
        data = _dumps(safe_ints(body)).encode("utf-8", "replace")
    return data
