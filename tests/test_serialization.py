"""The wire format and to_jsonable (tests for _serialization.py and records.py)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from collections import deque
from pathlib import PurePosixPath
from typing import Any
from unittest import mock

import attrs
import pytest

from honeyhive_trace._json import encode
from honeyhive_trace._wire import MAX_REPR, to_jsonable, unstructure_event
from honeyhive_trace.records import ModelEvent, Usage

EVENT_ID = "7f22137a-6911-4ed3-bc36-110f1dde6b66"


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: tuple[int, int]


@attrs.define
class Box:
    items: set[int]


class TestToJsonable:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ((1, (2, 3)), [1, [2, 3]]),
            ({3, 1, 2}, [1, 2, 3]),
            (frozenset({"b", "a"}), ["a", "b"]),
            (deque([1]), [1]),
            (b"text", "text"),
            (b"\xff\x00", "base64:/wA="),
            (bytearray(b"x"), "x"),
            (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
            (datetime.date(2024, 1, 2), "2024-01-02"),
            (datetime.timedelta(seconds=1.5), 1.5),
            (decimal.Decimal("0.00008"), 0.00008),
            (decimal.Decimal("NaN"), "NaN"),
            (float("nan"), "NaN"),
            (float("inf"), "Infinity"),
            (float("-inf"), "-Infinity"),
            (uuid.UUID(EVENT_ID), EVENT_ID),
            (PurePosixPath("/tmp/x"), "/tmp/x"),
            (Colour.RED, "red"),
            (Point(1, (2, 3)), {"x": 1, "y": [2, 3]}),
            (Box({2, 1}), {"items": [1, 2]}),
            ({1: "a", None: "b", (1, 2): "c"}, {"1": "a", "null": "b", "(1, 2)": "c"}),
            (True, True),
            (None, None),
        ],
    )
    def test_faithful_forms(self, value: Any, expected: Any) -> None:
        assert expected == to_jsonable(value)
        json.dumps(to_jsonable(value), allow_nan=False)

    def test_cycles_become_a_marker(self) -> None:
        looped: dict[str, Any] = {"name": "a"}
        looped["self"] = looped
        items: list[Any] = [1]
        items.append(items)
        assert {"name": "a", "self": "<cycle>"} == to_jsonable(looped)
        assert [1, "<cycle>"] == to_jsonable(items)

    def test_shared_but_acyclic_objects_are_repeated(self) -> None:
        shared = [1]
        assert [[1], [1]] == to_jsonable([shared, shared])

    def test_unknown_objects_become_a_bounded_repr(self) -> None:
        class Big:
            def __repr__(self) -> str:
                return "x" * (MAX_REPR * 3)

        text = to_jsonable(Big())
        assert text.startswith("x" * MAX_REPR)
        assert text.endswith(f"<{MAX_REPR * 2} more chars>")

    def test_broken_repr_and_mocks_never_raise(self) -> None:
        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError

        assert "<unrepresentable Broken>" == to_jsonable(Broken())
        assert to_jsonable(mock.Mock()).startswith("<Mock id=")
        assert to_jsonable(mock.MagicMock()).startswith("<MagicMock id=")

    def test_pydantic_models_become_objects(self) -> None:
        pydantic = pytest.importorskip("pydantic")

        class Message(pydantic.BaseModel):  # type: ignore[misc]
            role: str
            content: str

        assert {"role": "user", "content": "hi"} == to_jsonable(Message(role="user", content="hi"))

    def test_very_deep_nesting_is_cut_not_crashed(self) -> None:
        deep: dict[str, Any] = {}
        for _ in range(5000):
            deep = {"x": deep}
        json.dumps(to_jsonable(deep))

    def test_str_and_int_subclasses_become_plain(self) -> None:
        class Name(str):
            pass

        class Count(int):
            pass

        assert ("n", 3) == (to_jsonable(Name("n")), to_jsonable(Count(3)))
        assert str is type(to_jsonable(Name("n")))


class TestWireFormat:
    def test_full_record_matches_the_contract_exactly(self) -> None:
        event = ModelEvent(
            project="New Project",
            model="gpt-4o",
            provider="openai",
            messages=[{"role": "system", "content": "Hello, world!"}],
            response={"role": "assistant", "content": "Hello, world!"},
            duration=42,
            usage=Usage(10, 10, 20),
            event_id=EVENT_ID,
            session_id="s",
            parent_id="p",
            start_time=1,
            end_time=43,
            cost=0.00008,
            error=None,
            source="playground",
            event_name="Model Completion",
            hyperparameters={"temperature": 0, "stop": []},
            template=[{"role": "system", "content": "Hello, {{ name }}!"}],
            template_inputs={"name": "world"},
            tools=[{"type": "function"}],
            tool_choice="none",
            response_format={"type": "text"},
            inputs={"a": (1,)},
            metadata={"k": b"v"},
        )
        assert {
            "project": "New Project",
            "model": "gpt-4o",
            "provider": "openai",
            "messages": [{"role": "system", "content": "Hello, world!"}],
            "response": {"role": "assistant", "content": "Hello, world!"},
            "duration": 42,
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            "event_id": EVENT_ID,
            "session_id": "s",
            "parent_id": "p",
            "start_time": 1,
            "end_time": 43,
            "cost": 0.00008,
            "source": "playground",
            "event_name": "Model Completion",
            "hyperparameters": {"temperature": 0, "stop": []},
            "template": [{"role": "system", "content": "Hello, {{ name }}!"}],
            "template_inputs": {"name": "world"},
            "tools": [{"type": "function"}],
            "tool_choice": "none",
            "response_format": {"type": "text"},
            "inputs": {"a": [1]},
            "metadata": {"k": "v"},
        } == unstructure_event(event)

    def test_unset_optional_fields_are_omitted_required_ones_kept(self) -> None:
        event = ModelEvent(project="p", model="m", provider="x", event_id=EVENT_ID)
        assert {
            "project": "p",
            "model": "m",
            "provider": "x",
            "messages": [],
            "response": {},
            "duration": 0.0,
            "usage": {},
            "event_id": EVENT_ID,
            "start_time": 0,
            "end_time": 0,
        } == unstructure_event(event)

    def test_records_are_frozen_and_slotted(self) -> None:
        event = ModelEvent(project="p", model="m", provider="x", event_id=EVENT_ID)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            event.model = "other"  # type: ignore[misc]
        assert not hasattr(event, "__dict__")
        assert not hasattr(Usage(), "__dict__")

    def test_encode_is_compact_utf8_and_survives_lone_surrogates(self) -> None:
        assert b'{"a":"\xc3\xa9"}' == encode({"a": "é"})
        assert b'{"a":"?"}' == encode({"a": "\ud800"})
        with pytest.raises(ValueError):
            encode({"a": float("nan")})  # to_jsonable must run first; encode is strict


class TestEventIds:
    def test_fast_uuid4_formatting_matches_the_uuid_module(self) -> None:
        import random

        from honeyhive_trace.capture import uuid4_text as _uuid4_text

        rng = random.Random(1234)
        for bits in [0, 2**128 - 1, *(rng.getrandbits(128) for _ in range(2000))]:
            assert str(uuid.UUID(int=bits, version=4)) == _uuid4_text(bits)


class TestUnsafeIntegers:
    """Integers a JavaScript number cannot hold exactly (beyond 2**53 - 1) go out as strings."""

    def body(self, **fields: Any) -> dict[str, Any]:
        from honeyhive_trace._wire import encode_event

        event = ModelEvent(project="p", model="m", provider="x", event_id="e", **fields)
        decoded: dict[str, Any] = json.loads(encode_event(event))
        return decoded

    def test_beyond_2_53_in_every_free_form_field(self) -> None:
        big, safe = 2**53, 2**53 - 1
        free = {"a": big, "b": safe, "c": -big, "d": [big, {"e": 10**30}], "f": (big,)}
        expected = {
            "a": "9007199254740992",
            "b": safe,
            "c": "-9007199254740992",
            "d": ["9007199254740992", {"e": "1" + "0" * 30}],
            "f": ["9007199254740992"],
        }
        names = ["metadata", "metrics", "feedback", "config", "inputs", "outputs"]
        names += ["hyperparameters", "user_properties", "template_inputs", "response"]
        body = self.body(**dict.fromkeys(names, free), messages=[{"role": "user", "n": big}])
        assert dict.fromkeys(names, expected) == {name: body[name] for name in names}
        assert [{"role": "user", "n": "9007199254740992"}] == body["messages"]
        assert list(free) == list(body["metadata"])  # the order of keys is kept

    def test_token_counts_floats_and_digits_in_strings_are_left_alone(self) -> None:
        body = self.body(
            usage=Usage(2**60, 1, 2**60 + 1),
            cost=1.2345678901234567e-05,
            metadata={"f": 0.30000000000000004, "s": "12345678901234567", "ms": 1764000000000},
        )
        assert {"prompt_tokens": 2**60, "completion_tokens": 1, "total_tokens": 2**60 + 1} == (
            body["usage"]
        )
        assert {"f": 0.30000000000000004, "s": "12345678901234567", "ms": 1764000000000} == (
            body["metadata"]
        )
        assert 1.2345678901234567e-05 == body["cost"]

    def test_also_through_the_careful_path(self) -> None:
        body = self.body(metadata={"big": 2**64, "odd": object(), "nan": float("nan")})
        assert "18446744073709551616" == body["metadata"]["big"]
        assert "NaN" == body["metadata"]["nan"]
