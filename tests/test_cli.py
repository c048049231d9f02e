"""The ``honeyhive-trace`` command, run as ``python -m honeyhive_trace`` in subprocesses."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from honeyhive_trace import cli
from honeyhive_trace.collector import Collector
from tests._support.collector import ServeProcess, cli_env, minimal_event, run_cli

pytestmark = pytest.mark.timeout(60)

KEY = "cli-test-key-41d7"


@pytest.fixture
def stocked_db(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A collector database file holding four events, oldest first."""
    db = tmp_path / "events.db"
    events = [
        minimal_event(
            event_id=str(uuid.uuid4()),
            event_name=f"step-{i}",
            project="alpha" if i < 3 else "beta",
            model="gpt-4o" if i % 2 else "claude-3-5-sonnet",
            provider="openai" if i % 2 else "anthropic",
            start_time=1_732_700_000_000 + i * 1000,
            duration=1234.5 if i == 2 else 12.5,
            cost=0.00042,
            **({"error": "RateLimitError: slow down"} if i == 1 else {}),
        )
        for i in range(4)
    ]
    with Collector(db=str(db)) as collector, requests.Session() as http:
        for event in events:
            url = f"{collector.url}/events/model"
            assert 200 == http.post(url, json={"model_event": event}, timeout=10).status_code
    return db, events


class TestServe:
    def test_startup_line_then_sigterm_exits_zero(self, tmp_path: Path):
        db = tmp_path / "nested" / "events.db"
        server = ServeProcess("--port", "0", "--db", str(db))
        try:
            assert str(db) == server.db
            assert server.url.startswith("http://127.0.0.1:")
            event = minimal_event()
            response = requests.post(
                f"{server.url}/events/model", json={"model_event": event}, timeout=10
            )
            assert 200 == response.status_code
            server.proc.send_signal(signal.SIGTERM)
            status, out, err = server.finish()
        finally:
            server.kill()
        assert 0 == status
        assert "stopped" in out
        assert "Traceback" not in err
        assert db.exists()
        # The keyless default is said once, on stderr, with what it exposes.
        assert 1 == err.count("no api key: any user or program on this machine can read")
        assert f"{server.url}/events" in err

    def test_ctrl_c_exits_zero(self, tmp_path: Path):
        server = ServeProcess("--port", "0", "--db", ":memory:")
        try:
            server.proc.send_signal(signal.SIGINT)
            status, _, err = server.finish()
        finally:
            server.kill()
        assert 0 == status
        assert "Traceback" not in err

    def test_api_key_from_the_environment_is_required_and_never_printed(self):
        server = ServeProcess(
            "--port", "0", "--db", ":memory:", env=cli_env(HH_COLLECTOR_API_KEY=KEY)
        )
        try:
            body = {"model_event": minimal_event()}
            url = f"{server.url}/events/model"
            assert 401 == requests.post(url, json=body, timeout=10).status_code
            headers = {"Authorization": f"Bearer {KEY}"}
            assert 200 == requests.post(url, json=body, headers=headers, timeout=10).status_code
            server.proc.send_signal(signal.SIGTERM)
            status, out, err = server.finish()
        finally:
            server.kill()
        assert 0 == status
        assert KEY not in server.startup_line + out + err
        assert "no api key" not in err
        assert "api key required" in server.startup_line

    def test_remote_host_without_allow_remote_is_a_one_line_error(self):
        result = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--db", ":memory:")
        assert 2 == result.returncode
        assert 1 == len(result.stderr.strip().splitlines())
        assert "--allow-remote" in result.stderr

    def test_busy_port_is_a_one_line_error(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            result = run_cli("serve", "--port", str(port), "--db", ":memory:")
        assert 1 == result.returncode
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
        assert 1 == len(result.stderr.strip().splitlines())


class TestEvents:
    def test_table_from_db_is_aligned_oldest_first(self, stocked_db: tuple[Path, list[Any]]):
        db, _ = stocked_db
        result = run_cli("events", "--db", str(db))
        assert 0 == result.returncode, result.stderr
        lines = result.stdout.splitlines()
        header = lines[0]
        assert header.split() == [
            "TIME",
            "NAME",
            "MODEL",
            "PROVIDER",
            "DURATION",
            "TOKENS",
            "COST",
            "ERROR",
        ]
        rows = lines[1:5]
        assert [f"step-{i}" for i in range(4)] == [row.split()[2] for row in rows]
        name_column = header.index("NAME")
        assert all(row[name_column:].startswith("step-") for row in rows)
        assert "1,234 ms" in rows[2]
        assert "RateLimitError: slow down" in rows[1]
        assert "$0.000420" in rows[0]
        assert f"4 of 4 events from {db}" == lines[-1]

    def test_json_lines_are_the_events(self, stocked_db: tuple[Path, list[Any]]):
        db, events = stocked_db
        result = run_cli("events", "--db", str(db), "--json")
        assert 0 == result.returncode, result.stderr
        assert events == [json.loads(line) for line in result.stdout.splitlines()]

    def test_filters_and_limit(self, stocked_db: tuple[Path, list[Any]]):
        db, events = stocked_db
        result = run_cli("events", "--db", str(db), "--json", "--project", "alpha", "--limit", "2")
        assert events[1:3] == [json.loads(line) for line in result.stdout.splitlines()]
        errors = run_cli("events", "--db", str(db), "--json", "--errors")
        assert [events[1]] == [json.loads(line) for line in errors.stdout.splitlines()]

    def test_from_a_running_collector(self, stocked_db: tuple[Path, list[Any]]):
        db, events = stocked_db
        with Collector(db=str(db), api_key=KEY) as collector:
            # A proxy in the environment must not capture a read of the local collector.
            env = cli_env(HH_COLLECTOR_API_KEY=KEY, http_proxy="http://127.0.0.1:9", no_proxy="")
            result = run_cli("events", "--url", collector.url, "--json", env=env)
            assert 0 == result.returncode, result.stderr
            assert events == [json.loads(line) for line in result.stdout.splitlines()]
            table = run_cli(
                "events", "--url", collector.url, "--model", "gpt-4o", "--api-key", KEY
            )
            assert ["step-1", "step-3"] == [
                line.split()[2] for line in table.stdout.splitlines()[1:3]
            ]
            denied = run_cli("events", "--url", collector.url)
        assert 1 == denied.returncode
        assert "HTTP 401" in denied.stderr
        assert KEY not in denied.stderr

    def test_plain_http_to_a_remote_host_is_refused_unless_allowed(self):
        seen: list[str | None] = []

        class Record(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        with ThreadingHTTPServer(("127.0.0.1", 0), Record) as httpd:
            thread = threading.Thread(target=httpd.serve_forever, daemon=True)
            thread.start()
            try:
                # 0.0.0.0 is not a loopback address, yet on Linux it reaches this machine:
                # a stand-in for a remote host that keeps the test's traffic local.
                url = f"http://0.0.0.0:{httpd.server_port}"
                refused = run_cli("events", "--url", url, "--api-key", KEY)
                keyless = run_cli("events", "--url", url)
                allowed = run_cli(
                    "events", "--url", url, "--api-key", KEY, "--allow-insecure-http"
                )
            finally:
                httpd.shutdown()
                thread.join()
        assert 2 == refused.returncode
        assert "refusing to send the API key over plain http://" in refused.stderr
        assert "--allow-insecure-http" in refused.stderr
        assert KEY not in refused.stderr
        assert "HTTP 401" in keyless.stderr  # no key, nothing to protect
        assert "HTTP 401" in allowed.stderr
        assert [None, f"Bearer {KEY}"] == seen  # the refused run sent nothing

    def test_redirects_are_refused_so_the_key_stays_home(self):
        seen: list[str | None] = []

        class Redirect(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        with ThreadingHTTPServer(("127.0.0.1", 0), Redirect) as httpd:
            thread = threading.Thread(target=httpd.serve_forever, daemon=True)
            thread.start()
            try:
                url = f"http://127.0.0.1:{httpd.server_port}"
                result = run_cli("events", "--url", url, "--api-key", KEY)
            finally:
                httpd.shutdown()
                thread.join()
        assert 1 == result.returncode
        assert "HTTP 302" in result.stderr
        assert [f"Bearer {KEY}"] == seen

    def test_missing_db_is_a_one_line_error(self, tmp_path: Path):
        result = run_cli("events", "--db", str(tmp_path / "nope.db"))
        assert 1 == result.returncode
        assert 1 == len(result.stderr.strip().splitlines())
        assert "no events database" in result.stderr

    def test_unreachable_url_is_a_one_line_error(self):
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        result = run_cli("events", "--url", f"http://127.0.0.1:{port}")
        assert 1 == result.returncode
        assert 1 == len(result.stderr.strip().splitlines())

    def test_empty_db(self, tmp_path: Path):
        db = tmp_path / "empty.db"
        Collector(db=str(db))
        result = run_cli("events", "--db", str(db))
        assert 0 == result.returncode
        assert result.stdout.startswith("no events")


class TestTable:
    def test_control_characters_cannot_reach_the_terminal(self):
        out = io.StringIO()
        event = minimal_event(event_name="\x1b[31mred\x1b[0m", error="line\nbreak")
        cli.print_table([event], out)
        text = out.getvalue()
        assert "\x1b" not in text
        assert "\\x1b[31mred" in text
        assert 2 == len(text.splitlines())

    def test_long_values_are_cut(self):
        out = io.StringIO()
        cli.print_table([minimal_event(event_name="n" * 200)], out)
        assert "n" * 35 + "…" in out.getvalue()
        assert "n" * 37 not in out.getvalue()


class TestArguments:
    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["bogus"],
            ["serve", "--port", "70000"],
            ["serve", "--port", "http"],
            ["serve", "--max-body-bytes", "0"],
            ["events", "--limit", "0"],
            ["events", "--limit", "5000"],
            ["events", "--db", "a.db", "--url", "http://127.0.0.1:1"],
            ["events", "--url", "file:///etc/passwd"],
            ["demo", "--mode", "sometimes"],
            ["demo", "--api-version", "v2"],
            ["serve", "--project", ""],
        ],
    )
    def test_bad_arguments_exit_non_zero_with_a_message(self, args: list[str]):
        result = run_cli(*args)
        assert 2 == result.returncode
        assert "error" in result.stderr
        assert "Traceback" not in result.stderr

    @pytest.mark.parametrize("command", [[], ["serve"], ["events"], ["demo"]])
    def test_help(self, command: list[str]):
        result = run_cli(*command, "--help")
        assert 0 == result.returncode
        assert result.stdout.startswith("usage: honeyhive-trace")

    def test_version(self):
        result = run_cli("--version")
        assert 0 == result.returncode
        assert result.stdout.startswith("honeyhive-trace ")

    def test_main_is_callable_in_process(self, capsys: pytest.CaptureFixture[str], tmp_path: Path):
        db = tmp_path / "e.db"
        Collector(db=str(db))
        assert 0 == cli.main(["events", "--db", str(db), "--json"])
        assert "" == capsys.readouterr().out


def _tree_rows(output: str) -> list[tuple[str, int, str]]:
    """(type, depth, name) of each line of a printed tree (type column, then the label)."""
    rows = []
    for line in output.splitlines():
        kind = line.split(" ", 1)[0]
        if kind not in ("session", "chain", "model", "tool"):
            continue
        label = line[len("session  ") :]  # the type column is as wide as "session"
        rows.append((kind, (len(label) - len(label.lstrip(" "))) // 2, label.split()[0]))
    return rows


class TestDemo:
    def test_demo_traces_an_agent_and_prints_its_tree(self, tmp_path: Path):
        demo_db = tmp_path / "demo.db"
        result = run_cli("demo", "--db", str(demo_db))
        assert 0 == result.returncode, result.stdout + result.stderr
        assert "all 5 events, the session start and 2 updates arrived" in result.stdout
        assert f"database: {demo_db}" in result.stdout
        assert "honeyhive-trace serve" in result.stdout
        assert "HH_API_URL=http://127.0.0.1:8719" in result.stdout
        # The session, the chain under it, and its four steps under the chain, in order.
        assert [
            ("session", 0, "demo-agent"),
            ("chain", 1, "answer_question"),
            ("model", 2, "choose_tool"),
            ("tool", 2, "search_docs"),
            ("tool", 2, "fetch_page"),
            ("model", 2, "write_answer"),
        ] == _tree_rows(result.stdout)
        [failed] = [line for line in result.stdout.splitlines() if "fetch_page" in line]
        assert "ERROR TimeoutError: fake timeout" in failed

        listed = run_cli("events", "--db", str(demo_db), "--json")
        events = [json.loads(line) for line in listed.stdout.splitlines()]
        by_name = {e["event_name"]: e for e in events}
        assert 5 == len(events)
        chain = by_name["answer_question"]
        assert {"rating": 1, "comment": "helpful"} == chain["feedback"]
        assert [
            by_name[n]["event_id"]
            for n in ("choose_tool", "search_docs", "fetch_page", "write_answer")
        ] == chain["children_ids"]
        assert (
            "search_docs"
            == by_name["choose_tool"]["response"]["tool_calls"][0]["function"]["name"]
        )
        assert by_name["write_answer"]["metadata"]["time_to_first_token_ms"] >= 0
        assert {chain["session_id"]} == {e["session_id"] for e in events}
        assert chain["parent_id"] == chain["session_id"]

    def test_demo_through_the_v1_api_shows_the_same_as_legacy(self, tmp_path: Path):
        runs = {}
        for version in ("legacy", "v1"):
            db = tmp_path / f"{version}.db"
            result = run_cli("demo", "--db", str(db), "--api-version", version)
            assert 0 == result.returncode, result.stdout + result.stderr
            listed = run_cli("events", "--db", str(db), "--project", "demo", "--json")
            events = [json.loads(line) for line in listed.stdout.splitlines()]
            moving = {"event_id", "session_id", "parent_id", "children_ids"}
            moving |= {"start_time", "end_time", "duration"}
            for event in events:  # a time, like those above
                event.get("metadata", {}).pop("time_to_first_token_ms", None)
            runs[version] = (
                _tree_rows(result.stdout),
                [line for line in result.stdout.splitlines() if line.startswith("all ")],
                sorted(
                    ({k: v for k, v in e.items() if k not in moving} for e in events),
                    key=lambda e: str(e["event_name"]),
                ),
            )
        legacy, v1 = runs["legacy"], runs["v1"]
        assert 6 == len(legacy[0])
        assert ["all 5 events, the session start and 2 updates arrived"] == legacy[1]
        assert 5 == len(legacy[2])
        assert {"demo"} == {e["project"] for e in v1[2]}
        assert legacy == v1

    def test_demo_twice_on_one_db_counts_only_its_own_events(self, tmp_path: Path):
        demo_db = tmp_path / "demo.db"
        assert 0 == run_cli("demo", "--db", str(demo_db), "--mode", "inline").returncode
        second = run_cli("demo", "--db", str(demo_db))
        assert 0 == second.returncode, second.stdout + second.stderr

    def test_demo_keep_serves_the_viewer_until_ctrl_c(self, tmp_path: Path):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "honeyhive_trace",
                "demo",
                "--keep",
                "--db",
                str(tmp_path / "d.db"),
            ],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = next(
                (line.split()[2] for line in proc.stdout if line.startswith("viewer at ")), None
            )
            assert url is not None, proc.stderr.read() if proc.stderr else ""
            assert 5 == requests.get(f"{url}events", timeout=10).json()["total"]
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=20)
        assert 0 == proc.returncode, err


@pytest.fixture
def sessions_db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A collector database with two sessions; the newer holds a chain with a tool and two
    model calls (one failing), the older one model call and no /session/start."""
    db = tmp_path / "sessions.db"
    ids = {name: str(uuid.uuid4()) for name in ("new", "old", "chain", "tool")}
    t0 = 1_732_800_000_000
    session = {"project": "p", "session_name": "support chat", "source": "t"}
    chain = {
        "project": "p",
        "event_type": "chain",
        "event_name": "answer",
        "source": "t",
        "config": {},
        "inputs": {},
        "duration": 400,
        "event_id": ids["chain"],
        "session_id": ids["new"],
        "parent_id": ids["new"],
        "start_time": t0,
    }
    tool = {**chain, "event_type": "tool", "event_name": "search", "duration": 50}
    tool.update(event_id=ids["tool"], parent_id=ids["chain"], start_time=t0 + 10)
    models = [
        minimal_event(
            event_name="draft",
            session_id=ids["new"],
            parent_id=ids["chain"],
            start_time=t0 + 70,
            duration=180,
            cost=0.002,
            usage={"total_tokens": 1500},
        ),
        minimal_event(
            event_name="polish",
            session_id=ids["new"],
            parent_id=ids["chain"],
            start_time=t0 + 260,
            duration=130,
            error="Traceback (most recent call last):\n  ...\nValueError: bad \x1b[31m",
        ),
        minimal_event(event_name="hello", session_id=ids["old"], start_time=t0 - 60_000),
    ]
    with Collector(db=str(db)) as collector, requests.Session() as http:
        for path, body in (
            ("/session/start", {"session": {**session, "session_id": ids["new"]}}),
            ("/events/batch", {"events": [chain, tool]}),
            ("/events/model/batch", {"model_events": models}),
        ):
            assert 200 == http.post(collector.url + path, json=body, timeout=10).status_code
    return db, ids


class TestTree:
    def test_the_newest_session_as_an_indented_tree_with_totals(
        self, sessions_db: tuple[Path, dict[str, str]]
    ):
        db, ids = sessions_db
        result = run_cli("events", "--db", str(db), "--tree")
        assert 0 == result.returncode, result.stderr
        label = f"support chat {ids['new']}"  # the widest name sets the column
        name = len(label)
        assert [
            f"session  {label}   400 ms  1,502 tok  $0.002000",
            f"chain    {'  answer'.ljust(name)}   400 ms",
            f"tool     {'    search'.ljust(name)}  50.0 ms",
            f"model    {'    draft'.ljust(name)}   180 ms  1,500 tok  $0.002000",
            f"model    {'    polish'.ljust(name)}   130 ms      2 tok"
            "             ERROR ValueError: bad \\x1b[31m",
            "total: 4 events · 1,502 tokens · $0.002000 · 1 error · 400 ms",
        ] == result.stdout.splitlines()

    def test_a_chosen_session_from_a_running_collector(
        self, sessions_db: tuple[Path, dict[str, str]]
    ):
        db, ids = sessions_db
        with Collector(db=str(db), api_key=KEY) as collector:
            env = cli_env(HH_COLLECTOR_API_KEY=KEY)
            args = ("events", "--url", collector.url, "--tree", "--session", ids["old"])
            result = run_cli(*args, env=env)
            assert 0 == result.returncode, result.stderr
            lines = result.stdout.splitlines()
            assert lines[0].startswith(f"session  (unnamed session) {ids['old']}")
            assert ["model", "hello"] == lines[1].split()[:2]
            assert "total: 1 events · 2 tokens · $0.000000 · 0 errors · 12.5 ms" == lines[2]
            as_json = run_cli(*args, "--json", env=env)
            found = json.loads(as_json.stdout)
            assert ids["old"] == found["session"]["session_id"]
            assert ["hello"] == [e["event_name"] for e in found["events"]]
            missing = run_cli(
                "events", "--url", collector.url, "--tree", "--session", "x", env=env
            )
        assert (1, "honeyhive-trace: error: no session with id x\n") == (
            missing.returncode,
            missing.stderr,
        )

    def test_no_sessions_and_misuse(self, tmp_path: Path):
        db = tmp_path / "empty.db"
        Collector(db=str(db))
        empty = run_cli("events", "--db", str(db), "--tree")
        assert (1, "honeyhive-trace: error: no sessions yet\n") == (empty.returncode, empty.stderr)
        misuse = run_cli("events", "--db", str(db), "--session", "x")
        assert 2 == misuse.returncode
        assert "--session needs --tree" in misuse.stderr
