"""A real OpenTelemetry Collector for the tests: rotel, forwarding to a sink of our own.

``rotel`` (PyPI) ships a collector written in Rust. :class:`RotelCollector`
starts it on loopback: it receives OTLP/HTTP (and gRPC) and exports OTLP/HTTP
to :class:`OTLPSink`, a stdlib HTTP server that decodes each request with the
real opentelemetry-proto decoder, keeps the spans and appends them, one JSON
object a line, to a file. ``stop()`` and ``start()`` again restart the
collector on the same ports, for outage tests::

    with OTLPSink(tmp_path / "spans.jsonl") as sink, RotelCollector(sink.url, tmp_path) as rotel:
        requests.post(rotel.traces_url, data=body, headers=PROTOBUF)
        spans = sink.wait_for(4)
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import rotel
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests._support.otlp import DecodedSpan, decode

__all__ = ["PROTOBUF", "OTLPSink", "RotelCollector", "free_port"]

#: The headers of an OTLP/HTTP protobuf request.
PROTOBUF = {"Content-Type": "application/x-protobuf"}
#: The collector binary the rotel package ships.
ROTEL_BINARY = Path(rotel.__file__).parent / "rotel-agent"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class OTLPSink:
    """An OTLP/HTTP trace receiver that keeps, and writes down, every span it gets."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spans: list[DecodedSpan] = []
        self.requests = 0
        #: The headers of the last request (names lowercased).
        self.last_headers: dict[str, str] = {}
        self._arrived = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                sink.last_headers = {k.lower(): v for k, v in self.headers.items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                try:
                    spans = decode(body)
                except Exception:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                sink._add(spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to export traces: the sink's ``/v1/traces``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def _add(self, spans: list[DecodedSpan]) -> None:
        with self._arrived:
            with self.path.open("a", encoding="utf-8") as out:
                for span in spans:
                    out.write(json.dumps(dataclasses.asdict(span)) + "\n")
            self.spans.extend(spans)
            self.requests += 1
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[DecodedSpan]:
        """Wait until at least *count* spans arrived; return them all."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.spans) >= count, timeout)
            return list(self.spans)

    def written(self) -> list[dict[str, Any]]:
        """What the sink wrote to its file, one dict per span."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def __enter__(self) -> OTLPSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class RotelCollector:
    """The rotel collector as a child process on loopback, restartable on the same ports."""

    def __init__(self, export_url: str, workdir: Path, *, batch_timeout: str = "50ms") -> None:
        self.export_url = export_url
        self.workdir = workdir
        self.batch_timeout = batch_timeout
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.log_path = workdir / "rotel.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def traces_url(self) -> str:
        """The collector's OTLP/HTTP traces endpoint."""
        return f"http://127.0.0.1:{self.http_port}/v1/traces"

    @property
    def running(self) -> bool:
        """Whether the collector process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10) -> None:
        """Start the collector and wait until its HTTP port takes connections."""
        assert not self.running, "already running"
        command = [
            str(ROTEL_BINARY),
            "start",
            "--pid-file",
            str(self.workdir / "rotel.pid"),
            "--otlp-http-endpoint",
            f"127.0.0.1:{self.http_port}",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{self.grpc_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            self.export_url.removesuffix("/v1/traces"),
            "--otlp-exporter-protocol",
            "http",
            "--traces-batch-timeout",
            self.batch_timeout,
        ]
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:  # poll the port: the process binds it shortly after starting
            if self._process.poll() is not None:
                raise RuntimeError(f"rotel exited with {self._process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"rotel did not listen within {timeout} s: {self.log()}")
                time.sleep(0.02)

    def stop(self, timeout: float = 10) -> None:
        """Stop the collector (SIGTERM, then SIGKILL) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        """Stop, then start again on the same ports."""
        self.stop()
        self.start()

    def log(self) -> str:
        """What the collector logged so far."""
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def __enter__(self) -> RotelCollector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
