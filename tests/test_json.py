"""The two JSON paths: orjson (the ``[fast]`` extra) and the stdlib write the same values.

The suite runs with orjson installed, so every other test exercises the fast
path; these check that the stdlib path (what a plain install runs) sends the
same JSON for any value, and what the fast path leaves to it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from honeyhive_trace import _json
from honeyhive_trace._json import encode, fast_dumps, use_fast
from honeyhive_trace._wire import encode_event
from honeyhive_trace.records import ModelEvent
from tests._support.properties import PROFILE, VALUES

pytest.importorskip("orjson")  # in the tests extra: the fast path is always tested in CI


@pytest.fixture(autouse=True)
def _fast_again() -> Iterator[None]:
    yield
    use_fast(True)


class Shade(enum.Enum):
    DARK = 1


class Code(str, enum.Enum):
    OK = "ok"


class Count(int):
    pass


@dataclasses.dataclass
class Point:
    x: int


def both(body_of: Any) -> tuple[bytes, bytes]:
    use_fast(True)
    fast = body_of()
    use_fast(False)
    slow = body_of()
    use_fast(True)
    return fast, slow


def event(value: Any) -> ModelEvent:
    return ModelEvent(
        project="p",
        model="m",
        provider="openai",
        messages=[{"role": "user", "content": value}],
        response={"role": "assistant", "content": "ok"},
        duration=1.5,
        event_id="00000000-0000-4000-8000-000000000001",
        start_time=1,
        end_time=2,
        metadata={"value": value},
        inputs={"nested": [value, {"again": value}]},
    )


class TestSameValues:
    @settings(PROFILE, max_examples=300)
    @given(value=VALUES)
    def test_any_value_is_sent_the_same_by_both_paths(self, value: Any) -> None:
        fast, slow = both(lambda: encode_event(event(value)))
        assert json.loads(fast) == json.loads(slow)

    @pytest.mark.parametrize(
        "value",
        [
            float("nan"),
            float("-inf"),
            2**53,
            -(2**70),
            "lone \ud800 surrogate",
            {1: "int key"},
            Shade.DARK,
            Code.OK,
            Count(7),
            Point(3),
            datetime.datetime(2026, 12, 1, 15, 30, tzinfo=datetime.timezone.utc),
            uuid.UUID(int=5),
            collections.OrderedDict(a=1),
            None,
            [None, 1.0, -0.0, 1e16, 1e-7],
            '\x00\x1f\u2028 é 😀 \\ "',
        ],
        ids=repr,
    )
    def test_the_values_the_fast_path_refuses_or_writes_natively(self, value: Any) -> None:
        fast, slow = both(lambda: encode_event(event(value)))
        assert json.loads(fast) == json.loads(slow)

    def test_json_ready_bodies_too(self) -> None:
        body = {"kind": "model", "id": "x", "after": None, "n": [1, 2.5, "é"]}
        fast, slow = both(lambda: encode(body))
        assert fast == slow == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class TestWhatTheFastPathLeaves:
    @pytest.mark.parametrize(
        "value",
        [float("nan"), float("inf"), 2**53, "\ud800", {1: 2}, Count(1), Point(1), None],
        ids=repr,
    )
    def test_refused(self, value: Any) -> None:
        assert fast_dumps({"v": value}) is None

    @pytest.mark.parametrize(
        ("value", "text"),
        [(2**53 - 1, b"9007199254740991"), (Shade.DARK, b"1"), ("null", b'"null"'), (1.5, b"1.5")],
        ids=repr,
    )
    def test_written(self, value: Any, text: bytes) -> None:
        assert fast_dumps({"v": value}) == b'{"v":' + text + b"}"

    def test_nan_reaches_the_wire_as_the_careful_path_writes_it(self) -> None:
        body = json.loads(encode_event(event(float("nan"))))
        assert body["metadata"] == {"value": "NaN"}

    def test_switched_off_nothing_is_fast(self) -> None:
        use_fast(False)
        assert fast_dumps({"v": 1}) is None
        assert encode({"v": 1}) == b'{"v":1}'

    def test_without_orjson_the_stdlib_writes_everything(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "orjson", None)  # as if not installed
        use_fast(True)
        assert fast_dumps({"v": 1}) is None
        assert _json._fast is None
        assert json.loads(encode_event(event("x")))["metadata"] == {"value": "x"}


def test_orjson_is_not_imported_by_import_honeyhive_trace() -> None:
    code = (
        "import sys, honeyhive_trace as hh\n"
        "from honeyhive_trace.testing import capture_events\n"
        "print('orjson' in sys.modules)\n"
        "with capture_events() as events:\n"
        "    hh.trace_model(model='m')(lambda: 'ok')()\n"
        "print('orjson' in sys.modules, len(events))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True", "1"]
