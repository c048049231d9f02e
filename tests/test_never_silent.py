"""Never silent: a problem only the user can fix reaches them with no logging configured.

Each test runs a small program in a subprocess, as a new user would (no
``logging`` set up, default warning filters), and reads its stderr: the
problem is there once, as one ``TracingWarning`` line saying what to do,
however often it happened; routine retries are not; ``hh.health()`` says the
same in words. Loopback only: a collector on 127.0.0.1, or a closed port.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from tests._support.collector import cli_env

pytestmark = pytest.mark.timeout(60)

KEY = "never-silent-key-5c1a"

#: Traces three events, flushes, prints health() as JSON on stdout.
PROGRAM = textwrap.dedent(
    """
    import json, sys
    import honeyhive_trace as hh

    @hh.trace_model
    def ask(prompt):
        return "an answer"

    for i in range(3):
        ask(f"question {i}")
    hh.flush(timeout=10)
    print(json.dumps(hh.health()))
    """
)


@pytest.fixture
def keyed() -> Iterator[Collector]:
    with Collector(db=":memory:", api_key=KEY) as server:
        yield server


def run(program: str = PROGRAM, **env: str) -> tuple[dict[str, Any], list[str]]:
    """Run *program* with *env* added; return its health() and its stderr lines."""
    result = subprocess.run(
        [sys.executable, "-c", program],
        check=False,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), result.stderr.splitlines()


def warned(lines: list[str]) -> list[str]:
    """The warning lines; each must be the only line of its warning."""
    found = [line for line in lines if "TracingWarning: honeyhive_trace:" in line]
    assert all(line.startswith("honeyhive_trace:0: TracingWarning: ") for line in found)
    assert len(found) == len(lines), lines  # nothing else: no source line, no retries
    return found


class TestReachesTheUser:
    def test_a_rejected_key_is_one_warning_and_in_health(self, keyed: Collector) -> None:
        health, stderr = run(HH_API_KEY="wrong-key-0000", HH_API_URL=keyed.url)
        [line] = warned(stderr)
        assert f"the server at {keyed.url} refused the API key (HTTP 401" in line
        assert "check HH_API_KEY" in line
        assert "wrong-key-0000" not in "\n".join(stderr)
        assert health["ok"] is False
        assert health["recording"] is True
        assert "refused the API key" in health["last_rejection"]
        assert [health["last_rejection"]] == health["problems"]

    def test_a_typo_in_the_mode_turns_tracing_off_and_says_so(self, keyed: Collector) -> None:
        health, stderr = run(HH_API_KEY=KEY, HH_API_URL=keyed.url, HH_TRACE_MODE="inlien")
        [line] = warned(stderr)
        assert (
            "tracing is off: bad environment variable HH_TRACE_MODE: expected 'background' "
            "or 'inline', got 'inlien'"
        ) in line
        assert (False, False) == (health["ok"], health["recording"])
        assert ["HH_TRACE_MODE:"] == [p.split()[6] for p in health["problems"]]
        assert 0 == keyed.count()

    def test_a_url_without_a_scheme_says_so(self) -> None:
        health, stderr = run(HH_API_KEY=KEY, HH_API_URL="localhost:8719")
        [line] = warned(stderr)
        assert "bad environment variable HH_API_URL: must start with http:// or https://" in line
        assert health["ok"] is False

    def test_events_left_in_the_spool_at_exit_are_one_warning(self, tmp_path: Path) -> None:
        # Bound but never listening: refused, and no other test's server can take
        # the port meanwhile (a port closed again could be, under xdist).
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
        program = textwrap.dedent(
            """
            import honeyhive_trace as hh
            hh.configure(exit_timeout=0.3, retry_budget=0.2)

            @hh.trace_model
            def ask(prompt):
                return "an answer"

            for i in range(5):
                ask(f"question {i}")
            """
        )
        spool = tmp_path / "spool"
        with dead:
            _, stderr = run(
                program,
                HH_API_KEY=KEY,
                HH_API_URL=f"http://127.0.0.1:{port}",
                HH_SPOOL_DIR=str(spool),
            )
        [line] = warned(stderr)
        assert "5 events not delivered before exit are kept in the spool" in line
        assert str(spool) in line
        assert [] == [x for x in stderr if "retry" in x.lower()]  # routine retries: the log only

    def test_the_warning_can_be_silenced(self, keyed: Collector) -> None:
        # By category in the program, or by message from the environment (-W and
        # PYTHONWARNINGS cannot name a category of a module not yet imported).
        by_category = "import warnings, honeyhive_trace as hh\n" + (
            'warnings.filterwarnings("ignore", category=hh.TracingWarning)\n' + PROGRAM
        )
        wrong = {"HH_API_KEY": "wrong-key-0000", "HH_API_URL": keyed.url}
        health, stderr = run(by_category, **wrong)
        assert [] == stderr
        assert health["last_rejection"] is not None  # still known, only not shown
        for spec in ("ignore:honeyhive_trace", "ignore:::honeyhive_trace"):  # message, module
            _, stderr = run(PYTHONWARNINGS=spec, **wrong)
            assert [] == stderr

    def test_all_is_well_is_said_too(self, keyed: Collector) -> None:
        health, stderr = run(HH_API_KEY=KEY, HH_API_URL=keyed.url)
        assert [] == stderr
        assert {"ok": True, "problems": [], "recording": True, "last_rejection": None} == {
            k: health[k] for k in ("ok", "problems", "recording", "last_rejection")
        }
        assert 3 == keyed.count()


class TestHealthInProcess:
    def test_unconfigured(self) -> None:
        health = hh.health()
        assert health["ok"] is False
        assert ["tracing is off: not configured"] == [p.split(";")[0] for p in health["problems"]]

    def test_disabled(self, keyed: Collector) -> None:
        hh.configure(api_key=KEY, server_url=keyed.url, enabled=False)
        assert ["tracing is disabled (enabled=False or HH_TRACING_ENABLED=false)"] == (
            hh.health()["problems"]
        )

    def test_a_new_configuration_forgets_the_old_rejection(self, keyed: Collector) -> None:
        hh.configure(api_key="wrong-key-0000", server_url=keyed.url, mode="inline")
        with pytest.warns(hh.TracingWarning, match="refused the API key"):
            hh.trace_model(lambda: "x")()
        assert "HTTP 401" in (hh.health()["last_rejection"] or "")
        hh.configure(api_key=KEY)
        hh.trace_model(lambda: "x")()
        assert (True, None) == (hh.health()["ok"], hh.health()["last_rejection"])
