"""Both HoneyHive API versions: the setting, the v1 shapes, and delivery under failures.

The recording server (``tests/_support/recorder.py``) speaks both the legacy and
the v1 routes and can fail in every way the delivery matrix needs; every body it
accepted is checked against the published OpenAPI document of its version with
``jsonschema`` (the v1 schema refuses unknown fields).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.delivery.codec import LEGACY, V1
from honeyhive_trace.delivery.pipeline import _prepared  # the pipeline's own item
from honeyhive_trace.delivery.protocol import TRUNCATION_MARKER, kind_of
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.records import EventUpdate, ModelEvent, SessionStart, Usage
from honeyhive_trace.testing import capture_events
from tests._support.delivery import run_script
from tests._support.odd import BrokenDict
from tests._support.openapi import V0, spec_errors
from tests._support.openapi import V1 as V1_SPEC
from tests._support.recorder import Accepted, Recorder, _ack
from tests._support.wire import API_KEY

VERSIONS = ["legacy", "v1"]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def configure(recorder: Recorder, spool_dir: Path, version: str, **overrides: Any) -> None:
    settings: dict[str, Any] = {
        "api_version": version,
        "server_url": recorder.url,
        "api_key": API_KEY,
        "project": "versions",
        "strict": True,
        "spool_dir": spool_dir,
        "flush_interval": 0.05,
    }
    hh.configure(**{**settings, **overrides})


def model_calls(n: int, prefix: str = "m", size: int = 0) -> list[str]:
    ids = []
    for i in range(n):
        with hh.model_event(model="gpt-4o", provider="openai", event_name=f"{prefix}{i}") as ev:
            ev.set_response({"role": "assistant", "content": "x" * size or "ok"})
            ev.set_usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
        ids.append(ev.event_id)
    return ids


def check_bodies(recorder: Recorder, version: str) -> None:
    """Every accepted body is valid for its route in its version's published schema."""
    assert recorder.accepted
    for request in recorder.accepted:
        assert version == request.version, request.path
        spec = V1_SPEC if version == "v1" else V0
        assert [] == spec_errors(request.method, request.route, request.body, spec)


def names(recorder: Recorder) -> list[str]:
    return [i["event_name"] for k, i in recorder.items() if k in ("model", "event")]


def spooled(spool_dir: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted(spool_dir.glob("*/pending-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


class TestTheSetting:
    def test_legacy_is_the_default_and_sends_the_seeds_routes(
        self, recorder: Recorder, spool_dir: Path
    ) -> None:
        hh.configure(server_url=recorder.url, api_key=API_KEY, spool_dir=spool_dir)
        model_calls(2)
        assert hh.flush(timeout=10)
        assert {("POST", "/events/model/batch")} == {(r.method, r.path) for r in recorder.accepted}

    def test_the_environment_chooses_v1(
        self, recorder: Recorder, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HH_API_VERSION", " V1 ")
        hh.configure(server_url=recorder.url, api_key=API_KEY, spool_dir=spool_dir)
        model_calls(1)
        assert hh.flush(timeout=10)
        assert {"/v1/events"} == {r.path for r in recorder.accepted}

    def test_a_bad_explicit_value_names_the_setting(self) -> None:
        with pytest.raises(ConfigurationError, match="api_version: expected 'legacy' or 'v1'"):
            hh.configure(api_version="v2")  # type: ignore[arg-type]

    def test_a_bad_environment_value_turns_tracing_off_with_a_message(
        self,
        recorder: Recorder,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        monkeypatch.setenv("HH_API_VERSION", "2024-01")
        monkeypatch.setenv("HH_API_URL", recorder.url)
        monkeypatch.setenv("HH_API_KEY", API_KEY)
        with hh.model_event(model="m"):
            pass
        hh.flush(timeout=1)
        assert [] == recorder.received
        assert "api_version" in caplog.text


class TestV1Shapes:
    """What each record becomes in v1, field by field (the table in the docs)."""

    def test_an_unreadable_mapping_is_sent_as_its_text_not_dropped(self) -> None:
        record = ModelEvent(
            project="p",
            event_id="00000000-0000-4000-8000-000000000001",
            model="gpt-4o",
            provider="openai",
            response=BrokenDict(role="assistant", content="hi"),
            inputs=BrokenDict(q="x"),
        )
        body = json.loads(V1.encode(record, "model"))
        assert "'role': 'assistant'" in json.dumps(body["outputs"])
        assert [] == spec_errors("POST", "/v1/events", body, V1_SPEC)
        assert json.loads(LEGACY.encode(record, "model"))["response"] == {
            "value": "{'role': 'assistant', 'content': 'hi'}"
        }

    def test_a_model_event_moves_its_fields_into_the_generic_shape(self) -> None:
        record = ModelEvent(
            project="p",
            event_id="00000000-0000-4000-8000-000000000001",
            session_id="00000000-0000-4000-8000-000000000002",
            parent_id="00000000-0000-4000-8000-000000000002",
            start_time=1_700_000_000_000,
            end_time=1_700_000_000_250,
            duration=250.0,
            source="prod",
            event_name="answer",
            model="gpt-4o",
            provider="openai",
            messages=[{"role": "user", "content": "hi"}],
            response={"role": "assistant", "content": "hello"},
            usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
            cost=0.25,
            hyperparameters={"temperature": 0.2, "max_tokens": 64},
            tools=[{"type": "function", "function": {"name": "f"}}],
            tool_choice="auto",
            template_inputs={"name": "Ada"},
            config={"prompt_version": 3},
            inputs={"question": "hi"},
            metadata={"user": "u-1"},
            metrics={"ok": True},
        )
        body = json.loads(V1.encode(record, "model"))
        assert [] == spec_errors("POST", "/v1/events", body, V1_SPEC)
        assert "project" not in body
        assert "model" == body["event_type"]
        assert {
            "prompt_version": 3,
            "temperature": 0.2,
            "max_tokens": 64,
            "model": "gpt-4o",
            "provider": "openai",
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "auto",
        } == body["config"]
        assert {
            "question": "hi",
            "chat_history": [{"role": "user", "content": "hi"}],
            "template_inputs": {"name": "Ada"},
        } == body["inputs"]
        assert {"role": "assistant", "content": "hello"} == body["outputs"]
        assert {
            "user": "u-1",
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "total_tokens": 5,
            "cost": 0.25,
        } == body["metadata"]
        assert {"ok": True} == body["metrics"]
        kept = ("event_id", "session_id", "parent_id", "start_time", "end_time", "duration")
        legacy = json.loads(LEGACY.encode(record, "model"))
        assert {k: legacy[k] for k in kept} == {k: body[k] for k in kept}
        assert ("prod", "answer") == (body["source"], body["event_name"])

    def test_a_session_start_keeps_only_what_v1_sessions_take(self) -> None:
        record = SessionStart(
            project="p",
            event_id="00000000-0000-4000-8000-000000000002",
            session_id="00000000-0000-4000-8000-000000000002",
            session_name="chat",
            source="prod",
            inputs={"q": 1},
            metrics={"set": "by a processor"},
        )
        body = json.loads(V1.encode(record, "session"))
        assert [] == spec_errors("POST", "/v1/sessions", body, V1_SPEC)
        assert ("chat", record.session_id) == (body["session_name"], body["session_id"])
        assert {"metrics": {"set": "by a processor"}} == body["metadata"]
        assert not {"event_id", "event_type", "project"} & set(body)

    def test_an_update_names_its_event_in_the_path_not_the_body(self) -> None:
        target = "00000000-0000-4000-8000-00000000000a"
        record = EventUpdate(event_id=target, feedback={"rating": 1}, duration=5.0)
        item = V1.encode(record, "update")
        assert {"feedback": {"rating": 1}, "duration": 5.0} == json.loads(item)

    def test_a_legacy_item_adopted_by_v1_is_the_same_bytes_as_one_encoded_for_v1(self) -> None:
        with capture_events(project="p") as events:
            with hh.session(name="s"):
                with hh.event("tool", event_name="t", inputs={"q": 1}):
                    model_calls(1)
            hh.log_feedback(events[0].event_id, {"rating": 1})
        records = [*events.sessions, *events, *events.updates]
        assert ["session", "model", "event", "update", "update"] == [kind_of(r) for r in records]
        for record in records:
            kind = kind_of(record)
            legacy = _prepared(record, kind, LEGACY.encode(record, kind), "legacy")
            direct = V1.encode(record, kind)
            assert direct == V1.adopt(legacy).data, kind
            assert "v1" == V1.adopt(legacy).encoding
            assert legacy == LEGACY.adopt(legacy)


@pytest.mark.parametrize("version", VERSIONS)
class TestDeliveryMatrix:
    """Outage, 503/429 with Retry-After, partial 500, 413, 400, kill -9 and replay."""

    def test_every_kind_reaches_the_versions_routes_valid_and_in_order(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version)
        with hh.session(name="s") as s:
            with hh.event("chain", event_name="c") as chain:
                model_calls(2)
        hh.log_feedback(chain.event_id, {"rating": 1})
        assert hh.flush(timeout=10)
        check_bodies(recorder, version)
        kinds = [k for k, _ in recorder.items()]
        assert ["session", "model", "model", "event", "update", "update"] == kinds
        updates = [i for k, i in recorder.items() if k == "update"]
        assert {s.session_id, chain.event_id} == {u["event_id"] for u in updates}

    def test_an_outage_spools_and_the_replay_delivers_each_once(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version, retry_budget=0.2)
        recorder.down = True
        model_calls(5)
        assert hh.flush(timeout=10)
        assert 5 == hh.stats()["spooled"]
        assert {version} == {line.get("enc", "legacy") for line in spooled(spool_dir)}
        recorder.down = False
        assert hh.flush(timeout=20, include_spool=True)
        assert [f"m{i}" for i in range(5)] == names(recorder)
        assert [] == spooled(spool_dir)
        check_bodies(recorder, version)

    def test_503_then_429_with_retry_after_are_retried_and_honoured(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version)
        recorder.fail_next(2, 503)
        model_calls(3, "a")
        assert hh.flush(timeout=20)
        recorder.fail_next(1, 429, retry_after="1")
        started = time.monotonic()
        model_calls(3, "b")
        assert hh.flush(timeout=20)
        assert time.monotonic() - started >= 0.9  # waited as the server asked
        assert [*(f"a{i}" for i in range(3)), *(f"b{i}" for i in range(3))] == names(recorder)
        assert hh.stats()["retried"] >= 3
        check_bodies(recorder, version)

    def test_a_partial_500_retries_only_what_was_not_stored(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version, batch_size=50)
        recorder.partial_next = 1
        model_calls(4)
        assert hh.flush(timeout=20)
        assert [f"m{i}" for i in range(4)] == names(recorder)  # each once, in order
        assert 4 == hh.stats()["sent"]
        check_bodies(recorder, version)

    def test_413_splits_batches_and_truncates_an_event_too_large_alone(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version, batch_size=50)
        recorder.max_body = 20_000
        model_calls(6, size=3_000)  # about 3 KB each: a batch of 6 is refused
        model_calls(1, "big", size=100_000)
        assert hh.flush(timeout=20)
        assert [*(f"m{i}" for i in range(6)), "big0"] == names(recorder)
        [big] = [i for _, i in recorder.items() if i.get("event_name") == "big0"]
        content = big["outputs" if version == "v1" else "response"]["content"]
        assert content.endswith(TRUNCATION_MARKER)
        assert 1 == hh.stats()["truncated"]
        assert all(len(json.dumps(r.body)) <= 20_000 for r in recorder.accepted)
        check_bodies(recorder, version)

    def test_a_400_is_dead_lettered_with_its_version_not_retried(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        configure(recorder, spool_dir, version)
        recorder.fail_next(1, 400)
        [event_id] = model_calls(1)
        assert hh.flush(timeout=10)
        assert 1 == len(recorder.received)
        [letter] = [
            json.loads(line)
            for path in spool_dir.glob("*/dead-letter.jsonl")
            for line in path.read_text().splitlines()
        ]
        assert version == letter.get("enc", "legacy")
        item = letter["model_event" if version == "legacy" else "model"]
        assert event_id == item["event_id"]
        assert hh.stats()["rejected"] == 1

    @pytest.mark.timeout(90)
    def test_kill_9_then_replay_on_the_next_start(
        self, recorder: Recorder, spool_dir: Path, version: str
    ) -> None:
        env = {
            "HH_API_URL": recorder.url,
            "HH_API_KEY": API_KEY,
            "HH_SPOOL_DIR": str(spool_dir),
            "HH_API_VERSION": version,
        }
        recorder.down = True
        producer = run_script(
            """
            import time
            import honeyhive_trace as hh
            hh.configure(retry_budget=0.2)
            with hh.session(name="killed"):
                for i in range(10):
                    with hh.event("tool", event_name=f"k{i}"):
                        pass
            print("flushed", hh.flush(20), flush=True)
            time.sleep(600)
            """,
            env,
        )
        assert producer.stdout is not None
        assert "flushed True\n" == producer.stdout.readline()
        producer.kill()  # SIGKILL: no atexit, no cleanup
        producer.wait()
        assert 12 == len(spooled(spool_dir))  # start, 10 steps, the end
        recorder.down = False
        consumer = run_script(
            "import honeyhive_trace as hh; hh.configure(); print(hh.flush(20))", env
        )
        out, err = consumer.communicate(timeout=60)
        assert "True\n" == out, err
        assert [f"k{i}" for i in range(10)] == names(recorder)
        assert ["session", *["event"] * 10, "update"] == [k for k, _ in recorder.items()]
        assert [] == spooled(spool_dir)
        check_bodies(recorder, version)


class TestSwitchingVersions:
    @pytest.mark.parametrize(("before", "after"), [("legacy", "v1"), ("v1", "legacy")])
    def test_a_spool_written_in_one_version_replays_after_switching(
        self, recorder: Recorder, spool_dir: Path, before: str, after: str
    ) -> None:
        configure(recorder, spool_dir, before, retry_budget=0.2)
        recorder.down = True
        with hh.session(name="switch"):
            model_calls(2)
        assert hh.flush(timeout=10)
        assert 4 == len(spooled(spool_dir))
        hh.shutdown(timeout=5)

        recorder.down = False
        configure(recorder, spool_dir, after)
        model_calls(1, "live")
        assert hh.flush(timeout=20, include_spool=True)
        # Legacy items are re-shaped for v1; v1 items keep the v1 routes.
        replay_version = "v1"
        old = [r for r in recorder.accepted if "live0" not in json.dumps(r.body)]
        assert {replay_version} == {r.version for r in old}
        assert {"m0", "m1", "live0"} == set(names(recorder))
        live = [r for r in recorder.accepted if "live0" in json.dumps(r.body)]
        assert {after} == {r.version for r in live}
        for request in recorder.accepted:
            spec = V1_SPEC if request.version == "v1" else V0
            assert [] == spec_errors(request.method, request.route, request.body, spec)
        assert [] == spooled(spool_dir)


def test_the_recorders_v1_answers_keep_to_the_spec() -> None:
    """The oracle itself: what the recording server answers is what v1 answers."""
    session = Accepted("POST", "/v1/sessions", {"session_id": "s"})
    assert [] == spec_errors("POST", "/v1/sessions", _ack(session), V1_SPEC, "200")
    one = Accepted("POST", "/v1/events", {"event_id": "e", "event_type": "tool", "inputs": {}})
    assert [] == spec_errors("POST", "/v1/events", _ack(one), V1_SPEC, "200")
    batch = Accepted("POST", "/v1/events/batch", {"events": [one.body, one.body]})
    assert [] == spec_errors("POST", "/v1/events/batch", _ack(batch), V1_SPEC, "200")


def test_v1_items_are_spooled_where_an_older_release_does_not_read_them(
    recorder: Recorder, spool_dir: Path
) -> None:
    """Releases before v1 read every line of the destination's directory as legacy;
    a v1 line there would be posted to a legacy route and dead-lettered."""
    configure(recorder, spool_dir, "v1", retry_budget=0.2)
    recorder.down = True
    model_calls(3)
    assert hh.flush(timeout=10)
    files = sorted(spool_dir.glob("*/pending-*.jsonl"))
    assert files
    assert {"-v1"} == {path.parent.name[-3:] for path in files}
    legacy_dir = files[0].parent.with_name(files[0].parent.name[: -len("-v1")])
    assert not list(legacy_dir.glob("pending-*"))
