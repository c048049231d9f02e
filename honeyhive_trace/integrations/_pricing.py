"""What a model call cost: token counts times a price table.

Prices are USD per million tokens, for the standard (not batch, not priority)
tier of each provider's own API. ``configure(prices={"model": (input, output)})``
adds models or overrides these. Model names match by longest prefix, so a
dated snapshot (``gpt-4o-2024-08-06``) or an alias (``claude-3-5-sonnet-latest``)
takes its family's price; a newer version (``claude-opus-4-9``) does not take
an older one's.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from honeyhive_trace.integrations._access import field, token_count

__all__ = ["PRICES", "PRICES_CHECKED", "ModelPrice", "compute_cost", "find_price"]

#: When the shipped table was last compared with the providers' pricing pages
#: (platform.openai.com/docs/pricing, platform.claude.com/docs/en/about-claude/pricing).
PRICES_CHECKED = datetime.date(2026, 11, 27)


class ModelPrice(NamedTuple):
    """USD per million tokens of one model."""

    input: float
    output: float
    #: Input tokens read from the prompt cache; None: billed as ``input``.
    cache_read: float | None = None
    #: Input tokens written to the prompt cache (Anthropic); None: billed as ``input``.
    cache_write: float | None = None


def _anthropic(per_in: float, per_out: float) -> ModelPrice:
    # Cache hits cost 0.1x the input price, 5-minute cache writes 1.25x.
    return ModelPrice(per_in, per_out, round(per_in * 0.1, 6), round(per_in * 1.25, 6))


#: The shipped price table, keyed by model name (lower case, without date).
PRICES: Mapping[str, ModelPrice] = {
    # OpenAI
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "gpt-3.5-turbo-instruct": ModelPrice(1.50, 2.00),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4o": ModelPrice(2.50, 10.00, 1.25),
    "gpt-4o-2024-05-13": ModelPrice(5.00, 15.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60, 0.075),
    "gpt-4.1": ModelPrice(2.00, 8.00, 0.50),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60, 0.10),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40, 0.025),
    "o1": ModelPrice(15.00, 60.00, 7.50),
    "o1-mini": ModelPrice(1.10, 4.40, 0.55),
    "o1-pro": ModelPrice(150.00, 600.00),
    "o3": ModelPrice(2.00, 8.00, 0.50),
    "o3-mini": ModelPrice(1.10, 4.40, 0.55),
    "o3-pro": ModelPrice(20.00, 80.00),
    "o3-deep-research": ModelPrice(10.00, 40.00, 2.50),
    "o4-mini": ModelPrice(1.10, 4.40, 0.275),
    "o4-mini-deep-research": ModelPrice(2.00, 8.00, 0.50),
    "gpt-5": ModelPrice(1.25, 10.00, 0.125),
    "gpt-5-mini": ModelPrice(0.25, 2.00, 0.025),
    "gpt-5-nano": ModelPrice(0.05, 0.40, 0.005),
    "gpt-5-pro": ModelPrice(15.00, 120.00),
    "gpt-5.1": ModelPrice(1.25, 10.00, 0.125),
    # OpenAI embeddings: input tokens only (platform.openai.com/docs/pricing; these
    # prices have stood since the text-embedding-3 launch, 2024-01-25; copied 2026-12-01).
    "text-embedding-3-small": ModelPrice(0.02, 0.0),
    "text-embedding-3-large": ModelPrice(0.13, 0.0),
    "text-embedding-ada-002": ModelPrice(0.10, 0.0),
    # Anthropic (input up to 200K tokens where a long-context rate exists)
    "claude-3-haiku": ModelPrice(0.25, 1.25, 0.03, 0.30),
    "claude-3-sonnet": _anthropic(3.00, 15.00),
    "claude-3-opus": _anthropic(15.00, 75.00),
    "claude-3-5-haiku": _anthropic(0.80, 4.00),
    "claude-3-5-sonnet": _anthropic(3.00, 15.00),
    "claude-3-7-sonnet": _anthropic(3.00, 15.00),
    "claude-haiku-4-5": _anthropic(1.00, 5.00),
    "claude-sonnet-4": _anthropic(3.00, 15.00),
    "claude-sonnet-4-0": _anthropic(3.00, 15.00),
    "claude-sonnet-4-5": _anthropic(3.00, 15.00),
    "claude-sonnet-4-6": _anthropic(3.00, 15.00),
    "claude-opus-4": _anthropic(15.00, 75.00),
    "claude-opus-4-0": _anthropic(15.00, 75.00),
    "claude-opus-4-1": _anthropic(15.00, 75.00),
    "claude-opus-4-5": _anthropic(5.00, 25.00),
    "claude-opus-4-6": _anthropic(5.00, 25.00),
    "claude-opus-4-7": _anthropic(5.00, 25.00),
    "claude-opus-4-8": _anthropic(5.00, 25.00),
}

# After a matched prefix: nothing, or a separator and a suffix that is not a
# short version number (dates like 20241022 or 2024-08-06, "latest", "v2@...").
_SUFFIX = re.compile(r"(?:[-@:](?!\d{1,2}(?:$|[-@:.]))|$)")


def _normalise(model: str) -> str:
    name = model.strip().lower()
    name = name.rpartition("/")[2]  # "openai/gpt-4o" (LiteLLM, OpenRouter)
    marker = name.find("anthropic.")  # Bedrock: "us.anthropic.claude-..."
    if marker != -1:
        name = name[marker + len("anthropic.") :]
    return name


def find_price(
    model: str, prices_override: Mapping[str, tuple[float, float]] | None = None
) -> ModelPrice | None:
    """Return the price of *model*: the override's or the shipped one, by longest prefix.

    Args:
        model: the model name as reported, e.g. ``gpt-4o-2024-08-06``.
        prices_override: ``model -> (input, output)`` USD per million tokens,
            added to the shipped table; an equal key overrides it.

    Returns:
        The price, or None for a model neither table knows.
    """
    name = _normalise(model)
    table: dict[str, ModelPrice] = dict(PRICES)
    if prices_override:
        for key, pair in prices_override.items():
            table[_normalise(key)] = ModelPrice(float(pair[0]), float(pair[1]))
    exact = table.get(name)
    if exact is not None:
        return exact
    best = ""
    for key in table:
        if len(key) > len(best) and name.startswith(key) and _SUFFIX.match(name, len(key)):
            best = key
    return table[best] if best else None


def compute_cost(
    model: Any,
    usage: Any,
    prices_override: Mapping[str, tuple[float, float]] | None = None,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """Return the USD cost of one call, or None when it cannot be known.

    Args:
        model: the model name, e.g. ``gpt-4o-2024-08-06``.
        usage: a :class:`~honeyhive_trace.records.Usage`, a mapping, or any
            object with ``prompt_tokens`` and ``completion_tokens``. Prompt
            tokens count every input token, cached ones included.
        prices_override: ``model -> (input, output)`` USD per million tokens
            (``Config.prices``), consulted before the shipped table.
        cache_read_tokens: how many of the prompt tokens were read from the
            prompt cache (billed at the model's cache-read price).
        cache_write_tokens: how many of the prompt tokens were written to the
            prompt cache (billed at the cache-write price).

    Returns:
        The cost in USD, or None for an unknown model or missing token counts.
    """
    if not isinstance(model, str) or not model:
        return None
    prompt = token_count(field(usage, "prompt_tokens"))
    completion = token_count(field(usage, "completion_tokens"))
    if prompt is None and completion is None:
        return None
    price = find_price(model, prices_override)
    if price is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    read = min(max(cache_read_tokens, 0), prompt)
    write = min(max(cache_write_tokens, 0), prompt - read)
    read_price = price.input if price.cache_read is None else price.cache_read
    write_price = price.input if price.cache_write is None else price.cache_write
    cost = (
        (prompt - read - write) * price.input
        + read * read_price
        + write * write_price
        + completion * price.output
    ) / 1_000_000
    return round(cost, 12) if math.isfinite(cost) else None
