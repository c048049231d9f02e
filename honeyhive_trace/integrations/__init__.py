"""Integrations with LLM client libraries: response extractors and client wrappers.

An extractor is a plain function that looks at what a traced function
returned and, if it recognises it, returns the event fields it can fill
(``response``, ``usage``, ``model``, ``metadata``, ...); otherwise ``None``.
Extractors never import an SDK that is not already imported, and one that
fails is logged and skipped: the value then falls back to safe serialisation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["Extractor", "EXTRACTORS", "extract_response", "register_extractor"]

logger = logging.getLogger("honeyhive_trace")

#: Takes a returned value; gives event fields, or None when it does not know it.
Extractor = Callable[[Any], "dict[str, Any] | None"]

#: Tried in order on every returned value that is not a str, dict or None.
EXTRACTORS: list[Extractor] = []


def register_extractor(extractor: Extractor) -> Extractor:
    """Add *extractor* to the front of :data:`EXTRACTORS` (usable as a decorator)."""
    EXTRACTORS.insert(0, extractor)
    return extractor


def extract_response(value: Any) -> dict[str, Any] | None:
    """Return the event fields the first matching extractor finds in *value*."""
    if value is None or isinstance(value, str):
        return None
    for extractor in EXTRACTORS:
        try:
            fields = extractor(value)
        except Exception:
            logger.exception(
                "honeyhive_trace: extractor %s failed; falling back to plain serialisation",
                getattr(extractor, "__name__", extractor),
            )
            continue
        if fields is not None:
            return fields
    return None
