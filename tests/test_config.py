"""configure(), the environment, and the unconfigured no-op (tests for _config.py, _client.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace.exceptions import ConfigurationError
from tests._support.wire import API_KEY, sent_bodies


class TestEnvironment:
    def test_environment_configures_the_library(
        self, monkeypatch: pytest.MonkeyPatch, collector: Any, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("HH_API_KEY", API_KEY)
        monkeypatch.setenv("HH_PROJECT", "env-project")
        monkeypatch.setenv("HH_API_URL", collector.url)
        monkeypatch.setenv("HH_SOURCE", "staging")
        monkeypatch.setenv("HH_TRACE_MODE", "inline")
        monkeypatch.setenv("HH_SPOOL_DIR", str(tmp_path / "spool"))

        @hh.trace_model(model="m")
        def call() -> str:
            return "x"

        call()
        [event] = sent_bodies(collector)
        assert ("env-project", "staging") == (event["project"], event["source"])
        [request] = collector.requests
        assert f"Bearer {API_KEY}" == request.headers["Authorization"]
        assert "application/json" == request.headers["Content-Type"]

    def test_explicit_arguments_win_over_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, configure: Any, collector: Any
    ) -> None:
        monkeypatch.setenv("HH_PROJECT", "env-project")
        configure(project="arg-project")
        with hh.model_event(model="m"):
            pass
        assert "arg-project" == sent_bodies(collector)[0]["project"]

    def test_settings_of_earlier_calls_are_kept(self, configure: Any, collector: Any) -> None:
        configure(project="kept")
        hh.configure(source="later")
        with hh.model_event(model="m"):
            pass
        [event] = sent_bodies(collector)
        assert ("kept", "later") == (event["project"], event["source"])


class TestUnconfigured:
    def test_no_key_and_no_url_is_a_silent_no_op(
        self, collector: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="honeyhive_trace")

        @hh.trace_model
        def call(x: int) -> int:
            return x * 2

        assert [2, 4] == [call(1), call(2)]
        with hh.model_event(model="m") as ev:
            ev.set_response("ignored")
        assert [] == collector.requests
        assert 1 >= len([r for r in caplog.records if r.name == "honeyhive_trace"])
        assert {"sent": 0, "enqueued": 0} == {k: hh.stats()[k] for k in ("sent", "enqueued")}

    def test_enabled_false_turns_tracing_off_and_back_on(
        self, configure: Any, collector: Any
    ) -> None:
        configure()
        hh.configure(enabled=False)
        with hh.model_event(model="off"):
            pass
        hh.configure(enabled=True)
        with hh.model_event(model="on"):
            pass
        assert ["on"] == [e["model"] for e in sent_bodies(collector)]

    def test_bad_environment_value_turns_tracing_off_without_raising(
        self, monkeypatch: pytest.MonkeyPatch, collector: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setenv("HH_API_URL", "not a url")
        monkeypatch.setenv("HH_API_KEY", API_KEY)

        @hh.trace_model
        def call() -> int:
            return 1

        assert 1 == call()
        assert [] == collector.requests
        assert "server_url" in caplog.text
        assert API_KEY not in caplog.text


class TestValidation:
    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("server_url", "api.honeyhive.ai"),
            ("server_url", "ftp://host"),
            ("server_url", "http://host:99999"),
            ("server_url", "https://"),
            ("connect_timeout", -1),
            ("read_timeout", 0),
            ("read_timeout", float("inf")),
            ("batch_size", 1.5),
            ("flush_interval", "1"),
            ("max_queue_size", True),
            ("mode", "sometimes"),
            ("api_version", "v2"),
            ("enabled", "yes"),
            ("project", ""),
            ("api_key", "   "),
            ("verify", "/no/such/bundle.pem"),
            ("processors", [42]),
            ("prices", {"gpt-4o": (1,)}),
        ],
    )
    def test_bad_explicit_value_raises_naming_the_setting(self, setting: str, value: Any) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(**{setting: value})
        assert setting == caught.value.setting
        assert str(caught.value).startswith(f"{setting}: ")
        assert isinstance(caught.value, ValueError)

    def test_bad_environment_value_raises_at_configure(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HH_TRACING_ENABLED", "maybe")
        with pytest.raises(ConfigurationError, match="enabled"):
            hh.configure()

    def test_unknown_setting_is_rejected(self) -> None:
        with pytest.raises(TypeError):
            hh.configure(colour="blue")  # type: ignore[call-arg]
        with pytest.raises(ConfigurationError, match="colour"):
            _client.configure(colour="blue")

    def test_key_over_plain_http_to_a_remote_host_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="allow_insecure_http") as caught:
            hh.configure(api_key=API_KEY, server_url="http://example.com")
        assert API_KEY not in str(caught.value)
        hh.configure(api_key=API_KEY, server_url="http://example.com", allow_insecure_http=True)
        hh.configure(enabled=False)  # send nothing anywhere

    def test_repr_never_shows_the_key(self, configure: Any) -> None:
        configure()
        client = _client.STATE.client
        assert client is not None
        for text in (repr(client), repr(client.config), repr(client.transport)):
            assert API_KEY not in text


class TestDeclaredOnce:
    """configure()'s documented signature, Config's fields and the env table agree."""

    def test_configure_takes_exactly_the_declared_settings_in_order(self) -> None:
        import inspect

        from honeyhive_trace._config import SETTINGS

        parameters = inspect.signature(hh.configure).parameters
        assert list(SETTINGS) == list(parameters)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
        assert all(p.default is None for p in parameters.values())

    def test_every_setting_is_documented_in_configures_docstring(self) -> None:
        from honeyhive_trace._config import SETTINGS

        doc = hh.configure.__doc__ or ""
        assert [] == [name for name in SETTINGS if f"        {name}: " not in doc]

    def test_each_environment_variable_is_named_in_the_docstring_of_its_setting(self) -> None:
        from honeyhive_trace._config import ENV_VARS

        doc = hh.configure.__doc__ or ""
        assert {"HH_API_KEY", "HH_PROJECT", "HH_API_URL", "HH_SOURCE"} <= set(ENV_VARS)
        assert [] == [env for env in ENV_VARS if f"``{env}" not in doc]
