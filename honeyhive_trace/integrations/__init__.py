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

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "CHUNK_ASSEMBLERS",
    "EXTRACTORS",
    "STREAM_DETECTORS",
    "ChunkAssembler",
    "Extractor",
    "StreamDetector",
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

logger = logging.getLogger("honeyhive_trace")

#: Takes a returned value; gives event fields, or None when it does not know it.
Extractor = Callable[[Any], "dict[str, Any] | None"]

#: Tried in order on every returned value that is not a str or None (dicts too).
EXTRACTORS: list[Extractor] = []


def register_extractor(extractor: Extractor) -> Extractor:
    """Add *extractor* to the front of :data:`EXTRACTORS` (usable as a decorator)."""
    EXTRACTORS.insert(0, extractor)
    return extractor


def _first_answer(functions: list[Any], value: Any, what: str) -> dict[str, Any] | None:
    """The first non-None answer of *functions* to *value*; a failing one is logged."""
    for function in functions:
        try:
            fields: dict[str, Any] | None = function(value)
        except Exception:
            logger.exception(
                "honeyhive_trace: %s %s failed; falling back to plain serialisation",
                what,
                getattr(function, "__name__", function),
            )
            continue
        if fields is not None:
            return fields
    return None


def extract_response(value: Any) -> dict[str, Any] | None:
    """Return the event fields the first matching extractor finds in *value*."""
    if value is None or isinstance(value, str):
        return None
    return _first_answer(EXTRACTORS, value, "extractor")


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
    return _first_answer(CHUNK_ASSEMBLERS, chunks, "chunk assembler")


# -- completing the fields ----------------------------------------------------------


def complete_fields(
    fields: dict[str, Any], prices: Mapping[str, tuple[float, float]] | None = None
) -> None:
    """Fill ``provider`` and ``cost`` when unset; put Anthropic's ``system`` first.

    Called by ``build_record`` once the call's arguments, the extracted response
    and the user's updates are merged. Removes the private hints extractors
    leave (``_sdk``, ``_base_url``). The provider comes from a well-known API
    host, else the model name, else the server's host name; the cost from the
    usage and :data:`~honeyhive_trace.integrations._pricing.PRICES` with
    *prices* laid over it.

    Args:
        fields: the merged event fields, changed in place.
        prices: ``Config.prices``: USD per million (input, output) tokens by model.

    Never raises.
    """
    from honeyhive_trace.integrations._enrich import complete_fields as complete

    complete(fields, prices)


# -- OpenAI and Anthropic, built in ---------------------------------------------------

_SDKS = frozenset({"openai", "anthropic"})

#: (top-level package, class name) of the SDK streams whose event ends with the
#: stream, and the shape of proxy they get (see ``_streams.PROXIES``).
_SDK_STREAMS: dict[tuple[str, str], str] = {
    ("openai", "Stream"): "stream",
    ("openai", "AsyncStream"): "async_stream",
    ("openai", "ChatCompletionStream"): "helper",
    ("openai", "AsyncChatCompletionStream"): "async_helper",
    ("openai", "ResponseStream"): "helper",
    ("openai", "AsyncResponseStream"): "async_helper",
    ("openai", "ChatCompletionStreamManager"): "manager",
    ("openai", "AsyncChatCompletionStreamManager"): "async_manager",
    ("openai", "ResponseStreamManager"): "manager",
    ("openai", "AsyncResponseStreamManager"): "async_manager",
    ("anthropic", "Stream"): "stream",
    ("anthropic", "AsyncStream"): "async_stream",
    ("anthropic", "MessageStream"): "helper",
    ("anthropic", "AsyncMessageStream"): "async_helper",
    ("anthropic", "BetaMessageStream"): "helper",
    ("anthropic", "BetaAsyncMessageStream"): "async_helper",
    ("anthropic", "MessageStreamManager"): "manager",
    ("anthropic", "AsyncMessageStreamManager"): "async_manager",
    ("anthropic", "BetaMessageStreamManager"): "manager",
    ("anthropic", "BetaAsyncMessageStreamManager"): "async_manager",
}
_PROXY_MODULE = "honeyhive_trace.integrations._streams"


def sdk_stream_factory(cls: type) -> Callable[..., Any] | None:
    """Return the stream wrapper for an OpenAI/Anthropic stream class, else None.

    Looks only at class and module names, so no SDK is imported. Registered in
    :data:`STREAM_DETECTORS`.
    """
    for klass in cls.__mro__:
        module = getattr(klass, "__module__", "") or ""
        root = module.partition(".")[0]
        if root in _SDKS:
            shape = _SDK_STREAMS.get((root, klass.__name__))
            if shape is not None:
                from honeyhive_trace.integrations._streams import factory

                return factory(shape, root)
        elif module == _PROXY_MODULE:
            from honeyhive_trace.integrations._streams import proxy_factory

            return proxy_factory(klass)
    return None


def _extract_builtin(value: Any) -> dict[str, Any] | None:
    """Recognise OpenAI and Anthropic responses, as SDK objects or dicts."""
    from honeyhive_trace.integrations import anthropic, openai
    from honeyhive_trace.integrations._streams import Capture, extract_capture

    if isinstance(value, Capture):
        return extract_capture(value)
    found = openai.extract(value)
    return found if found is not None else anthropic.extract(value)


def _assemble_builtin(chunks: list[Any]) -> dict[str, Any] | None:
    """Assemble streamed OpenAI chunks or Anthropic events into a response."""
    from honeyhive_trace.integrations import anthropic, openai

    found = openai.assemble(chunks)
    return found if found is not None else anthropic.assemble(chunks)


EXTRACTORS.append(_extract_builtin)
CHUNK_ASSEMBLERS.append(_assemble_builtin)
STREAM_DETECTORS.append(sdk_stream_factory)


def wrap_openai(client: C) -> C:
    """Trace the create calls made through one OpenAI client, and return it.

    ``chat.completions.create``, ``responses.create`` and ``completions.create``
    of this client instance (sync or async) each record a model event,
    streaming included. Nothing is patched globally: other clients and the
    ``openai`` package are untouched. Wrapping twice is harmless.

    Args:
        client: an ``openai.OpenAI``, ``openai.AsyncOpenAI`` or ``AzureOpenAI`` client.

    Returns:
        The same client object.

    Raises:
        TypeError: *client* is not an OpenAI client.
    """
    from honeyhive_trace.integrations.openai import wrap_openai as wrap

    return wrap(client)


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
    from honeyhive_trace.integrations.anthropic import wrap_anthropic as wrap

    return wrap(client)
