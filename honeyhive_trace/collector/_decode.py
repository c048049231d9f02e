"""Strict JSON decoding of request bodies that keeps the exact text of each event.

Storing the text a client sent, instead of re-encoding the parsed event, makes reads return
exactly what was posted and halves the cost of a batch. The envelope (``{"model_events":
[...], ...}``) is walked here by hand; every value inside it is parsed by the json module's C
scanner. Anything the fast walk does not understand falls back to a plain ``json.loads``,
which also produces the error message for malformed bodies.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from honeyhive_trace.collector._validate import ValidationError

_WS = re.compile(r"[ \t\n\r]*")
_WS_CHARS = frozenset(" \t\n\r")


def _skip(text: str, i: int) -> int:
    """Return the index of the first non-whitespace character at or after ``i``."""
    match = _WS.match(text, i)
    return match.end() if match is not None else i


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        raise ValidationError([{"field": "", "message": message}]) from None


def _loads(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        message = f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        message = f"malformed JSON: {exc}"
    raise ValidationError([{"field": "", "message": message}])


def decode_json(raw: bytes) -> Any:
    """Parse a request body as strict JSON: UTF-8, no NaN or infinite numbers.

    Args:
        raw: The request body.

    Returns:
        The parsed value.

    Raises:
        ValidationError: If the body is not valid JSON.
    """
    return _loads(_text(raw))


def decode_envelope(raw: bytes, key: str, *, many: bool) -> tuple[Any, list[str] | None]:
    """Parse a request body and find the exact JSON text of its event(s).

    Args:
        raw: The request body.
        key: The member holding the event(s): ``model_event`` or ``model_events``.
        many: Whether that member is an array of events.

    Returns:
        The parsed body, and the JSON text of each event (one for ``many=False``), or None
        when the body does not have the expected shape; validation then explains why.

    Raises:
        ValidationError: If the body is not valid JSON.
    """
    text = _text(raw)
    try:
        return _walk_object(text, key, many)
    except (ValueError, StopIteration, IndexError, RecursionError):
        pass
    return _loads(text), None


def _walk_object(text: str, key: str, many: bool) -> tuple[dict[str, Any], list[str] | None]:
    i = _skip(text, 0)
    if text[i : i + 1] != "{":
        raise ValueError("not an object")
    body: dict[str, Any] = {}
    texts: list[str] | None = None
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i : i + 1] != '"':
                raise ValueError("expecting a property name")
            name, i = _scanstring(text, i + 1)
            i = _skip(text, i)
            if text[i : i + 1] != ":":
                raise ValueError("expecting ':'")
            i = _skip(text, i + 1)
            start = i
            if name == key and many and text[i : i + 1] == "[":
                value, texts, i = _walk_array(text, i)
            else:
                value, i = _scan(text, i)
                if name == key:
                    texts = None if many else [text[start:i]]
            body[name] = value
            i = _skip(text, i)
            if text[i : i + 1] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i : i + 1] != "}":
                raise ValueError("expecting ',' or '}'")
            i += 1
            break
    if _skip(text, i) != len(text):
        raise ValueError("extra data")
    return body, texts


def _walk_array(text: str, i: int) -> tuple[list[Any], list[str], int]:
    values: list[Any] = []
    texts: list[str] = []
    i = _skip(text, i + 1)
    if text[i : i + 1] == "]":
        return values, texts, i + 1
    scan, ws = _scan, _WS_CHARS
    while True:
        start = i
        value, i = scan(text, i)
        values.append(value)
        texts.append(text[start:i])
        sep = text[i : i + 1]
        if sep and sep in ws:  # compact JSON skips the regex entirely
            i = _skip(text, i)
            sep = text[i : i + 1]
        if sep == ",":
            i += 1
            if text[i : i + 1] in ws:
                i = _skip(text, i)
            continue
        if sep != "]":
            raise ValueError("expecting ',' or ']'")
        return values, texts, i + 1
