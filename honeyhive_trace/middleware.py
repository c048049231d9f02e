"""WSGI and ASGI middleware: each request continues the caller's trace and is one event.

Wrap an application (Flask, Django, FastAPI, Starlette, ...)::

    from honeyhive_trace.middleware import ASGIMiddleware, WSGIMiddleware

    flask_app.wsgi_app = WSGIMiddleware(flask_app.wsgi_app)
    fastapi_app.add_middleware(ASGIMiddleware)  # or ASGIMiddleware(any_asgi_app)

Each HTTP request runs inside :func:`~honeyhive_trace.continue_trace` on its
headers: when the caller sent :func:`~honeyhive_trace.propagation_headers`,
what the request records belongs to the caller's session, under the caller's
event. With ``record=True`` (the default) the request is also recorded as a
``chain`` event (``"GET /items"``) whose inputs are the method, path and query
string (never headers or body) and whose outputs are the status code; the
handler's own events are its children. The event ends when the response is
complete: when the WSGI response iterable is closed, or when the ASGI
application sent the last body message (streaming bodies included). A 5xx
response, or an exception, is recorded as its error; exceptions propagate
unchanged. A tracing failure is logged and counted, and never breaks a request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any, TypeAlias

from honeyhive_trace.capture import (
    EventHandle,
    EventScope,
    TraceScope,
    continue_trace,
    end,
    event,
    report_failure,
)

__all__ = ["ASGIMiddleware", "EventName", "WSGIMiddleware"]

#: ``event_name=``: a fixed name, or a function of (method, path) giving one.
EventName: TypeAlias = str | Callable[[str, str], str] | None

StartResponse: TypeAlias = Callable[..., Callable[[bytes], object]]
WSGIApp: TypeAlias = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def _report(site: str, exc: BaseException | None = None) -> None:
    report_failure(f"middleware: {site}", exc)


def _name(spec: EventName, method: str, path: str) -> str:
    if isinstance(spec, str):
        return spec
    if spec is not None:
        try:
            return str(spec(method, path))
        except Exception as exc:
            _report("event_name() failed; the default name is used", exc)
    return f"{method} {path}"


class _Exchange:
    """One request's trace: the continued remote context and, if recorded, its event.

    Entered in the context the application runs in; :meth:`finish` must run in
    that context too (it resets what :meth:`__init__` set).
    """

    __slots__ = ("_trace", "_scope", "_handle", "status", "_ended", "_finished")

    def __init__(
        self, headers: Any, *, record: bool, name: EventName, method: str, path: str, query: str
    ) -> None:
        self.status: int | None = None
        self._ended = self._finished = False
        self._scope: EventScope | None = None
        self._handle: EventHandle | None = None
        self._trace: TraceScope | None = continue_trace(headers)
        try:
            self._trace.__enter__()
        except Exception as exc:
            self._trace = None
            _report("could not continue the incoming trace", exc)
        if not record:
            return
        try:
            inputs = {"method": method, "path": path, "query": query}
            scope = event("chain", event_name=_name(name, method, path), inputs=inputs)
            self._handle = scope.__enter__()
            self._scope = scope
        except Exception as exc:
            _report("could not start the request's event", exc)

    def _outcome(self, error: BaseException | None) -> None:
        handle = self._handle
        if handle is None or self.status is None:
            return
        try:
            handle.set_outputs({"status_code": self.status})
            if error is None and self.status >= 500:
                handle.set_error(f"HTTP {self.status}")
        except Exception as exc:
            _report("could not record the response", exc)

    def complete(self) -> None:
        """The response was sent whole: end the event now (a 5xx waits for the app's outcome)."""
        handle = self._handle
        if handle is None or self._ended or (self.status is not None and self.status >= 500):
            return
        self._ended = True
        self._outcome(None)
        end(handle)  # the context keeps the handle until finish(); it no longer records

    def finish(self, error: BaseException | None) -> None:
        """The exchange is over (the app returned or raised, the body was closed)."""
        if self._finished:
            return
        self._finished = True
        if self._scope is not None:
            if not self._ended:
                self._ended = True
                self._outcome(error)
            try:
                self._scope.__exit__(type(error) if error is not None else None, error, None)
            except Exception as exc:
                _report("could not end the request's event", exc)
        if self._trace is not None:
            try:
                self._trace.__exit__(None, None, None)
            except Exception as exc:
                _report("could not leave the incoming trace", exc)


def _status_code(status: Any) -> int | None:
    try:
        code = int(str(status).split(" ", 1)[0])
    except ValueError:
        return None
    return code if 100 <= code <= 999 else None


# -- WSGI ---------------------------------------------------------------------


def _wsgi_text(value: Any) -> str:
    """A WSGI environ string (bytes as latin-1 characters) as the UTF-8 text it encodes."""
    text = str(value or "")
    try:
        return text.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


class _WSGIBody:
    """The response iterable, run in the request's context; closing it ends the event."""

    __slots__ = ("_body", "_context", "_exchange", "_iterator")

    def __init__(
        self, body: Iterable[bytes], context: contextvars.Context, exchange: _Exchange
    ) -> None:
        self._body = body
        self._context = context
        self._exchange = exchange
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = self._context.run(iter, self._body)
            return self._context.run(next, self._iterator)
        except StopIteration:
            raise
        except BaseException as exc:
            self._context.run(self._exchange.finish, exc)
            raise

    def close(self) -> None:
        """Close the application's iterable (PEP 3333), then end the request's event."""
        close = getattr(self._body, "close", None)
        try:
            if close is not None:
                self._context.run(close)
        except BaseException as exc:
            self._context.run(self._exchange.finish, exc)
            raise
        self._context.run(self._exchange.finish, None)


class WSGIMiddleware:
    """Wrap a WSGI application so that each request continues the caller's trace.

    The application, and the iteration of the response it returns, run in a
    copy of the server's context holding the continued trace and the
    request's event: the handler's traced calls are its children, and nothing
    leaks into the server's thread. The event ends when the server closes the
    response iterable (after the last chunk of a streamed body), or when the
    application raises.

    Args:
        app: the WSGI application (e.g. ``flask_app.wsgi_app``).
        record: record each request as a ``chain`` event (default); False
            only continues the incoming trace.
        event_name: the event's name: a string, or a function of
            ``(method, path)``; default ``"<METHOD> <path>"``.
    """

    def __init__(self, app: WSGIApp, *, record: bool = True, event_name: EventName = None) -> None:
        self.app = app
        self.record = record
        self.event_name = event_name

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run one request (PEP 3333)."""
        context = contextvars.copy_context()
        return context.run(self._start, context, environ, start_response)

    def _start(
        self, context: contextvars.Context, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        headers = [
            (name, environ[key])
            for name, key in (("baggage", "HTTP_BAGGAGE"), ("traceparent", "HTTP_TRACEPARENT"))
            if key in environ
        ]
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = _wsgi_text(environ.get("SCRIPT_NAME")) + _wsgi_text(environ.get("PATH_INFO"))
        query = _wsgi_text(environ.get("QUERY_STRING"))
        exchange = _Exchange(
            headers,
            record=self.record,
            name=self.event_name,
            method=method,
            path=path,
            query=query,
        )

        def traced_start_response(status: str, *rest: Any) -> Callable[[bytes], object]:
            exchange.status = _status_code(status)
            return start_response(status, *rest)

        try:
            body = self.app(environ, traced_start_response)
        except BaseException as exc:
            exchange.finish(exc)
            raise
        return _WSGIBody(body, context, exchange)


# -- ASGI ---------------------------------------------------------------------


class ASGIMiddleware:
    """Wrap an ASGI application so that each request continues the caller's trace.

    ``http`` requests continue the incoming trace and (with ``record``) are
    recorded as one ``chain`` event, visible to the application's handlers
    as the current event. The event ends when the last body message is sent
    (``more_body`` false; the trailers, when announced), so a streamed body is
    part of it; a 5xx response ends it when the application returns, so that
    the exception behind it, if any, is the recorded error. ``websocket``
    connections only continue the trace (no event: a connection may last for
    hours); ``lifespan`` and other scopes pass through untouched.

    Args:
        app: the ASGI application.
        record: record each request as a ``chain`` event (default); False
            only continues the incoming trace.
        event_name: the event's name: a string, or a function of
            ``(method, path)``; default ``"<METHOD> <path>"``.
    """

    def __init__(self, app: ASGIApp, *, record: bool = True, event_name: EventName = None) -> None:
        self.app = app
        self.record = record
        self.event_name = event_name

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: Receive, send: Send
    ) -> None:
        """Run one connection (ASGI 3)."""
        kind = scope.get("type")
        if kind == "websocket":
            async with continue_trace(scope.get("headers") or ()):
                await self.app(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string") or b""
        exchange = _Exchange(
            scope.get("headers") or (),
            record=self.record,
            name=self.event_name,
            method=str(scope.get("method", "GET")),
            path=str(scope.get("path", "")),
            query=query.decode("latin-1") if isinstance(query, bytes) else str(query),
        )
        trailers = False

        async def traced_send(message: Message) -> None:
            nonlocal trailers
            sent = message.get("type")
            if sent == "http.response.start":
                exchange.status = _status_code(message.get("status"))
                trailers = bool(message.get("trailers"))
            await send(message)
            if (
                (sent == "http.response.body" and not message.get("more_body") and not trailers)
                or (sent == "http.response.trailers" and not message.get("more_trailers"))
                or sent == "http.response.pathsend"
            ):
                try:
                    exchange.complete()
                except Exception as exc:  # never let tracing fail the response
                    _report("could not end the request's event", exc)

        try:
            await self.app(scope, receive, traced_send)
        except BaseException as exc:
            exchange.finish(exc)
            raise
        exchange.finish(None)
