"""Shared fixtures: an isolated environment and a real loopback collector.

Only fixtures and hooks live here; helpers are in :mod:`tests._support`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace._config import ENV_VARS
from honeyhive_trace.collector import Collector, Faults
from tests._support.isolation import (
    pytest_configure,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_unconfigure,
)
from tests._support.wire import API_KEY

#: The real-home guard and Hypothesis's temporary home (see tests/_support/isolation.py).
__all__ = ["pytest_configure", "pytest_sessionfinish", "pytest_sessionstart", "pytest_unconfigure"]

# Hypothesis keeps no example database here (property tests set their own profiles).
settings.register_profile("hh-default", database=None)
settings.load_profile("hh-default")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No HH_* variable leaks in; HOME and the XDG dirs live under tmp_path; reset after.

    Subprocesses a test starts inherit ``os.environ``, so they are isolated too.
    """
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    _client.reset()
    yield
    _client.reset()


@pytest.fixture
def faults() -> Faults:
    """A fault script for the collector fixture."""
    return Faults()


@pytest.fixture
def collector(faults: Faults) -> Iterator[Collector]:
    """A real collector on 127.0.0.1, recording raw requests, with fault injection."""
    server = Collector(port=0, db=":memory:", record_requests=True, faults=faults)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def provider() -> Iterator[Any]:
    """A fake OpenAI/Anthropic server on 127.0.0.1 (see tests/_support/fake_provider.py)."""
    from tests._support.fake_provider import FakeProvider

    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    """The spool directory used by the `configure` fixture."""
    return tmp_path / "spool"


@pytest.fixture
def configure(collector: Collector, spool_dir: Path) -> Any:
    """Return a function that configures tracing against the collector.

    Defaults: inline mode, strict (internal errors raise), test key and project.
    """

    def _configure(**overrides: Any) -> None:
        settings: dict[str, Any] = {
            "server_url": collector.url,
            "api_key": API_KEY,
            "project": "test-project",
            "mode": "inline",
            "strict": True,
            "spool_dir": spool_dir,
        }
        settings.update(overrides)
        hh.configure(**settings)

    return _configure


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture) -> Any:
    """Return a function giving everything logged by honeyhive_trace so far."""
    caplog.set_level(logging.DEBUG, logger="honeyhive_trace")

    def _text() -> str:
        return "\n".join(
            f"{r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if r.name.startswith("honeyhive_trace")
        )

    return _text
