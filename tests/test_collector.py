"""The local collector: the wire contract, validation, storage, faults and robustness.

Every test talks to a real collector over 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from honeyhive_trace import locations as _paths
from honeyhive_trace.collector import (
    Collector,
    EventStore,
    Faults,
    RecordedRequest,
    StoreError,
    default_db_path,
)
from tests._support.collector import (
    ServeProcess,
    full_event,
    minimal_event,
    raw_exchange,
    status_of,
)

KEY = "collector-test-key-9b2e"


@pytest.fixture
def faults() -> Faults:
    """A fault script for the ``server`` fixture."""
    return Faults()


@pytest.fixture
def server(faults: Faults) -> Iterator[Collector]:
    """A started in-memory collector that records requests and takes faults."""
    with Collector(db=":memory:", record_requests=True, faults=faults) as collector:
        yield collector


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session (keep-alive), closed after the test."""
    with requests.Session() as session:
        yield session


def post_one(http: requests.Session, url: str, event: Any, **kw: Any) -> requests.Response:
    return http.post(f"{url}/events/model", json={"model_event": event}, timeout=10, **kw)


def post_batch(http: requests.Session, url: str, events: Any, **kw: Any) -> requests.Response:
    return http.post(f"{url}/events/model/batch", json={"model_events": events}, timeout=10, **kw)


def errors_of(response: requests.Response) -> dict[str, str]:
    body = response.json()
    assert body["success"] is False
    return {e["field"]: e["message"] for e in body["errors"]}


class TestContract:
    def test_single_event_round_trips_exactly(self, server: Collector, http: requests.Session):
        event = full_event()
        response = post_one(http, server.url, event)
        assert 200 == response.status_code
        assert {"event_id": event["event_id"], "success": True} == response.json()
        listed = http.get(f"{server.url}/events", timeout=10).json()
        assert {"events": [event], "total": 1} == listed
        one = http.get(f"{server.url}/events/{event['event_id']}", timeout=10)
        assert event == one.json()
        assert [event] == server.events()

    def test_stored_text_is_byte_for_byte_what_was_posted(
        self, server: Collector, http: requests.Session
    ):
        text = '{"project":"p","model":"m","provider":"x","messages":[],"response":{},'
        text += '"duration":1.50,"usage":{},"event_id":"%s","big":12345678901234567890}'
        event_id = str(uuid.uuid4())
        event_text = text % event_id
        body = '{ "model_event" :\n  ' + event_text + " }"
        headers = {"Content-Type": "application/json"}
        response = http.post(f"{server.url}/events/model", data=body, headers=headers, timeout=10)
        assert 200 == response.status_code
        raw = http.get(f"{server.url}/events/{event_id}", timeout=10).text
        assert event_text == raw

    def test_batch_answers_ids_in_request_order(self, server: Collector, http: requests.Session):
        events = [minimal_event(event_id=str(uuid.uuid4()), event_name=f"e{i}") for i in range(5)]
        response = post_batch(http, server.url, events)
        assert 200 == response.status_code
        assert {"event_ids": [e["event_id"] for e in events], "success": True} == response.json()
        assert list(reversed(events)) == server.events()

    def test_batch_accepts_session_fields(self, server: Collector, http: requests.Session):
        body = {
            "model_events": [minimal_event()],
            "is_single_session": True,
            "session_properties": {"session_name": "chat", "metadata": {"a": 1}},
        }
        response = http.post(f"{server.url}/events/model/batch", json=body, timeout=10)
        assert 200 == response.status_code
        assert 1 == server.count()

    def test_missing_event_id_is_assigned_and_stored_in_the_body(
        self, server: Collector, http: requests.Session
    ):
        event = minimal_event()
        event_id = post_one(http, server.url, event).json()["event_id"]
        assert str(uuid.UUID(event_id)) == event_id
        assert [{**event, "event_id": event_id}] == server.events()
        batch_ids = post_batch(http, server.url, [minimal_event(), minimal_event()]).json()
        assert 2 == len(set(batch_ids["event_ids"]))

    def test_unknown_fields_and_unicode_are_kept(self, server: Collector, http: requests.Session):
        event = full_event(
            custom={"nested": [1, 2.5, None, True]},
            messages=[{"role": "user", "content": 'héllo ✓ 日本 🎉 \u0000 \\ "'}],
        )
        assert 200 == post_one(http, server.url, event).status_code
        assert event == server.event(event["event_id"])

    def test_columns_are_filled_for_filtering(self, tmp_path: Path, http: requests.Session):
        db = tmp_path / "events.db"
        event = full_event(error="boom", usage={"prompt_tokens": 3, "completion_tokens": 4})
        with Collector(db=str(db)) as collector:
            post_one(http, collector.url, event)
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT project, model, provider, event_name, session_id, parent_id,"
                " start_time, end_time, duration, error, total_tokens, cost FROM events"
            ).fetchone()
        expected = (
            "New Project",
            "gpt-4o",
            "openai",
            "Model Completion",
            event["session_id"],
            None,
            1732700000000.0,
            1732700000042.0,
            42.0,
            "boom",
            7,
            0.00008,
        )
        assert expected == row


REQUIRED = ["project", "model", "provider", "messages", "response", "duration", "usage"]

WRONG_TYPES = [
    ("project", 1),
    ("model", None),
    ("provider", ["openai"]),
    ("messages", {"role": "user"}),
    ("response", "text"),
    ("duration", "42"),
    ("duration", True),
    ("duration", -1),
    ("usage", []),
    ("cost", "0.1"),
    ("error", 5),
    ("source", 1),
    ("event_name", False),
    ("tool_choice", {}),
    ("hyperparameters", []),
    ("template_inputs", "x"),
    ("response_format", "text"),
    ("metadata", [1]),
    ("inputs", 1),
    ("outputs", "x"),
    ("config", 1),
    ("metrics", []),
    ("feedback", "good"),
    ("user_properties", 1),
    ("template", {}),
    ("tools", "f"),
    ("tools", {"type": "function"}),
    ("children_ids", "x"),
    ("event_id", "not-a-uuid"),
    ("event_id", None),
    ("session_id", 12),
    ("parent_id", "1234"),
    ("start_time", "now"),
    ("end_time", True),
    ("start_time", -5),
    ("event_type", "span"),
]


class TestValidation:
    @pytest.mark.parametrize("field", REQUIRED)
    def test_each_missing_required_field_is_named(
        self, server: Collector, http: requests.Session, field: str
    ):
        event = minimal_event()
        del event[field]
        response = post_one(http, server.url, event)
        assert 400 == response.status_code
        assert {f"model_event.{field}": "is required"} == errors_of(response)

    @pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
    def test_each_wrong_type_is_named(
        self, server: Collector, http: requests.Session, field: str, value: Any
    ):
        response = post_one(http, server.url, minimal_event(**{field: value}))
        assert 400 == response.status_code
        assert [f"model_event.{field}"] == list(errors_of(response))
        assert 0 == server.count()

    def test_token_counts_the_store_cannot_hold_are_a_400_naming_the_field(
        self, server: Collector, http: requests.Session
    ):
        half = 2**62 + 1  # each fits in int64; their sum, the stored total, does not
        event = minimal_event(usage={"prompt_tokens": half, "completion_tokens": half})
        response = post_one(http, server.url, event)
        assert 400 == response.status_code
        assert {
            "model_event.usage.total_tokens": "prompt_tokens + completion_tokens is out of range"
        } == errors_of(response)
        assert 0 == server.count()

    def test_free_form_numbers_beyond_int64_are_stored_as_posted(
        self, server: Collector, http: requests.Session
    ):
        huge = 10**30
        event = minimal_event(metadata={"total_tokens": huge, "cost": huge, "prompt_tokens": huge})
        event.pop("cost", None)
        event["usage"] = {}  # so the index columns come from metadata
        response = post_one(http, server.url, event)
        assert 200 == response.status_code, response.text
        [stored] = http.get(f"{server.url}/events", timeout=10).json()["events"]
        assert huge == stored["metadata"]["total_tokens"]

    def test_every_offending_field_of_every_event_is_named(
        self, server: Collector, http: requests.Session
    ):
        events: list[Any] = [minimal_event() for _ in range(5)]
        del events[1]["model"]
        events[3]["usage"] = "lots"
        events[3]["messages"] = [{"role": "user"}, "hi"]
        events[4] = 7
        response = post_batch(http, server.url, events)
        assert 400 == response.status_code
        assert {
            "model_events[1].model": "is required",
            "model_events[3].usage": "must be an object, got string",
            "model_events[3].messages[1]": "must be an object, got string",
            "model_events[4]": "must be an object, got number",
        } == errors_of(response)

    @pytest.mark.parametrize("field", ["messages", "template", "tools"])
    def test_array_items_must_be_objects(
        self, server: Collector, http: requests.Session, field: str
    ):
        event = minimal_event(**{field: [{"role": "user"}, "text", {}, 3]})
        response = post_one(http, server.url, event)
        assert {
            f"model_event.{field}[1]": "must be an object, got string",
            f"model_event.{field}[3]": "must be an object, got number",
        } == errors_of(response)

    def test_end_time_must_not_precede_start_time(self, server: Collector, http: requests.Session):
        event = minimal_event(start_time=2000, end_time=1999.5)
        response = post_one(http, server.url, event)
        assert {"model_event.end_time": "is before start_time"} == errors_of(response)
        assert (
            200 == post_one(http, server.url, minimal_event(start_time=5, end_time=5)).status_code
        )

    def test_a_bad_batch_stores_nothing(self, server: Collector, http: requests.Session):
        events = [minimal_event(event_id=str(uuid.uuid4())) for _ in range(10)]
        events[7]["duration"] = None
        assert 400 == post_batch(http, server.url, events).status_code
        assert 0 == server.count()
        events[7]["duration"] = 1
        assert 200 == post_batch(http, server.url, events).status_code
        assert 10 == server.count()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("prompt_tokens", -1),
            ("completion_tokens", 1.5),
            ("total_tokens", "20"),
            ("total_tokens", True),
        ],
    )
    def test_token_counts_must_be_non_negative_integers(
        self, server: Collector, http: requests.Session, field: str, value: Any
    ):
        response = post_one(http, server.url, minimal_event(usage={field: value}))
        assert [f"model_event.usage.{field}"] == list(errors_of(response))

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"{", ""),
            (b"", ""),
            (b"[]", ""),
            (b'"text"', ""),
            (b"{}", "model_event"),
            (b'{"model_events": []}', "model_event"),
            (b'{"model_event": {}} trailing', ""),
            (b'{"model_event": {"duration": NaN}}', ""),
            (b'{"model_event": {"duration": Infinity}}', ""),
            (b'{"model_event": {"duration": 1e400}}', ""),
            (b'{"model_event": {"metadata": {"x": -1e999}}}', ""),
            (b'{"model_event": {"project": "\xff"}}', ""),
            (b"[" * 100_000 + b"]" * 100_000, ""),
        ],
    )
    def test_malformed_single_bodies(
        self, server: Collector, http: requests.Session, body: bytes, field: str
    ):
        headers = {"Content-Type": "application/json"}
        response = http.post(f"{server.url}/events/model", data=body, headers=headers, timeout=10)
        assert 400 == response.status_code
        assert field in errors_of(response)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "model_events"),
            ({"model_events": {}}, "model_events"),
            ({"model_events": []}, "model_events"),
            ({"model_events": [], "is_single_session": "yes"}, "is_single_session"),
            ({"model_events": [{}], "session_properties": []}, "session_properties"),
        ],
    )
    def test_malformed_batch_envelopes(
        self, server: Collector, http: requests.Session, body: Any, field: str
    ):
        response = http.post(f"{server.url}/events/model/batch", json=body, timeout=10)
        assert 400 == response.status_code
        assert field in errors_of(response)

    def test_lone_surrogates_cannot_reach_text_columns(
        self, server: Collector, http: requests.Session
    ):
        body = b'{"model_event": %s}' % json.dumps(minimal_event(project="\ud800")).encode()
        headers = {"Content-Type": "application/json"}
        response = http.post(f"{server.url}/events/model", data=body, headers=headers, timeout=10)
        assert ["model_event.project"] == list(errors_of(response))

    def test_a_flood_of_errors_gets_a_bounded_answer(
        self, server: Collector, http: requests.Session
    ):
        response = post_batch(http, server.url, [{}] * 500)
        errors = response.json()["errors"]
        assert 1001 == len(errors)
        assert "more errors not shown" in errors[-1]["message"]


class TestHTTPErrors:
    def test_unknown_path_is_404_json(self, server: Collector, http: requests.Session):
        for path in ("/nope", "/events/model/x", "/events/", "/static/../_server.py"):
            response = http.get(server.url + path, timeout=10)
            assert 404 == response.status_code, path
            assert response.json()["success"] is False

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("GET", "/events/model", "POST"),
            ("PUT", "/events/model/batch", "POST"),
            ("DELETE", "/events", "GET, HEAD, POST, PUT"),
            ("GET", "/session/start", "POST"),
            ("PUT", "/events/batch", "POST"),
            ("POST", "/sessions", "GET, HEAD"),
            ("DELETE", "/events/abc", "GET, HEAD"),
            ("OPTIONS", "/", "GET, HEAD"),
        ],
    )
    def test_wrong_method_is_405_with_allow(
        self, server: Collector, http: requests.Session, method: str, path: str, allow: str
    ):
        response = http.request(method, server.url + path, timeout=10)
        assert 405 == response.status_code
        assert allow == response.headers["Allow"]
        assert "method" in errors_of(response)

    def test_missing_content_length_is_411(self, server: Collector):
        request = b"POST /events/model HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        request += b"Content-Type: application/json\r\n\r\n{}"
        assert 411 == status_of(raw_exchange(server.port, request))

    def test_chunked_body_is_411(self, server: Collector, http: requests.Session):
        body = iter([json.dumps({"model_event": minimal_event()}).encode()])
        headers = {"Content-Type": "application/json"}
        response = http.post(f"{server.url}/events/model", data=body, headers=headers, timeout=10)
        assert 411 == response.status_code
        assert 0 == server.count()

    def test_bad_content_length_is_400(self, server: Collector):
        request = b"POST /events/model HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        request += b"Content-Type: application/json\r\nContent-Length: -5\r\n\r\n"
        assert 400 == status_of(raw_exchange(server.port, request))

    def test_body_over_the_limit_is_413_before_it_is_read(self, http: requests.Session):
        with Collector(max_body_bytes=1000) as collector:
            event = minimal_event(metadata={"pad": "x" * 2000})
            response = post_one(http, collector.url, event)
            assert 413 == response.status_code
            assert "Content-Length" in errors_of(response)
            # A request for a huge body is refused at once, with nothing sent.
            request = b"POST /events/model HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            request += b"Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n"
            assert 413 == status_of(raw_exchange(collector.port, request))
            assert 0 == collector.count()

    def test_non_json_content_type_is_415(self, server: Collector, http: requests.Session):
        body = json.dumps({"model_event": minimal_event()})
        response = http.post(
            f"{server.url}/events/model",
            data=body,
            headers={"Content-Type": "text/plain"},
            timeout=10,
        )
        assert 415 == response.status_code
        assert 0 == server.count()

    @pytest.mark.parametrize("host", ["evil.example", "127.evil.example:80", "10.0.0.1", "[::2]"])
    def test_foreign_host_header_is_refused(
        self, server: Collector, http: requests.Session, host: str
    ):
        # A page on a rebound DNS name must not read the events.
        response = http.get(f"{server.url}/events", headers={"Host": host}, timeout=10)
        assert 403 == response.status_code

    @pytest.mark.parametrize("host", ["localhost:1", "127.0.0.5", "[::1]:8719", "LOCALHOST"])
    def test_loopback_host_headers_are_accepted(
        self, server: Collector, http: requests.Session, host: str
    ):
        response = http.get(f"{server.url}/events", headers={"Host": host}, timeout=10)
        assert 200 == response.status_code

    def test_garbage_request_line_gets_a_json_400(self, server: Collector):
        response = raw_exchange(server.port, b"\x16\x03\x01 hello there\r\n\r\n")
        assert 400 == status_of(response)
        assert b'"success": false' in response

    def test_unknown_method_gets_a_json_501(self, server: Collector):
        response = raw_exchange(server.port, b"BREW /events HTTP/1.1\r\nHost: x\r\n\r\n")
        assert 501 == status_of(response)
        assert b'"success": false' in response


class TestAuth:
    @pytest.fixture
    def keyed(self) -> Iterator[Collector]:
        with Collector(api_key=KEY) as collector:
            yield collector

    @pytest.mark.parametrize(
        "header", [None, "", "Bearer", "Bearer wrong", f"Basic {KEY}", f"Bearer {KEY}x"]
    )
    def test_missing_or_wrong_key_is_401_without_echoing_it(
        self, keyed: Collector, http: requests.Session, header: str | None
    ):
        headers = {} if header is None else {"Authorization": header}
        for response in (
            post_one(http, keyed.url, minimal_event(), headers=headers),
            http.get(f"{keyed.url}/events", headers=headers, timeout=10),
        ):
            assert 401 == response.status_code
            assert KEY not in response.text
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert 0 == keyed.count()

    def test_right_key_is_accepted(self, keyed: Collector, http: requests.Session):
        http.headers["Authorization"] = f"Bearer {KEY}"
        assert 200 == post_one(http, keyed.url, minimal_event()).status_code
        assert 1 == http.get(f"{keyed.url}/events", timeout=10).json()["total"]

    def test_viewer_files_need_no_key(self, keyed: Collector, http: requests.Session):
        assert 200 == http.get(f"{keyed.url}/", timeout=10).status_code

    def test_repr_hides_the_key(self, keyed: Collector):
        assert KEY not in repr(keyed)


class TestBinding:
    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", ""])
    def test_remote_host_needs_allow_remote_and_a_key(self, host: str):
        with pytest.raises(ValueError, match="allow_remote"):
            Collector(host=host)
        with pytest.raises(ValueError, match="api_key"):
            Collector(host=host, allow_remote=True)
        Collector(host=host, allow_remote=True, api_key=KEY)  # not started: nothing bound

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::1", "[::1]"])
    def test_loopback_hosts_need_nothing(self, host: str):
        Collector(host=host)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"port": -1},
            {"port": 70000},
            {"max_body_bytes": 0},
            {"api_key": ""},
            {"api_key": "a\n"},
        ],
    )
    def test_bad_settings_are_refused(self, kwargs: dict[str, Any]):
        with pytest.raises(ValueError):
            Collector(**kwargs)

    def test_url_and_port_need_a_started_collector(self):
        collector = Collector()
        with pytest.raises(RuntimeError):
            _ = collector.url
        with collector:
            assert collector.url == f"http://127.0.0.1:{collector.port}"

    def test_stop_is_idempotent_and_a_stopped_collector_stays_readable(
        self, http: requests.Session
    ):
        collector = Collector().start()
        post_one(http, collector.url, minimal_event())
        collector.stop()
        collector.stop()
        assert 1 == collector.count()
        with pytest.raises(RuntimeError):
            collector.start()

    def test_restart_on_the_same_port_and_file_keeps_events(
        self, tmp_path: Path, http: requests.Session
    ):
        db = str(tmp_path / "sub" / "events.db")
        event = minimal_event(event_id=str(uuid.uuid4()))
        with Collector(db=db) as first:
            port = first.port
            post_one(http, first.url, event)
        with Collector(port=port, db=db) as second:
            assert second.url == first.url
            assert [event] == http.get(f"{second.url}/events", timeout=10).json()["events"]

    def test_stop_closes_idle_keep_alive_connections(self, server: Collector):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            server.stop()
            assert b"" == sock.recv(65536)


class TestIdempotency:
    def test_same_event_twice_is_stored_once_with_the_same_id(
        self, server: Collector, http: requests.Session
    ):
        event = minimal_event(event_id=str(uuid.uuid4()))
        first = post_one(http, server.url, event).json()
        second = post_one(http, server.url, event).json()
        assert first == second == {"event_id": event["event_id"], "success": True}
        assert 1 == server.count()

    def test_retried_batch_adds_only_new_events(self, server: Collector, http: requests.Session):
        events = [minimal_event(event_id=str(uuid.uuid4())) for _ in range(3)]
        post_batch(http, server.url, events[:2])
        retried = [*events, events[0]]
        answer = post_batch(http, server.url, retried).json()
        assert [e["event_id"] for e in retried] == answer["event_ids"]
        assert 3 == server.count()

    def test_the_first_copy_wins(self, server: Collector, http: requests.Session):
        event_id = str(uuid.uuid4())
        post_one(http, server.url, minimal_event(event_id=event_id, event_name="first"))
        post_one(http, server.url, minimal_event(event_id=event_id, event_name="second"))
        assert ["first"] == [e["event_name"] for e in server.events()]


class TestReadSide:
    @pytest.fixture
    def stocked(self, server: Collector, http: requests.Session) -> list[dict[str, Any]]:
        session = str(uuid.uuid4())
        events = [
            minimal_event(
                event_id=str(uuid.uuid4()),
                project="a" if i % 2 else "b",
                model="m1" if i < 3 else "m2",
                event_name=f"call-{i}",
                session_id=session if i in (1, 2) else str(uuid.uuid4()),
                start_time=1000 * i,
                **({"error": "boom"} if i == 4 else {}),
            )
            for i in range(6)
        ]
        events[5]["error"] = None
        post_batch(http, server.url, events)
        return events

    def query(self, http: requests.Session, server: Collector, **params: Any) -> Any:
        response = http.get(f"{server.url}/events", params=params, timeout=10)
        assert 200 == response.status_code, response.text
        return response.json()

    def names(self, data: Any) -> list[str]:
        return [e["event_name"] for e in data["events"]]

    def test_newest_first_with_total(self, server, http, stocked):
        data = self.query(http, server)
        assert [f"call-{i}" for i in range(5, -1, -1)] == self.names(data)
        assert 6 == data["total"]

    def test_filters(self, server, http, stocked):
        assert ["call-5", "call-3", "call-1"] == self.names(self.query(http, server, project="a"))
        assert ["call-2", "call-1", "call-0"] == self.names(self.query(http, server, model="m1"))
        session = stocked[1]["session_id"]
        assert ["call-2", "call-1"] == self.names(self.query(http, server, session_id=session))
        assert ["call-3"] == self.names(self.query(http, server, event_name="call-3"))
        assert ["call-4"] == self.names(self.query(http, server, has_error="true"))
        assert 5 == self.query(http, server, has_error="false")["total"]
        window = self.query(http, server, since=1000, until=3000)
        assert ["call-2", "call-1"] == self.names(window)
        both = self.query(http, server, project="a", model="m2")
        assert ["call-5", "call-3"] == self.names(both)
        assert "" == "".join(self.names(self.query(http, server, project="nobody")))

    def test_limit_offset_and_total(self, server, http, stocked):
        page = self.query(http, server, limit=2, offset=1)
        assert ["call-4", "call-3"] == self.names(page)
        assert 6 == page["total"]
        assert [] == self.query(http, server, limit=0)["events"]
        assert 6 == self.query(http, server, limit=0)["total"]
        assert [] == self.query(http, server, offset=100)["events"]

    def test_python_api_matches_http(self, server, http, stocked):
        assert self.query(http, server, model="m2")["events"] == server.events(model="m2")
        assert 6 == len(server.events()) == server.count()
        assert ["call-4"] == [e["event_name"] for e in server.events(has_error=True)]
        assert ["call-1"] == [e["event_name"] for e in server.events(limit=1, offset=4)]

    @pytest.mark.parametrize(
        "query",
        [
            "limit=abc",
            "limit=1001",
            "limit=-1",
            "offset=x",
            "has_error=maybe",
            "since=yesterday",
            "until=nan",
            "projct=a",
            "limit=1&limit=2",
        ],
    )
    def test_bad_filters_are_400(self, server: Collector, http: requests.Session, query: str):
        response = http.get(f"{server.url}/events?{query}", timeout=10)
        assert 400 == response.status_code
        assert query.split("=", maxsplit=1)[0] in errors_of(response)

    def test_empty_filter_values_are_ignored(self, server, http, stocked):
        assert 6 == self.query(http, server, project="", has_error="")["total"]

    def test_unknown_event_is_404(self, server: Collector, http: requests.Session):
        response = http.get(f"{server.url}/events/{uuid.uuid4()}", timeout=10)
        assert 404 == response.status_code
        assert server.event("nope") is None


class TestConcurrency:
    def test_twenty_threads_of_fifty_posts_store_exactly_a_thousand(self, server: Collector):
        ids: list[str] = []
        failures: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            with requests.Session() as session:
                for _ in range(50):
                    response = post_one(session, server.url, minimal_event())
                    with lock:
                        if response.status_code == 200:
                            ids.append(response.json()["event_id"])
                        else:
                            failures.append(response.text)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [] == failures
        assert 1000 == len(set(ids)) == server.count()

    def test_concurrent_duplicate_posts_store_one_event(self, server: Collector):
        event = minimal_event(event_id=str(uuid.uuid4()))
        barrier = threading.Barrier(10)

        def worker() -> None:
            with requests.Session() as session:
                barrier.wait()
                assert 200 == post_one(session, server.url, event).status_code

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert 1 == server.count()


class TestRobustness:
    def test_survives_a_flood_of_bad_requests(self, server: Collector, http: requests.Session):
        junk = [
            b"\x00\xff" * 500,
            b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
            b"POST /events/model HTTP/1.1\r\nContent-Length: 100\r\n"
            b'Content-Type: application/json\r\n\r\n{"model',
            b"GET " + b"/a" * 40000 + b" HTTP/1.1\r\n\r\n",
            b"POST /events/model/batch HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5\r\n\r\n[1,2]",
            b"\r\n\r\n",
            b"GET /events HTTP/9.9\r\n\r\n",
        ]
        for _ in range(10):
            for data in junk:
                raw_exchange(server.port, data)
        assert 200 == post_one(http, server.url, minimal_event()).status_code
        assert 1 == server.count()

    def test_keep_alive_serves_several_requests_on_one_connection(self, server: Collector):
        body = json.dumps({"model_event": minimal_event()}).encode()
        post = b"POST /events/model HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        post += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        close = b"GET /events?limit=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        response = raw_exchange(server.port, post + body + post + body + close)
        assert 3 == response.count(b"HTTP/1.1 200 ")
        assert 2 == server.count()

    def test_a_stalled_client_is_disconnected(self):
        with Collector(request_timeout=0.3) as collector:
            with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as sock:
                sock.sendall(b"POST /events/model HTTP/1.1\r\nContent-Length: 10\r\n")
                started = time.monotonic()
                assert b"" == sock.recv(1024)
                assert time.monotonic() - started < 5

    def test_request_logging_stays_off_stderr(
        self, server: Collector, http: requests.Session, capfd: pytest.CaptureFixture[str]
    ):
        post_one(http, server.url, minimal_event())
        raw_exchange(server.port, b"garbage\r\n\r\n")
        http.get(f"{server.url}/nope", timeout=10)
        assert "" == capfd.readouterr().err


class TestFaults:
    def test_respond_answers_without_storing(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(503, headers={"Retry-After": "2"}, times=2)
        assert 1 == faults.pending()
        for _ in range(2):
            response = post_one(http, server.url, minimal_event())
            assert 503 == response.status_code
            assert "2" == response.headers["Retry-After"]
            assert response.json()["success"] is False
        assert 0 == faults.pending()
        assert 0 == server.count()
        assert 200 == post_one(http, server.url, minimal_event()).status_code

    def test_respond_with_a_custom_body(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(429, body={"error": "slow down"})
        faults.respond(
            502, body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}
        )
        first = post_one(http, server.url, minimal_event())
        assert (429, {"error": "slow down"}) == (first.status_code, first.json())
        second = post_one(http, server.url, minimal_event())
        assert (502, "<html>bad gateway</html>") == (second.status_code, second.text)
        assert "text/html" == second.headers["Content-Type"]

    def test_rules_can_be_limited_to_a_path(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(500, path="/events/model/batch")
        assert 200 == post_one(http, server.url, minimal_event()).status_code
        assert 500 == post_batch(http, server.url, [minimal_event()]).status_code
        assert [("respond", "/events/model/batch")] == faults.fired()

    def test_forever_rules_until_cleared(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(503, times=None)
        for _ in range(5):
            assert 503 == post_one(http, server.url, minimal_event()).status_code
        assert 1 == faults.pending()
        faults.clear()
        assert 0 == faults.pending()
        assert 200 == post_one(http, server.url, minimal_event()).status_code

    def test_rules_are_consumed_in_order(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(500)
        faults.respond(502)
        statuses = [post_one(http, server.url, minimal_event()).status_code for _ in range(3)]
        assert [500, 502, 200] == statuses

    def test_reads_are_never_faulted(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.respond(503, times=None)
        assert 200 == http.get(f"{server.url}/events", timeout=10).status_code

    def test_delay_then_normal_handling(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.delay(0.3)
        started = time.monotonic()
        assert 200 == post_one(http, server.url, minimal_event()).status_code
        assert time.monotonic() - started >= 0.3
        assert 1 == server.count()

    def test_drop_closes_without_answer_or_storing(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.drop()
        with pytest.raises(requests.ConnectionError):
            post_one(http, server.url, minimal_event())
        assert 0 == server.count()
        assert 200 == post_one(http, server.url, minimal_event()).status_code

    def test_drop_after_store_loses_only_the_answer(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.drop(after_store=True)
        event = minimal_event(event_id=str(uuid.uuid4()))
        with pytest.raises(requests.ConnectionError):
            post_one(http, server.url, event)
        assert 200 == post_one(http, server.url, event).status_code  # the client's retry
        assert 1 == server.count()

    def test_hang_until_stop(self, faults: Faults):
        faults.hang()
        collector = Collector(faults=faults, record_requests=True).start()
        outcome: list[BaseException | int] = []

        def client() -> None:
            with requests.Session() as session:
                try:
                    outcome.append(post_one(session, collector.url, minimal_event()).status_code)
                except requests.RequestException as exc:
                    outcome.append(exc)

        thread = threading.Thread(target=client)
        thread.start()
        deadline = time.monotonic() + 10
        while not faults.fired() and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for the request to arrive, not papering over a race
        assert [("hang", "/events/model")] == faults.fired()
        assert ["/events/model"] == [r.path for r in collector.requests]
        assert thread.is_alive()
        started = time.monotonic()
        collector.stop()
        thread.join(10)
        assert time.monotonic() - started < 5
        assert 1 == len(outcome)
        assert isinstance(outcome[0], requests.ConnectionError)
        assert 0 == collector.count()

    def test_partial_stores_all_but_the_last(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.partial(reject=2)
        events = [minimal_event(event_id=str(uuid.uuid4())) for _ in range(5)]
        response = post_batch(http, server.url, events)
        assert 500 == response.status_code
        body = response.json()
        assert [e["event_id"] for e in events[:3]] == body["event_ids"]
        assert body["success"] is True
        assert 2 == len(body["errors"])
        assert all(isinstance(e, str) for e in body["errors"])
        assert 3 == server.count()
        retry = post_batch(http, server.url, events)
        assert 200 == retry.status_code
        assert 5 == server.count()

    def test_partial_ignores_single_posts(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.partial()
        assert 200 == post_one(http, server.url, minimal_event()).status_code
        assert 1 == faults.pending()

    def test_fail_rate_is_repeatable_and_can_be_turned_off(self, http: requests.Session):
        def pattern(seed: int) -> list[int]:
            faults = Faults()
            faults.fail_rate(0.5, status=502, seed=seed)
            with Collector(faults=faults) as collector:
                return [
                    post_one(http, collector.url, minimal_event()).status_code for _ in range(40)
                ]

        first = pattern(7)
        assert {200, 502} == set(first)
        assert first == pattern(7)
        faults = Faults()
        faults.fail_rate(1.0)
        faults.fail_rate(0)
        with Collector(faults=faults) as collector:
            assert 200 == post_one(http, collector.url, minimal_event()).status_code

    @pytest.mark.parametrize(
        "call",
        [
            lambda f: f.respond(99),
            lambda f: f.respond(600),
            lambda f: f.respond(500, times=0),
            lambda f: f.delay(-1),
            lambda f: f.drop(path="events"),
            lambda f: f.partial(reject=0),
            lambda f: f.fail_rate(1.5),
        ],
    )
    def test_bad_rules_are_refused(self, call: Any):
        with pytest.raises(ValueError):
            call(Faults())

    def test_faults_are_not_reachable_over_http(self, server: Collector, http: requests.Session):
        assert 404 == http.post(f"{server.url}/faults", json={}, timeout=10).status_code


class TestRecordedRequests:
    def test_requests_are_recorded_with_headers_and_body(
        self, server: Collector, http: requests.Session
    ):
        post_one(http, server.url, minimal_event(), headers={"Authorization": "Bearer k"})
        http.get(f"{server.url}/events?limit=1", timeout=10)
        first, second = server.requests
        assert isinstance(first, RecordedRequest)
        assert ("POST", "/events/model") == (first.method, first.path)
        assert "Bearer k" == first.headers["Authorization"]
        assert minimal_event() == json.loads(first.body)["model_event"]
        assert ("GET", "/events?limit=1", b"") == (second.method, second.path, second.body)
        server.clear_requests()
        assert [] == server.requests

    def test_nothing_is_recorded_by_default(self, http: requests.Session):
        with Collector() as collector:
            post_one(http, collector.url, minimal_event())
            assert [] == collector.requests


class TestStore:
    def test_default_db_lives_in_the_user_data_dir(self):
        assert _paths.user_data_dir() / "events.db" == default_db_path()

    def test_file_db_uses_wal_and_full_sync(self, tmp_path: Path):
        store = EventStore(tmp_path / "e.db")
        try:
            conn = store._conn
            assert "wal" == conn.execute("PRAGMA journal_mode").fetchone()[0]
            assert 2 == conn.execute("PRAGMA synchronous").fetchone()[0]
        finally:
            store.close()

    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
    def test_database_and_its_directory_are_private(self, tmp_path: Path):
        data = tmp_path / "data" / "honeyhive-trace"
        with Collector(db=str(data / "events.db")) as collector, requests.Session() as http:
            assert 200 == post_one(http, collector.url, minimal_event()).status_code
            files = sorted(p.name for p in data.iterdir())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
        assert ["events.db", "events.db-shm", "events.db-wal"] == files
        assert dict.fromkeys(files, 0o600) == modes
        assert 0o700 == stat.S_IMODE(data.stat().st_mode)

    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
    def test_a_world_readable_database_of_an_older_version_is_made_private(self, tmp_path: Path):
        path = tmp_path / "old.db"
        EventStore(path).close()
        path.chmod(0o644)
        EventStore(path).close()
        assert 0o600 == stat.S_IMODE(path.stat().st_mode)

    def test_read_only_open_of_missing_or_foreign_files(self, tmp_path: Path):
        with pytest.raises(StoreError, match="no events database"):
            EventStore(tmp_path / "missing.db", readonly=True)
        foreign = tmp_path / "other.db"
        with sqlite3.connect(foreign) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
        with pytest.raises(StoreError, match="not a honeyhive-trace events database"):
            EventStore(foreign, readonly=True)

    def test_newer_schema_is_refused(self, tmp_path: Path):
        path = tmp_path / "future.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
        with pytest.raises(StoreError, match="schema version 99"):
            EventStore(path)


class TestPaths:
    def test_xdg_variables_are_honoured_on_linux(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ):
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
        assert tmp_path / "d" / "honeyhive-trace" == _paths.user_data_dir()
        assert tmp_path / "c" / "honeyhive-trace" == _paths.user_cache_dir()
        assert not (tmp_path / "d").exists()

    def test_linux_fallbacks_ignore_relative_values(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ):
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert tmp_path / ".local/share/honeyhive-trace" == _paths.user_data_dir()
        assert tmp_path / ".cache/honeyhive-trace" == _paths.user_cache_dir()

    def test_macos(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
        monkeypatch.setattr(sys, "platform", "darwin")
        monkeypatch.setenv("HOME", str(tmp_path))
        assert tmp_path / "Library/Application Support/honeyhive-trace" == _paths.user_data_dir()
        assert tmp_path / "Library/Caches/honeyhive-trace" == _paths.user_cache_dir()

    def test_windows(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
        assert tmp_path / "Local/honeyhive-trace" == _paths.user_data_dir()
        assert tmp_path / "Local/honeyhive-trace/Cache" == _paths.user_cache_dir()


@pytest.mark.timeout(60)
class TestDurability:
    def test_events_survive_kill_9_and_restart(self, tmp_path: Path, http: requests.Session):
        db = tmp_path / "events.db"
        first = ServeProcess("--port", "0", "--db", str(db))
        try:
            events = [minimal_event(event_id=str(uuid.uuid4())) for _ in range(20)]
            assert 200 == post_batch(http, first.url, events).status_code
            assert 200 == post_one(http, first.url, minimal_event()).status_code
        finally:
            first.kill()  # SIGKILL: no clean shutdown, no checkpoint
        assert -9 == first.proc.returncode
        http.close()
        second = ServeProcess("--port", str(first.port), "--db", str(db))
        try:
            stored = requests.get(f"{second.url}/events", params={"limit": 1000}, timeout=10)
            assert 21 == stored.json()["total"]
            ids = {e["event_id"] for e in stored.json()["events"]}
            assert {e["event_id"] for e in events} <= ids
        finally:
            second.kill()
