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

__all__ = [
    "PRICES",
    "PRICES_CHECKED",
    "PRICE_SOURCES",
    "ModelPrice",
    "compute_cost",
    "find_price",
    "price_source",
]

#: When the shipped table was last compared with the providers' pricing pages
#: (platform.openai.com/docs/pricing, platform.claude.com/docs/en/about-claude/pricing).
PRICES_CHECKED = datetime.date(2026, 11, 27)

#: Where each section of the table comes from, and the date its prices were read.
#: Gemini: the paid tier, prompts up to 200K tokens; the 2.5 Pro/Flash input,
#: 2.5 Flash-Lite output and 3.1 Pro Preview prices were confirmed against a
#: transcription of the page read on 2026-10-07; the others are the page's
#: prices as of 2025-09 and were not re-read since. Bedrock: on-demand, us-east-1,
#: as of 2025-09, not re-read since; Claude on Bedrock costs what Anthropic's API
#: does, so its ids take the Anthropic prices.
PRICE_SOURCES: Mapping[str, tuple[str, datetime.date]] = {
    "openai": ("https://platform.openai.com/docs/pricing", PRICES_CHECKED),
    "anthropic": ("https://platform.claude.com/docs/en/about-claude/pricing", PRICES_CHECKED),
    "google": ("https://ai.google.dev/gemini-api/docs/pricing", datetime.date(2026, 10, 7)),
    "bedrock": ("https://aws.amazon.com/bedrock/pricing/", datetime.date(2025, 9, 1)),
}


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
    # Google Gemini (PRICE_SOURCES["google"]; cache reads at the context-caching price)
    "gemini-2.0-flash": ModelPrice(0.10, 0.40, 0.025),
    "gemini-2.0-flash-lite": ModelPrice(0.075, 0.30),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00, 0.125),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": ModelPrice(0.10, 0.40, 0.01),
    "gemini-3.1-pro-preview": ModelPrice(2.00, 12.00),
    # AWS Bedrock (PRICE_SOURCES["bedrock"]): ids without their region and vendor prefixes
    "nova-micro": ModelPrice(0.035, 0.14),
    "nova-lite": ModelPrice(0.06, 0.24),
    "nova-pro": ModelPrice(0.80, 3.20),
    "nova-premier": ModelPrice(2.50, 12.50),
    "titan-text-lite": ModelPrice(0.15, 0.20),
    "titan-text-express": ModelPrice(0.20, 0.60),
    "titan-text-premier": ModelPrice(0.50, 1.50),
    "llama3-8b-instruct": ModelPrice(0.30, 0.60),
    "llama3-70b-instruct": ModelPrice(2.65, 3.50),
    "llama3-1-8b-instruct": ModelPrice(0.22, 0.22),
    "llama3-1-70b-instruct": ModelPrice(0.72, 0.72),
    "llama3-1-405b-instruct": ModelPrice(2.40, 2.40),
    "llama3-2-1b-instruct": ModelPrice(0.10, 0.10),
    "llama3-2-3b-instruct": ModelPrice(0.15, 0.15),
    "llama3-2-11b-instruct": ModelPrice(0.16, 0.16),
    "llama3-2-90b-instruct": ModelPrice(0.72, 0.72),
    "llama3-3-70b-instruct": ModelPrice(0.72, 0.72),
    "llama4-scout-17b-instruct": ModelPrice(0.17, 0.66),
    "llama4-maverick-17b-instruct": ModelPrice(0.24, 0.97),
}

#: Which section of :data:`PRICE_SOURCES` a shipped model name belongs to, by prefix.
_SECTIONS = (
    (("gpt-", "o1", "o3", "o4", "text-embedding-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "google"),
    (("nova-", "titan-", "llama"), "bedrock"),
)


def price_source(model: str) -> tuple[str, datetime.date] | None:
    """Where the shipped price of *model* (a key of :data:`PRICES`) comes from, and its date.

    Returns:
        (pricing page URL, date), or None for a name of no known section.
    """
    for prefixes, section in _SECTIONS:
        if model.startswith(prefixes):
            return PRICE_SOURCES[section]
    return None


# After a matched prefix: nothing, or a separator and a suffix that is not a
# short version number (dates like 20241022 or 2024-08-06, "latest", "v2@...").
_SUFFIX = re.compile(r"(?:[-@:](?!\d{1,2}(?:$|[-@:.]))|$)")


#: Bedrock model ids: an optional region prefix ("us.", "eu.", "global.", ...),
#: then the vendor ("anthropic.", "meta.", "amazon."), then the model.
_BEDROCK_ID = re.compile(r"^(?:[a-z]{2,6}\.)?(?:anthropic|meta|amazon)\.")


def _normalise(model: str) -> str:
    name = model.strip().lower()
    name = name.rpartition("/")[2]  # "openai/gpt-4o" (LiteLLM, OpenRouter), "models/gemini-..."
    return _BEDROCK_ID.sub("", name)


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
