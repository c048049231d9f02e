"""Integrations with LLM client libraries: response extractors and client wrappers.

An extractor is a plain function that looks at what a traced function
returned and, if it recognises it, returns the event fields it can fill
(``response``, ``usage``, ``model``, ``metadata``, ...); otherwise ``None``.
Extractors never import an SDK that is not already imported, and one that
fails is logged and skipped: the value then falls back to safe serialisation.

OpenAI and Anthropic are built in: their responses, streams and streamed
chunks are recognised with no code from the user (see :mod:`.openai` and
:mod:`.anthropic`), and :func:`wrap_openai` / :func:`wrap_anthropic` trace one
client's calls for users who prefer not to write a decorated function. The
modules behind them are imported on first use, never at ``import honeyhive_trace``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from honeyhive_trace._errors import Counters, ErrorGuard
from honeyhive_trace._providers import (
    ChunkAssembler,
    Extractor,
    Registry,
    StreamDetector,
    StreamWrapper,
)
from honeyhive_trace.integrations._marks import BUILTIN_DICT_KEYS

__all__ = [
    "CHUNK_ASSEMBLERS",
    "DEFAULT",
    "EXTRACTORS",
    "STREAM_DETECTORS",
    "ChunkAssembler",
    "Extractor",
    "StreamDetector",
    "StreamWrapper",
    "assemble_chunks",
    "complete_fields",
    "extract_response",
    "register_extractor",
    "sdk_stream_factory",
    "stream_wrapper",
    "wrap_anthropic",
    "wrap_openai",
]

C = TypeVar("C")

#: The registry of the built-in integrations; every client uses it.
DEFAULT = Registry()

#: Tried in order on every returned value that is not a str or None (dicts too).
EXTRACTORS: list[Extractor] = DEFAULT.extractors
#: Tried in order on the list of items a traced generator yielded.
CHUNK_ASSEMBLERS: list[ChunkAssembler] = DEFAULT.assemblers
#: Tried in order, once per class of returned value; the answer is cached.
STREAM_DETECTORS: list[StreamDetector] = DEFAULT.detectors

#: Where the module-level helpers below report a failing extractor (logged, never raised).
_GUARD = ErrorGuard(strict=False, counters=Counters())


def register_extractor(extractor: Extractor) -> Extractor:
    """Add *extractor* to the front of :data:`EXTRACTORS` (usable as a decorator)."""
    EXTRACTORS.insert(0, extractor)
    return extractor


def extract_response(value: Any) -> dict[str, Any] | None:
    """Return the event fields the first matching extractor finds in *value*."""
    return DEFAULT.extract(value, _GUARD)


def assemble_chunks(chunks: list[Any]) -> dict[str, Any] | None:
    """Return the event fields the first matching assembler builds from *chunks*."""
    return DEFAULT.assemble(chunks, _GUARD)


def stream_wrapper(cls: type) -> StreamWrapper | None:
    """Return (and cache) the stream wrapper for values of class *cls*, or None."""
    return DEFAULT.stream_wrapper(cls, _GUARD)


def complete_fields(
    fields: dict[str, Any], prices: Mapping[str, tuple[float, float]] | None = None
) -> None:
    """Fill ``provider`` and ``cost`` when unset; put Anthropic's ``system`` first.

    Called by the record builder once the call's arguments, the extracted response
    and the user's updates are merged (see ``integrations._enrich``, imported on
    first use to keep ``import honeyhive_trace`` cheap). Never raises.

    Args:
        fields: the merged event fields, changed in place.
        prices: ``Config.prices``: USD per million (input, output) tokens by model.
    """
    (_LOADED.get("_enrich") or _load_enrich()).complete_fields(fields, prices)


# The lazily imported modules, once loaded: a dict lookup per event instead of
# an import statement (which costs about 0.7 us even when the module is loaded).
_LOADED: dict[str, Any] = {}


#: Held while a lazy import runs, and by os.fork() around the fork: an import
#: under way on the worker when the process forks would leave that module's
#: import lock held in the child, whose own worker would then wait on it for ever.
IMPORT_GUARD = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=IMPORT_GUARD.acquire,
        after_in_parent=IMPORT_GUARD.release,
        after_in_child=IMPORT_GUARD.release,
    )


def _load_enrich() -> Any:
    with IMPORT_GUARD:
        from honeyhive_trace.integrations import _enrich

    _LOADED["_enrich"] = _enrich
    return _enrich


def _load_builtin() -> Any:
    with IMPORT_GUARD:  # about 0.1 s, the first time an SDK object is seen
        from honeyhive_trace.integrations import _builtin

    _LOADED["_builtin"] = _builtin
    return _builtin


def preload() -> None:
    """Import now, before the delivery threads start, what is cheap to import.

    The OpenAI/Anthropic support (``_builtin``, about 0.1 s) stays imported on
    first use, under :data:`IMPORT_GUARD`.
    """
    if "_enrich" not in _LOADED:
        _load_enrich()


# -- OpenAI and Anthropic, built in: their modules are imported on first use ----------

_ROOTS = frozenset({"openai", "anthropic"})
#: Where our own stream proxies live (kept in step with ``_proxy.PROXY_MODULES``,
#: which this module cannot import without loading the proxies).
_PROXY_MODULES = frozenset(
    {"honeyhive_trace.integrations._streams", "honeyhive_trace.integrations._astreams"}
)


def _may_be_builtin(cls: type) -> bool:
    for klass in cls.__mro__:
        module = getattr(klass, "__module__", "") or ""
        if module.partition(".")[0] in _ROOTS or module in _PROXY_MODULES:
            return True
    return False


def sdk_stream_factory(cls: type) -> StreamWrapper | None:
    """Return the stream wrapper for an OpenAI/Anthropic stream class, else None.

    Looks only at class and module names, so no SDK is imported. Registered in
    :data:`STREAM_DETECTORS`.
    """
    if not _may_be_builtin(cls):
        return None
    factory = (_LOADED.get("_builtin") or _load_builtin()).stream_factory(cls)
    return cast("StreamWrapper | None", factory)


def _extract_builtin(value: Any) -> dict[str, Any] | None:
    """Recognise OpenAI and Anthropic responses, as SDK objects or dicts."""
    if type(value) is dict and value.keys().isdisjoint(BUILTIN_DICT_KEYS):
        return None
    fields = (_LOADED.get("_builtin") or _load_builtin()).extract(value)
    return cast("dict[str, Any] | None", fields)


def _assemble_builtin(chunks: list[Any]) -> dict[str, Any] | None:
    """Assemble streamed OpenAI chunks or Anthropic events into a response."""
    fields = (_LOADED.get("_builtin") or _load_builtin()).assemble(chunks)
    return cast("dict[str, Any] | None", fields)


class _Builtin:
    """OpenAI and Anthropic as one :class:`~honeyhive_trace._providers.Provider`."""

    name = "builtin"
    extract = staticmethod(_extract_builtin)
    assemble = staticmethod(_assemble_builtin)
    stream_wrapper = staticmethod(sdk_stream_factory)


DEFAULT.add(_Builtin())


def wrap_openai(client: C, *, provider: str | None = None) -> C:
    """Trace the model calls made through one OpenAI client, and return it.

    ``chat.completions.create`` and ``.parse``, ``responses.create`` and
    ``.parse``, ``completions.create`` and ``embeddings.create`` of this
    client instance (sync or async) each record a model event, streaming and
    ``with_raw_response`` included; copies made with ``with_options()`` are
    traced too. Nothing is patched globally: other clients and the ``openai``
    package are untouched. Wrapping twice is harmless.

    Args:
        client: an ``openai.OpenAI``, ``openai.AsyncOpenAI``, ``AzureOpenAI``
            or ``AsyncAzureOpenAI`` client.
        provider: the ``provider`` of its events (``"vllm"``), for a server
            whose base URL does not name it; by default ``azure`` for Azure
            clients, the provider of a known API host, else ``openai`` for
            OpenAI model names, else ``openai-compatible``.

    Returns:
        The same client object.

    Raises:
        TypeError: *client* is not an OpenAI client.
    """
    from honeyhive_trace.integrations import openai

    return openai.wrap_openai(client, provider=provider)


def wrap_anthropic(client: C) -> C:
    """Trace the message calls made through one Anthropic client, and return it.

    ``messages.create`` (streaming or not) and ``messages.stream`` of this
    client instance (sync or async), and their ``beta.messages`` twins, each
    record a model event. Nothing is patched globally: other clients and the
    ``anthropic`` package are untouched. Wrapping twice is harmless.

    Args:
        client: an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client.

    Returns:
        The same client object.

    Raises:
        TypeError: *client* is not an Anthropic client.
    """
    from honeyhive_trace.integrations import anthropic

    return anthropic.wrap_anthropic(client)
