"""The collector's v1 data-plane routes: validation, answers, storage, faults, round trip.

Every test talks to a real collector over 127.0.0.1. Request bodies and answers are checked
against HoneyHive's v1 OpenAPI document with jsonschema (``tests/_support/openapi.py``), so
the collector's hand-written validator and the spec agree on what is valid.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector, Faults
from tests._support.openapi import V1, spec_errors

pytestmark = pytest.mark.timeout(60)

SESSION_BATCH = "/v1/sessions/{session_id}/events/batch"
EVENT = "/v1/events/{event_id}"


@pytest.fixture
def faults() -> Faults:
    """A fault script for the ``server`` fixture."""
    return Faults()


@pytest.fixture
def server(faults: Faults) -> Iterator[Collector]:
    """A started in-memory collector that takes faults."""
    with Collector(db=":memory:", faults=faults) as collector:
        yield collector


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session (keep-alive), closed after the test."""
    with requests.Session() as session:
        yield session


def tool(**overrides: Any) -> dict[str, Any]:
    """A v1 tool event with the usual fields of our client."""
    event: dict[str, Any] = {
        "event_type": "tool",
        "event_id": str(uuid.uuid4()),
        "event_name": "search",
        "source": "test",
        "config": {"index": "docs"},
        "inputs": {"query": "weather"},
        "outputs": {"hits": 2},
        "duration": 20.0,
        "start_time": 1_732_700_000_000,
        "end_time": 1_732_700_000_020,
    }
    event.update(overrides)
    return event


def model(**overrides: Any) -> dict[str, Any]:
    """A v1 model event using every place the model fields go."""
    event: dict[str, Any] = {
        "event_type": "model",
        "event_id": str(uuid.uuid4()),
        "session_id": str(uuid.uuid4()),
        "event_name": "answer",
        "source": "test",
        "config": {
            "model": "gpt-4o",
            "provider": "openai",
            "temperature": 0.2,
            "tools": [{"type": "function", "function": {"name": "search"}}],
            "tool_choice": "auto",
            "template": [{"role": "system", "content": "Hi {{ name }}"}],
            "response_format": {"type": "text"},
        },
        "inputs": {
            "chat_history": [{"role": "user", "content": "hi"}],
            "template_inputs": {"name": "Ada"},
            "question": "hi",
        },
        "outputs": {"role": "assistant", "content": "hello"},
        "metadata": {
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "total_tokens": 5,
            "cost": 0.0001,
            "user": "u-1",
        },
        "duration": 42.0,
    }
    event.update(overrides)
    return event


def response_errors(method: str, route: str, status: int, body: Any) -> list[str]:
    """Every way an answer breaks the v1 schema of *route*'s answer with *status*."""
    return spec_errors(method, route, body, V1, str(status))


def post(
    http: requests.Session, server: Collector, path: str, body: Any, method: str = "POST"
) -> requests.Response:
    return http.request(method, server.url + path, json=body, timeout=10)


def fields_of(response: requests.Response) -> list[str]:
    """The fields a 400 answer names."""
    assert 400 == response.status_code, response.text
    return [e["field"] for e in response.json()["errors"]]


class TestEvents:
    def test_a_tool_event_is_stored_as_the_legacy_route_stores_it(
        self, server: Collector, http: requests.Session
    ):
        event = tool(session_id=str(uuid.uuid4()), metadata={"k": 1}, error=None)
        assert [] == spec_errors("POST", "/v1/events", event, V1)
        reply = post(http, server, "/v1/events", event)
        assert 200 == reply.status_code, reply.text
        assert [] == response_errors("POST", "/v1/events", 200, reply.json())
        assert {"event_id": event["event_id"], "success": True} == reply.json()
        [stored] = server.events()
        assert {"project": "default", **event} == stored

    def test_a_model_event_is_read_back_into_the_model_fields(
        self, server: Collector, http: requests.Session
    ):
        event = model()
        assert [] == spec_errors("POST", "/v1/events", event, V1)
        assert 200 == post(http, server, "/v1/events", event).status_code
        [stored] = server.events()
        assert {
            "project": "default",
            "event_id": event["event_id"],
            "session_id": event["session_id"],
            "event_name": "answer",
            "source": "test",
            "duration": 42.0,
            "model": "gpt-4o",
            "provider": "openai",
            "hyperparameters": {"temperature": 0.2},
            "tools": event["config"]["tools"],
            "tool_choice": "auto",
            "template": event["config"]["template"],
            "response_format": {"type": "text"},
            "messages": [{"role": "user", "content": "hi"}],
            "template_inputs": {"name": "Ada"},
            "inputs": {"question": "hi"},
            "response": {"role": "assistant", "content": "hello"},
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            "cost": 0.0001,
            "metadata": {"user": "u-1"},
        } == stored
        # The filter columns are the model event's, so --model and the totals work.
        assert [stored] == server.events(model="gpt-4o")
        [summary] = server.sessions()
        assert (5, 0.0001) == (summary["total_tokens"], summary["cost"])

    def test_missing_fields_get_the_servers_defaults(
        self, server: Collector, http: requests.Session
    ):
        reply = post(http, server, "/v1/events", {"event_type": "chain", "inputs": {}})
        assert 200 == reply.status_code, reply.text
        [stored] = server.events()
        assert {
            "project": "default",
            "event_type": "chain",
            "inputs": {},
            "event_id": reply.json()["event_id"],
            "event_name": "unknown",
            "source": "unknown",
            "duration": 0.0,
        } == stored

    def test_v1_events_go_to_the_collectors_default_project(self, http: requests.Session):
        with Collector(default_project="support-bot") as collector:
            assert 200 == post(http, collector, "/v1/events", tool()).status_code
            assert 1 == len(collector.events(project="support-bot"))
            assert [] == collector.events(project="default")

    def test_a_batch_answers_every_id_in_order(self, server: Collector, http: requests.Session):
        events = [tool(), model(), tool(event_id=None)]
        del events[2]["event_id"]
        body = {"events": events}
        assert [] == spec_errors("POST", "/v1/events/batch", body, V1)
        reply = post(http, server, "/v1/events/batch", body)
        assert 200 == reply.status_code, reply.text
        assert [] == response_errors("POST", "/v1/events/batch", 200, reply.json())
        ids = reply.json()["event_ids"]
        assert [events[0]["event_id"], events[1]["event_id"]] == ids[:2]
        assert uuid.UUID(ids[2])
        assert set(ids) == {e["event_id"] for e in server.events()}

    def test_a_single_session_batch_makes_one_session(
        self, server: Collector, http: requests.Session
    ):
        body = {
            "events": [tool(), tool()],
            "single_session": True,
            "session_properties": {"session_name": "chat", "metadata": {"m": 1}},
        }
        assert [] == spec_errors("POST", "/v1/events/batch", body, V1)
        reply = post(http, server, "/v1/events/batch", body)
        assert [] == response_errors("POST", "/v1/events/batch", 200, reply.json())
        session_id = reply.json()["session_id"]
        found = server.session(session_id)
        assert found is not None
        assert ("chat", "default", True) == (
            found["session"]["session_name"],
            found["session"]["project"],
            found["session"]["started"],
        )
        assert 2 == len(found["events"])

    def test_an_event_of_type_session_is_stored_as_a_session(
        self, server: Collector, http: requests.Session
    ):
        session_id = str(uuid.uuid4())
        event = {"event_type": "session", "event_id": session_id, "event_name": "chat"}
        reply = post(http, server, "/v1/events", {**event, "inputs": {"q": 1}})
        assert {"event_id": session_id, "success": True} == reply.json()
        found = server.session(session_id)
        assert found is not None
        assert "chat" == found["session"]["session_name"]
        assert [] == server.events()


class TestSessions:
    def test_a_session_start_is_answered_with_the_session_event(
        self, server: Collector, http: requests.Session
    ):
        session_id = str(uuid.uuid4())
        body = {
            "session_id": session_id,
            "session_name": "chat",
            "source": "test",
            "inputs": {"q": "hi"},
            "user_properties": {"user_id": "u-1"},
            "start_time": 1_732_700_000_000,
        }
        assert [] == spec_errors("POST", "/v1/sessions", body, V1)
        reply = post(http, server, "/v1/sessions", body)
        assert 200 == reply.status_code, reply.text
        answer = reply.json()
        assert [] == response_errors("POST", "/v1/sessions", 200, answer)
        assert (session_id, session_id, "session", "chat") == (
            answer["event_id"],
            answer["session_id"],
            answer["event_type"],
            answer["event_name"],
        )
        found = server.session(session_id)
        assert found is not None
        session = found["session"]
        assert {"q": "hi"} == session["inputs"]
        assert ("chat", "default", "test") == (
            session["session_name"],
            session["project"],
            session["source"],
        )
        # Idempotent by id: a second start keeps the first.
        again = post(http, server, "/v1/sessions", {**body, "session_name": "other"})
        assert session_id == again.json()["session_id"]
        assert 1 == len(server.sessions())
        assert "chat" == server.sessions()[0]["session_name"]

    def test_a_session_without_anything_gets_an_id_and_a_name(
        self, server: Collector, http: requests.Session
    ):
        reply = post(http, server, "/v1/sessions", {"event_name": "fallback"})
        answer = reply.json()
        assert [] == response_errors("POST", "/v1/sessions", 200, answer)
        [summary] = server.sessions()
        assert (answer["session_id"], "fallback") == (
            summary["session_id"],
            summary["session_name"],
        )

    def test_events_added_to_a_session_take_its_id(
        self, server: Collector, http: requests.Session
    ):
        session_id = str(uuid.uuid4())
        body = {"events": [tool(session_id=str(uuid.uuid4())), model()]}
        assert [] == spec_errors("POST", SESSION_BATCH, body, V1)
        reply = post(http, server, f"/v1/sessions/{session_id}/events/batch", body)
        assert 200 == reply.status_code, reply.text
        assert [] == response_errors("POST", SESSION_BATCH, 200, reply.json())
        assert {session_id} == {e["session_id"] for e in server.events()}


class TestUpdates:
    def test_an_update_merges_like_put_events(self, server: Collector, http: requests.Session):
        event = tool(metadata={"a": 1, "b": 2}, children_ids=["x"])
        post(http, server, "/v1/events", event)
        update = {
            "metadata": {"b": 3},
            "feedback": {"rating": 1},
            "outputs": None,
            "end_time": 1_732_700_000_050,
            "children_ids": ["y", "z"],
            "duration": 50,
        }
        assert [] == spec_errors("PUT", EVENT, update, V1)
        reply = post(http, server, f"/v1/events/{event['event_id']}", update, "PUT")
        assert 200 == reply.status_code, reply.text
        [stored] = server.events()
        assert {"a": 1, "b": 3} == stored["metadata"]
        assert {"rating": 1} == stored["feedback"]
        assert {"hits": 2} == stored["outputs"]  # null keeps the outputs
        assert (1_732_700_000_050, ["y", "z"], 50) == (
            stored["end_time"],
            stored["children_ids"],
            stored["duration"],
        )
        # An empty children_ids is ignored, as the server does.
        post(http, server, f"/v1/events/{event['event_id']}", {"children_ids": []}, "PUT")
        assert ["y", "z"] == server.events()[0]["children_ids"]

    def test_an_update_reaches_a_session(self, server: Collector, http: requests.Session):
        session_id = post(http, server, "/v1/sessions", {"session_name": "s"}).json()["session_id"]
        reply = post(http, server, f"/v1/events/{session_id}", {"outputs": {"a": 1}}, "PUT")
        assert 200 == reply.status_code
        found = server.session(session_id)
        assert found is not None
        assert {"a": 1} == found["session"]["outputs"]
        assert [{"event_id": session_id, "outputs": {"a": 1}}] == [
            u["update"] for u in found["updates"]
        ]

    def test_an_unknown_id_is_404_and_stores_nothing(
        self, server: Collector, http: requests.Session
    ):
        reply = post(http, server, f"/v1/events/{uuid.uuid4()}", {"metrics": {"m": 1}}, "PUT")
        assert 404 == reply.status_code
        assert "event_id" == reply.json()["errors"][0]["field"]


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


#: (route, path, bad body, the fields the 400 names, whether the schema refuses it too).
BAD: list[tuple[str, str, Any, list[str], bool]] = [
    ("/v1/events", "/v1/events", tool(project="p"), ["project"], True),
    ("/v1/events", "/v1/events", _without(tool(), "inputs"), ["inputs"], True),
    ("/v1/events", "/v1/events", _without(tool(), "event_type"), ["event_type"], True),
    ("/v1/events", "/v1/events", tool(event_type="llm"), ["event_type"], True),
    ("/v1/events", "/v1/events", tool(inputs="q"), ["inputs"], True),
    ("/v1/events", "/v1/events", tool(duration="5"), ["duration"], True),
    ("/v1/events", "/v1/events", tool(error=5), ["error"], True),
    ("/v1/events", "/v1/events", tool(children_ids=[1]), ["children_ids[0]"], True),
    ("/v1/events", "/v1/events", tool(start_time=True), ["start_time"], True),
    ("/v1/events", "/v1/events", [tool()], [""], True),
    # Stricter than the schema, on purpose: ids must be UUIDs.
    ("/v1/events", "/v1/events", tool(session_id="s-1"), ["session_id"], False),
    (
        "/v1/events/batch",
        "/v1/events/batch",
        {"events": [tool()], "is_single_session": True},
        ["is_single_session"],
        True,
    ),
    (
        "/v1/events/batch",
        "/v1/events/batch",
        {"events": [tool(), tool(project="p", model="m")]},
        ["events[1].model", "events[1].project"],
        True,
    ),
    (
        "/v1/events/batch",
        "/v1/events/batch",
        {"model_events": []},
        ["events", "model_events"],
        True,
    ),
    ("/v1/events/batch", "/v1/events/batch", {"events": {}}, ["events"], True),
    (
        "/v1/events/batch",
        "/v1/events/batch",
        {"events": [tool()], "single_session": "yes"},
        ["single_session"],
        True,
    ),
    ("/v1/sessions", "/v1/sessions", {"project": "p", "session_name": "s"}, ["project"], True),
    ("/v1/sessions", "/v1/sessions", {"session_name": 5}, ["session_name"], True),
    ("/v1/sessions", "/v1/sessions", {"metadata": []}, ["metadata"], True),
    (
        SESSION_BATCH,
        "/v1/sessions/00000000-0000-4000-8000-0000000000e3/events/batch",
        {"events": [tool()], "session": {}},
        ["session"],
        True,
    ),
    (
        SESSION_BATCH,
        "/v1/sessions/00000000-0000-4000-8000-0000000000e4/events/batch",
        {"events": [_without(tool(), "inputs")]},
        ["events[0].inputs"],
        True,
    ),
    (SESSION_BATCH, "/v1/sessions/s-1/events/batch", {"events": [tool()]}, ["session_id"], False),
]


class TestValidation:
    @pytest.mark.parametrize(
        ("route", "path", "body", "named", "schema_refuses"),
        BAD,
        ids=[f"{route}:{named}" for route, _, _, named, _ in BAD],
    )
    def test_a_bad_body_is_400_naming_the_field_and_stores_nothing(  # noqa: PLR0917
        self,
        server: Collector,
        http: requests.Session,
        route: str,
        path: str,
        body: Any,
        named: list[str],
        schema_refuses: bool,
    ):
        assert schema_refuses == bool(spec_errors("POST", route, body, V1))
        reply = post(http, server, path, body)
        assert named == sorted(fields_of(reply))
        assert ([], []) == (server.events(), server.sessions())

    def test_an_unknown_field_is_refused_with_the_schemas_name(
        self, server: Collector, http: requests.Session
    ):
        reply = post(http, server, "/v1/events", tool(usage={"total_tokens": 3}))
        [error] = reply.json()["errors"]
        assert "usage" == error["field"]
        assert "is not a field of PostEventRequest" in error["message"]

    @pytest.mark.parametrize(
        ("body", "named", "schema_refuses"),
        [
            ({"outputs": "text"}, ["outputs"], True),
            ({"duration": "5"}, ["duration"], True),
            ({"children_ids": [1]}, ["children_ids[0]"], True),
            ({"metadata": 1}, ["metadata"], True),
            # The server ignores fields it does not know; refused here so none is lost.
            ({"event_id": "x", "feedback": {}}, ["event_id"], False),
        ],
    )
    def test_a_bad_update_is_400(
        self,
        server: Collector,
        http: requests.Session,
        body: Any,
        named: list[str],
        schema_refuses: bool,
    ):
        event = tool()
        post(http, server, "/v1/events", event)
        assert schema_refuses == bool(spec_errors("PUT", EVENT, body, V1))
        reply = post(http, server, f"/v1/events/{event['event_id']}", body, "PUT")
        assert named == fields_of(reply)
        assert "feedback" not in server.events()[0]

    def test_an_update_of_an_id_that_is_not_a_uuid_is_400(
        self, server: Collector, http: requests.Session
    ):
        reply = post(http, server, "/v1/events/not-an-id", {"metrics": {}}, "PUT")
        assert ["event_id"] == fields_of(reply)


class TestRouting:
    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("GET", "/v1/events", "POST"),
            ("PUT", "/v1/events/batch", "POST"),
            ("POST", "/v1/events/00000000-0000-4000-8000-0000000000e1", "PUT"),
            ("GET", "/v1/sessions/00000000-0000-4000-8000-0000000000e2/events/batch", "POST"),
        ],
    )
    def test_a_wrong_method_is_405_with_allow(
        self, server: Collector, http: requests.Session, method: str, path: str, allow: str
    ):
        reply = http.request(method, server.url + path, json={}, timeout=10)
        assert (405, allow) == (reply.status_code, reply.headers["Allow"])

    @pytest.mark.parametrize(
        "path", ["/v1/nothing", "/v1/events/a/b", "/v1/sessions//events/batch", "/v1/events/"]
    )
    def test_other_v1_paths_are_404(self, server: Collector, http: requests.Session, path: str):
        assert 404 == http.post(server.url + path, json={}, timeout=10).status_code

    def test_the_api_key_is_required_on_v1_routes(self, http: requests.Session):
        with Collector(api_key="v1-key-7d1e") as collector:
            assert 401 == post(http, collector, "/v1/events", tool()).status_code
            headers = {"Authorization": "Bearer v1-key-7d1e"}
            reply = http.post(collector.url + "/v1/events", json=tool(), headers=headers)
            assert 200 == reply.status_code


class TestFaults:
    def test_partial_on_the_v1_batch_stores_the_first_and_names_them(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.partial(path="/v1/events/batch", reject=1)
        events = [tool(), model(), tool()]
        reply = post(http, server, "/v1/events/batch", {"events": events})
        assert 500 == reply.status_code
        assert [e["event_id"] for e in events[:2]] == reply.json()["event_ids"]
        assert {e["event_id"] for e in events[:2]} == {e["event_id"] for e in server.events()}

    def test_partial_on_a_sessions_batch_matches_any_session(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        faults.partial(path=SESSION_BATCH, reject=2)
        events = [tool(), tool(), tool()]
        path = f"/v1/sessions/{uuid.uuid4()}/events/batch"
        reply = post(http, server, path, {"events": events})
        assert (500, [events[0]["event_id"]]) == (reply.status_code, reply.json()["event_ids"])
        assert 1 == len(server.events())

    def test_a_rule_for_the_update_route_matches_every_id(
        self, server: Collector, faults: Faults, http: requests.Session
    ):
        event = tool()
        post(http, server, "/v1/events", event)
        faults.respond(503, headers={"Retry-After": "1"}, path=EVENT)
        reply = post(http, server, f"/v1/events/{event['event_id']}", {"metrics": {}}, "PUT")
        assert (503, "1") == (reply.status_code, reply.headers["Retry-After"])
        assert [("respond", f"/v1/events/{event['event_id']}")] == faults.fired()

    def test_partial_refuses_a_route_that_is_not_a_batch(self, faults: Faults):
        with pytest.raises(ValueError, match="path must be one of"):
            faults.partial(path="/v1/events")


def _program() -> str:
    """A traced program: a session, a chain, a model call, a tool, feedback after."""

    @hh.trace_model(model="fake-model", provider="fake", event_name="draft")
    def draft(messages: list[dict[str, Any]], temperature: float = 0.3) -> dict[str, Any]:
        event = hh.current_event()
        assert event is not None
        event.set_usage(prompt_tokens=7, completion_tokens=3)
        event.add_metadata(attempt=1)
        return {"role": "assistant", "content": "42"}

    @hh.trace_tool(event_name="lookup", config={"index": "kb"})
    def lookup(query: str) -> dict[str, Any]:
        return {"hits": [query]}

    @hh.trace_chain(event_name="answer")
    def answer(question: str) -> str:
        lookup(question)
        return str(draft([{"role": "user", "content": question}])["content"])

    with hh.session(name="round-trip", user_properties={"user": "u"}) as current:
        answer("why?")
        current.set_outputs({"done": True})
    return current.session_id


_TIMES = ("start_time", "end_time", "duration", "received_at", "seq")


def _rows(db: Path) -> dict[str, list[dict[str, Any]]]:
    """Every stored row, ids replaced by their order of first appearance, times left out."""
    names: dict[str, str] = {}

    def canon(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canon(v) for k, v in value.items() if k not in _TIMES}
        if isinstance(value, list):
            return [canon(v) for v in value]
        if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
            return names.setdefault(value, f"id-{len(names)}")
        return value

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, order in (
        ("sessions", "seq"),
        ("events", "event_name"),
        ("updates", "seq"),
    ):
        rows = []
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            record = dict(row)
            record["body"] = json.loads(record["body"])
            rows.append(record)
        tables[table] = rows
    conn.close()
    return {table: canon(rows) for table, rows in tables.items()}


class TestRoundTrip:
    @pytest.fixture
    def run(self, tmp_path: Path) -> Callable[[str], dict[str, list[dict[str, Any]]]]:
        def run(api_version: str) -> dict[str, list[dict[str, Any]]]:
            db = tmp_path / f"{api_version}.db"
            with Collector(db=str(db), record_requests=True) as collector:
                hh.configure(
                    server_url=collector.url,
                    api_key="round-trip-key",
                    api_version=api_version,  # type: ignore[arg-type]
                    source="round-trip",
                    prices={"fake-model": (1.0, 2.0)},
                    strict=True,
                )
                session_id = _program()
                assert hh.flush(timeout=10)
                found = collector.session(session_id)
                assert found is not None
                chain = next(e for e in found["events"] if e["event_name"] == "answer")
                hh.log_feedback(chain["event_id"], feedback={"rating": 1})
                assert hh.flush(timeout=10)
                assert 0 == hh.stats()["rejected"]
                hh.shutdown(timeout=5)
                routes = set()
                for request in collector.requests:
                    route = request.path
                    if api_version == "v1":
                        if request.method == "PUT":
                            route = "/v1/events/{event_id}"
                        body = json.loads(request.body)
                        assert [] == spec_errors(request.method, route, body, V1)
                    routes.add((request.method, route))
                assert all(path.startswith("/v1/") for _, path in routes) == (
                    api_version == "v1"
                ), routes
            return _rows(db)

        return run

    def test_v1_stores_the_same_rows_as_legacy(
        self, run: Callable[[str], dict[str, list[dict[str, Any]]]]
    ):
        legacy = run("legacy")
        v1 = run("v1")
        assert [3, 1, 2] == [len(legacy[t]) for t in ("events", "sessions", "updates")]
        [draft] = [e for e in legacy["events"] if e["event_name"] == "draft"]
        assert (10, 1.3e-05, {"temperature": 0.3}) == (
            draft["total_tokens"],
            draft["cost"],
            draft["body"]["hyperparameters"],
        )
        assert legacy == v1


def _many_events(count: int) -> None:
    @hh.trace_tool(event_name="step")
    def step(i: int) -> int:
        return i

    with hh.session(name="faults"):
        for i in range(count):
            step(i)


class TestV1ClientThroughFaults:
    """The library configured for v1 against the collector's faults on the v1 routes."""

    @pytest.mark.parametrize(
        "script",
        [
            lambda f: f.partial(path="/v1/events/batch", reject=2),
            lambda f: f.respond(503, headers={"Retry-After": "0"}, path="/v1/events/batch"),
            lambda f: f.respond(429, headers={"Retry-After": "0"}, path="/v1/sessions"),
            lambda f: f.respond(413, path="/v1/events/batch"),
            lambda f: f.drop(path="/v1/events/batch", after_store=True),
        ],
        ids=["partial", "503", "429-session", "413", "drop-after-store"],
    )
    def test_every_event_arrives_once(
        self, server: Collector, faults: Faults, script: Callable[[Faults], None]
    ):
        script(faults)
        hh.configure(
            server_url=server.url,
            api_key="faults-key",
            api_version="v1",
        )
        _many_events(6)
        assert hh.flush(timeout=20)
        assert 0 == faults.pending()
        stats = hh.stats()
        assert (0, 0) == (stats["rejected"], stats["spooled"])
        assert ["faults"] == [s["session_name"] for s in server.sessions()]
        assert list(range(6)) == sorted(e["inputs"]["i"] for e in server.events())
