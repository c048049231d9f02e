"""A forked child inherits no session, pool, connection or held lock from its parent."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from honeyhive_trace.collector import Collector

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="the fork start method",
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_forked_children_exit_in_time_and_lose_nothing(spool_dir: Path) -> None:
    # os.fork children (some forked while a thread holds the parent's pool queue
    # lock, some while one is inside a SQLite query of the in-process collector)
    # and multiprocessing "fork" children, while the parent's sender posts to a
    # slow server. Each child ends normally (atexit, weakref finalizers).
    script = subprocess.run(
        [sys.executable, "-m", "tests._support.forkstorm", str(spool_dir)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert 0 == script.returncode, script.stderr
    result = json.loads(script.stdout.splitlines()[-1])
    assert {"hung": 0, "failed": 0, "lost": []} == {
        k: result[k] for k in ("hung", "failed", "lost")
    }, script.stderr
    assert 20 == result["children"]


@pytest.mark.timeout(60)
def test_the_delivery_threads_import_nothing(collector: Collector, faults: Any) -> None:
    # An import under way on a delivery thread when the process forks leaves that
    # module's import lock held in the child: what they need is imported before
    # they start, or under the guard that os.fork() waits for.
    faults.respond(503, times=1)  # a retry, too
    code = f"""
        import sys, threading
        imports = []

        def audit(event, args):
            if event == "import" and threading.current_thread().name.startswith("honeyhive"):
                guard = getattr(integrations, "IMPORT_GUARD", None)
                if guard is None or not guard.locked():
                    imports.append((threading.current_thread().name, args[0]))

        import honeyhive_trace as hh
        from honeyhive_trace import integrations

        sys.addaudithook(audit)

        @hh.trace_model(model="gpt-4o")
        def completion():  # its result is looked at by the OpenAI/Anthropic support
            return {{"choices": [{{"message": {{"role": "assistant", "content": "hi"}}}}]}}

        hh.configure(server_url={collector.url!r}, api_key="k", mode="background",
                     spool_dir={str(Path(os.environ["HOME"]) / "spool")!r})
        with hh.session(name="s"):
            with hh.model_event(model="gpt-4o", provider="openai",
                                messages=[{{"role": "user", "content": "hi"}}]) as ev:
                ev.set_response({{"role": "assistant", "content": "hello"}})
                ev.set_usage(prompt_tokens=3, completion_tokens=1)
            with hh.event("tool", event_name="t") as tool:
                tool.add_metadata(k=1)
            hh.log_feedback(ev.event_id, feedback={{"rating": 1}})
            completion()
            try:
                with hh.event("chain", event_name="fails"):
                    raise ValueError("x")
            except ValueError:
                pass
        assert hh.flush(20)
        print(sorted(set(imports)))
    """
    script = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert 0 == script.returncode, script.stderr
    assert "[]\n" == script.stdout
    assert collector.count() >= 4
