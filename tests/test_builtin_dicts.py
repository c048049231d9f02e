"""The built-in readers skip a plain dict by its keys alone: the skip never hides a response."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from honeyhive_trace.integrations import _builtin
from honeyhive_trace.integrations._marks import BUILTIN_DICT_KEYS
from tests._support.fake_cloud import bedrock_body, gemini_body
from tests._support.fake_openai import response_body

_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
_ANTHROPIC = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "Hi"}],
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
_EMBEDDINGS = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "chat completion": _CHAT,
    "chat completion without object": {k: v for k, v in _CHAT.items() if k != "object"},
    "responses api": response_body("Hi"),
    "embeddings": _EMBEDDINGS,
    "anthropic message": _ANTHROPIC,
    "gemini": gemini_body("Hi"),
    "gemini snake case": {"prompt_feedback": None, "usage_metadata": {"total_token_count": 1}},
    "bedrock converse": bedrock_body("Hi"),
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_a_response_dict_is_still_recognised(name: str) -> None:
    assert _builtin.extract(RESPONSES[name]) is not None


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_without_the_keys_no_reader_recognises_it(name: str) -> None:
    # What the skip relies on: each reader needs one of these keys to take a dict.
    stripped = {k: v for k, v in RESPONSES[name].items() if k not in BUILTIN_DICT_KEYS}
    assert [None] * len(_builtin._EXTRACTORS) == [read(stripped) for read in _builtin._EXTRACTORS]


def test_a_dict_subclass_is_still_asked() -> None:
    class Body(dict):  # type: ignore[type-arg]
        pass

    assert _builtin.extract(Body(_CHAT)) is not None


def test_a_plain_dict_result_imports_no_provider_module() -> None:
    # Returning a dict that is no provider's response (the common case) costs no
    # import of the readers (about 50 ms of CPU on the worker, the first time).
    code = textwrap.dedent(
        """
        import sys
        import honeyhive_trace as hh
        from honeyhive_trace.testing import capture_events

        @hh.trace_model(model="m")
        def call():
            return {"role": "assistant", "content": "hi", "usage": {"total_tokens": 3}}

        with capture_events() as events:
            call()
        assert events[0].response["usage"] == {"total_tokens": 3}, events[0]
        print(sorted(m for m in sys.modules if m.startswith("honeyhive_trace.integrations.")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "honeyhive_trace.integrations._builtin" not in out
    assert "honeyhive_trace.integrations.openai" not in out
