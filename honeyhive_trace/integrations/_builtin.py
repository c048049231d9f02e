"""OpenAI and Anthropic, built in: the functions the default registry calls.

Imported on first use (by :mod:`honeyhive_trace.integrations`), never at
``import honeyhive_trace``; nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from honeyhive_trace.integrations import anthropic, openai
from honeyhive_trace.integrations._capture import Capture, extract_capture
from honeyhive_trace.integrations._streams import stream_factory_for

__all__ = ["assemble", "extract", "stream_factory"]


def extract(value: Any) -> dict[str, Any] | None:
    """Recognise OpenAI and Anthropic responses (SDK objects or dicts) and captures."""
    if isinstance(value, Capture):
        return extract_capture(value)
    found = openai.extract(value)
    return found if found is not None else anthropic.extract(value)


def assemble(chunks: list[Any]) -> dict[str, Any] | None:
    """Assemble streamed OpenAI chunks or Anthropic events into a response."""
    found = openai.assemble(chunks)
    return found if found is not None else anthropic.assemble(chunks)


def stream_factory(cls: type) -> Callable[..., Any] | None:
    """The stream wrapper of an OpenAI/Anthropic stream class (or of our proxy), else None."""
    return stream_factory_for(cls)
