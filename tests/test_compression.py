"""``compression="gzip"``: request bodies gzip-compressed, and the collector taking them."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace._config import from_settings
from honeyhive_trace.collector import Collector
from honeyhive_trace.exceptions import ConfigurationError
from tests._support.delivery import produce
from tests._support.otel_collector import OTLPSink, RotelCollector


@hh.trace_model(model="gpt-4o", provider="openai")
def chat(messages: list[Any]) -> str:
    return "It compresses well. " * 20


class TestSending:
    def test_batches_go_gzipped_and_arrive_whole(self, configure: Any, collector: Any) -> None:
        configure(mode="background", batch_size=10, flush_interval=60, compression="gzip")
        ids = produce(25, size=400)
        assert hh.flush(10)
        posts = [r for r in collector.requests if r.path == "/events/model/batch"]
        assert posts
        for post in posts:
            assert post.headers["Content-Encoding"] == "gzip"
            body = json.loads(gzip.decompress(post.body))
            assert len(post.body) < len(json.dumps(body)) / 3  # the response repeats
        stored = [e["event_id"] for e in collector.events()]
        assert sorted(ids) == sorted(stored)
        assert 25 == hh.stats()["sent"]

    def test_inline_and_session_routes_too(self, configure: Any, collector: Any) -> None:
        configure(compression="gzip")
        with hh.session(name="s") as s:
            chat([{"role": "user", "content": "hi"}])
        assert {r.headers.get("Content-Encoding") for r in collector.requests} == {"gzip"}
        assert collector.sessions()[0]["session_id"] == s.session_id
        assert 1 == len(collector.events(event_type="model"))

    def test_the_default_sends_bodies_as_they_are(self, configure: Any, collector: Any) -> None:
        configure()
        chat([{"role": "user", "content": "hi"}])
        (post,) = collector.requests
        assert "Content-Encoding" not in post.headers
        assert json.loads(post.body)["model_event"]["model"] == "gpt-4o"

    def test_over_otlp_through_a_real_collector(self, tmp_path: Path, spool_dir: Path) -> None:
        with (
            OTLPSink(tmp_path / "spans.jsonl") as sink,
            RotelCollector(sink.url, tmp_path) as rotel,
        ):
            hh.configure(
                exporters=("otlp",),
                otlp_endpoint=rotel.traces_url,
                compression="gzip",
                spool_dir=spool_dir,
                flush_interval=0.05,
                strict=True,
            )
            chat([{"role": "user", "content": "hi"}])
            assert hh.flush(20)
            (span,) = sink.wait_for(1)
        assert span.name == "chat"
        assert 1 == hh.stats()["sent"]


class TestSetting:
    def test_a_bad_value_names_the_setting(self) -> None:
        with pytest.raises(ConfigurationError, match="compression"):
            from_settings({"compression": "brotli"}, {})

    def test_from_the_environment(self) -> None:
        assert "gzip" == from_settings({}, {"HH_COMPRESSION": "gzip"}).compression
        assert "none" == from_settings({}, {}).compression


@pytest.fixture
def plain() -> Iterator[Collector]:
    with Collector(port=0, db=":memory:", max_body_bytes=4096) as server:
        yield server


def post(collector: Collector, body: bytes, encoding: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=10)
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    connection.request("POST", "/events/model", body=body, headers=headers)
    answer = connection.getresponse()
    status, data = answer.status, json.loads(answer.read() or b"null")
    connection.close()
    return status, data


EVENT = {
    "model_event": {
        "project": "p",
        "model": "m",
        "provider": "openai",
        "messages": [],
        "response": {},
        "usage": {},
        "event_id": "00000000-0000-4000-8000-00000000000a",
        "duration": 1.0,
        "start_time": 1,
        "end_time": 2,
    }
}


class TestCollector:
    def test_takes_gzip(self, plain: Collector) -> None:
        status, _ = post(plain, gzip.compress(json.dumps(EVENT).encode()), "gzip")
        assert 200 == status
        assert [EVENT["model_event"]["event_id"]] == [e["event_id"] for e in plain.events()]

    def test_refuses_an_encoding_it_cannot_read(self, plain: Collector) -> None:
        status, body = post(plain, json.dumps(EVENT).encode(), "br")
        assert 415 == status
        assert "Content-Encoding" in json.dumps(body)

    def test_refuses_a_body_that_is_not_gzip(self, plain: Collector) -> None:
        status, body = post(plain, json.dumps(EVENT).encode(), "gzip")
        assert 400 == status
        assert "Content-Encoding" in json.dumps(body)

    def test_bounds_the_decompressed_size(self, plain: Collector) -> None:
        bomb = gzip.compress(b" " * 1_000_000)  # about 1 KB that inflates to 1 MB
        assert len(bomb) < 4096
        status, body = post(plain, bomb, "gzip")
        assert 413 == status
        assert "decompressed" in json.dumps(body)
        assert [] == plain.events()
