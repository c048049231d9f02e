"""Every event as an OTLP span: through a real collector (rotel), beside HoneyHive's API.

The library is configured with ``otlp_endpoint`` pointing at rotel on loopback,
which forwards to an OTLP sink of the test's own; what reached the sink is
what the assertions read. The recording server plays HoneyHive's API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import honeyhive_trace as hh
from honeyhive_trace._config import from_settings
from honeyhive_trace._otlp import require as require_module
from honeyhive_trace._otlp.mapping import span_bytes
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.records import ModelEvent
from tests._support.delivery import free_port
from tests._support.otel_collector import OTLPSink, RotelCollector
from tests._support.otlp import DecodedSpan, decode
from tests._support.recorder import Recorder
from tests._support.wire import API_KEY

SECRET = "otlp-secret-token-9b1d"


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[OTLPSink]:
    with OTLPSink(tmp_path / "spans.jsonl") as running:
        yield running


@pytest.fixture
def rotel(sink: OTLPSink, tmp_path: Path) -> Iterator[RotelCollector]:
    with RotelCollector(sink.url, tmp_path) as running:
        yield running


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def span_hex(event_id: str) -> str:
    return uuid.UUID(event_id).hex[16:]


@hh.trace_tool
def search(query: str) -> dict[str, Any]:
    return {"hits": [f"doc about {query}"]}


@hh.trace_model(model="gpt-4o", provider="openai")
def generate(messages: list[Any], temperature: float = 0.2) -> str:
    handle = hh.current_event()
    assert handle is not None
    handle.set_usage(prompt_tokens=12, completion_tokens=5, total_tokens=17)
    return "Paris is sunny."


@hh.trace_chain
def answer(question: str) -> Any:
    search(question)
    return generate([{"role": "user", "content": question}])


def run_turn(question: str = "Weather in Paris?") -> tuple[str, str]:
    """A session with one chain (a tool and a model call); returns the ids."""
    with hh.session(name="otlp-turn") as s:
        with hh.event("chain", event_name="turn") as turn:
            answer(question)
    return s.session_id, turn.event_id


def by_name(spans: list[DecodedSpan]) -> dict[str, DecodedSpan]:
    return {s.name: s for s in spans}


class TestThroughARealCollector:
    def test_every_event_arrives_as_a_span_beside_the_rest_api(
        self, rotel: RotelCollector, sink: OTLPSink, recorder: Recorder, spool_dir: Path
    ) -> None:
        hh.configure(
            api_key=API_KEY,
            server_url=recorder.url,
            otlp_endpoint=rotel.traces_url,
            otlp_headers={"x-team": SECRET},
            spool_dir=spool_dir,
            flush_interval=0.05,
            strict=True,
        )
        session_id, turn_id = run_turn()
        assert hh.flush(timeout=20)
        spans = by_name(sink.wait_for(5))
        assert {"otlp-turn", "turn", "answer", "search", "generate"} == set(spans)
        assert {uuid.UUID(session_id).hex} == {s.trace_id for s in spans.values()}
        parents = {name: s.parent_span_id for name, s in spans.items()}
        assert {
            "otlp-turn": "",
            "turn": span_hex(session_id),
            "answer": span_hex(turn_id),
            "search": spans["answer"].span_id,
            "generate": spans["answer"].span_id,
        } == parents
        model = spans["generate"].attributes
        assert {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.conversation.id": session_id,
            "honeyhive_event_type": "model",
        }.items() <= model.items()
        assert "Weather in Paris?" in model["gen_ai.input.messages"]
        assert spans["generate"].end > spans["generate"].start
        # The REST API got the same events, and each exporter counts its own.
        kinds = [k for k, _ in recorder.items()]
        assert (1, 1, 3) == (kinds.count("session"), kinds.count("model"), kinds.count("event"))
        stats = hh.stats()
        assert (5, len(kinds)) == (stats["otlp_sent"], stats["sent"])
        assert 1 == stats["otlp_dropped_update_not_exported"]  # the session's end
        assert SECRET not in repr(hh._client.STATE.client.config)

    @pytest.mark.timeout(120)
    def test_ten_seconds_without_the_collector_lose_nothing(
        self, rotel: RotelCollector, sink: OTLPSink, spool_dir: Path
    ) -> None:
        hh.configure(
            exporters=("otlp",),
            otlp_endpoint=rotel.traces_url,
            spool_dir=spool_dir,
            flush_interval=0.05,
            retry_budget=0.5,
        )
        for n in range(5):
            with hh.event("tool", event_name=f"before-{n}"):
                pass
        assert hh.flush(timeout=20)
        assert 5 == len(sink.wait_for(5))
        rotel.stop()
        down_since = time.monotonic()
        for n in range(20):
            with hh.event("tool", event_name=f"during-{n}"):
                pass
        assert hh.flush(timeout=20)
        assert hh.stats()["spooled"] == 20
        time.sleep(max(0.0, 10 - (time.monotonic() - down_since)))  # the outage lasts 10 s
        rotel.start()
        assert hh.flush(timeout=30, include_spool=True)
        names = [s.name for s in sink.wait_for(25, timeout=20)]
        assert sorted(
            [*(f"before-{n}" for n in range(5)), *(f"during-{n}" for n in range(20))]
        ) == sorted(names)
        stats = hh.stats()
        assert (5, 20, 20) == (stats["sent"], stats["spooled"], stats["replayed"])
        assert [] == list(spool_dir.glob("*/pending-*"))


class TestTheGlobalProviderIsNeverTouched:
    def test_configuring_tracing_and_shutting_down_leave_it_alone(
        self, sink: OTLPSink, spool_dir: Path
    ) -> None:
        before = otel_trace.get_tracer_provider()
        hh.configure(exporters=("otlp",), otlp_endpoint=sink.url, spool_dir=spool_dir)
        run_turn()
        assert hh.flush(timeout=20)
        hh.shutdown(timeout=5)
        assert before is otel_trace.get_tracer_provider()
        assert 5 == len(sink.wait_for(5))


class TestJoiningTheApplicationsTrace:
    def test_events_inside_an_active_span_join_its_trace_as_children(
        self, sink: OTLPSink, spool_dir: Path
    ) -> None:
        provider = TracerProvider()  # the application's own, never installed globally
        memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracer = provider.get_tracer("app")
        hh.configure(exporters=("otlp",), otlp_endpoint=sink.url, spool_dir=spool_dir)
        with tracer.start_as_current_span("http request") as outer:
            answer("Weather?")
        with hh.event("tool", event_name="outside"):
            pass
        assert hh.flush(timeout=20)
        spans = by_name(sink.wait_for(4))
        context = outer.get_span_context()
        trace_hex, outer_hex = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        assert {trace_hex} == {spans[n].trace_id for n in ("answer", "search", "generate")}
        assert outer_hex == spans["answer"].parent_span_id  # the root hangs under the span
        assert spans["answer"].span_id == spans["search"].parent_span_id  # children under it
        assert trace_hex != spans["outside"].trace_id
        assert "" == spans["outside"].parent_span_id
        assert ["http request"] == [s.name for s in memory.get_finished_spans()]


class TestContentSwitch:
    def test_without_content_the_spans_keep_ids_models_usage_and_times(
        self, sink: OTLPSink, spool_dir: Path
    ) -> None:
        hh.configure(
            exporters=("otlp",),
            otlp_endpoint=sink.url,
            otlp_capture_content=False,
            spool_dir=spool_dir,
        )
        generate([{"role": "user", "content": "a secret question"}])
        assert hh.flush(timeout=20)
        [span] = sink.wait_for(1)
        assert "a secret question" not in json.dumps(span.attributes)
        assert "Paris" not in json.dumps(span.attributes)
        assert (12, "gpt-4o") == (
            span.attributes["gen_ai.usage.input_tokens"],
            span.attributes["gen_ai.request.model"],
        )


class TestSettings:
    def test_otlp_without_an_endpoint_names_the_setting(self) -> None:
        with pytest.raises(ConfigurationError, match="otlp_endpoint"):
            hh.configure(exporters=("otlp",))

    def test_an_unknown_exporter_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="exporters"):
            hh.configure(exporters=("zipkin",))  # type: ignore[arg-type]

    def test_without_the_extra_configure_names_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(require_module, "OTEL_MODULES", ("opentelemetry.no_such_module",))
        with pytest.raises(ConfigurationError, match=r"otlp_endpoint: .*\[otel\]"):
            hh.configure(otlp_endpoint="http://127.0.0.1:4318/v1/traces")

    def test_headers_over_plain_http_to_a_remote_host_are_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="allow_insecure_http") as caught:
            hh.configure(
                otlp_endpoint="http://collector.example:4318/v1/traces",
                otlp_headers={"authorization": f"Bearer {SECRET}"},
            )
        assert SECRET not in str(caught.value)

    def test_the_environment_configures_the_exporter(
        self, sink: OTLPSink, spool_dir: Path
    ) -> None:
        script = """
            import honeyhive_trace as hh
            with hh.event("tool", event_name="from-env"):
                pass
            print(hh.flush(20), hh.stats()["sent"])
        """
        env = {
            "HH_OTLP_ENDPOINT": sink.url,
            "HH_OTLP_HEADERS": f"x-team={SECRET},x-env=ci%2Ctest",
            "HH_EXPORTERS": "otlp",
            "HH_SPOOL_DIR": str(spool_dir),
        }
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "True 1\n" == done.stdout, done.stderr
        [span] = sink.wait_for(1)
        assert "from-env" == span.name
        assert {"x-team": SECRET, "x-env": "ci,test"}.items() <= sink.last_headers.items()


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HH_")}


class TestReviewFindings:
    def test_a_misplaced_name_colon_value_header_is_refused_without_echoing_it(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            from_settings({}, {"HH_OTLP_HEADERS": f"Authorization: Basic {SECRET}"})
        assert "otlp_headers" == caught.value.setting
        assert SECRET not in str(caught.value)
        with pytest.raises(ConfigurationError) as caught:
            from_settings({"otlp_headers": {f"Authorization: {SECRET}": "x"}}, {})
        assert SECRET not in str(caught.value)

    def test_an_integer_beyond_64_bits_does_not_stop_the_span(self) -> None:
        record = ModelEvent(
            project="p",
            event_id="00000000-0000-4000-8000-000000000001",
            model="m",
            provider="openai",
            hyperparameters={"seed": 2**64, "max_tokens": 2**70},
        )
        [span] = decode(span_bytes(record))
        assert str(2**64) == span.attributes["gen_ai.request.seed"]

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_child_counts_only_its_own_events_for_every_exporter(
        self, sink: OTLPSink, recorder: Recorder, spool_dir: Path
    ) -> None:
        hh.configure(
            api_key=API_KEY,
            server_url=recorder.url,
            otlp_endpoint=sink.url,
            spool_dir=spool_dir,
            flush_interval=0.05,
        )
        for n in range(3):
            with hh.event("tool", event_name=f"parent-{n}"):
                pass
        assert hh.flush(timeout=20)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one event, then its own counts
            try:
                with hh.event("tool", event_name="child"):
                    pass
                hh.flush(timeout=20)
                stats = hh.stats()
                os.write(write, json.dumps([stats["sent"], stats["otlp_sent"]]).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            child = json.loads(answer.read() or "null")
        os.waitpid(pid, 0)
        assert [1, 1] == child
        assert (3, 3) == (hh.stats()["sent"], hh.stats()["otlp_sent"])

    def test_health_reports_what_the_otlp_exporter_keeps_in_its_spool(
        self, recorder: Recorder, spool_dir: Path
    ) -> None:
        down = free_port()  # nothing listens there: the OTLP endpoint is down
        hh.configure(
            api_key=API_KEY,
            server_url=recorder.url,
            otlp_endpoint=f"http://127.0.0.1:{down}/v1/traces",
            spool_dir=spool_dir,
            retry_budget=0.2,
            flush_interval=0.05,
        )
        with hh.event("tool", event_name="one"):
            pass
        assert hh.flush(timeout=20)
        report = hh.health()
        stats = hh.stats()
        assert (1, 1) == (stats["sent"], stats["otlp_spooled"]), stats
        assert not report["ok"]
        assert report["spool_bytes"] > 0
        assert any("the OTLP endpoint did not answer" in p for p in report["problems"])
