"""The spool's size cap, kept without walking the directory for every write."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honeyhive_trace.delivery import spool as spool_module
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.delivery.spool import Spool
from honeyhive_trace.delivery.spool_lines import line_of, parse_line
from tests._support.properties import EXAMPLES


def item(n: int) -> Prepared:
    return Prepared(f"e{n:04d}", json.dumps({"event_id": f"e{n:04d}", "pad": "x" * 200}).encode())


#: Bytes one item takes in a spool file (every item above has the same length).
LINE = len(line_of(item(0)))


def held(spool: Spool) -> int:
    """What the spool's files really hold, counted from the disk."""
    return sum(p.stat().st_size for p in spool.directory.iterdir())


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each count a spool made of its files: ("all" files looked at, or only "new"
    ones), and the bytes it found."""
    counts: list[tuple[str, int]] = []
    real = Spool._sizes

    def sizes(self: Spool, known: dict[str, int]) -> tuple[dict[str, int], int]:
        whole, parts = real(self, known)
        counts.append(("new" if known else "all", sum(whole.values()) + parts))
        return whole, parts

    monkeypatch.setattr(Spool, "_sizes", sizes)
    return counts


def another_process_wrote(spool: Spool, name: str, size: int) -> Path:
    path = spool.directory / name
    path.write_bytes(b"x" * size)
    return path


class TestTheCount:
    def test_writes_under_the_cap_walk_the_directory_once_not_each_time(
        self, tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 10**8)
        spool._ensure_dir()
        for n in range(300):  # a long outage's files, written by an earlier process
            another_process_wrote(spool, f"pending-1-{n:04d}-0.jsonl", 100)
        for n in range(20):
            assert (5, 0) == spool.write([item(5 * n + k) for k in range(5)])
        assert [("all", 300 * 100)] == counted  # one count, then what was written was added
        assert 300 * 100 + 100 * LINE == held(spool)

    def test_the_cap_is_exact_for_what_the_process_writes_itself(
        self, tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 7 * LINE + LINE // 2)
        results = [spool.write([item(n), item(n + 100)]) for n in range(5)]
        # 7 lines fit: three writes of two, then one of the fourth write's two.
        assert [(2, 0), (2, 0), (2, 0), (1, 1), (0, 2)] == results
        assert 7 * LINE == held(spool)
        # Every file counted when the first write came; the files not seen yet by
        # each write that did not fit (another process may have made room).
        assert [("all", 0), ("new", 6 * LINE), ("new", 7 * LINE)] == counted

    def test_room_another_process_made_is_seen_by_the_next_write_that_needs_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 4 * LINE)
        spool._ensure_dir()
        theirs = another_process_wrote(spool, "pending-1-0-0.jsonl", 3 * LINE)
        assert (1, 0) == spool.write([item(1)])
        assert (0, 1) == spool.write([item(2)])  # full
        theirs.unlink()  # another process replayed its file
        assert (2, 0) == spool.write([item(3), item(4)])  # no wait for a recount
        assert 3 * LINE == held(spool)

    def test_files_another_process_wrote_count_once_the_count_is_older_than_the_recount(
        self, tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 4 * LINE)
        assert (1, 0) == spool.write([item(1)])
        another_process_wrote(spool, "pending-1-0-0.jsonl", 3 * LINE)
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 0.0)  # the count is now old
        assert (0, 1) == spool.write([item(2)])
        assert [("all", 0), ("new", 4 * LINE)] == counted
        assert 4 * LINE == held(spool)

    def test_a_count_a_second_later_looks_only_at_files_it_has_not_seen(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 10**8)
        spool._ensure_dir()
        for n in range(300):
            another_process_wrote(spool, f"pending-1-{n:04d}-0.jsonl", 100)
        spool.write([item(1)])
        another_process_wrote(spool, "pending-2-0-0.jsonl", 100)
        claimed = spool.directory / "pending-1-0000-0.jsonl"
        claimed.rename(spool.directory / "claimed-2-pending-1-0000-0.jsonl")  # a replay's
        looked_at: list[str] = []
        real_stat = os.stat

        def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
            looked_at.append(os.path.basename(path))
            return real_stat(path, *args, **kwargs)

        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 0.0)  # the count is now old
        monkeypatch.setattr(os, "stat", stat)
        assert (1, 0) == spool.write([item(2)])
        monkeypatch.undo()
        files = sorted(n for n in looked_at if n.startswith(("pending-", "claimed-")))
        assert ["claimed-2-pending-1-0000-0.jsonl", "pending-2-0-0.jsonl"] == files
        assert 301 * 100 + 2 * LINE == held(spool) == spool._held

    def test_past_the_cap_writes_look_only_at_new_files_and_at_all_once_a_while(
        self, tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        monkeypatch.setattr(spool_module, "LOOK_AGAIN_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 3 * LINE)
        assert (3, 0) == spool.write([item(1), item(2), item(3)])
        [ours] = list(spool.directory.iterdir())
        for n in range(5):  # a long outage, past the cap
            assert (0, 1) == spool.write([item(10 + n)])
        assert [("all", 0)] + [("new", 3 * LINE)] * 5 == counted
        # A replay cut short put two of the three back, under the same name.
        ours.write_bytes(ours.read_bytes()[LINE:])
        assert (0, 1) == spool.write([item(20)])  # not seen yet: the same name
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 0.0)
        assert (0, 1) == spool.write([item(21)])  # new files only: none
        monkeypatch.setattr(spool_module, "LOOK_AGAIN_SECONDS", 0.0)  # a while later
        assert (1, 0) == spool.write([item(22)])
        assert ("all", 2 * LINE) == counted[-1]
        assert 3 * LINE == held(spool)

    def test_a_forked_child_counts_the_directory_itself(
        self, tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
        spool = Spool(tmp_path, "dest", 10**6)
        spool.write([item(1)])
        another_process_wrote(spool, "pending-1-0-0.jsonl", 1000)  # the parent, meanwhile
        spool.after_fork()
        spool.write([item(2)])
        assert [("all", 0), ("all", LINE + 1000)] == counted


def test_a_failed_write_adds_nothing_to_the_count(
    tmp_path: Path, counted: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 3600.0)
    spool = Spool(tmp_path, "dest", 3 * LINE)
    real = Spool._write_file
    calls: list[Any] = []

    def failing_once(self: Spool, lines: list[bytes], name: str | None = None) -> None:
        calls.append(lines)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real(self, lines, name)

    monkeypatch.setattr(Spool, "_write_file", failing_once)
    with pytest.raises(OSError):
        spool.write([item(1), item(2)])
    # Had the failed write been counted, these three would not fit.
    assert (3, 0) == spool.write([item(3), item(4), item(5)])
    assert [("all", 0)] == counted
    assert 3 * LINE == held(spool)


@settings(max_examples=max(100, EXAMPLES // 2), deadline=None)
@given(
    key=st.text(),
    after=st.one_of(st.none(), st.text()),
    kind=st.sampled_from(["model", "event", "session", "update"]),
    encoding=st.sampled_from(["legacy", "v1"]),
)
def test_a_line_is_its_item_as_json_and_reads_back(
    key: str, after: str | None, kind: str, encoding: str
) -> None:
    event = Prepared(key, b'{"event_id":"e"}', kind, after, encoding)
    line = line_of(event)
    expected = {"kind": kind, "id": key, "after": after, "data": {"event_id": "e"}}
    if encoding != "legacy":
        expected["enc"] = encoding
    assert expected == json.loads(line)
    assert line.endswith(b"}\n")
    assert line.count(b"\n") == 1
    assert event == parse_line(line)
