"""The JSON text of what is sent: orjson when installed (the ``[fast]`` extra), else the stdlib.

Both write the same JSON values: compact, UTF-8 as it is, keys in order. The
fast path writes only what it writes exactly as the stdlib path would mean it;
anything else is refused (:func:`fast_dumps` returns None) and goes the careful
way (:func:`honeyhive_trace._wire.encode_event`): subclasses of builtin types,
dataclasses, datetimes, non-string keys, lone surrogates, integers beyond
2**53 (sent as strings), nesting past orjson's 255 levels, and every body
holding a ``null``, because orjson writes NaN and the infinities as ``null``
where the careful path sends ``"NaN"``/``"Infinity"``. On a 2.4 KB model event
orjson takes about a tenth of the stdlib's time (``benchmarks/whole_cost.py``).

orjson is imported when delivery starts (:func:`load_fast`, before the
delivery threads run: an import under way on them at a fork would leave its
lock held in the child), or when an event is first encoded, never by
``import honeyhive_trace``. :func:`use_fast` switches it off, so that tests run
both paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "encode", "fast_dumps", "load_fast", "use_fast"]

#: The stdlib encoder every body can go through: compact, UTF-8 kept, NaN refused.
dumps: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":")
).encode

#: A null as a value: after a key, first in an array, or after a comma. Inside a
#: string it may match too, which only sends that body the careful way.
_NULL = re.compile(rb"[:,\[]null").search

_UNRESOLVED: Any = object()
_fast: Any = _UNRESOLVED
_options = 0


def _resolve() -> Any:
    global _fast, _options
    try:
        import orjson  # optional (the [fast] extra): imported only when an event is encoded
    except ImportError:
        _fast = None
        return None
    _options = (
        orjson.OPT_STRICT_INTEGER  # beyond 2**53: refused, sent as a string by the careful path
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
    )
    _fast = orjson.dumps
    return _fast


def load_fast() -> None:
    """Import orjson now, if it is installed and the fast path is on."""
    if _fast is _UNRESOLVED:
        _resolve()


def use_fast(enabled: bool) -> None:
    """Use orjson when installed (True, the default), or the stdlib only (False)."""
    global _fast
    _fast = _UNRESOLVED if enabled else None


def fast_dumps(body: Any) -> bytes | None:
    """*body* as compact UTF-8 JSON by orjson, or None when the careful path must write it.

    None when orjson is not installed or switched off, when it refuses a value,
    and when the output holds a ``null`` (see the module's doc). Never raises.
    """
    encode = _fast
    if encode is _UNRESOLVED:
        encode = _resolve()
    if encode is None:
        return None
    try:
        data: bytes = encode(body, option=_options)
    except Exception:  # orjson.JSONEncodeError (a TypeError): a value only the careful path writes
        return None
    # The substring search is memchr-fast; the expression only confirms (it alone
    # costs 12 us on a 2.4 KB body: its character class defeats the fast search).
    if b"null" in data and _NULL(data) is not None:
        return None
    return data


def encode(body: Any) -> bytes:
    """Encode a JSON-ready *body* as compact UTF-8 JSON.

    Lone surrogates, which UTF-8 cannot carry, are replaced rather than raising.
    """
    fast = fast_dumps(body)
    if fast is not None:
        return fast
    return dumps(body).encode("utf-8", "replace")
