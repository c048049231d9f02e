"""WSGIMiddleware and ASGIMiddleware, behind real Flask and FastAPI apps served on loopback.

The caller (this test) traces a chain and sends :func:`hh.propagation_headers`;
the server's request event must be that chain's child, in its session, and the
handler's own steps the request event's children. Server and caller share the
in-memory recorder of :func:`capture_events`; :class:`Arrivals` waits (on a
condition, never a sleep) for events that end in the server's thread.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi
import flask
import pytest
import requests
from fastapi.responses import StreamingResponse

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.middleware import ASGIMiddleware, WSGIMiddleware
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.collector import REPO_ROOT, cli_env
from tests._support.servers import Arrivals, ASGIServer, WSGIServer
from tests._support.wire import API_KEY

HOSTILE = [
    {"baggage": "honeyhive.session_id=../../etc/passwd,honeyhive.event_id=<script>"},
    {"baggage": "honeyhive.event_id=" + "a" * 20_000},
    {"baggage": "honeyhive.event_id=00000000-0000-0000-0000-00000000000G", "traceparent": "xx"},
]


class Gate:
    """Holds a streamed body between chunks until the test opens it."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def wait(self) -> None:
        assert self.opened.wait(timeout=10)


def flask_app(gate: Gate) -> flask.Flask:
    app = flask.Flask("traced")

    @app.get("/items/<int:item>")
    def item(item: int) -> dict[str, Any]:
        with hh.event("tool", event_name="lookup", inputs={"item": item}) as ev:
            ev.set_outputs({"found": True})
        return {"item": item}

    @app.get("/stream")
    def stream() -> flask.Response:
        def chunks() -> Iterator[str]:
            for n in range(3):
                with hh.event("tool", event_name=f"chunk-{n}"):
                    pass
                yield f"{n}\n"
                if n == 0:
                    gate.wait()

        return flask.Response(flask.stream_with_context(chunks()), mimetype="text/plain")

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("boom")

    return app


@pytest.fixture
def arrivals() -> Iterator[tuple[Arrivals, CapturedEvents]]:
    found = Arrivals()
    with capture_events(processors=[found]) as events:
        yield found, events


@pytest.fixture
def gate() -> Iterator[Gate]:
    opened = Gate()
    yield opened
    opened.opened.set()  # never leave a server thread blocked


@pytest.fixture
def flask_server(gate: Gate) -> Iterator[WSGIServer]:
    app = flask_app(gate)
    app.wsgi_app = WSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    with WSGIServer(app) as server:
        yield server


def fastapi_app(gate: Gate) -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.get("/items/{item}")
    async def item(item: int) -> dict[str, Any]:
        with hh.event("tool", event_name="lookup", inputs={"item": item}):
            await asyncio.sleep(0)
        return {"item": item}

    @app.get("/sync/{item}")
    def sync_item(item: int) -> dict[str, Any]:  # run by FastAPI in its thread pool
        with hh.event("tool", event_name="sync-lookup"):
            pass
        return {"item": item}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for n in range(3):
                with hh.event("tool", event_name=f"chunk-{n}"):
                    pass
                yield f"{n}\n"
                if n == 0:
                    await asyncio.to_thread(gate.wait)

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("boom")

    @app.get("/unavailable")
    async def unavailable() -> None:
        raise fastapi.HTTPException(status_code=503, detail="later")

    return app


@pytest.fixture
def fastapi_server(gate: Gate) -> Iterator[ASGIServer]:
    with ASGIServer(ASGIMiddleware(fastapi_app(gate))) as server:
        yield server


@pytest.fixture(params=["flask", "fastapi"])
def server(request: pytest.FixtureRequest) -> WSGIServer | ASGIServer:
    """Each test runs against the Flask app (WSGI) and the FastAPI app (ASGI)."""
    server: WSGIServer | ASGIServer = request.getfixturevalue(f"{request.param}_server")
    return server


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("honeyhive_trace") and r.levelno >= logging.WARNING
    ]


class TestBothFrameworks:
    def test_the_request_is_a_child_of_the_callers_event_and_the_handlers_steps_its_children(
        self, server: Any, arrivals: Any
    ) -> None:
        found, _ = arrivals
        with hh.session(name="caller") as session, hh.event("chain", event_name="call") as call:
            response = requests.get(
                f"{server.url}/items/7?q=cats", headers=hh.propagation_headers(), timeout=10
            )
        assert (200, {"item": 7}) == (response.status_code, response.json())
        request_event = found.wait(event_name="GET /items/7")
        assert (call.event_id, session.session_id) == (
            request_event.parent_id,
            request_event.session_id,
        )
        assert "chain" == request_event.event_type
        assert {"method": "GET", "path": "/items/7", "query": "q=cats"} == request_event.inputs
        assert ({"status_code": 200}, None) == (request_event.outputs, request_event.error)
        [lookup] = found.children(request_event)
        assert ("lookup", session.session_id) == (lookup.event_name, lookup.session_id)

    def test_without_headers_the_request_is_a_fresh_root(self, server: Any, arrivals: Any) -> None:
        found, _ = arrivals
        assert 200 == requests.get(f"{server.url}/items/1", timeout=10).status_code
        request_event = found.wait(event_name="GET /items/1")
        assert (None, None) == (request_event.parent_id, request_event.session_id)
        [lookup] = found.children(request_event)
        assert "lookup" == lookup.event_name

    @pytest.mark.parametrize("headers", HOSTILE, ids=["traversal", "oversized", "not-uuid"])
    def test_hostile_headers_are_ignored_with_one_warning(
        self, server: Any, arrivals: Any, headers: dict[str, str], caplog: Any
    ) -> None:
        found, _ = arrivals
        caplog.set_level(logging.WARNING, logger="honeyhive_trace")
        response = requests.get(f"{server.url}/items/2", headers=headers, timeout=10)
        assert 200 == response.status_code
        request_event = found.wait(event_name="GET /items/2")
        assert (None, None) == (request_event.parent_id, request_event.session_id)
        [warning] = warnings_of(caplog)
        assert "ignored incoming trace headers" in warning

    def test_a_streamed_body_ends_the_event_with_its_last_chunk(
        self, server: Any, arrivals: Any, gate: Gate
    ) -> None:
        found, _ = arrivals
        with requests.get(f"{server.url}/stream", stream=True, timeout=10) as response:
            lines = response.iter_lines()
            assert b"0" == next(lines)
            # The body is held after its first chunk: the request is not over.
            assert [] == [r for r in found.records if r.event_name == "GET /stream"]
            released_ms = time.time_ns() // 1_000_000
            gate.opened.set()
            assert [b"1", b"2"] == list(lines)
        request_event = found.wait(event_name="GET /stream")
        assert request_event.end_time is not None
        assert request_event.end_time >= released_ms
        chunks = found.children(request_event)
        assert ["chunk-0", "chunk-1", "chunk-2"] == [c.event_name for c in chunks]
        assert {"status_code": 200} == request_event.outputs

    def test_an_exception_in_the_handler_is_a_500_and_the_events_error(
        self, server: Any, arrivals: Any
    ) -> None:
        found, _ = arrivals
        assert 500 == requests.get(f"{server.url}/boom", timeout=10).status_code
        request_event = found.wait(event_name="GET /boom")
        assert {"status_code": 500} == request_event.outputs
        # Flask turns the exception into its 500 page; Starlette re-raises it
        # after sending the 500, so the middleware sees the exception itself.
        expected = "HTTP 500" if isinstance(server, WSGIServer) else "ValueError: boom"
        assert expected == request_event.error


class TestFastAPI:
    def test_a_sync_handler_in_the_thread_pool_sees_the_request_event(
        self, fastapi_server: ASGIServer, arrivals: Any
    ) -> None:
        found, _ = arrivals
        with hh.event("chain", event_name="call") as call:
            headers = hh.propagation_headers()
        assert 200 == requests.get(f"{fastapi_server.url}/sync/3", headers=headers).status_code
        request_event = found.wait(event_name="GET /sync/3")
        assert call.event_id == request_event.parent_id
        [step] = found.children(request_event)
        assert "sync-lookup" == step.event_name

    def test_a_5xx_response_is_the_events_error(
        self, fastapi_server: ASGIServer, arrivals: Any
    ) -> None:
        found, _ = arrivals
        assert 503 == requests.get(f"{fastapi_server.url}/unavailable", timeout=10).status_code
        request_event = found.wait(event_name="GET /unavailable")
        assert ({"status_code": 503}, "HTTP 503") == (request_event.outputs, request_event.error)

    def test_added_with_add_middleware_it_sees_the_exception_before_the_500(
        self, arrivals: Any, gate: Gate
    ) -> None:
        found, _ = arrivals
        app = fastapi_app(gate)
        app.add_middleware(ASGIMiddleware, event_name=lambda method, path: f"api {path}")
        with ASGIServer(app) as server:
            assert 500 == requests.get(f"{server.url}/boom", timeout=10).status_code
            assert 200 == requests.get(f"{server.url}/items/8", timeout=10).status_code
        failed = found.wait(event_name="api /boom")
        # Inside Starlette's error middleware no response was started: no status.
        assert ("ValueError: boom", None) == (failed.error, failed.outputs)
        [lookup] = found.children(found.wait(event_name="api /items/8"))
        assert "lookup" == lookup.event_name


class TestRecordFalse:
    def test_flask_only_continues_the_trace(self, arrivals: Any, gate: Gate) -> None:
        found, _ = arrivals
        app = flask_app(gate)
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, record=False)  # type: ignore[method-assign]
        with WSGIServer(app) as server, hh.event("chain", event_name="call") as call:
            assert (
                200
                == requests.get(
                    f"{server.url}/items/4", headers=hh.propagation_headers(), timeout=10
                ).status_code
            )
        lookup = found.wait(event_name="lookup")
        assert call.event_id == lookup.parent_id
        assert [] == [r for r in found.records if r.event_name == "GET /items/4"]

    def test_fastapi_only_continues_the_trace(self, arrivals: Any, gate: Gate) -> None:
        found, _ = arrivals
        app = ASGIMiddleware(fastapi_app(gate), record=False)
        with ASGIServer(app) as server, hh.event("chain", event_name="call") as call:
            assert (
                200
                == requests.get(
                    f"{server.url}/items/5", headers=hh.propagation_headers(), timeout=10
                ).status_code
            )
        lookup = found.wait(event_name="lookup")
        assert call.event_id == lookup.parent_id
        assert [] == [r for r in found.records if r.event_name == "GET /items/5"]


def environ(path: str = "/x", **extra: str) -> dict[str, Any]:
    """A minimal WSGI environ for calling the middleware directly."""
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", **extra}


class Body:
    """A response iterable that counts its close() calls (PEP 3333)."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = 0
        self.error = RuntimeError("mid-body")

    def __iter__(self) -> Iterator[bytes]:
        for n, chunk in enumerate(self.chunks):
            if n == self.fail_at:
                raise self.error
            with hh.event("tool", event_name=f"chunk-{n}"):
                pass
            yield chunk

    def close(self) -> None:
        self.closed += 1


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return lambda data: None


class TestWSGIProtocol:
    def test_the_event_ends_when_the_iterable_is_closed_and_close_is_forwarded(self) -> None:
        body = Body([b"a", b"b"])

        def app(environ: dict[str, Any], start: Any) -> Any:
            start("200 OK", [])
            return body

        with capture_events() as events:
            result = WSGIMiddleware(app)(environ("/items", QUERY_STRING="a=1"), start_response)
            assert [b"a", b"b"] == list(result)
            assert ["chunk-0", "chunk-1"] == [e.event_name for e in events]  # not ended yet
            assert hh.current_event() is None  # nothing leaked into the server's context
            result.close()  # type: ignore[attr-defined]
            request_event = events.one(event_name="GET /items")
        assert 1 == body.closed
        assert {"method": "GET", "path": "/items", "query": "a=1"} == request_event.inputs
        assert [request_event.event_id] * 2 == [
            e.parent_id for e in events.find(event_type="tool")
        ]

    def test_the_apps_exception_propagates_as_the_same_object_and_is_recorded(self) -> None:
        error = KeyError("missing")

        def app(environ: dict[str, Any], start: Any) -> Any:
            raise error

        with capture_events() as events, pytest.raises(KeyError) as raised:
            WSGIMiddleware(app)(environ(), start_response)
        assert raised.value is error
        assert "KeyError: 'missing'" == events.one(event_name="GET /x").error

    def test_an_exception_while_streaming_propagates_and_is_recorded(self) -> None:
        body = Body([b"a", b"b"], fail_at=1)

        def app(environ: dict[str, Any], start: Any) -> Any:
            start("200 OK", [])
            return body

        with capture_events() as events:
            result = WSGIMiddleware(app)(environ(), start_response)
            with pytest.raises(RuntimeError) as raised:
                list(result)
            result.close()  # type: ignore[attr-defined]
        assert raised.value is body.error
        assert (1, "RuntimeError: mid-body") == (
            body.closed,
            events.one(event_name="GET /x").error,
        )

    def test_a_failing_event_name_never_breaks_the_request(self, log_text: Any) -> None:
        def app(environ: dict[str, Any], start: Any) -> Any:
            start("201 Created", [])
            return [b"done"]

        def name(method: str, path: str) -> str:
            raise ZeroDivisionError

        with capture_events() as events:
            result = WSGIMiddleware(app, event_name=name)(environ("/y"), start_response)
            assert [b"done"] == list(result)
            result.close()  # type: ignore[attr-defined]
        assert {"status_code": 201} == events.one(
            event_name="POST /y" if False else "GET /y"
        ).outputs
        assert "event_name() failed" in log_text()

    def test_a_fixed_or_computed_event_name(self) -> None:
        def app(environ: dict[str, Any], start: Any) -> Any:
            start("200 OK", [])
            return [b""]

        with capture_events() as events:
            for name in ("api", lambda method, path: f"{method.lower()}:{path}"):
                WSGIMiddleware(app, event_name=name)(environ("/z"), start_response).close()  # type: ignore[attr-defined]
        assert ["api", "get:/z"] == [e.event_name for e in events]


def run(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> Any:
    """Call an ASGI app directly; returns what it sent."""
    sent: list[dict[str, Any]] = []
    incoming = list(messages or [{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(path: str = "/a", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"page=2",
        "headers": headers or [],
    }


class TestASGIProtocol:
    def test_lifespan_passes_through_untouched(self) -> None:
        seen: list[Any] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append((scope, hh.current_event()))

        scope = {"type": "lifespan"}
        with capture_events() as events:
            run(ASGIMiddleware(app), scope)
        assert [(scope, None)] == seen
        assert [] == list(events)

    def test_a_websocket_continues_the_trace_without_an_event(self) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            with hh.event("tool", event_name="ws-step"):
                pass

        with capture_events() as events:
            with hh.event("chain", event_name="call") as call:
                headers = [(k.encode(), v.encode()) for k, v in hh.propagation_headers().items()]
            run(ASGIMiddleware(app), {"type": "websocket", "path": "/ws", "headers": headers})
        assert call.event_id == events.one(event_name="ws-step").parent_id
        assert 2 == len(events)

    def test_the_apps_exception_propagates_as_the_same_object_and_is_recorded(self) -> None:
        error = LookupError("gone")

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise error

        with capture_events() as events, pytest.raises(LookupError) as raised:
            run(ASGIMiddleware(app), http_scope())
        assert raised.value is error
        request_event = events.one(event_name="POST /a")
        assert ("LookupError: gone", {"method": "POST", "path": "/a", "query": "page=2"}) == (
            request_event.error,
            request_event.inputs,
        )

    def test_the_event_ends_with_the_last_body_message_not_the_headers(self) -> None:
        ended_at: dict[str, int] = {}

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            ended_at["after-start"] = len(events)
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
            ended_at["after-chunk"] = len(events)
            await send({"type": "http.response.body", "body": b"b"})
            ended_at["after-last"] = len(events)
            # After the response: later steps no longer change the request's event.
            hh.current_event().add_metadata(late=True)  # type: ignore[union-attr]

        with capture_events() as events:
            sent = run(ASGIMiddleware(app), http_scope())
        assert 3 == len(sent)
        assert {"after-start": 0, "after-chunk": 0, "after-last": 1} == ended_at
        assert events.one(event_name="POST /a").metadata in (None, {})


class TestTwoProcesses:
    def test_the_services_events_arrive_under_the_callers_event_in_its_session(
        self, configure: Any, collector: Collector, tmp_path: Path
    ) -> None:
        configure()
        env = cli_env(
            HH_API_URL=collector.url,
            HH_API_KEY=API_KEY,
            HH_PROJECT="test-project",
            HH_SPOOL_DIR=str(tmp_path / "spool-b"),
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "tests._support.service"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert service.stdout is not None
            assert service.stdin is not None
            port = int(service.stdout.readline().removeprefix("listening on "))
            hh.instrument_http([f"127.0.0.1:{port}"])
            with hh.session(name="two") as session, hh.event("chain", event_name="call") as call:
                response = requests.get(f"http://127.0.0.1:{port}/work?n=1", timeout=10)
            assert 200 == response.status_code
            service.stdin.close()  # B stops serving and delivers everything
            assert 0 == service.wait(timeout=60), service.stderr.read()  # type: ignore[union-attr]
            assert "delivered True" == service.stdout.read().strip()
        finally:
            hh.uninstrument_http()
            if service.poll() is None:
                service.kill()
                service.wait()
            for stream in (service.stdout, service.stderr):
                if stream is not None:
                    stream.close()
        assert hh.flush(timeout=10)
        detail = collector.session(session.session_id)
        assert detail is not None
        events = {e["event_name"]: e for e in detail["events"]}
        assert {"call", "GET /work", "lookup"} == set(events)
        request_event, lookup = events["GET /work"], events["lookup"]
        assert (call.event_id, request_event["event_id"]) == (
            request_event["parent_id"],
            lookup["parent_id"],
        )
        assert {session.session_id} == {e["session_id"] for e in events.values()}
        assert {"method": "GET", "path": "/work", "query": "n=1"} == request_event["inputs"]
        assert {"status_code": 200} == request_event["outputs"]
