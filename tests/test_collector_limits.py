"""The collector under abuse: slow clients, too many connections, no file descriptors left.

Real sockets on 127.0.0.1. The dripping client sends a byte every 50 ms on
purpose (that is the abuse under test); every other wait is on a socket.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from honeyhive_trace.collector import Collector
from tests._support.collector import cli_env, raw_exchange

pytestmark = pytest.mark.timeout(60)

GET = b"GET /events?limit=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _closed_within(sock: socket.socket, seconds: float, drip: bytes) -> float | None:
    """Drip *drip* a byte every 50 ms; return when the server closed, or None."""
    started = time.monotonic()
    for byte in drip:
        if time.monotonic() - started > seconds:
            return None
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
            continue  # an answer (e.g. 408): the close follows
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
    return None


class TestDeadlines:
    def test_a_client_dripping_its_headers_is_cut_off(self) -> None:
        with Collector(request_timeout=0.5) as collector:
            with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as sock:
                sock.sendall(b"GET /events HTTP/1.1\r\nX-Slow: ")
                # A byte every 50 ms never trips a per-read timeout of 0.5 s.
                elapsed = _closed_within(sock, 5.0, b"a" * 200)
        assert elapsed is not None, "a dripping client was served for 5 s"
        assert elapsed < 2.0

    def test_a_client_dripping_its_body_is_cut_off(self) -> None:
        with Collector(request_timeout=0.5) as collector:
            with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as sock:
                sock.sendall(
                    b"POST /events/model HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                )
                elapsed = _closed_within(sock, 5.0, b" " * 1000)
            assert 0 == collector.count()
        assert elapsed is not None
        assert elapsed < 2.0

    def test_a_prompt_client_on_a_kept_alive_connection_is_served(self) -> None:
        with Collector(request_timeout=0.5) as collector:
            with socket.create_connection(("127.0.0.1", collector.port), timeout=10) as sock:
                for _ in range(3):  # each request has its own deadline
                    sock.sendall(GET)
                    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


@pytest.fixture
def small() -> Iterator[Collector]:
    with Collector(max_connections=3, request_timeout=10) as collector:
        yield collector


class TestConnectionLimit:
    def test_beyond_the_limit_a_client_gets_503_and_retry_after(self, small: Collector) -> None:
        with ExitStack() as stack:
            held = []
            for _ in range(3):  # served (and so counted), then kept open
                sock = stack.enter_context(
                    socket.create_connection(("127.0.0.1", small.port), timeout=10)
                )
                sock.sendall(GET)
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
                held.append(sock)
            answer = raw_exchange(small.port, GET)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 ")
            assert b"\r\nRetry-After: 1\r\n" in head
            assert b"too many connections" in body
            held[0].close()  # a slot frees as soon as the server sees the close
            deadline = time.monotonic() + 10
            while raw_exchange(small.port, GET).startswith(b"HTTP/1.1 503 "):
                assert time.monotonic() < deadline, "the freed slot was never reused"

    def test_the_limit_is_checked(self) -> None:
        with pytest.raises(ValueError, match="max_connections"):
            Collector(max_connections=0)


SERVER = textwrap.dedent(
    """
    import resource, sys, time
    from honeyhive_trace.collector import Collector

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (48, hard))
    collector = Collector(max_connections=1000, request_timeout=30).start()
    print(collector.port, flush=True)
    for line in sys.stdin:
        print(time.process_time(), flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE")
class TestOutOfFileDescriptors:
    def test_no_spin_and_a_503_then_normal_service_once_they_close(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            env=cli_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None

        def cpu() -> float:
            proc.stdin.write("?\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            return float(proc.stdout.readline())  # type: ignore[union-attr]

        try:
            port = int(proc.stdout.readline())
            with ExitStack() as stack:
                socks = [
                    stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
                    for _ in range(80)  # more than the 48 descriptors the server may hold
                ]
                # Once out of descriptors, the server sheds a waiting client.
                readable, _, _ = select.select(socks, [], [], 10.0)
                shed = [s.recv(65536) for s in readable]
                before = cpu()
                time.sleep(1.0)  # not a wait for an event: the span CPU use is measured over
                spent = cpu() - before
            assert any(a.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in a for a in shed)
            assert spent < 0.1, f"the server spun: {spent:.2f} s of CPU in 1 s"
            deadline = time.monotonic() + 20
            while not raw_exchange(port, GET).startswith(b"HTTP/1.1 200 "):
                assert time.monotonic() < deadline, "no normal service after the overload"
        finally:
            proc.kill()
            proc.wait()
