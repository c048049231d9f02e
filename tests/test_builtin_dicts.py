"""The built-in readers skip a plain dict by its keys alone: the skip never hides a response."""

from __future__ import annotations

from typing import Any

import pytest

from honeyhive_trace.integrations import _builtin
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
    stripped = {k: v for k, v in RESPONSES[name].items() if k not in _builtin._DICT_KEYS}
    assert [None] * len(_builtin._EXTRACTORS) == [read(stripped) for read in _builtin._EXTRACTORS]


def test_a_dict_subclass_is_still_asked() -> None:
    class Body(dict):  # type: ignore[type-arg]
        pass

    assert _builtin.extract(Body(_CHAT)) is not None
