"""Cost: the shipped price table, model-name matching, overrides, and the cost on events."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations._pricing import (
    PRICE_SOURCES,
    PRICES,
    PRICES_CHECKED,
    ModelPrice,
    compute_cost,
    find_price,
    price_source,
)
from honeyhive_trace.records import Usage


class TestPriceTable:
    def test_it_says_when_it_was_checked(self) -> None:
        assert isinstance(PRICES_CHECKED, datetime.date)

    def test_every_price_is_a_finite_non_negative_number(self) -> None:
        for model, price in PRICES.items():
            assert model == model.lower(), model
            for value in price:
                assert value is None or (math.isfinite(value) and value >= 0), model

    @pytest.mark.parametrize(
        "model",
        [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o1",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "claude-3-haiku",
            "claude-3-opus",
            "claude-3-5-haiku",
            "claude-3-5-sonnet",
            "claude-3-7-sonnet",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-opus-4-5",
            "claude-haiku-4-5",
        ],
    )
    def test_current_models_are_priced(self, model: str) -> None:
        assert model in PRICES


class TestFindPrice:
    @pytest.mark.parametrize(
        ("model", "family"),
        [
            ("gpt-4o", "gpt-4o"),
            ("GPT-4o", "gpt-4o"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
            ("o3-mini-2025-01-31", "o3-mini"),
            ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
            ("openai/gpt-4o", "gpt-4o"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
            ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
        ],
    )
    def test_dated_and_aliased_names_take_their_family_price(
        self, model: str, family: str
    ) -> None:
        assert PRICES[family] == find_price(model)

    def test_a_snapshot_priced_apart_keeps_its_own_price(self) -> None:
        assert ModelPrice(5.00, 15.00) == find_price("gpt-4o-2024-05-13")

    def test_opus_4_5_is_not_priced_as_opus_4(self) -> None:
        assert PRICES["claude-opus-4-5"] == find_price("claude-opus-4-5-20251101")
        assert PRICES["claude-opus-4-5"] != PRICES["claude-opus-4"]

    @pytest.mark.parametrize(
        "model",
        ["claude-opus-4-9", "gpt-5.9", "gpt-4", "llama3.2", "mistral-large", "", "gpt"],
    )
    def test_an_unknown_model_or_a_newer_version_has_no_price(self, model: str) -> None:
        assert find_price(model) is None

    def test_an_override_adds_a_model_matched_by_prefix(self) -> None:
        prices = {"my-llm": (1.0, 2.0)}
        assert ModelPrice(1.0, 2.0) == find_price("my-llm-2025-01-01", prices)

    def test_an_override_replaces_the_shipped_price(self) -> None:
        assert ModelPrice(1.0, 4.0) == find_price("gpt-4o-2024-08-06", {"gpt-4o": (1.0, 4.0)})

    def test_the_longest_prefix_wins_across_both_tables(self) -> None:
        assert PRICES["gpt-4o-mini"] == find_price("gpt-4o-mini", {"gpt-4o": (1.0, 4.0)})


class TestComputeCost:
    def test_prompt_and_completion_tokens_at_their_prices(self) -> None:
        usage = {"prompt_tokens": 1000, "completion_tokens": 500}
        assert pytest.approx(0.0025 + 0.005) == compute_cost("gpt-4o", usage)

    def test_usage_may_be_a_usage_record_or_any_object(self) -> None:
        assert pytest.approx(0.0075) == compute_cost("gpt-4o", Usage(1000, 500, 1500))

        class SDKUsage:
            prompt_tokens = 1000
            completion_tokens = 500

        assert pytest.approx(0.0075) == compute_cost("gpt-4o", SDKUsage())

    def test_cache_reads_and_writes_are_priced_apart(self) -> None:
        usage = {"prompt_tokens": 1000, "completion_tokens": 0}
        # 600 cached at $1.25/M, 400 at $2.50/M.
        assert pytest.approx((400 * 2.5 + 600 * 1.25) / 1e6) == compute_cost(
            "gpt-4o", usage, cache_read_tokens=600
        )
        # Anthropic: 100 read at $0.30/M, 300 written at $3.75/M, 600 at $3/M.
        assert pytest.approx((600 * 3 + 100 * 0.3 + 300 * 3.75) / 1e6) == compute_cost(
            "claude-sonnet-4-6", usage, cache_read_tokens=100, cache_write_tokens=300
        )

    def test_an_override_prices_cache_reads_at_its_input_price(self) -> None:
        usage = {"prompt_tokens": 1000, "completion_tokens": 1000}
        assert pytest.approx(0.003) == compute_cost(
            "my-llm", usage, {"my-llm": (1.0, 2.0)}, cache_read_tokens=500
        )

    @pytest.mark.parametrize(
        ("model", "usage"),
        [
            ("llama3.2", {"prompt_tokens": 10, "completion_tokens": 5}),
            ("gpt-4o", {}),
            ("gpt-4o", None),
            ("gpt-4o", {"prompt_tokens": "many"}),
            (None, {"prompt_tokens": 10, "completion_tokens": 5}),
            (42, {"prompt_tokens": 10, "completion_tokens": 5}),
        ],
    )
    def test_no_cost_without_a_known_model_and_token_counts(self, model: Any, usage: Any) -> None:
        assert compute_cost(model, usage) is None

    def test_one_known_count_is_enough(self) -> None:
        assert pytest.approx(10 * 2.5 / 1e6) == compute_cost("gpt-4o", {"prompt_tokens": 10})


class TestCostOnEvents:
    def test_an_event_with_model_and_usage_gets_its_cost(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        with hh.model_event(model="gpt-4o-mini") as event:
            event.set_usage(prompt_tokens=2000, completion_tokens=1000)

        [body] = collector.events()
        assert pytest.approx((2000 * 0.15 + 1000 * 0.60) / 1e6) == body["cost"]
        assert "openai" == body["provider"]

    def test_configured_prices_extend_and_override_the_table(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(prices={"my-llm": (1.0, 2.0), "gpt-4o": (1.0, 1.0)})
        for model in ("my-llm-v2", "gpt-4o-2024-08-06"):
            with hh.model_event(model=model) as event:
                event.set_usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)

        costs = {body["model"]: body["cost"] for body in collector.events()}
        assert {"my-llm-v2": pytest.approx(3.0), "gpt-4o-2024-08-06": pytest.approx(2.0)} == costs

    def test_an_unknown_model_gets_no_cost_and_no_error(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        with hh.model_event(model="llama3.2") as event:
            event.set_usage(prompt_tokens=10, completion_tokens=5)

        [body] = collector.events()
        assert "cost" not in body
        assert "error" not in body

    def test_a_cost_set_by_the_user_is_kept(self, configure: Any, collector: Collector) -> None:
        configure()
        with hh.model_event(model="gpt-4o") as event:
            event.set_usage(prompt_tokens=10, completion_tokens=5)
            event.set_cost(1.5)

        [body] = collector.events()
        assert 1.5 == body["cost"]


class TestGeminiAndBedrockPrices:
    def test_every_shipped_price_names_its_source_and_date(self) -> None:
        for model in PRICES:
            found = price_source(model)
            assert found is not None, model
            url, read_on = found
            assert url.startswith("https://"), model
            assert isinstance(read_on, datetime.date), model
        assert {"openai", "anthropic", "google", "bedrock"} == set(PRICE_SOURCES)

    @pytest.mark.parametrize(
        ("model", "family"),
        [
            ("gemini-2.5-pro", "gemini-2.5-pro"),
            ("models/gemini-2.5-flash", "gemini-2.5-flash"),
            ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
            ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
            ("gemini-2.0-flash-001", "gemini-2.0-flash"),
            ("gemini/gemini-2.0-flash-lite", "gemini-2.0-flash-lite"),
            ("amazon.nova-pro-v1:0", "nova-pro"),
            ("us.amazon.nova-lite-v1:0", "nova-lite"),
            ("apac.amazon.nova-micro-v1:0", "nova-micro"),
            ("amazon.titan-text-express-v1", "titan-text-express"),
            ("meta.llama3-1-70b-instruct-v1:0", "llama3-1-70b-instruct"),
            ("us.meta.llama3-3-70b-instruct-v1:0", "llama3-3-70b-instruct"),
            ("us.meta.llama4-maverick-17b-instruct-v1:0", "llama4-maverick-17b-instruct"),
            ("bedrock/us.amazon.nova-premier-v1:0", "nova-premier"),
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
            ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ],
    )
    def test_model_ids_take_their_family_price(self, model: str, family: str) -> None:
        assert PRICES[family] == find_price(model)

    @pytest.mark.parametrize("model", ["gemini-9-ultra", "amazon.nova-9-v1:0", "meta.llama9-v1"])
    def test_unknown_models_of_these_providers_get_no_price(self, model: str) -> None:
        assert find_price(model) is None

    def test_configured_prices_override_gemini_and_bedrock(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(prices={"gemini-2.5-flash": (1.0, 1.0), "amazon.nova-lite": (2.0, 2.0)})
        for model in ("gemini-2.5-flash", "us.amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"):
            with hh.model_event(model=model) as event:
                event.set_usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)

        costs = {body["model"]: body["cost"] for body in collector.events()}
        assert {
            "gemini-2.5-flash": pytest.approx(2.0),
            "us.amazon.nova-lite-v1:0": pytest.approx(4.0),
            "amazon.nova-pro-v1:0": pytest.approx(0.80 + 3.20),
        } == costs
