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

__all__ = [
    "CHUNK_ASSEMBLERS",
    "EXTRACTORS",
    "STREAM_DETECTORS",
    "ChunkAssembler",
    "Extractor",
    "StreamDetector",
    "assemble_chunks",
    "extract_response",
    "register_extractor",
    "stream_wrapper",
]

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


# -- streams ----------------------------------------------------------------------

#: Takes the class of a returned value; gives a function ``(value, handle) ->
#: wrapped value`` when such values are streams whose event should end only
#: when the stream is consumed, else None. The wrapper must end the event
#: (``handle._end(...)``) exactly once: on exhaustion, close, error or GC.
StreamDetector = Callable[[type], "Callable[[Any, Any], Any] | None"]

#: Tried in order, once per class; the answer is cached.
STREAM_DETECTORS: list[StreamDetector] = []

#: class -> stream wrapper or None; read by the decorators on every call.
STREAM_WRAPPERS: dict[type, Callable[[Any, Any], Any] | None] = {}

_ALWAYS_PLAIN = (str, dict, list, tuple, int, float, bool, type(None), bytes)
for _cls in _ALWAYS_PLAIN:
    STREAM_WRAPPERS[_cls] = None


def stream_wrapper(cls: type) -> Callable[[Any, Any], Any] | None:
    """Return (and cache) the stream wrapper for values of class *cls*, or None."""
    wrapper: Callable[[Any, Any], Any] | None = None
    for detector in STREAM_DETECTORS:
        try:
            wrapper = detector(cls)
        except Exception:
            logger.exception("honeyhive_trace: stream detector %r failed", detector)
            continue
        if wrapper is not None:
            break
    if len(STREAM_WRAPPERS) < 4096:  # bounded: classes can be created at run time
        STREAM_WRAPPERS[cls] = wrapper
    return wrapper


# -- yielded chunks -----------------------------------------------------------------

#: Takes the list of items a traced generator yielded; gives event fields (as
#: :data:`Extractor` does) when it recognises them as stream chunks, else None.
ChunkAssembler = Callable[[list[Any]], "dict[str, Any] | None"]

CHUNK_ASSEMBLERS: list[ChunkAssembler] = []


def assemble_chunks(chunks: list[Any]) -> dict[str, Any] | None:
    """Return the event fields the first matching assembler builds from *chunks*."""
    for assembler in CHUNK_ASSEMBLERS:
        try:
            fields = assembler(chunks)
        except Exception:
            logger.exception(
                "honeyhive_trace: chunk assembler %s failed; falling back",
                getattr(assembler, "__name__", assembler),
            )
            continue
        if fields is not None:
            return fields
    return None
