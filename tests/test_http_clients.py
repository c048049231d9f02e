"""Outgoing trace headers (honeyhive_trace.http_clients), asserted on what real servers received.

Two loopback servers: ``internal`` (allow-listed by its port) and ``other``
(a third party: same machine, another port). Only ``internal`` may ever see
the trace headers, redirects included, and never instead of the caller's own.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import requests.adapters

import honeyhive_trace as hh
from honeyhive_trace import http_clients
from honeyhive_trace.http_clients import httpx_event_hooks, propagating_adapter
from honeyhive_trace.testing import capture_events
from tests._support.servers import HeaderEcho, WSGIServer

TRACE = ("traceparent", "baggage")
ORIGINAL_SEND = requests.adapters.HTTPAdapter.send
ORIGINAL_HANDLE = httpx.HTTPTransport.handle_request
ORIGINAL_AHANDLE = httpx.AsyncHTTPTransport.handle_async_request


class Servers:
    def __init__(self, internal: WSGIServer, other: WSGIServer) -> None:
        self.internal, self.other = internal, other
        self.internal_echo: HeaderEcho = internal.app
        self.other_echo: HeaderEcho = other.app

    def redirect_to_other(self) -> str:
        return f"{self.internal.url}/redirect?to={self.other.url}/landed"


@pytest.fixture
def servers() -> Iterator[Servers]:
    with WSGIServer(HeaderEcho()) as internal, WSGIServer(HeaderEcho()) as other:
        yield Servers(internal, other)


@pytest.fixture(autouse=True)
def _undo() -> Iterator[None]:
    yield
    hh.uninstrument_http()


@pytest.fixture
def traced() -> Iterator[dict[str, str]]:
    """Inside an event of a session: the headers that should be sent."""
    with capture_events(), hh.session(name="caller"), hh.event("chain", event_name="call"):
        yield hh.propagation_headers()


def trace_headers(received: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in received.items() if k in TRACE}


def get(client: str, url: str, **kwargs: Any) -> int:
    """GET *url* with requests, httpx or httpx's AsyncClient; the status code."""
    if client == "requests":
        return requests.get(url, timeout=10, **kwargs).status_code
    if client == "httpx":
        with httpx.Client(follow_redirects=True, timeout=10) as sync_client:
            return sync_client.get(url, **kwargs).status_code

    async def fetch() -> int:
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as async_client:
            return (await async_client.get(url, **kwargs)).status_code

    return asyncio.run(fetch())


CLIENTS = ["requests", "httpx", "httpx-async"]


class TestInstrumentHttp:
    @pytest.mark.parametrize("client", CLIENTS)
    def test_only_the_allowed_host_and_port_get_the_headers(
        self, client: str, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http([f"127.0.0.1:{servers.internal.port}"])
        assert 200 == get(client, f"{servers.internal.url}/a")
        assert 200 == get(client, f"{servers.other.url}/b")
        assert 200 == get(client, f"http://localhost:{servers.internal.port}/c")  # no resolving
        assert traced == trace_headers(servers.internal_echo.received[0])
        assert set(TRACE) == set(traced)
        assert {} == trace_headers(servers.other_echo.last())
        assert {} == trace_headers(servers.internal_echo.last())

    @pytest.mark.parametrize("client", CLIENTS)
    def test_the_callers_headers_are_kept(
        self, client: str, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http(["127.0.0.1"])
        assert 200 == get(client, servers.internal.url, headers={"Baggage": "mine=1", "X-A": "b"})
        received = servers.internal_echo.last()
        assert ("mine=1", "b", traced["traceparent"]) == (
            received["baggage"],
            received["x-a"],
            received["traceparent"],
        )

    @pytest.mark.parametrize("client", CLIENTS)
    def test_a_redirect_to_another_host_loses_the_headers(
        self, client: str, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http([f"127.0.0.1:{servers.internal.port}"])
        assert 200 == get(client, servers.redirect_to_other())
        assert traced == trace_headers(servers.internal_echo.last())
        assert {} == trace_headers(servers.other_echo.last())

    @pytest.mark.parametrize("client", CLIENTS)
    def test_outside_any_event_nothing_is_added(self, client: str, servers: Servers) -> None:
        hh.instrument_http(["127.0.0.1"])
        with capture_events():
            assert 200 == get(client, servers.internal.url)
        assert {} == trace_headers(servers.internal_echo.last())

    def test_the_callers_request_object_is_left_as_it_was(
        self, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http(["127.0.0.1"])
        response = requests.get(servers.internal.url, timeout=10)
        with httpx.Client() as client:
            sent = client.get(servers.internal.url)
        assert [{}, {}] == [
            trace_headers({k.lower(): v for k, v in r.request.headers.items()})
            for r in (response, sent)
        ]
        assert 2 == len([h for h in servers.internal_echo.received if trace_headers(h) == traced])

    def test_undo_restores_the_methods_and_stops_the_headers(
        self, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http(["127.0.0.1"])
        assert requests.adapters.HTTPAdapter.send is not ORIGINAL_SEND
        hh.uninstrument_http()
        assert (ORIGINAL_SEND, ORIGINAL_HANDLE, ORIGINAL_AHANDLE) == (
            requests.adapters.HTTPAdapter.send,
            httpx.HTTPTransport.handle_request,
            httpx.AsyncHTTPTransport.handle_async_request,
        )
        for client in CLIENTS:
            assert 200 == get(client, servers.internal.url)
            assert {} == trace_headers(servers.internal_echo.last())

    def test_one_client_can_be_left_alone_and_calling_again_replaces_the_list(
        self, servers: Servers, traced: dict[str, str]
    ) -> None:
        hh.instrument_http(["127.0.0.1"], httpx=False)
        assert httpx.HTTPTransport.handle_request is ORIGINAL_HANDLE
        assert 200 == get("httpx", servers.internal.url)
        assert {} == trace_headers(servers.internal_echo.last())
        assert 200 == get("requests", servers.internal.url)
        assert traced == trace_headers(servers.internal_echo.last())
        hh.instrument_http(["api.internal"])  # the loopback host is no longer allowed
        assert 200 == get("requests", servers.internal.url)
        assert {} == trace_headers(servers.internal_echo.last())

    def test_importing_the_library_imports_neither_client(self) -> None:
        code = (
            "import sys, honeyhive_trace as hh\n"
            "print([m for m in ('requests', 'httpx') if m in sys.modules])\n"
            "hh.instrument_http(['127.0.0.1'], httpx=False)\n"
            "print([m for m in ('requests', 'httpx') if m in sys.modules])\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert ["[]", "['requests']"] == done.stdout.split()


class TestUserInstalled:
    def test_a_mounted_adapter_adds_the_headers_for_its_hosts_only(
        self, servers: Servers, traced: dict[str, str]
    ) -> None:
        with requests.Session() as session:
            session.mount("http://", propagating_adapter([f"127.0.0.1:{servers.internal.port}"]))
            assert 200 == session.get(servers.redirect_to_other(), timeout=10).status_code
        assert traced == trace_headers(servers.internal_echo.last())
        assert {} == trace_headers(servers.other_echo.last())

    @pytest.mark.parametrize("asynchronous", [False, True])
    def test_event_hooks_add_the_headers_and_a_redirect_elsewhere_drops_them(
        self, asynchronous: bool, servers: Servers, traced: dict[str, str]
    ) -> None:
        hooks = httpx_event_hooks(
            [f"127.0.0.1:{servers.internal.port}"], asynchronous=asynchronous
        )
        url = servers.redirect_to_other()
        if asynchronous:

            async def fetch() -> int:
                async with httpx.AsyncClient(event_hooks=hooks, follow_redirects=True) as client:
                    return (await client.get(url, headers={"X-Mine": "1"})).status_code

            assert 200 == asyncio.run(fetch())
        else:
            with httpx.Client(event_hooks=hooks, follow_redirects=True) as client:
                assert 200 == client.get(url, headers={"X-Mine": "1"}).status_code
        assert traced == trace_headers(servers.internal_echo.last())
        assert ({}, "1") == (
            trace_headers(servers.other_echo.last()),
            servers.other_echo.last()["x-mine"],
        )


class TestAllowList:
    @pytest.mark.parametrize(
        ("entry", "url", "allowed"),
        [
            ("api.internal", "https://api.internal/x", True),
            ("api.internal", "http://API.Internal.:8080/x", True),
            ("api.internal", "https://api.internal.evil.com/", False),
            ("api.internal", "https://evil.com/?api.internal", False),
            ("api.internal", "https://api.internal@evil.com/", False),
            ("api.internal:8443", "https://api.internal:8443/", True),
            ("api.internal:8443", "https://api.internal/", False),
            ("api.internal:443", "https://api.internal/", True),
            ("api.internal:80", "https://api.internal/", False),
            ("*.svc.local", "http://orders.svc.local/", True),
            ("*.svc.local", "http://svc.local/", False),
            ("*.svc.local", "http://evilsvc.local/", False),
            ("[::1]:8001", "http://[::1]:8001/", True),
            ("::1", "http://[::1]:9/", True),
            ("127.0.0.1", "http://127.0.0.1:bad/", False),
            ("127.0.0.1", "not a url", False),
        ],
    )
    def test_matching(self, entry: str, url: str, allowed: bool) -> None:
        assert allowed is http_clients._AllowList([entry]).allows(url)

    @pytest.mark.parametrize(
        "entry", ["", "http://api.internal", "api.internal/x", "host:99999", "a*b.c", "[::1]x", 3]
    )
    def test_a_bad_entry_fails_fast_naming_the_setting(self, entry: Any) -> None:
        with pytest.raises(hh.ConfigurationError) as raised:
            hh.instrument_http([entry])
        assert "hosts" == raised.value.setting
        assert requests.adapters.HTTPAdapter.send is ORIGINAL_SEND

    def test_a_single_string_is_one_host(self) -> None:
        assert http_clients._AllowList("api.internal").allows("http://api.internal/")
