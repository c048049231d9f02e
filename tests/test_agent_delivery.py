"""Sessions, steps and updates on the wire: routes, schemas, and their order under failures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace._errors import Counters
from honeyhive_trace.collector import Collector
from honeyhive_trace.delivery import ledger as ledger_module
from honeyhive_trace.delivery.ledger import Ledger
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.delivery.spool import Spool
from tests._support.openapi import V0, V1, spec_errors
from tests._support.recorder import Recorder, _ack
from tests._support.wire import API_KEY


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


#: The routes of each API version, by kind of item.
ROUTES = {
    "legacy": {
        "session": ("POST", "/session/start"),
        "model": ("POST", "/events/model/batch"),
        "event": ("POST", "/events/batch"),
        "update": ("PUT", "/events"),
    },
    "v1": {
        "session": ("POST", "/v1/sessions"),
        "model": ("POST", "/v1/events/batch"),
        "event": ("POST", "/v1/events/batch"),
        "update": ("PUT", "/v1/events/{event_id}"),
    },
}


@pytest.fixture(params=["legacy", "v1"])
def api_version(request: pytest.FixtureRequest) -> str:
    """Each test that configures with ``against`` runs in both API versions."""
    version: str = request.param
    return version


@pytest.fixture
def against(recorder: Recorder, spool_dir: Path, api_version: str) -> Any:
    """Configure tracing against the recording server; returns a configure function."""

    def _configure(**overrides: Any) -> None:
        settings: dict[str, Any] = {
            "api_version": api_version,
            "server_url": recorder.url,
            "api_key": API_KEY,
            "project": "agents",
            "mode": "background",
            "strict": True,
            "spool_dir": spool_dir,
            "flush_interval": 0.05,
        }
        settings.update(overrides)
        hh.configure(**settings)

    return _configure


@hh.trace_tool
def retrieve(query: str) -> list[str]:
    return [f"doc about {query}"]


@hh.trace_model(model="gpt-4o", provider="openai")
def generate(messages: list[Any]) -> str:
    return "the answer"


@hh.trace_chain
def answer(question: str) -> str:
    retrieve(question)
    return generate([{"role": "user", "content": question}])


def run_agent(turns: int = 2) -> tuple[str, list[str]]:
    """A session of *turns* answers; returns its id and the chain events' ids."""
    chains: list[str] = []
    with hh.session(name="support", user_properties={"user_id": "u-1"}) as s:
        for n in range(turns):
            with hh.event("chain", event_name=f"turn-{n}") as turn:
                answer(f"question {n}")
            chains.append(turn.event_id)
        s.set_outputs({"turns": turns})
    return s.session_id, chains


def check_order(items: list[tuple[str, dict[str, Any]]]) -> None:
    """Each session starts before its events, each event is created before its updates."""
    seen: set[str] = set()
    for kind, item in items:
        if kind == "session":
            seen.add(item["session_id"])
        elif kind in ("model", "event"):
            assert item.get("session_id") is None or item["session_id"] in seen, item
            seen.add(item["event_id"])
        else:
            assert item["event_id"] in seen, f"update before its event: {item}"


def check_schemas(recorder: Recorder, version: str | None = None) -> None:
    """Every accepted request body is valid for its route in the published spec of
    its version (and every request used *version*, when given); so is every answer
    the recorder gave (the oracle is checked too)."""
    for request in recorder.accepted:
        spec = V1 if request.version == "v1" else V0
        errors = spec_errors(request.method, request.route, request.body, spec)
        assert [] == errors, request.path
        assert version in (None, request.version), request.path
        if spec == V1 and request.method == "POST":  # the spec has no body for PUT's 200
            answer = _ack(request)
            assert [] == spec_errors(request.method, request.route, answer, spec, "200")


def delivered(recorder: Recorder) -> list[tuple[str, dict[str, Any]]]:
    return list(recorder.items())


class TestOnTheWire:
    def test_each_kind_goes_to_its_route_in_order_and_keeps_to_the_spec(
        self, recorder: Recorder, against: Any, api_version: str
    ) -> None:
        against(batch_size=50)
        session_id, chains = run_agent()
        hh.log_feedback(chains[0], {"rating": 1, "comment": "great"})
        assert hh.flush(timeout=10)

        items = delivered(recorder)
        kinds = [k for k, _ in items]
        assert 1 == kinds.count("session")
        assert (2, 6, 2) == (kinds.count("model"), kinds.count("event"), kinds.count("update"))
        check_order(items)
        check_schemas(recorder, api_version)
        routes = {(r.method, r.route) for r in recorder.accepted}
        assert set(ROUTES[api_version].values()) == routes
        updates = [i for k, i in items if k == "update"]
        assert {session_id, chains[0]} == {u["event_id"] for u in updates}
        stats = hh.stats()
        assert (11, 11, 0) == (stats["enqueued"], stats["sent"], stats["dropped"])

    def test_inline_mode_sends_each_kind_in_order(self, recorder: Recorder, against: Any) -> None:
        against(mode="inline")
        _, chains = run_agent(turns=1)
        hh.update_event(chains[0], metrics={"score": 0.9})
        items = delivered(recorder)  # inline: all there before the calls returned
        assert ["session", "event", "model", "event", "event", "update", "update"] == [
            k for k, _ in items
        ]
        check_order(items)
        check_schemas(recorder)

    def test_the_tree_arrives_whole(self, recorder: Recorder, against: Any) -> None:
        against()
        session_id, _ = run_agent(turns=1)
        assert hh.flush(timeout=10)
        events = {i["event_id"]: i for k, i in delivered(recorder) if k in ("model", "event")}
        [turn] = [e for e in events.values() if e["event_name"] == "turn-0"]
        assert session_id == turn["parent_id"]
        [chain] = [events[c] for c in turn["children_ids"]]
        assert "answer" == chain["event_name"]
        names = [events[c]["event_name"] for c in chain["children_ids"]]
        assert ["retrieve", "generate"] == names
        assert {session_id} == {e["session_id"] for e in events.values()}


class TestOrderUnderFailures:
    def test_retries_keep_the_order(self, recorder: Recorder, against: Any) -> None:
        against(batch_size=3)
        recorder.fail_next(4)
        run_agent(turns=3)
        assert hh.flush(timeout=20)
        items = delivered(recorder)
        check_order(items)
        assert 3 * 4 + 2 == len(items)  # 3 turns of 4 events, the start, the end
        assert hh.stats()["retried"] >= 4

    def test_an_outage_then_replay_keeps_the_order(
        self, recorder: Recorder, against: Any, spool_dir: Path
    ) -> None:
        against(retry_budget=0.2)
        recorder.down = True
        _, chains = run_agent()
        assert hh.flush(timeout=10)
        assert hh.stats()["spooled"] == 1 + 8 + 1  # nothing got through
        # While the server is still down, feedback on an event that is in the spool.
        hh.log_feedback(chains[1], {"rating": 0})
        assert hh.flush(timeout=10)
        recorder.down = False
        assert hh.flush(timeout=20, include_spool=True)

        items = delivered(recorder)
        check_order(items)
        assert 11 == len(items)
        assert 11 == len({json.dumps(i, sort_keys=True) for _, i in items})  # each once
        assert [] == list(spool_dir.glob("*/pending-*"))
        check_schemas(recorder)

    def test_events_wait_behind_their_spooled_session_start_while_the_server_answers(
        self, recorder: Recorder, against: Any
    ) -> None:
        against(mode="inline", inline_retry_budget=0.05)
        recorder.down = True  # the session start, and its retries, are refused
        with hh.session(name="late-start"):
            recorder.down = False  # from here on the server answers
            with hh.event("tool", event_name="first") as first:
                pass
        # The start was spooled, and the event behind it, though the server answered
        # (a replay may already be sending them, in order).
        assert hh.stats()["spooled"] >= 2
        assert hh.flush(timeout=10, include_spool=True)
        items = delivered(recorder)
        check_order(items)
        assert ["session", "event", "update"] == [k for k, _ in items]
        assert first.event_id == items[1][1]["event_id"]

    def test_order_holds_when_another_process_replays_the_spool(
        self, recorder: Recorder, spool_dir: Path, tmp_path: Path
    ) -> None:
        script = tmp_path / "outage.py"
        script.write_text(
            textwrap.dedent(
                f"""
                import honeyhive_trace as hh
                hh.configure(server_url={recorder.url!r}, api_key={API_KEY!r},
                             spool_dir={str(spool_dir)!r}, retry_budget=0.1, exit_timeout=1)
                with hh.session(name="crashed") as s:
                    with hh.event("tool", event_name="step") as ev:
                        pass
                hh.flush(timeout=5)
                hh.log_feedback(ev.event_id, {{"rating": 1}})
                """
            )
        )
        recorder.down = True
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
        )
        assert 0 == result.returncode, result.stderr
        assert [] == recorder.accepted
        recorder.down = False
        hh.configure(server_url=recorder.url, api_key=API_KEY, spool_dir=spool_dir, strict=True)
        assert hh.flush(timeout=20, include_spool=True)
        items = delivered(recorder)
        assert ["session", "event", "update", "update"] == [k for k, _ in items]
        check_order(items)


class TestAgainstTheCollector:
    def test_the_collector_stores_the_session_its_tree_and_the_feedback(
        self, configure: Any, collector: Collector
    ) -> None:
        configure()
        session_id, chains = run_agent(turns=1)
        hh.log_feedback(chains[0], {"rating": 1})
        detail = collector.session(session_id)
        assert detail is not None
        assert "support" == detail["session"]["session_name"]
        assert 4 == len(detail["events"])
        [turn] = [e for e in detail["events"] if e["event_name"] == "turn-0"]
        assert {"rating": 1} == turn["feedback"]
        assert {"turns": 1} == detail["session"]["outputs"]

    def test_an_update_of_an_unknown_event_is_dead_lettered(
        self, configure: Any, collector: Collector, spool_dir: Path
    ) -> None:
        configure()
        hh.log_feedback("7f22137a-6911-4ed3-bc36-110f1dde6b66", {"rating": 1})
        assert 1 == hh.stats()["rejected"]
        [dead] = spool_dir.glob("*/dead-letter.jsonl")
        [line] = [json.loads(x) for x in dead.read_text().splitlines()]
        assert "update" == line["kind"]
        assert {"rating": 1} == line["update"]["feedback"]
        assert "404" in line["reason"]


def tool_steps(n: int) -> list[str]:
    ids = []
    for i in range(n):
        with hh.event("tool", event_name=f"step-{i}", inputs={"i": i}) as ev:
            ev.set_outputs({"text": "x" * 100})
        ids.append(ev.event_id)
    return ids


def step_batches(collector: Collector) -> list[int]:
    return [
        len(json.loads(r.body)["events"]) for r in collector.requests if r.path == "/events/batch"
    ]


class TestStepBatchesUnderFaults:
    """The same guarantees as model events: 413 split, partial 500, dead letters."""

    def test_413_splits_a_batch_of_steps(
        self, configure: Any, collector: Collector, faults: Any
    ) -> None:
        faults.respond(413, times=1, path="/events/batch")
        configure(mode="background", batch_size=8, flush_interval=60)
        ids = tool_steps(8)
        assert hh.flush(20)
        assert [8, 4, 4] == step_batches(collector)
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events(event_type="tool"))

    def test_a_partial_500_retries_only_the_unacknowledged_steps(
        self, configure: Any, collector: Collector, faults: Any
    ) -> None:
        faults.partial(reject=2, path="/events/batch")
        configure(mode="background", batch_size=5, flush_interval=60)
        ids = tool_steps(5)
        assert hh.flush(20)
        assert [5, 2] == step_batches(collector)
        assert sorted(ids) == sorted(e["event_id"] for e in collector.events(event_type="tool"))
        assert 5 == hh.stats()["sent"]

    def test_a_refused_step_is_dead_lettered_with_its_kind(
        self, configure: Any, collector: Collector, faults: Any, spool_dir: Path
    ) -> None:
        faults.respond(400, body={"message": "bad event"}, times=1, path="/events")
        configure()
        [event_id] = tool_steps(1)
        assert 1 == hh.stats()["rejected"]
        [dead] = spool_dir.glob("*/dead-letter.jsonl")
        [line] = [json.loads(x) for x in dead.read_text().splitlines()]
        assert ("event", event_id) == (line["kind"], line["event"]["event_id"])
        assert [] == spec_errors("POST", "/events", {"event": line["event"]})


class TestHeldIds:
    """The ledger's memory of spooled ids is bounded, and ordering still holds past it."""

    def make_ledger(self, tmp_path: Path) -> Ledger:
        return Ledger(Counters(), Spool(tmp_path, "dest", 10**8))

    def item(self, key: str, after: str | None = None) -> Prepared:
        return Prepared(key, json.dumps({"event_id": key}).encode(), "event", after)

    def test_items_wait_behind_what_they_need_and_are_released_by_a_replay(
        self, tmp_path: Path
    ) -> None:
        ledger = self.make_ledger(tmp_path)
        ledger.spool_events([self.item("s1")], "test")
        e1, e2, free = self.item("e1", "s1"), self.item("e2", "e1"), self.item("e3", "s9")
        sendable, waiting = ledger.hold_back([e1, e2, free])
        assert ([free], [e1, e2]) == (sendable, waiting)  # e2 needs e1, which now waits
        ledger.release(["s1", "e1", "e2"])
        assert ([e1, e2], []) == ledger.hold_back([e1, e2])

    def test_past_the_bound_everything_that_needs_something_waits(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(ledger_module, "HELD_MAX", 2)
        ledger = self.make_ledger(tmp_path)
        ledger.spool_events([self.item(f"s{n}") for n in range(3)], "test")
        needs, alone = self.item("e1", "unrelated"), self.item("e2")
        assert ([alone], [needs]) == ledger.hold_back([needs, alone])
        assert ledger._held == set()  # no ids kept past the bound
        ledger.release(["s0"])  # one id released: still holding everything
        assert ([alone], [needs]) == ledger.hold_back([needs, alone])
        ledger.release([], everything=True)  # the spool is empty
        assert ([needs, alone], []) == ledger.hold_back([needs, alone])
