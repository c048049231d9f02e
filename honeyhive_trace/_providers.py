"""The one interface through which integrations plug into the core.

A :class:`Provider` teaches the library one SDK or framework: how to read what
a traced call returned (:meth:`~Provider.extract`), how to assemble the chunks a
traced generator yielded (:meth:`~Provider.assemble`), and which returned values
are streams whose event must end only with the stream
(:meth:`~Provider.stream_wrapper`). A :class:`Registry` holds the providers of
one client; the capture path and the record builder ask the registry, never an
SDK module, so adding a provider is one module and its registration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from honeyhive_trace._errors import ErrorGuard

__all__ = [
    "ChunkAssembler",
    "Extractor",
    "Provider",
    "Registry",
    "StreamDetector",
    "StreamWrapper",
]

#: Takes a returned value; gives event fields, or None when it does not know it.
Extractor = Callable[[Any], "dict[str, Any] | None"]
#: Takes the items a traced generator yielded; gives event fields, or None.
ChunkAssembler = Callable[[list[Any]], "dict[str, Any] | None"]
#: ``(stream, handle) -> proxy``: the proxy ends the handle's event exactly once.
StreamWrapper = Callable[[Any, Any], Any]
#: Takes the class of a returned value; gives its stream wrapper, or None.
StreamDetector = Callable[[type], "StreamWrapper | None"]


class Provider(Protocol):
    """What one integration contributes to the core. Every method must be cheap
    when the value is not its own, and must not import an SDK that is not
    already imported."""

    name: str

    def extract(self, value: Any) -> dict[str, Any] | None:
        """Event fields found in a returned *value*, or None."""

    def assemble(self, chunks: list[Any]) -> dict[str, Any] | None:
        """Event fields built from streamed *chunks*, or None."""

    def stream_wrapper(self, cls: type) -> StreamWrapper | None:
        """The wrapper for stream values of class *cls*, or None."""


#: Classes whose values are never streams (checked on every traced call).
_ALWAYS_PLAIN = (str, dict, list, tuple, int, float, bool, type(None), bytes)
#: Most classes whose stream answer is cached (classes can be made at run time).
_CACHE_LIMIT = 4096


class Registry:
    """The providers of one client, as three ordered lists of plain functions.

    The lists are public so that a user's own extractor can go first
    (``honeyhive_trace.integrations.register_extractor``).
    """

    def __init__(self) -> None:
        self.extractors: list[Extractor] = []
        self.assemblers: list[ChunkAssembler] = []
        self.detectors: list[StreamDetector] = []
        #: class -> stream wrapper or None; read on every traced call.
        self.wrappers: dict[type, StreamWrapper | None] = dict.fromkeys(_ALWAYS_PLAIN)

    def add(self, provider: Provider) -> None:
        """Register *provider*'s three functions after those already there."""
        self.extractors.append(provider.extract)
        self.assemblers.append(provider.assemble)
        self.detectors.append(provider.stream_wrapper)

    def extract(self, value: Any, guard: ErrorGuard) -> dict[str, Any] | None:
        """The fields the first extractor that knows *value* finds in it."""
        if value is None or isinstance(value, str):
            return None
        return _first_answer(self.extractors, value, "extractor", guard)

    def assemble(self, chunks: list[Any], guard: ErrorGuard) -> dict[str, Any] | None:
        """The fields the first assembler that knows *chunks* builds from them."""
        return _first_answer(self.assemblers, chunks, "chunk assembler", guard)

    def stream_wrapper(self, cls: type, guard: ErrorGuard) -> StreamWrapper | None:
        """The (cached) stream wrapper for values of class *cls*, or None."""
        try:
            return self.wrappers[cls]
        except KeyError:
            pass
        found: StreamWrapper | None = None
        for detector in self.detectors:
            try:
                found = detector(cls)
            except Exception as exc:
                guard.report("a stream detector failed", exc)
                continue
            if found is not None:
                break
        if len(self.wrappers) < _CACHE_LIMIT:
            self.wrappers[cls] = found
        return found


def _first_answer(
    functions: list[Any], value: Any, what: str, guard: ErrorGuard
) -> dict[str, Any] | None:
    for function in functions:
        try:
            fields: dict[str, Any] | None = function(value)
        except Exception as exc:
            # The value falls back to plain serialisation (raised when strict).
            name = getattr(function, "__name__", function)
            guard.report(
                f"{what} {name} failed; falling back to plain serialisation",
                exc,
                counter="extractor_errors",
            )
            continue
        if fields is not None:
            return fields
    return None
