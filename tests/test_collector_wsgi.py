"""The collector as a WSGI application, called in-process with a WSGI environ (no socket).

Every call goes through :func:`wsgiref.validate.validator`, so the application also keeps to
PEP 3333 (no hop-by-hop headers, proper status and header types, ``close()`` honoured).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from honeyhive_trace.collector import EventStore, make_app
from tests._support.collector import minimal_event

CLOSE = "honeyhive_trace.collector.close_connection"
KEY = "in-process-key"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    environ: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)


class _Unreadable(io.RawIOBase):
    """A request body that must not be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the application read a body it should have refused")


def call(
    app: Any,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    query: str = "",
    environ: dict[str, Any] | None = None,
    validate: bool = True,
) -> Answer:
    env: dict[str, Any] = {}
    setup_testing_defaults(env)
    env.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query)
    if body is not None:
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = "application/json"
    env.update(environ or {})
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    result = (validator(app) if validate else app)(env, start_response)
    try:
        data = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Answer(int(seen["status"].split()[0]), dict(seen["headers"]), data, env)


def post(app: Any, event: dict[str, Any], **environ: Any) -> Answer:
    body = json.dumps({"model_event": event}).encode()
    return call(app, "POST", "/events/model", body=body, environ=environ)


@pytest.fixture
def store() -> Iterator[EventStore]:
    store = EventStore(":memory:")
    yield store
    store.close()


@pytest.fixture
def app(store: EventStore) -> Any:
    return make_app(store)


class TestIngestAndRead:
    def test_post_then_read_back(self, app: Any, store: EventStore) -> None:
        event = minimal_event(event_id=str(uuid.uuid4()))
        answer = post(app, event)
        assert (200, {"event_id": event["event_id"], "success": True}) == (
            answer.status,
            answer.json(),
        )
        assert 1 == store.count()
        listing = call(app, "GET", "/events", query="limit=5")
        assert [event] == listing.json()["events"]
        assert "no-store" == listing.headers["Cache-Control"]
        one = call(app, "GET", f"/events/{event['event_id']}")
        assert event == one.json()

    def test_batch_answers_ids_in_order(self, app: Any, store: EventStore) -> None:
        events = [minimal_event(event_id=str(uuid.uuid4())) for _ in range(3)]
        body = json.dumps({"model_events": events}).encode()
        answer = call(app, "POST", "/events/model/batch", body=body)
        assert [e["event_id"] for e in events] == answer.json()["event_ids"]
        assert 3 == store.count()

    def test_filters_reach_the_store(self, app: Any) -> None:
        post(app, minimal_event(project="alpha"))
        post(app, minimal_event(project="beta"))
        answer = call(app, "GET", "/events", query="project=beta")
        assert ["beta"] == [e["project"] for e in answer.json()["events"]]
        assert 1 == answer.json()["total"]

    def test_bad_filter_is_400(self, app: Any) -> None:
        answer = call(app, "GET", "/events", query="limit=5000")
        assert 400 == answer.status
        assert ["limit"] == [e["field"] for e in answer.json()["errors"]]

    def test_invalid_event_is_400_and_stores_nothing(self, app: Any, store: EventStore) -> None:
        event = minimal_event()
        del event["model"]
        answer = post(app, event)
        assert 400 == answer.status
        assert "model_event.model" in [e["field"] for e in answer.json()["errors"]]
        assert 0 == store.count()
        assert CLOSE not in answer.environ  # a well-framed request keeps the connection

    def test_unknown_event_is_404(self, app: Any) -> None:
        assert 404 == call(app, "GET", f"/events/{uuid.uuid4()}").status


class TestChecks:
    def test_unknown_path_is_404_and_closes(self, app: Any) -> None:
        answer = call(app, "GET", "/nope")
        assert (404, False) == (answer.status, answer.json()["success"])
        assert answer.environ[CLOSE] is True

    def test_wrong_method_is_405_with_allow(self, app: Any) -> None:
        answer = call(app, "DELETE", "/events")
        assert (405, "GET, HEAD, POST, PUT") == (answer.status, answer.headers["Allow"])
        answer = call(app, "DELETE", "/sessions")
        assert (405, "GET, HEAD") == (answer.status, answer.headers["Allow"])

    def test_foreign_host_is_403_unless_remote_is_allowed(self, store: EventStore) -> None:
        evil = {"HTTP_HOST": "evil.example:8719"}
        assert 403 == call(make_app(store), "GET", "/events", environ=evil).status
        remote = make_app(store, allow_remote=True)
        assert 200 == call(remote, "GET", "/events", environ=evil).status

    def test_api_key_is_required_for_the_api_but_not_the_viewer(self, store: EventStore) -> None:
        app = make_app(store, api_key=KEY)
        refused = post(app, minimal_event())
        assert 401 == refused.status
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert 401 == call(app, "GET", "/events").status
        accepted = post(app, minimal_event(), HTTP_AUTHORIZATION=f"Bearer {KEY}")
        assert 200 == accepted.status
        viewer = call(app, "GET", "/")
        assert 200 == viewer.status
        assert viewer.headers["Content-Type"].startswith("text/html")
        assert "frame-ancestors 'none'" in viewer.headers["Content-Security-Policy"]
        assert 1 == store.count()

    def test_oversized_body_is_413_without_reading_it(self, store: EventStore) -> None:
        app = make_app(store, max_body_bytes=100)
        environ = {
            "wsgi.input": _Unreadable(),
            "CONTENT_LENGTH": "101",
            "CONTENT_TYPE": "application/json",
        }
        answer = call(app, "POST", "/events/model", environ=environ)
        assert 413 == answer.status
        assert answer.environ[CLOSE] is True

    @pytest.mark.parametrize(
        ("environ", "status"),
        [
            ({"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "2"}, 415),
            ({"CONTENT_TYPE": "application/json"}, 411),
            ({"CONTENT_TYPE": "application/json", "HTTP_TRANSFER_ENCODING": "chunked"}, 411),
            ({"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "-5"}, 400),
        ],
    )
    def test_framing_and_content_type(
        self, app: Any, environ: dict[str, str], status: int
    ) -> None:
        environ = {"wsgi.input": _Unreadable(), **environ}
        # wsgiref's validator refuses a negative CONTENT_LENGTH before the app sees it.
        valid = environ.get("CONTENT_LENGTH") != "-5"
        answer = call(app, "POST", "/events/model", environ=environ, validate=valid)
        assert status == answer.status
        assert answer.environ[CLOSE] is True

    def test_truncated_body_is_a_connection_error(self, app: Any, store: EventStore) -> None:
        environ = {"wsgi.input": io.BytesIO(b'{"model'), "CONTENT_LENGTH": "100"}
        with pytest.raises(ConnectionAbortedError):
            call(
                app,
                "POST",
                "/events/model",
                environ={"CONTENT_TYPE": "application/json", **environ},
            )
        assert 0 == store.count()


class TestMakeApp:
    @pytest.mark.parametrize(
        "kwargs", [{"max_body_bytes": 0}, {"api_key": ""}, {"api_key": "a\nb"}]
    )
    def test_bad_settings_are_refused(self, store: EventStore, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            make_app(store, **kwargs)

    def test_is_documented(self) -> None:
        assert (make_app.__doc__ or "").strip().startswith("Return the collector as a WSGI")
