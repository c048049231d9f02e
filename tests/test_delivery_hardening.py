"""Delivery under abuse: refusals, exit, the spool's edges, deadlines (issue 19, round two)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector, Faults
from honeyhive_trace.delivery import spool as spool_module
from honeyhive_trace.delivery.deadline import Watchdog
from tests._support.delivery import free_port, produce, settled, spooled_ids
from tests._support.servers import DrippingServer


def _script(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class TestRefusals:
    def test_a_400_on_replay_is_dead_lettered_not_retried_forever(
        self, spool_dir: Path, faults: Faults
    ) -> None:
        port = free_port()
        hh.configure(
            server_url=f"http://127.0.0.1:{port}",
            mode="inline",
            inline_retry_budget=0.1,
            spool_dir=spool_dir,
        )
        ids = produce(3)
        assert sorted(ids) == sorted(spooled_ids(spool_dir))
        faults.respond(400, body={"message": "bad field"}, times=None)
        with Collector(port=port, faults=faults, record_requests=True) as server:
            for _ in range(3):  # however often the spool is replayed
                hh.flush(5, include_spool=True)
            posts = [r for r in server.requests if r.path.startswith("/events")]
        assert [] == spooled_ids(spool_dir)
        assert 3 == len(posts)  # once each (one request per event inline)
        [dead] = spool_dir.glob("*/dead-letter.jsonl")
        assert sorted(ids) == sorted(
            json.loads(line)["model_event"]["event_id"] for line in dead.read_text().splitlines()
        )
        assert 3 == hh.stats()["replay_rejected"]

    def test_a_live_400_is_sent_once(
        self, configure: Any, collector: Collector, faults: Faults
    ) -> None:
        faults.respond(400, times=None)
        configure(mode="background", batch_size=5, retry_budget=5)
        produce(5)
        assert hh.flush(10)
        assert hh.flush(1, include_spool=True)  # nothing was spooled to retry
        assert 1 == len(collector.requests)
        assert (5, 0) == (hh.stats()["rejected"], hh.stats()["spooled"])


class TestExit:
    @pytest.mark.timeout(60)
    def test_exit_does_not_wait_again_after_a_successful_shutdown(
        self, collector: Collector, faults: Faults, spool_dir: Path
    ) -> None:
        env = {"HH_API_URL": collector.url, "HH_SPOOL_DIR": str(spool_dir)}
        script = _script(
            """
            import honeyhive_trace as hh, sys
            hh.configure(exit_timeout=5, read_timeout=30)
            with hh.model_event(model="m"):
                pass
            print(hh.shutdown(10), flush=True)
            sys.stdin.readline()  # the test makes the server hang, then lets us exit
            """,
            env,
        )
        assert script.stdout is not None
        assert script.stdin is not None
        assert "True\n" == script.stdout.readline()
        faults.hang(times=None)  # a second delivery attempt would now wait
        start = time.monotonic()
        _, err = script.communicate("\n", timeout=30)
        took = time.monotonic() - start
        assert 0 == script.returncode, err
        assert took < 2.0  # not another exit_timeout (5 s)
        assert 1 == collector.count()


def _dead_server(spool_dir: Path, **settings: Any) -> None:
    hh.configure(
        server_url=f"http://127.0.0.1:{free_port()}",
        mode="inline",
        inline_retry_budget=0.1,
        spool_dir=spool_dir,
        **settings,
    )


class TestClaims:
    @pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
    @pytest.mark.parametrize(
        "owner",
        [
            "{pid}",  # the pid-only name of an earlier process (or library version)
            "{pid}.12345.00000000",  # this pid, another start time and boot
            "1.12345.00000000",  # pid 1 is always alive: a restarted container's
        ],
    )
    def test_a_claim_of_a_previous_incarnation_of_a_live_pid_is_taken_over(
        self, configure: Any, collector: Collector, faults: Faults, owner: str
    ) -> None:
        [pending], [event_id] = _claimable(configure, faults)
        claim = pending.with_name(f"claimed-{owner.format(pid=os.getpid())}-{pending.name}")
        pending.rename(claim)
        assert hh.flush(10, include_spool=True)
        assert [event_id] == [e["event_id"] for e in collector.events()]
        assert [] == list(claim.parent.glob("claimed-*"))

    @pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
    def test_a_claim_of_a_live_process_is_left_alone(
        self, configure: Any, collector: Collector, faults: Faults
    ) -> None:
        from honeyhive_trace.delivery.spool_owners import process_stamp

        [pending], _ = _claimable(configure, faults)
        parent = os.getppid()
        claim = pending.with_name(f"claimed-{parent}.{process_stamp(parent)}-{pending.name}")
        pending.rename(claim)
        assert not hh.flush(1, include_spool=True)  # someone else's, being replayed
        assert claim.exists()
        assert 0 == collector.count()


def _claimable(configure: Any, faults: Faults) -> tuple[list[Path], list[str]]:
    """One event in a pending file of the collector's destination."""
    faults.respond(503, times=None)
    configure(mode="inline", inline_retry_budget=0.1)
    ids = produce(1)
    faults.clear()
    from honeyhive_trace._client import STATE

    spool = STATE.client.sender.ledger.spool  # type: ignore[union-attr]
    return spool.pending_files(), ids


class TestPartFiles:
    @pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
    @pytest.mark.timeout(60)
    def test_a_write_failing_midway_leaves_no_part_file(self, spool_dir: Path) -> None:
        # A file-size limit makes the spool write fail after 4 KiB: a full disk, in small.
        script = _script(
            f"""
            import resource, signal
            import honeyhive_trace as hh
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            hh.configure(server_url="http://127.0.0.1:{free_port()}", mode="inline",
                         inline_retry_budget=0.1, spool_dir={str(spool_dir)!r})
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
            with hh.model_event(model="m") as ev:
                ev.set_response("x" * 20_000)
            print(hh.stats()["dropped_spool_error"], hh.stats()["spooled"])
            """,
            {"PYTHONDONTWRITEBYTECODE": "1"},
        )
        out, err = script.communicate(timeout=30)
        assert 0 == script.returncode, err
        assert "1 0\n" == out, err
        assert [] == [p.name for p in spool_dir.rglob("*") if p.is_file()]

    def test_an_old_part_file_is_removed_and_a_fresh_one_counts_in_the_cap(
        self, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Every write counts the directory (the files below appear between writes,
        # as another process's would; see test_spool_cap for the count kept between).
        monkeypatch.setattr(spool_module, "RECOUNT_SECONDS", 0.0)
        _dead_server(spool_dir, spool_max_bytes=4000)
        produce(1)  # creates the destination's directory
        [destination] = list(spool_dir.iterdir())
        for path in destination.iterdir():
            path.unlink()
        old = destination / ".pending-1-1-0.jsonl.part"
        old.write_bytes(b"x" * 3900)
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        fresh = destination / ".pending-2-1-0.jsonl.part"
        fresh.write_bytes(b"x" * 3950)  # a write under way elsewhere: leaves no room
        produce(1)
        assert old.exists() is False
        assert fresh.exists()
        assert (0, 1) == (len(spooled_ids(spool_dir)), hh.stats()["dropped_spool_full"])
        fresh.unlink()
        produce(1)
        assert 1 == len(spooled_ids(spool_dir))


class TestDeadLetterCap:
    def test_the_dead_letter_file_stays_under_the_cap_and_the_rest_is_counted(
        self, configure: Any, faults: Faults, spool_dir: Path, log_text: Any
    ) -> None:
        faults.respond(400, times=None)
        configure(mode="inline", spool_max_bytes=5000)
        produce(30, size=500)
        stats = hh.stats()
        [dead] = spool_dir.glob("*/dead-letter.jsonl")
        kept = len(dead.read_text().splitlines())
        assert dead.stat().st_size <= 5000
        assert 0 < kept < 30
        assert (30, 30 - kept) == (stats["rejected"], stats["dead_letter_full"])
        assert 30 == settled(stats)
        assert "dead-letter file" in log_text()
        assert "is full" in log_text()


class TestRequestDeadline:
    @pytest.mark.parametrize(
        "head_at_once",
        # False: the whole answer drips; True: its head arrives at once and only
        # the body drips, so the deadline must cover reading the body too.
        [False, True],
        ids=["all-dripping", "body-dripping"],
    )
    def test_a_dripping_server_cannot_hold_an_inline_call_past_its_bound(
        self, spool_dir: Path, head_at_once: bool
    ) -> None:
        with DrippingServer(interval=0.05, head_at_once=head_at_once) as server:
            hh.configure(
                server_url=server.url,
                mode="inline",
                inline_retry_budget=0.5,
                connect_timeout=1.0,
                read_timeout=5.0,
                spool_dir=spool_dir,
            )
            start = time.monotonic()
            ids = produce(1)
            took = time.monotonic() - start
            hh.shutdown(1)
        # The bound: inline_retry_budget + connect_timeout (one try near the end).
        assert took < 1.5 + 0.5, took
        assert ids == spooled_ids(spool_dir)
        stats = hh.stats()
        assert (0, 1) == (stats["sent"], stats["spooled"])
        assert server.requests >= 1

    def test_a_background_send_gives_up_and_spools(self, spool_dir: Path, log_text: Any) -> None:
        with DrippingServer(interval=0.05) as server:
            hh.configure(
                server_url=server.url,
                mode="background",
                retry_budget=2.0,
                connect_timeout=0.5,
                read_timeout=0.5,
                spool_dir=spool_dir,
            )
            ids = produce(3)
            start = time.monotonic()
            assert hh.flush(10)
            took = time.monotonic() - start
            hh.shutdown(1)
        # Each request ends within connect + read timeouts (1 s), the batch within its
        # budget (2 s) and one request begun at its end (0.5 s).
        assert took < 2.0 + 0.5 + 1.0, took
        assert sorted(ids) == sorted(spooled_ids(spool_dir))
        assert server.requests >= 2  # retried after the first was cut
        assert "outlived its deadline" in log_text()


class _Conn:
    """What the watchdog reads of a pooled connection: its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


class TestTheWatchdog:
    def test_an_earlier_deadline_after_a_later_one_still_cuts_in_time(self) -> None:
        watchdog = Watchdog()
        left, right = socket.socketpair()
        try:
            # A request with a far deadline ends at once: the thread sleeps until it...
            watchdog.arm(time.monotonic() + 30)
            watchdog.watch(_Conn(socket.socket()))
            watchdog.disarm()
            # ...and a request with a near one must still be cut at that one.
            start = time.monotonic()
            watchdog.arm(start + 0.2)
            watchdog.watch(_Conn(left))
            left.settimeout(10)
            assert b"" == left.recv(1)  # the read ends when the socket is shut down
            took = time.monotonic() - start
            assert watchdog.fired
            assert 0.15 < took < 5, took
        finally:
            left.close()
            right.close()

    def test_a_later_deadline_after_an_earlier_one_is_kept_too(self) -> None:
        watchdog = Watchdog()
        left, right = socket.socketpair()
        try:
            watchdog.arm(time.monotonic() + 0.1)
            watchdog.disarm()
            start = time.monotonic()
            watchdog.arm(start + 0.4)  # the thread wakes at 0.1, then waits on to 0.4
            watchdog.watch(_Conn(left))
            left.settimeout(10)
            assert b"" == left.recv(1)
            assert watchdog.fired
            assert 0.35 < time.monotonic() - start < 5
        finally:
            left.close()
            right.close()


class TestQueueBytes:
    @pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage")
    @pytest.mark.timeout(60)
    def test_a_server_that_never_answers_cannot_make_the_queue_hold_more_than_its_bytes(
        self, collector: Collector, faults: Faults, spool_dir: Path
    ) -> None:
        faults.hang(times=None)
        script = _script(
            f"""
            import json, logging, os, resource
            import honeyhive_trace as hh

            logging.basicConfig(level=logging.WARNING)
            from honeyhive_trace import _client

            hh.configure(server_url={collector.url!r}, api_key="k", mode="background",
                         spool_dir={str(spool_dir)!r}, batch_size=20, read_timeout=30,
                         max_queue_bytes=16 * 1024 * 1024, spool_max_bytes=24 * 1024 * 1024)
            intake = getattr(_client.STATE.client.dispatcher, "_intake", None)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            most = 0
            for i in range(4000):
                prompt = str(i) + "x" * 100_000  # a new 100 KB string each time
                with hh.model_event(model="m", messages=[{{"role": "user", "content": prompt}}]):
                    pass
                most = max(most, intake.bytes if intake is not None else 0)
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            result = {{"grown_kib": grown, "most": most, "stats": hh.stats()}}
            print(json.dumps(result), flush=True)
            os._exit(0)
            """,
            {},
        )
        out, err = script.communicate(timeout=50)
        assert 0 == script.returncode, err
        result = json.loads(out)
        # 4000 x 100 KB is 400 MB: the queue's bound (16 MiB), the overflow's (16 MiB,
        # written to the spool as it comes), the 20 unmeasured events and three
        # batches being prepared, handed over and sent (60 events) stay under 64 MiB.
        assert result["grown_kib"] < 64 * 1024, result
        assert 0 < result["most"] <= 16 * 1024 * 1024
        stats = result["stats"]
        # Past the queue's bound events go to the overflow, which the worker writes
        # to the spool when it is free (here it waits on the hung sender); past the
        # overflow's bound too they are dropped and counted, with one log line.
        assert stats["dropped_queue_full"] > 3000, stats
        assert 4000 == stats["enqueued"], stats
        assert 1 == err.count("hold max_queue_bytes twice over"), err


def test_max_queue_bytes_comes_from_the_environment() -> None:
    from honeyhive_trace._config import from_settings
    from honeyhive_trace.exceptions import ConfigurationError

    assert 64 * 1024 * 1024 == from_settings({}, {}).max_queue_bytes
    assert 1_000_000 == from_settings({}, {"HH_MAX_QUEUE_BYTES": "1_000_000"}).max_queue_bytes
    with pytest.raises(ConfigurationError, match="max_queue_bytes"):
        from_settings({}, {"HH_MAX_QUEUE_BYTES": "lots"})
    with pytest.raises(ConfigurationError, match="max_queue_bytes"):
        from_settings({"max_queue_bytes": 0}, {})


class TestSlowReplay:
    @pytest.mark.timeout(60)
    def test_a_server_slower_than_the_connect_timeout_still_takes_a_replay_once(
        self, configure: Any, collector: Collector, faults: Faults, spool_dir: Path
    ) -> None:
        # A replay's budget limits its retries, not how long the server may take:
        # a request cut at connect_timeout was stored by the server and re-posted.
        configure(mode="background", retry_budget=0.2, connect_timeout=1.0, read_timeout=10)
        faults.respond(503, times=None)
        produce(5)
        assert hh.flush(timeout=10)
        assert 5 == len(spooled_ids(spool_dir))
        faults.clear()
        refused = len(collector.requests)
        faults.delay(2.5, times=None)  # answers, but well after connect_timeout
        assert hh.flush(timeout=30, include_spool=True)
        stats = hh.stats()
        assert 5 == stats["replayed"], stats
        assert 5 == len(collector.events())
        assert 1 == len(collector.requests) - refused  # one request, not a copy per attempt
