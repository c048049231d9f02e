"""Fork children while the parent's sender is busy; print how many hung, failed, arrived.

Run as a script by ``tests/test_fork_safety.py``: ``python -m tests._support.forkstorm SPOOL``.
Some forks land while another thread holds a lock the child would need at exit: the
queue lock of the parent's connection pool (as the sender does inside ``pool.get``), or
SQLite's connection mutex (as the in-process collector does inside a query).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import honeyhive_trace as hh
from honeyhive_trace import _client
from honeyhive_trace.collector import Collector, Faults

#: Seconds every child has, in all, to exit.
BOUND = 15.0


def child_event(name: str) -> None:
    with hh.model_event(model="m", event_name=name):
        pass


@contextmanager
def holding(acquire: Callable[[threading.Event, threading.Event], None]) -> Iterator[None]:
    """Run *acquire* in a thread until it holds its lock; release it on leaving."""
    held, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=acquire, args=(held, release), daemon=True)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


def pool_lock(held: threading.Event, release: threading.Event) -> None:
    client = _client.STATE.client
    assert client is not None
    assert client.transport is not None
    adapter = client.transport._session.get_adapter("http://127.0.0.1")
    [key] = adapter.poolmanager.pools.keys()
    queue = adapter.poolmanager.pools[key].pool
    with queue.mutex:
        held.set()
        release.wait()


def sqlite_mutex(collector: Collector) -> Callable[[threading.Event, threading.Event], None]:
    def acquire(held: threading.Event, release: threading.Event) -> None:
        conn = collector.store._conn

        def hold() -> int:  # runs inside sqlite3_step: the connection's mutex is held
            held.set()
            release.wait()
            return 1

        conn.create_function("hh_hold", 0, hold)
        conn.execute("SELECT hh_hold()").fetchall()

    return acquire


def fork_child(name: str) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            child_event(name)
        finally:
            sys.exit(0)  # a normal exit: atexit, weakref finalizers
    return pid


def main(spool: str) -> None:
    faults = Faults()
    faults.delay(0.02, times=None)  # a slow server: the sender is always posting
    collector = Collector(port=0, db=":memory:", faults=faults).start()
    hh.configure(
        server_url=collector.url,
        api_key="hh-test-key",
        mode="background",
        batch_size=5,
        flush_interval=0.01,
        spool_dir=spool,
    )
    stop = threading.Event()

    def busy() -> None:
        n = 0
        while not stop.is_set():
            child_event(f"parent{n}")
            n += 1
            time.sleep(0.005)

    threading.Thread(target=busy, daemon=True).start()
    assert hh.flush(10)
    names: list[str] = []
    pids: list[int] = []
    with holding(pool_lock):
        for n in range(5):
            names.append(f"pool{n}")
            pids.append(fork_child(names[-1]))
    with holding(sqlite_mutex(collector)):
        for n in range(5):
            names.append(f"sqlite{n}")
            pids.append(fork_child(names[-1]))
    for n in range(5):
        names.append(f"busy{n}")
        pids.append(fork_child(names[-1]))
    context = multiprocessing.get_context("fork")
    processes = []
    for n in range(5):
        names.append(f"mp{n}")
        processes.append(context.Process(target=child_event, args=(names[-1],)))
        processes[-1].start()

    started = time.monotonic()
    deadline = started + BOUND
    hung = failed = 0
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                failed += os.waitstatus_to_exitcode(status) != 0
                break
            if time.monotonic() > deadline:
                hung += 1
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.01)
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            hung += 1
            process.kill()
            process.join()
        else:
            failed += process.exitcode != 0
    stop.set()
    waited = time.monotonic() - started
    flushed = hh.flush(10, include_spool=True)
    stored = {e["event_name"] for e in collector.events(limit=None)}
    spooled = set()
    for path in Path(spool).glob("*/*.jsonl"):
        spooled |= {json.loads(line)["data"]["event_name"] for line in path.open()}
    print(
        json.dumps(
            {
                "hung": hung,
                "failed": failed,
                "lost": sorted(set(names) - stored - spooled),
                "children": len(names),
                "flushed": flushed,
                "waited": round(waited, 1),
            }
        ),
        flush=True,
    )
    os._exit(0)  # the collector's threads need no goodbye


if __name__ == "__main__":
    main(sys.argv[1])
