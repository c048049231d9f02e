"""Completing an event's fields once all of them are known: provider, system prompt, cost.

Runs on the worker, inside ``build_record``, after the call's arguments, the
extracted response and the user's own updates have been merged, so a value
the user set is never overwritten. Extractors leave two private hints in the
fields for this step, and it removes them: ``_sdk`` (which SDK produced the
response) and ``_base_url`` (the server the client talked to).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from honeyhive_trace.integrations._access import field, token_count
from honeyhive_trace.integrations._pricing import compute_cost

__all__ = ["HINTS", "OPENAI_COMPATIBLE", "complete_fields", "provider_from_url"]

logger = logging.getLogger("honeyhive_trace")

#: The private keys extractors may add to the fields; removed here.
HINTS = ("_sdk", "_base_url", "_provider")

#: What an OpenAI client talking to a server this module does not know is named.
OPENAI_COMPATIBLE = "openai-compatible"

#: The provider behind each well-known API host (an OpenAI-compatible base URL
#: of a hosted service, or a provider's own API). Documented in
#: docs/howto/integration-openai.rst; keep the two in step.
_HOSTS: Mapping[str, str] = {
    "api.openai.com": "openai",
    "eu.api.openai.com": "openai",
    "us.api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.groq.com": "groq",
    "api.fireworks.ai": "fireworks",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.x.ai": "xai",
    "api.perplexity.ai": "perplexity",
    "api.cerebras.ai": "cerebras",
    "api.deepinfra.com": "deepinfra",
    "api.sambanova.ai": "sambanova",
    "api.hyperbolic.xyz": "hyperbolic",
    "api.moonshot.ai": "moonshot",
    "integrate.api.nvidia.com": "nvidia",
    "generativelanguage.googleapis.com": "google",
}
_HOST_SUFFIXES = (
    (".openai.azure.com", "azure"),
    (".cognitiveservices.azure.com", "azure"),
    (".services.ai.azure.com", "azure"),
    ("aiplatform.googleapis.com", "vertex_ai"),
)
#: Local servers known by their default port (on any host): Ollama, LM Studio.
_PORTS: Mapping[int, str] = {11434: "ollama", 1234: "lmstudio"}


_PROVIDER_PREFIXES = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("text-embedding", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("mistral", "mistral"),
    ("command", "cohere"),
)


def infer_provider(model: str) -> str | None:
    """Guess the provider from a well-known model name prefix."""
    lowered = model.lower()
    for prefix, provider in _PROVIDER_PREFIXES:
        if lowered.startswith(prefix):
            return provider
    return None


def provider_from_url(url: str | None) -> tuple[str | None, str | None]:
    """Return (provider of a well-known API host, host name) for a base URL."""
    if not url:
        return None, None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None, None
    if host in _HOSTS:
        return _HOSTS[host], host
    for suffix, provider in _HOST_SUFFIXES:
        if host.endswith(suffix):
            return provider, host
    if host.startswith("bedrock") and host.endswith(".amazonaws.com"):
        return "bedrock", host
    if port is not None and port in _PORTS:
        return _PORTS[port], host
    return None, host or None


def _provider(model: Any, sdk: Any, base_url: Any, hint: Any = None) -> str | None:
    if isinstance(hint, str) and hint:  # the client's own class says (AzureOpenAI)
        return hint
    known, host = provider_from_url(base_url if isinstance(base_url, str) else None)
    if known:
        return known
    if isinstance(model, str) and model:
        inferred = infer_provider(model)
        if inferred:
            return inferred
    if host:
        # A server of its own (vLLM, a proxy, a test double): never name it by its
        # host, which says nothing to a reader and may be a private address.
        return OPENAI_COMPATIBLE if sdk == "openai" else (sdk if isinstance(sdk, str) else None)
    return sdk if isinstance(sdk, str) else None


def _system_first(fields: dict[str, Any]) -> None:
    # A traced function taking Anthropic's separate `system` argument: the
    # system prompt is the first message of the conversation.
    inputs = fields.get("inputs")
    if not isinstance(inputs, dict) or "system" not in inputs:
        return
    system = inputs.pop("system")
    if system is None or system == "":
        return
    messages = fields.get("messages")
    if messages is None:
        messages = []
    elif isinstance(messages, (str, Mapping)) or not isinstance(messages, (list, tuple)):
        messages = [messages]
    first = messages[0] if messages else None
    if field(first, "role") != "system":
        fields["messages"] = [{"role": "system", "content": system}, *messages]


def _cost(fields: dict[str, Any], prices: Mapping[str, tuple[float, float]]) -> float | None:
    usage = fields.get("usage")
    if usage is None:
        return None
    metadata = fields.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    prompt = token_count(field(usage, "prompt_tokens"))
    completion = token_count(field(usage, "completion_tokens"))
    anthropic_read = token_count(metadata.get("cache_read_input_tokens")) or 0
    anthropic_write = token_count(metadata.get("cache_creation_input_tokens")) or 0
    if anthropic_read or anthropic_write:
        # Anthropic counts cache reads and writes apart from input_tokens.
        prompt = (prompt or 0) + anthropic_read + anthropic_write
        return compute_cost(
            fields.get("model"),
            {"prompt_tokens": prompt, "completion_tokens": completion},
            prices,
            cache_read_tokens=anthropic_read,
            cache_write_tokens=anthropic_write,
        )
    cached = token_count(metadata.get("cached_tokens")) or 0  # OpenAI: part of prompt_tokens
    return compute_cost(fields.get("model"), usage, prices, cache_read_tokens=cached)


def complete_fields(
    fields: dict[str, Any], prices: Mapping[str, tuple[float, float]] | None = None
) -> None:
    """Fill ``provider`` and ``cost`` when unset, and put Anthropic's system prompt first.

    Args:
        fields: the event's merged fields (changed in place); the private
            hints ``_sdk`` and ``_base_url`` are removed.
        prices: ``Config.prices``: USD per million (input, output) tokens by
            model, over the shipped table.

    Never raises: a failure is logged and the fields are left as they are.
    """
    sdk = fields.pop("_sdk", None)
    base_url = fields.pop("_base_url", None)
    hint = fields.pop("_provider", None)
    try:
        if sdk == "anthropic":
            _system_first(fields)
        if not fields.get("provider"):
            provider = _provider(fields.get("model"), sdk, base_url, hint)
            if provider:
                fields["provider"] = provider
        if fields.get("cost") is None and fields.get("usage") is not None:
            cost = _cost(fields, prices or {})
            if cost is not None:
                fields["cost"] = cost
    except Exception:
        logger.exception("honeyhive_trace: could not complete an event's provider and cost")
