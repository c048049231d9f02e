"""Secrets and transport security: the key never leaks; TLS is verified; no key over http.

Everything here talks to servers on 127.0.0.1 only; the decisions about remote
hosts are tested on the configuration, which sends nothing.
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace._config import from_settings
from honeyhive_trace.collector import Collector, Faults
from honeyhive_trace.exceptions import ConfigurationError
from tests._support.wire import sent_bodies

#: A key distinctive enough that finding it anywhere means it leaked.
KEY = "hhk-CANARY-4f9c2e7a1b6d8035aa"


def files_text(root: Path) -> str:
    """Names and contents of every file under *root*, as one string."""
    parts: list[str] = []
    if root.exists():
        for path in sorted(root.rglob("*")):
            parts.append(str(path))
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Any:
    """Return a function giving everything logged by any logger (urllib3 included)."""
    caplog.set_level(logging.DEBUG)

    def _text() -> str:
        lines = [caplog.text]
        for record in caplog.records:
            lines.append(f"{record.getMessage()} {record.exc_text or ''} {record.args!r}")
        return "\n".join(lines)

    return _text


class TestKeyNeverLeaks:
    def test_every_delivery_path(
        self,
        collector: Collector,
        faults: Faults,
        spool_dir: Path,
        all_logs: Any,
    ) -> None:
        hh.configure(
            api_key=KEY,
            server_url=collector.url,
            mode="background",
            spool_dir=spool_dir,
            retry_budget=0.3,
            read_timeout=0.5,
            flush_interval=0.05,
            strict=False,
        )
        handles: list[hh.EventHandle] = []

        def event(name: str) -> None:
            with hh.model_event(model=name, messages="hello") as ev:
                ev.set_response("world")
            handles.append(ev)
            assert hh.flush(10)

        event("ok")
        faults.respond(503, times=None)
        event("spooled-by-503")
        faults.clear()
        event("ok-then-replay")
        faults.respond(401, body={"message": f"invalid api key {KEY}", "key": KEY})
        event("rejected-401-echoing-the-key")
        faults.respond(400, body=f"bad request from Bearer {KEY}".encode())
        event("rejected-400-raw-echo")
        faults.respond(413)
        event("too-large-once")
        faults.hang()
        event("timed-out-once")
        # A batch that outlived its budget leaves the next one a single try (an
        # outage fills the spool, not memory): one answered batch first, so that
        # the dropped connection below is retried live.
        event("ok-again")
        faults.drop()
        event("dropped-connection-once")
        faults.respond(500, body={"error": KEY}, times=None)
        event("spooled-by-500")
        faults.clear()
        collector.stop()
        event("spooled-server-down")

        stats = hh.stats()
        assert stats["sent"] >= 4  # the timed-out one may be spooled instead
        assert stats["replayed"] >= 1
        assert stats["rejected"] == 2
        assert stats["spooled"] >= 3
        client = _client.STATE.client
        assert client is not None
        spool_text = files_text(spool_dir)
        assert "dead-letter.jsonl" in spool_text
        assert "[REDACTED]" in spool_text  # the server's echo of the key, scrubbed
        texts = [
            spool_text,
            all_logs(),
            repr(client),
            repr(client.config),
            repr(client.transport),
            repr(client.sender.ledger.spool),
            repr(client.dispatcher),
            repr(_client.STATE),
            repr(stats),
            *(repr(h) for h in handles),
            *(repr(h.record) for h in handles),
            json.dumps(collector.events()),
            *(t.name for t in threading.enumerate()),
        ]
        hh.shutdown(5)
        texts += [all_logs(), files_text(spool_dir)]
        leaks = [text for text in texts if KEY in text]
        assert [] == leaks

    def test_inline_mode_failures_and_strict_mode(
        self, collector: Collector, faults: Faults, spool_dir: Path, all_logs: Any
    ) -> None:
        hh.configure(
            api_key=KEY,
            server_url=collector.url,
            mode="inline",
            spool_dir=spool_dir,
            inline_retry_budget=0.2,
            strict=True,
        )
        faults.respond(403, body={"detail": f"key {KEY} is revoked"})
        with hh.model_event(model="m"):
            pass
        faults.respond(503, times=None)
        with hh.model_event(model="m"):
            pass
        stats = hh.stats()
        assert (1, 1) == (stats["rejected"], stats["spooled"])
        assert KEY not in all_logs()
        assert KEY not in files_text(spool_dir)
        assert "key [REDACTED] is revoked" in files_text(spool_dir)

    @pytest.mark.parametrize(
        "settings",
        [
            {"server_url": "http://example.com"},
            {"server_url": "http://10.1.2.3:8080/"},
            {"server_url": "not a url"},
            {"server_url": "https://x?key=1"},
            {"connect_timeout": -1},
            {"verify": "/no/such/bundle.pem"},
            {"mode": "sometimes"},
            {"processors": [42]},
            {"prices": {"m": ("a", "b")}},
        ],
    )
    def test_configuration_errors_never_show_the_key(self, settings: dict[str, Any]) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(api_key=KEY, **settings)
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value)

    @pytest.mark.parametrize(
        "bad_key",
        [
            KEY.encode(),
            [KEY],
            f"{KEY}\nX-Injected: 1",
            f"{KEY} {KEY}",
            f"{KEY}\u2013",
            f"\t{KEY}\x00",
        ],
    )
    def test_a_malformed_key_is_refused_without_echoing_it(self, bad_key: Any) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(api_key=bad_key, server_url="http://127.0.0.1:9")
        assert "api_key" == caught.value.setting
        assert KEY not in str(caught.value)

    def test_a_bad_environment_is_logged_without_the_key(
        self, monkeypatch: pytest.MonkeyPatch, all_logs: Any
    ) -> None:
        monkeypatch.setenv("HH_API_KEY", KEY)
        monkeypatch.setenv("HH_API_URL", "http://example.com")

        @hh.trace_model
        def call() -> int:
            return 7

        assert 7 == call()
        assert "allow_insecure_http" in all_logs()
        assert KEY not in all_logs()
        client = _client.STATE.client
        assert client is not None
        assert client.recording is False

    def test_a_redirect_is_never_followed_and_is_a_clear_failure(
        self, spool_dir: Path, all_logs: Any
    ) -> None:
        with Collector(record_requests=True) as target:
            for location in (target.url, target.url.replace("127.0.0.1", "localhost")):
                for status in (301, 307):
                    with _Server(_redirect_handler(location, status)) as redirector:
                        hh.configure(
                            api_key=KEY,
                            server_url=redirector.url,
                            mode="inline",
                            spool_dir=spool_dir,
                            inline_retry_budget=0.2,
                        )
                        with hh.model_event(model="m"):
                            pass
                        stats = hh.stats()
                        assert (0, 1) == (stats["sent"], stats["rejected"])
            assert [] == target.requests  # neither the GET of a 301 nor the re-post of a 307
        logs = all_logs()
        assert "not followed; check server_url" in logs
        assert KEY not in logs


# -- what a server URL may hold --------------------------------------------------------


class TestServerUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://evil.example:8000\\@127.0.0.1:8719",
            "http://127.0.0.1:8719\\evil",
            "http://127.0.0.1:8719 /x",
            "http://127.0.0.1\t:8719",
            "http://127.0.0.1:8719/\x00",
        ],
    )
    def test_ambiguous_urls_are_refused(self, url: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(api_key=KEY, server_url=url)
        assert "server_url" == caught.value.setting
        assert _client.STATE.client is None

    @pytest.mark.parametrize(
        "url", ["http://user:s3cr3t-pw@127.0.0.1:8719", "https://:s3cr3t-pw@api.example.com"]
    )
    def test_credentials_in_the_url_are_refused_without_echoing_them(self, url: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(api_key=KEY, server_url=url)
        assert "credentials" in str(caught.value)
        assert "s3cr3t-pw" not in str(caught.value)

    def test_a_bad_url_in_the_environment_turns_tracing_off_with_one_message(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setenv("HH_API_URL", "http://[::1")
        with caplog.at_level(logging.INFO, logger="honeyhive_trace"):
            for _ in range(3):
                with hh.model_event(model="m"):
                    pass  # the traced code runs; tracing is off
        assert not _client.STATE.client.recording  # type: ignore[union-attr]
        messages = [r.getMessage() for r in caplog.records]
        assert 1 == sum("tracing is off, bad environment setting" in m for m in messages)

    def test_a_proxy_never_sees_what_is_meant_for_loopback(
        self, monkeypatch: pytest.MonkeyPatch, spool_dir: Path
    ) -> None:
        with _Server(_Ingest) as proxy, Collector() as collector:
            for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
                monkeypatch.setenv(name, proxy.url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            hh.configure(api_key=KEY, server_url=collector.url, mode="inline", spool_dir=spool_dir)
            with hh.model_event(
                model="m", messages=[{"role": "user", "content": "secret prompt"}]
            ):
                pass
            assert 1 == collector.count()
        assert [] == proxy.posts


# -- TLS ----------------------------------------------------------------------------------


class _Server:
    """A tiny threaded HTTP(S) server on 127.0.0.1 for one test."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
    ) -> None:
        self.posts: list[dict[str, Any]] = []

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, addr = self.socket.accept()
                if tls is not None:
                    # Handshake in the handler thread, so a refused one fails there.
                    sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, addr

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # refused handshakes are what the TLS tests provoke

        bound = type(handler.__name__, (handler,), {"server_self": self})
        self._server = Server(("127.0.0.1", 0), bound)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _redirect_handler(location: str, status: int = 307) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Location", location + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Redirect


class _Ingest(BaseHTTPRequestHandler):
    """Answers HoneyHive's two ingest endpoints with success and keeps the bodies."""

    protocol_version = "HTTP/1.1"
    server_self: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server_self.posts.append(body)
        if "model_events" in body:
            answer: dict[str, Any] = {
                "event_ids": [e["event_id"] for e in body["model_events"]],
                "success": True,
            }
        else:
            answer = {"event_id": body["model_event"]["event_id"], "success": True}
        raw = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throw-away CA, a server certificate for 127.0.0.1 and one for another name."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    root = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=honeyhive-trace test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=root,
    )  # fmt: skip
    for name, san in (("good", "IP:127.0.0.1"), ("wrong-name", "DNS:wrong.example")):
        (root / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
        )
        _openssl(
            "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}",
            cwd=root,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext",
            cwd=root,
        )  # fmt: skip
    names = ("ca", "good", "wrong-name")
    return {n: root / f"{n}.pem" for n in names} | {f"key:{n}": root / f"{n}.key" for n in names}


@pytest.fixture
def https_server(pki: dict[str, Path]) -> Iterator[Any]:
    """Return a function starting an HTTPS ingest server with the named certificate."""
    servers: list[_Server] = []

    def start(cert: str = "good") -> _Server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki[cert], pki[f"key:{cert}"])
        server = _Server(_Ingest, tls=context).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


class TestTLS:
    def _configure(self, url: str, tmp_path: Path, **extra: Any) -> None:
        settings: dict[str, Any] = {
            "api_key": KEY,
            "server_url": url,
            "mode": "inline",
            "spool_dir": tmp_path / f"spool-{uuid.uuid4().hex}",
            "inline_retry_budget": 0.3,
            "strict": True,
        }
        hh.configure(**{**settings, **extra})

    def test_an_unknown_ca_fails_closed_counted_and_spooled_never_raised(
        self, https_server: Any, tmp_path: Path, all_logs: Any
    ) -> None:
        server = https_server()
        self._configure(server.url, tmp_path)

        @hh.trace_model
        def call() -> str:
            return "ok"

        assert "ok" == call()
        assert [] == server.posts
        stats = hh.stats()
        assert (0, 1) == (stats["sent"], stats["spooled"])
        assert "SSLError" in all_logs()
        assert KEY not in all_logs()

    def test_a_configured_ca_bundle_is_trusted(
        self, https_server: Any, pki: dict[str, Path], tmp_path: Path
    ) -> None:
        server = https_server()
        self._configure(server.url, tmp_path, verify=pki["ca"])
        with hh.model_event(model="over-tls"):
            pass
        assert ["over-tls"] == [p["model_event"]["model"] for p in server.posts]
        assert 1 == hh.stats()["sent"]

    def test_the_ca_bundle_path_may_be_a_string(
        self, https_server: Any, pki: dict[str, Path], tmp_path: Path
    ) -> None:
        server = https_server()
        self._configure(server.url, tmp_path, verify=str(pki["ca"]), mode="background")
        with hh.model_event(model="over-tls"):
            pass
        assert hh.flush(10)
        assert 1 == hh.stats()["sent"]

    def test_the_host_name_is_checked_too(
        self, https_server: Any, pki: dict[str, Path], tmp_path: Path
    ) -> None:
        server = https_server("wrong-name")
        self._configure(server.url, tmp_path, verify=pki["ca"])
        with hh.model_event(model="m"):
            pass
        assert [] == server.posts
        assert (0, 1) == (hh.stats()["sent"], hh.stats()["spooled"])

    def test_verification_is_on_by_default(self) -> None:
        config = from_settings({"api_key": KEY}, {})
        assert config.verify is True


# -- plain http ---------------------------------------------------------------------------


class TestPlainHttp:
    @pytest.mark.parametrize(
        "url",
        [
            "http://example.com",
            "HTTP://EXAMPLE.COM/",
            "http://10.0.0.5:8080",
            "http://192.168.1.1",
            "http://0.0.0.0:8080",
            "http://[2001:db8::1]:80",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
        ],
    )
    def test_the_key_is_not_sent_over_http_to_a_remote_host(self, url: str) -> None:
        with pytest.raises(ConfigurationError) as caught:
            hh.configure(api_key=KEY, server_url=url)
        message = str(caught.value)
        assert "server_url" == caught.value.setting
        assert "allow_insecure_http=True" in message
        assert "https://" in message
        assert KEY not in message
        assert _client.STATE.client is None  # nothing was started

    def test_the_key_from_the_environment_is_refused_too(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HH_API_KEY", KEY)
        with pytest.raises(ConfigurationError, match="allow_insecure_http"):
            hh.configure(server_url="http://example.com")

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:1",
            "http://127.8.9.10",
            "http://localhost:1",
            "http://LOCALHOST:1",
            "http://[::1]:1",
        ],
    )
    def test_loopback_http_is_allowed(self, url: str) -> None:
        assert url.rstrip("/") == from_settings({"api_key": KEY, "server_url": url}, {}).server_url

    @pytest.mark.parametrize(
        "settings",
        [
            {"api_key": KEY, "server_url": "http://example.com", "allow_insecure_http": True},
            {"api_key": KEY, "server_url": "https://example.com"},
            {"server_url": "http://example.com"},  # no key: nothing secret to send
        ],
    )
    def test_what_is_allowed_elsewhere(self, settings: dict[str, Any]) -> None:
        # Only the decision is tested: nothing is sent to a non-loopback address.
        assert settings["server_url"] == from_settings(settings, {}).server_url

    def test_http_to_the_local_collector_works(self, configure: Any, collector: Any) -> None:
        configure(api_key=KEY)
        with hh.model_event(model="m"):
            pass
        assert ["m"] == [e["model"] for e in sent_bodies(collector)]


class _EchoKey(BaseHTTPRequestHandler):
    """Refuses every post with a JSON error that quotes the Authorization header."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        raw = json.dumps({"message": f"invalid key {key}", "escaped": key.replace("/", "\\/")})
        body = raw.encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_key_echoed_json_escaped_is_redacted_too(spool_dir: Path, all_logs: Any) -> None:
    key = 'hh-odd\\key"with/quotes'
    with _Server(_EchoKey) as server:
        hh.configure(api_key=key, server_url=server.url, mode="inline", spool_dir=spool_dir)
        with hh.model_event(model="m"):
            pass
        assert 1 == hh.stats()["rejected"]
    [dead] = spool_dir.glob("*/dead-letter.jsonl")
    stored = dead.read_text()
    for form in (key, json.dumps(key)[1:-1], json.dumps(key)[1:-1].replace("/", "\\/")):
        assert form not in stored
        assert form not in all_logs()
    assert "[REDACTED]" in stored
