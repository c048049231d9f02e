"""OpenAI, Anthropic, Gemini and Bedrock, built in: the functions the default registry calls.

Imported on first use (by :mod:`honeyhive_trace.integrations`), never at
``import honeyhive_trace``; nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from honeyhive_trace.integrations import anthropic, bedrock, gemini, openai
from honeyhive_trace.integrations._capture import Capture, extract_capture
from honeyhive_trace.integrations._marks import BUILTIN_DICT_KEYS
from honeyhive_trace.integrations._streams import stream_factory_for

__all__ = ["assemble", "extract", "stream_factory"]

# Each provider module's readers, tried in order (LiteLLM's results are OpenAI's shapes).
_EXTRACTORS = (openai.extract, anthropic.extract, gemini.extract, bedrock.extract)
_ASSEMBLERS = (openai.assemble, anthropic.assemble, gemini.assemble, bedrock.assemble)


def extract(value: Any) -> dict[str, Any] | None:
    """Recognise the built-in providers' responses (SDK objects or dicts) and captures."""
    if type(value) is dict and value.keys().isdisjoint(BUILTIN_DICT_KEYS):
        return None
    if isinstance(value, Capture):
        return extract_capture(value)
    for extractor in _EXTRACTORS:
        found = extractor(value)
        if found is not None:
            return found
    return None


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Assemble streamed OpenAI, Anthropic, Gemini or Bedrock chunks into a response."""
    for assembler in _ASSEMBLERS:
        found = assembler(chunks)
        if found is not None:
            return found
    return None


def stream_factory(cls: type) -> Callable[..., Any] | None:
    """The stream wrapper of an OpenAI/Anthropic stream class (or of our proxy), else None."""
    return stream_factory_for(cls)
