"""Integers a JavaScript backend cannot hold exactly, found and sent as strings.

JSON numbers are read as IEEE doubles by JavaScript (and by many other
backends): an integer beyond 2**53 - 1 comes back rounded, or as ``Infinity``.
The encoder (:func:`honeyhive_trace._wire.encode_event`) sends such integers as
strings of their digits. Finding them must cost next to nothing on the common
body that has none: :func:`may_hold_unsafe_ints` is one ``bytes.translate`` and
one substring search, in C; only a body that has one is walked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_SAFE_INT", "may_hold_unsafe_ints", "safe_ints"]

#: Largest integer a JavaScript number (an IEEE double) holds exactly.
MAX_SAFE_INT = 2**53 - 1
#: Every byte to a space but the ASCII digits (to "0") and the dot: a space then
#: sixteen "0" marks 16 digits that do not follow a dot, the only way an unsafe
#: integer can appear in JSON (a float's digits follow its dot). bytes.translate
#: and ``in`` take under a microsecond for a typical body (600 bytes); a regular
#: expression over the text takes over ten.
_DIGITS = bytes(48 if 48 <= i <= 57 else 46 if i == 46 else 32 for i in range(256))
_RUN = b"0" * 16  # searched first: four times faster than the longer needle
_SIXTEEN = b" " + _RUN
#: An integer token of 16 or more digits (not a float's digits, nor inside a longer run).
_LONG_INT = re.compile(r"(?<![\w.+\-])-?\d{16,}(?![\w.])").search
#: Top-level fields whose integers are counts the contract types as integers.
_COUNTS = frozenset({"usage"})


def may_hold_unsafe_ints(data: bytes, text: str) -> bool:
    """Whether the JSON *data* (and its *text*) may hold an integer beyond 2**53 - 1.

    False for certain; True also for 16 digits inside a string (then
    :func:`safe_ints` changes nothing).
    """
    digits = data.translate(_DIGITS)
    return _RUN in digits and _SIXTEEN in digits and _LONG_INT(text) is not None


def _safe_int(value: int) -> int | str:
    # A JSON-ready int has at most Python's 4,300 digits (the encoder refuses
    # more, and to_jsonable replaced it): str() never refuses it.
    return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else str(value)


def safe_ints(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the JSON-ready *body* with every integer beyond 2**53 - 1 as a string.

    Iterative (bodies may nest deeper than the recursion limit); the keys keep
    their order; ``usage`` is left as it is (token counts are integers by
    contract, int64 at most).
    """
    out: dict[str, Any] = dict.fromkeys(body)
    stack: list[tuple[Any, Any, Any]] = []  # (source value, target container, key or index)
    for key, value in body.items():
        if key in _COUNTS:
            out[key] = value
        else:
            stack.append((value, out, key))
    while stack:
        value, target, key = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool):
            converted: Any = _safe_int(int(value))
        elif isinstance(value, Mapping):
            converted = dict.fromkeys(value)
            stack.extend((v, converted, k) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            converted = [None] * len(value)
            stack.extend((v, converted, i) for i, v in enumerate(value))
        else:
            converted = value
        target[key] = converted
    return out
