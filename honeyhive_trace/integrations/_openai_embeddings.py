"""OpenAI: embeddings (``client.embeddings.create``) as model events, without the vectors.

An embeddings call is recorded as a model event whose ``metadata.operation``
is ``"embeddings"`` (the name OpenTelemetry's ``gen_ai.operation.name`` gives
it), with how many inputs were embedded (``metadata.input_count``) and the
length of each vector (``metadata.dimensions``). The vectors themselves are
never recorded: they are large, and the texts they came from are in ``inputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honeyhive_trace.integrations._access import discriminator, field, given, token_count

__all__ = [
    "EMBEDDINGS",
    "embedding_fields",
    "embedding_request_fields",
    "input_count",
    "is_embedding_response",
]

#: ``metadata.operation`` of an embeddings event.
EMBEDDINGS = "embeddings"

#: Arguments of ``embeddings.create`` recorded as ``hyperparameters``.
_HYPERPARAMETERS = frozenset({"dimensions", "encoding_format"})
#: Arguments that configure the HTTP call, never recorded.
_TRANSPORT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})


def is_embedding_response(value: Any) -> bool:
    """Whether *value* is a ``CreateEmbeddingResponse`` (SDK object or dict)."""
    if discriminator(value, "object") != "list":
        return False
    data = field(value, "data")
    if not isinstance(data, (list, tuple)) or not data:
        return False
    return bool(discriminator(data[0], "object") == "embedding")


def _dimensions(vector: Any) -> int | None:
    if isinstance(vector, (list, tuple)):
        return len(vector)
    if isinstance(vector, str) and vector:
        # encoding_format="base64": little-endian float32s; count them without decoding.
        padding = len(vector) - len(vector.rstrip("="))
        return (len(vector) * 3 // 4 - padding) // 4
    return None


def input_count(value: Any) -> int | None:
    """How many inputs an ``input`` argument holds: a text, texts, or token arrays."""
    if isinstance(value, str):
        return 1
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], int):
            return 1  # one array of token ids
        return len(value)
    return None


def embedding_fields(value: Any) -> dict[str, Any]:
    """Event fields of an embeddings response: counts and usage, no vectors.

    Args:
        value: a ``CreateEmbeddingResponse`` or its dict.

    Returns:
        ``model``, ``usage`` (prompt tokens; an embedding has no output tokens),
        ``response`` (``embedding_count`` and ``dimensions``) and ``metadata``
        (``operation``, ``input_count``, ``dimensions``).
    """
    data = list(field(value, "data") or ())
    dimensions = _dimensions(field(data[0], "embedding")) if data else None
    response: dict[str, Any] = {"embedding_count": len(data)}
    metadata: dict[str, Any] = {"operation": EMBEDDINGS, "input_count": len(data)}
    if dimensions is not None:
        response["dimensions"] = dimensions
        metadata["dimensions"] = dimensions
    fields: dict[str, Any] = {"response": response, "metadata": metadata}
    model = field(value, "model")
    if isinstance(model, str) and model:
        fields["model"] = model
    usage = field(value, "usage")
    if usage is not None:
        fields["usage"] = {
            "prompt_tokens": token_count(field(usage, "prompt_tokens")),
            "total_tokens": token_count(field(usage, "total_tokens")),
        }
    return fields


def embedding_request_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """Event fields of the arguments of ``embeddings.create``.

    Returns:
        ``model``; ``inputs.input`` (what was embedded, as given) and the other
        arguments as ``inputs``; ``dimensions`` and ``encoding_format`` as
        ``hyperparameters``; ``metadata.operation`` and ``metadata.input_count``.
    """
    fields: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    metadata: dict[str, Any] = {"operation": EMBEDDINGS}
    for name, value in body.items():
        if not given(value) or name in _TRANSPORT:
            continue
        if name == "model":
            fields["model"] = value
        elif name in _HYPERPARAMETERS:
            hyper[name] = value
        else:
            inputs[name] = value
    count = input_count(body.get("input"))
    if count is not None:
        metadata["input_count"] = count
    if hyper:
        fields["hyperparameters"] = hyper
    if inputs:
        fields["inputs"] = inputs
    fields["metadata"] = metadata
    return fields
