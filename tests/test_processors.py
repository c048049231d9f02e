"""Processors: redact, truncate, sample, hide_inputs/outputs, and the failure rules."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import attrs
import pytest

import honeyhive_trace as hh
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.processors import (
    SECRET_KEYS,
    fail_closed,
    hide_inputs,
    hide_outputs,
    redact,
    sample,
    truncate,
)
from honeyhive_trace.records import ModelEvent, Usage
from honeyhive_trace.testing import capture_events
from tests._support.contract import check_model_event
from tests._support.wire import sent_bodies

MARK = "[REDACTED]"

#: (name, secret, text around it): each secret must vanish, the text around it stay.
SECRETS = [
    ("openai", "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD", "key {} here"),
    ("openai-project", "sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9w", "key={}"),
    ("anthropic", "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-abcdEFGH", "'{}'"),
    ("aws-access-key", "AKIAIOSFODNN7EXAMPLE", "id {}."),
    ("github-classic", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "token: {}"),
    ("github-fine", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "{}"),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "cookie {} end",
    ),
    ("email", "jane.doe+llm@mail.example.co.uk", "write to {}, thanks"),
]


def make_event(**fields: Any) -> ModelEvent:
    """A finished event with the required fields filled in."""
    values: dict[str, Any] = {
        "project": "p",
        "model": "gpt-4o",
        "provider": "openai",
        "event_id": str(uuid.uuid4()),
    }
    values.update(fields)
    return ModelEvent(**values)


def strings(value: Any) -> list[str]:
    """Every string in a nested value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return []


class TestRedact:
    @pytest.mark.parametrize(("name", "secret", "template"), SECRETS, ids=[s[0] for s in SECRETS])
    def test_each_known_secret_is_replaced_and_the_text_around_kept(
        self, name: str, secret: str, template: str
    ) -> None:
        event = make_event(messages=[{"role": "user", "content": template.format(secret)}])
        out = redact()(event)
        assert out is not None
        assert [{"role": "user", "content": template.format(MARK)}] == out.messages

    def test_bearer_and_basic_credentials_keep_their_scheme(self) -> None:
        event = make_event(
            metadata={"h": "Authorization: Bearer abc.DEF-123_456~xyz", "b": "Basic dXNlcjpwYXNz"}
        )
        out = redact()(event)
        assert out is not None
        assert {"h": "Authorization: Bearer [REDACTED]", "b": "Basic [REDACTED]"} == out.metadata

    def test_aws_secret_key_and_password_assignments(self) -> None:
        text = (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
            'config: {"password": "hunter2!", "api_key": "abcd1234"}'
        )
        out = redact()(make_event(error=text))
        assert out is not None
        assert (
            "aws_secret_access_key = [REDACTED]\n"
            'config: {"password": "[REDACTED]", "api_key": "[REDACTED]"}'
        ) == out.error

    def test_pem_private_key_block(self) -> None:
        pem = (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"
        )
        out = redact()(make_event(inputs={"pem": f"key:\n{pem}\ndone"}))
        assert out is not None
        assert {"pem": "key:\n[REDACTED]\ndone"} == out.inputs

    @pytest.mark.parametrize(
        "text",
        [
            "max_tokens: 100, temperature=0.2",
            "a skeleton task-force asked",
            "sk-short",
            "see docs at https://example.com/path?x=1",
            "the token budget is 4096",
            "user@localhost",
        ],
    )
    def test_ordinary_text_is_left_alone(self, text: str) -> None:
        out = redact()(make_event(messages=[{"role": "user", "content": text}]))
        assert out is not None
        assert text == out.messages[0]["content"]

    def test_logprob_token_keys_are_not_secrets(self) -> None:
        response = {"logprobs": [{"token": "Hello", "logprob": -0.1}]}
        out = redact()(make_event(response=response))
        assert out is not None
        assert response == out.response

    @pytest.mark.parametrize(
        "field",
        [
            "messages",
            "response",
            "inputs",
            "metadata",
            "hyperparameters",
            "template",
            "template_inputs",
            "tools",
            "response_format",
        ],
    )
    def test_every_free_form_field_is_walked_at_any_depth(self, field: str) -> None:
        secret = SECRETS[0][1]
        nested = {"a": [{"b": ({"c": f"x {secret} y"},)}], f"k-{secret}": 1}
        value: Any = [nested] if field in ("messages", "template", "tools") else nested
        out = redact()(make_event(**{field: value}))
        assert out is not None
        found = strings(getattr(out, field))
        assert not any(secret in s for s in found)
        assert "x [REDACTED] y" in found
        assert "k-[REDACTED]" in found

    def test_error_text_is_scrubbed(self) -> None:
        out = redact()(make_event(error="AuthenticationError: Incorrect API key sk-" + "a" * 40))
        assert out is not None
        assert "AuthenticationError: Incorrect API key [REDACTED]" == out.error

    def test_secret_inside_an_object_is_found_in_its_json_form(self) -> None:
        class Client:
            def __repr__(self) -> str:
                return "Client(api_key='sk-" + "b" * 40 + "')"

        out = redact()(make_event(inputs={"client": Client(), "blob": b"ghp_" + b"c" * 36}))
        assert out is not None
        assert {"client": "Client(api_key='[REDACTED]')", "blob": "[REDACTED]"} == out.inputs

    def test_named_fields_are_replaced_whole_case_and_dash_insensitive(self) -> None:
        event = make_event(
            inputs={"User-Email": {"any": ["thing"]}, "ssn": 123, "keep": "ok"},
            metadata={"deep": [{"SSN": "078-05-1120"}]},
        )
        out = redact(fields=["user_email", "ssn"], emails=False, secrets=False)(event)
        assert out is not None
        assert {"User-Email": MARK, "ssn": MARK, "keep": "ok"} == out.inputs
        assert {"deep": [{"SSN": MARK}]} == out.metadata

    def test_secret_key_names_are_replaced_whole_by_default(self) -> None:
        event = make_event(inputs={"api_key": "plain", "Authorization": {"x": 1}, "n": 2})
        out = redact()(event)
        assert out is not None
        assert {"api_key": MARK, "Authorization": MARK, "n": 2} == out.inputs
        assert {"api_key", "authorization", "password"} <= SECRET_KEYS

    def test_user_patterns_strings_and_compiled(self) -> None:
        event = make_event(messages=[{"role": "user", "content": "order A-1234 for CUST9"}])
        out = redact(patterns=[r"A-\d{4}", re.compile(r"CUST\d")], marker="<x>")(event)
        assert out is not None
        assert "order <x> for <x>" == out.messages[0]["content"]

    def test_switching_off_emails_and_secrets(self) -> None:
        text = f"mail a@b.org key {SECRETS[0][1]}"
        out = redact(emails=False, secrets=False)(make_event(error=text))
        assert out is not None
        assert text == out.error
        out = redact(emails=False)(make_event(error=text))
        assert out is not None
        assert "mail a@b.org key [REDACTED]" == out.error

    def test_required_fields_keep_their_types_and_the_body_stays_valid(self) -> None:
        from honeyhive_trace._wire import unstructure_event

        event = make_event(
            messages=[{"role": "user", "content": SECRETS[0][1]}],
            response={"content": SECRETS[7][1]},
            usage=Usage(1, 2, 3),
        )
        out = redact()(event)
        assert out is not None
        assert [] == check_model_event(unstructure_event(out))
        assert (event.usage, event.event_id, event.model) == (out.usage, out.event_id, out.model)

    def test_is_marked_fail_closed(self) -> None:
        assert redact().fail_closed is True  # type: ignore[attr-defined]
        assert "redact(" in repr(redact(fields=["ssn"]))

    @pytest.mark.parametrize(
        ("kwargs", "argument"),
        [
            ({"patterns": ["("]}, "patterns"),
            ({"patterns": "sk-.*"}, "patterns"),
            ({"patterns": [r"x*"]}, "patterns"),
            ({"patterns": [42]}, "patterns"),
            ({"patterns": [re.compile(rb"x")]}, "patterns"),
            ({"patterns": None}, "patterns"),
            ({"fields": "ssn"}, "fields"),
            ({"fields": ["ok", ""]}, "fields"),
            ({"fields": [1]}, "fields"),
            ({"emails": "yes"}, "emails"),
            ({"secrets": 1}, "secrets"),
            ({"marker": None}, "marker"),
        ],
    )
    def test_bad_arguments_fail_at_creation_naming_the_argument(
        self, kwargs: dict[str, Any], argument: str
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            redact(**kwargs)
        assert argument == caught.value.setting


class TestTruncate:
    def test_long_strings_are_cut_with_a_marker_and_lengths_recorded(self) -> None:
        event = make_event(
            messages=[{"role": "user", "content": "x" * 50}],
            response={"content": "short", "parts": ["y" * 20]},
            metadata={"user": "u-1"},
            error="e" * 30,
        )
        out = truncate(10, marker="…")(event)
        assert out is not None
        assert [{"role": "user", "content": "x" * 10 + "…"}] == out.messages
        assert {"content": "short", "parts": ["y" * 10 + "…"]} == out.response
        assert "e" * 10 + "…" == out.error
        assert {
            "user": "u-1",
            "original_lengths": {"messages[0].content": 50, "response.parts[0]": 20, "error": 30},
            "truncated_to_chars": 10,
        } == out.metadata

    def test_nothing_long_returns_the_same_event(self) -> None:
        event = make_event(messages=[{"role": "user", "content": "hi"}])
        assert event is truncate(10)(event)

    def test_model_project_and_provider_are_never_cut(self) -> None:
        event = make_event(model="m" * 50, project="p" * 50, provider="v" * 50)
        out = truncate(5)(event)
        assert out is not None
        assert ("m" * 50, "p" * 50, "v" * 50) == (out.model, out.project, out.provider)

    def test_recorded_lengths_are_bounded(self) -> None:
        event = make_event(inputs={f"k{i}": "z" * 20 for i in range(500)})
        out = truncate(5)(event)
        assert out is not None
        assert out.metadata is not None
        assert 100 == len(out.metadata["original_lengths"])
        assert all(v == "z" * 5 + "...[truncated]" for v in (out.inputs or {}).values())

    @pytest.mark.parametrize("value", [0, -1, 1.5, True, "100", None])
    def test_bad_max_chars_fails_at_creation(self, value: Any) -> None:
        with pytest.raises(ConfigurationError) as caught:
            truncate(value)
        assert "max_chars" == caught.value.setting

    def test_bad_marker_fails_at_creation(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            truncate(5, marker=b"x")  # type: ignore[arg-type]
        assert "marker" == caught.value.setting


class TestSample:
    def test_rate_zero_drops_and_rate_one_keeps(self) -> None:
        event = make_event()
        assert sample(0)(event) is None
        assert sample(1)(event) is event

    def test_a_session_is_kept_or_dropped_whole(self) -> None:
        keep = sample(0.5)
        for n in range(50):
            session_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"session-{n}"))
            fates = {keep(make_event(session_id=session_id)) is None for _ in range(20)}
            assert 1 == len(fates)

    def test_the_kept_share_is_close_to_the_rate_and_nested_across_rates(self) -> None:
        events = [
            make_event(event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, str(n)))) for n in range(4000)
        ]
        kept_30 = {e.event_id for e in events if sample(0.3)(e) is not None}
        kept_60 = {e.event_id for e in events if sample(0.6)(e) is not None}
        assert 0.27 < len(kept_30) / len(events) < 0.33
        assert 0.57 < len(kept_60) / len(events) < 0.63
        assert kept_30 <= kept_60

    def test_outside_a_session_a_trace_is_kept_or_dropped_whole(self) -> None:
        @hh.trace_tool
        def look_up(n: int) -> int:
            return n

        @hh.trace_model(model="gpt-4o")
        def ask(n: int) -> str:
            return str(look_up(n))

        @hh.trace_chain
        def agent(n: int) -> str:
            return ask(n) + ask(n + 1)

        with capture_events(processors=[sample(0.5)]) as events:
            for n in range(100):
                agent(n)
            kept = {e.event_id: e for e in events}
        assert 0 == len(kept) % 5  # whole traces of 5 events: agent, 2 asks, 2 look-ups
        assert 100 < len(kept) < 400  # about half of the 100 traces
        orphans = [e for e in kept.values() if e.parent_id is not None and e.parent_id not in kept]
        assert [] == orphans
        roots = [e for e in kept.values() if e.parent_id is None]
        assert {e.event_id for e in roots} == {e.trace_id for e in kept.values()}

    def test_same_decision_in_every_process(self) -> None:
        # The decision is a fixed hash of the id (not Python's per-process salted
        # hash()): this session's share is 0.6435..., on every machine and run.
        event = make_event(session_id="00000000-0000-4000-8000-000000000000")
        assert sample(0.643)(event) is None
        assert sample(0.644)(event) is event

    @pytest.mark.parametrize("rate", [-0.1, 1.01, float("nan"), True, "0.5", None])
    def test_bad_rate_fails_at_creation(self, rate: Any) -> None:
        with pytest.raises(ConfigurationError) as caught:
            sample(rate)
        assert "rate" == caught.value.setting


class TestHide:
    def test_hide_inputs_blanks_inputs_and_keeps_the_rest(self) -> None:
        event = make_event(
            messages=[{"role": "user", "content": "secret question"}],
            inputs={"customer": "acme"},
            template=[{"role": "system", "content": "Hi {{name}}"}],
            template_inputs={"name": "Jane"},
            tools=[{"type": "function"}],
            response={"content": "answer"},
            hyperparameters={"temperature": 0},
            metadata={"user_id": "u-1"},
            usage=Usage(1, 2, 3),
        )
        out = hide_inputs(event)
        assert ([], {}, [], {}, []) == (
            out.messages,
            out.inputs,
            out.template,
            out.template_inputs,
            out.tools,
        )
        assert (
            attrs.evolve(event, messages=[], inputs={}, template=[], template_inputs={}, tools=[])
            == out
        )

    def test_hide_inputs_leaves_unset_optional_fields_unset(self) -> None:
        from honeyhive_trace._wire import unstructure_event

        body = unstructure_event(hide_inputs(make_event(messages=[{"content": "q"}])))
        assert [] == body["messages"]
        assert not {"inputs", "template", "template_inputs", "tools"} & body.keys()
        assert [] == check_model_event(body)

    def test_hide_outputs_blanks_the_response_only(self) -> None:
        event = make_event(response={"content": "answer"}, messages=[{"content": "q"}], error="e")
        out = hide_outputs(event)
        assert attrs.evolve(event, response={}) == out

    def test_both_are_marked_fail_closed(self) -> None:
        assert hide_inputs.fail_closed is True  # type: ignore[attr-defined]
        assert hide_outputs.fail_closed is True  # type: ignore[attr-defined]


class TestFailClosedMark:
    def test_marks_a_function_in_place(self) -> None:
        def mine(event: ModelEvent) -> ModelEvent:
            return event

        assert mine is fail_closed(mine)
        assert mine.fail_closed is True  # type: ignore[attr-defined]

    def test_rejects_what_cannot_be_marked(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            fail_closed(42)  # type: ignore[type-var]
        assert "processor" == caught.value.setting
        with pytest.raises(ConfigurationError, match="wrap it in a def"):
            fail_closed("text".upper)


class TestPipeline:
    """Processors configured on a client, against the real collector."""

    def test_redact_runs_before_anything_is_sent(self, configure: Any, collector: Any) -> None:
        configure(processors=[redact()])
        secret = SECRETS[1][1]

        @hh.trace_model(model="gpt-4o")
        def ask(messages: list[dict[str, str]], api_key: str) -> str:
            return f"echo {messages[0]['content']}"

        ask([{"role": "user", "content": f"my key is {secret}"}], api_key="plain-value")
        [body] = sent_bodies(collector)
        assert secret not in str(body)
        assert "plain-value" not in str(body)
        assert [{"role": "user", "content": "my key is [REDACTED]"}] == body["messages"]
        assert {"role": "assistant", "content": "echo my key is [REDACTED]"} == body["response"]
        assert {"api_key": MARK} == body["inputs"]
        assert [body] == collector.events()

    def test_processors_run_in_order_on_the_worker_thread(
        self, configure: Any, collector: Any
    ) -> None:
        seen: list[tuple[str, int]] = []

        def first(event: ModelEvent) -> ModelEvent:
            seen.append(("first", threading.get_ident()))
            return attrs.evolve(event, metadata={**(event.metadata or {}), "order": ["first"]})

        def second(event: ModelEvent) -> ModelEvent:
            seen.append(("second", threading.get_ident()))
            order = [*(event.metadata or {})["order"], "second"]
            return attrs.evolve(event, metadata={"order": order})

        configure(mode="background", processors=[first, second])
        with hh.model_event(model="m"):
            pass
        assert hh.flush(10)
        assert ["first", "second"] == [name for name, _ in seen]
        assert threading.get_ident() not in {ident for _, ident in seen}
        [body] = sent_bodies(collector)
        assert {"order": ["first", "second"]} == body["metadata"]

    def test_a_failing_processor_is_logged_counted_and_skipped(
        self, configure: Any, collector: Any, log_text: Any
    ) -> None:
        def tag(event: ModelEvent) -> ModelEvent:
            return attrs.evolve(event, metadata={"tag": 1})

        def broken(event: ModelEvent) -> ModelEvent:
            raise RuntimeError("processor bug")

        configure(processors=[tag, broken])
        with hh.model_event(model="m"):
            pass
        [body] = sent_bodies(collector)
        assert {"tag": 1} == body["metadata"]
        stats = hh.stats()
        assert (1, 1, 0) == (stats["processor_errors"], stats["sent"], stats["dropped"])
        assert "processor 'broken' failed; event kept as it was" in log_text()
        assert "processor bug" in log_text()

    def test_a_processor_returning_a_non_event_counts_as_failing(
        self, configure: Any, collector: Any
    ) -> None:
        configure(processors=[lambda event: {"not": "an event"}])
        with hh.model_event(model="m"):
            pass
        [body] = sent_bodies(collector)
        assert "m" == body["model"]
        assert 1 == hh.stats()["processor_errors"]

    def test_a_failing_fail_closed_processor_drops_the_event(
        self, configure: Any, collector: Any, log_text: Any
    ) -> None:
        calls: list[str] = []

        @fail_closed
        def scrub(event: ModelEvent) -> ModelEvent:
            raise ValueError("cannot scrub")

        def after(event: ModelEvent) -> ModelEvent:
            calls.append("after")
            return event

        configure(processors=[scrub, after])
        with hh.model_event(model="m", messages="private"):
            pass
        assert [] == sent_bodies(collector)
        assert [] == calls
        stats = hh.stats()
        assert (1, 1, 1, 0) == (
            stats["processor_errors"],
            stats["dropped_processor_error"],
            stats["enqueued"],
            stats["sent"],
        )
        assert "event dropped (fail_closed)" in log_text()

    def test_a_processor_failure_never_reaches_the_caller_even_in_strict_mode(
        self, configure: Any
    ) -> None:
        configure(strict=True, processors=[fail_closed(lambda e: 1 / 0)])

        @hh.trace_model
        def call() -> str:
            return "ok"

        assert "ok" == call()
        assert 1 == hh.stats()["dropped_processor_error"]

    def test_dropping_is_counted_as_a_processor_drop(self, configure: Any, collector: Any) -> None:
        configure(processors=[sample(0)])
        for _ in range(3):
            with hh.model_event(model="m"):
                pass
        assert [] == collector.requests
        stats = hh.stats()
        assert (3, 3) == (stats["dropped_by_processor"], stats["enqueued"])

    def test_sampling_keeps_whole_sessions_end_to_end(
        self, configure: Any, collector: Any
    ) -> None:
        configure(processors=[sample(0.5)])
        for n in range(20):
            with hh.session(name=f"s{n}"):
                for _ in range(3):
                    with hh.model_event(model="m"):
                        pass
        by_session: dict[str, int] = {}
        for body in sent_bodies(collector):
            by_session[body["session_id"]] = by_session.get(body["session_id"], 0) + 1
        assert set(by_session.values()) <= {3}
        assert 0 < len(by_session) < 20
        # A kept session's start went out, a dropped one's did not.
        started = {s["session_id"] for s in collector.sessions() if s["started"]}
        assert set(by_session) == started
        stats = hh.stats()
        # 20 sessions of 3 events, a start and an end (an update) each.
        assert (
            100
            == stats["sent"]
            + stats["dropped_by_processor"]
            + stats["dropped_update_of_dropped_event"]
        )
        assert stats["dropped_update_of_dropped_event"] == 20 - len(by_session)

    def test_hide_inputs_and_outputs_send_valid_bodies(
        self, configure: Any, collector: Any
    ) -> None:
        configure(processors=[hide_inputs, hide_outputs])

        @hh.trace_model(model="gpt-4o", provider="openai")
        def ask(messages: Any, tools: Any, user: str, temperature: float = 0.1) -> str:
            return "the answer"

        ask("question", tools=[{"type": "function"}], user="jane")
        [body] = sent_bodies(collector)
        assert ([], {}, [], {}) == (
            body["messages"],
            body["inputs"],
            body["tools"],
            body["response"],
        )
        assert {"temperature": 0.1} == body["hyperparameters"]
        assert [] == check_model_event(body)
        assert 1 == collector.count()
