"""The transport's requests go straight to the session's adapter: with the session's
headers, cookies and proxies, exactly as ``requests.Session.request`` would send them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

import honeyhive_trace as hh
from honeyhive_trace.delivery.requester import TEMPLATES_KEPT, Requester

KEY = "hhk-requester-test-0a1b2c3d"


class _Api(BaseHTTPRequestHandler):
    """Answers like HoneyHive's API; sets a cookie on its first answer; records every request."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]]

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        first = not self.seen
        self.seen.append(
            {
                "path": self.path,
                "cookie": self.headers.get("Cookie"),
                "authorization": self.headers.get("Authorization"),
                "user_agent": self.headers.get("User-Agent"),
                "length": int(self.headers.get("Content-Length", -1)),
                "body": body,
            }
        )
        event = json.loads(body).get("model_event", {}) if body else {}
        data = json.dumps({"event_id": event.get("event_id", "x"), "success": True}).encode()
        self.send_response(200)
        if first:
            self.send_header("Set-Cookie", "lb=node-7; Path=/")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = _answer


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Api", (_Api,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _three_events(url: str, spool_dir: Path, **extra: Any) -> None:
    hh.configure(api_key=KEY, server_url=url, mode="inline", spool_dir=spool_dir, **extra)
    for _ in range(3):
        with hh.model_event(model="m"):
            pass


class TestWhatGoesOut:
    def test_the_sessions_headers_and_each_body_with_its_length(
        self, api: tuple[str, list[dict[str, Any]]], spool_dir: Path
    ) -> None:
        url, seen = api
        _three_events(url, spool_dir)
        assert 3 == hh.stats()["sent"]
        assert ["/events/model"] * 3 == [s["path"] for s in seen]
        assert {f"Bearer {KEY}"} == {s["authorization"] for s in seen}
        assert all(s["user_agent"].startswith("honeyhive-trace/") for s in seen)
        assert [len(s["body"]) for s in seen] == [s["length"] for s in seen]
        ids = [json.loads(s["body"])["model_event"]["event_id"] for s in seen]
        assert 3 == len(set(ids))  # each request its own body, not the template's

    def test_a_cookie_the_server_set_goes_back_as_the_session_would_send_it(
        self, api: tuple[str, list[dict[str, Any]]], spool_dir: Path
    ) -> None:
        url, seen = api
        _three_events(url, spool_dir)
        assert [None, "lb=node-7", "lb=node-7"] == [s["cookie"] for s in seen]
        # The same as requests.Session.request against the same server:
        seen.clear()
        session = requests.Session()
        for _ in range(3):
            session.post(f"{url}/events/model", data=b"{}", timeout=5).raise_for_status()
        assert [None, "lb=node-7", "lb=node-7"] == [s["cookie"] for s in seen]

    def test_a_proxy_from_the_environment_carries_events_to_a_remote_server(
        self,
        api: tuple[str, list[dict[str, Any]]],
        spool_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        proxy, seen = api  # the proxy answers as the API would
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # Never resolved here: the proxy is asked for it (.invalid exists nowhere).
        _three_events("http://honeyhive.invalid", spool_dir, allow_insecure_http=True)
        assert 3 == hh.stats()["sent"]
        assert ["http://honeyhive.invalid/events/model"] * 3 == [s["path"] for s in seen]


class TestTheTemplates:
    def test_paths_that_name_an_item_do_not_grow_the_templates_kept(
        self, api: tuple[str, list[dict[str, Any]]]
    ) -> None:
        url, seen = api
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {KEY}"
        requester = Requester(session)
        paths = [f"/v1/events/e-{i}" for i in range(3 * TEMPLATES_KEPT)]
        for path in paths:
            response = requester.request("PUT", url + path, b"{}", (1.0, 5.0))
            assert 200 == response.status_code
        assert paths == [s["path"] for s in seen]
        assert {f"Bearer {KEY}"} == {s["authorization"] for s in seen}
        assert TEMPLATES_KEPT == len(requester._templates)
